"""Words the text stage knows: the safe clinical vocabulary, common English, and names.

- Clinical vocabulary: every word of the code meanings pydicom ships (its SR concept
  dictionaries: DCM, SCT, RadLex, NCIt, ...), of the SR concept names and CID 7050 meanings the
  standard's tables give (``deidengine/standard/data``), and the radiology abbreviations and
  terms below. All are read at run time, once per process.
- Common English: the most frequent words of wordfreq's English list.
- Names: the compact lexicon built from names-dataset (:mod:`deidengine.text.lexicon_build`).

A word can be in several: "Brown" is a colour in SNOMED, a common word and a family name. The
recognisers decide by context which reading holds; see :func:`vouched`.

The common words, the code-meaning words and the code meanings are computed once and then kept
on disk (:mod:`deidengine.text.word_cache`), so a process reads them in a few milliseconds
without importing wordfreq or pydicom's concept dictionary; :func:`warm` loads every list, and
a run does it before forking its workers, which then share them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from typing import Final, cast

from deidengine.text.word_cache import WordLists, word_lists

#: Radiology abbreviations and terms descriptions use that the code meanings spell out.
RADIOLOGY_TERMS: Final = frozenset(
    re.findall(
        r"\S+",
        """
    w wo w/wo w/ w/o c+ c- ap pa lat lt rt bil bilat ax axial sag cor coronal obl oblique
    ct cta ctv mr mri mra mrv pet spect us xr dx cr dr mg nm rf xa ot sc pt rtst ecg ekg
    fl flair dwi adc swi gre tse fse haste vibe space mprage stir tof pd t1 t2 t1w t2w
    t1wi t2wi pdw dti bold fmri epi ssfse trufi fiesta cube lava dixon mip mpr vr recon
    3d 2d 4d hr hrct ldct kub iv po io ed er icu or nicu picu ob gyn cxr abd pelv
    head neck brain chest thorax abdomen pelvis spine cervical thoracic lumbar sacral
    knee hip shoulder ankle wrist elbow hand foot femur tibia humerus orbit orbits sinus
    sinuses temporal facial face cardiac heart aorta aortic renal kidney kidneys liver
    pancreas spleen bladder prostate breast breasts lung lungs extremity upper lower
    contrast noncontrast non without with and or of the for to per routine protocol
    series scout localizer survey topogram view views image images study exam
    left right bilateral both limited complete single multiple post pre delayed
    arterial venous portal phase phases perfusion diffusion angio angiogram angiography
    fracture fx mass nodule lesion lesions tumor tumour stroke cva tia hemorrhage bleed
    pain trauma mva fall r/o ro eval evaluation hx history fu f/u s/p sp dx ddx
    kvp kv mas ma mm cm ml mg mgy msv cgy gy sec ms min hr hrs yo yr yrs y/o
    rll rul rml lll lul ivc svc cbd mca aca pca ica cca sma ima lad rca lcx
    copd chf cad htn dm ckd esrd pe dvt uti sob loc ams cp ha ms als hiv hcv hbv
    neg pos nl wnl nad mod sev min mild moderate severe stable unchanged new la ra lv rv
    patient family team staff nurse nursing radiologist physician surgeon resident fellow
    attending referring ordering ortho orthopedics neurology cardiology oncology urology
    ed icu er clinic floor unit service oncall on-call pcp provider technologist tech
    bedside phone telephone x-ray xray md m.d rn np phd mbbs mbchb frcr frcpc facr dds dmd arrt do
    """,
    )
)

_WORD: Final = re.compile(r"[^\W\d_]+")
COMMON_WORD_COUNT: Final = 25000


def _words_of(text: str) -> set[str]:
    return {word.lower() for word in _WORD.findall(text)}


def _computed_concept_words() -> frozenset[str]:
    from pydicom.sr._concepts_dict import concepts

    from deidengine.standard._data import load

    words: set[str] = set()
    tables = cast(dict[str, dict[str, dict[str, tuple[str, list[int]]]]], concepts)
    for codes in tables.values():
        for keyword, by_code in codes.items():
            words |= _words_of(keyword)
            for meaning, _ in by_code.values():
                words |= _words_of(meaning)
    for row in load("sr_concept_names.json")["rows"]:
        words |= _words_of(row["code_meaning"])
    for row in load("cid_7050.json")["rows"]:
        words |= _words_of(row["code_meaning"])
    return frozenset(words)


def _computed_code_meanings() -> frozenset[str]:
    from pydicom.sr._concepts_dict import concepts

    from deidengine.standard._data import load

    tables = cast(dict[str, dict[str, dict[str, tuple[str, list[int]]]]], concepts)
    found = {
        meaning.lower()
        for codes in tables.values()
        for by_code in codes.values()
        for meaning, _ in by_code.values()
    }
    found |= {row["code_meaning"].lower() for row in load("sr_concept_names.json")["rows"]}
    found |= {row["code_meaning"].lower() for row in load("cid_7050.json")["rows"]}
    return frozenset(found)


def _computed_common_words() -> frozenset[str]:
    from wordfreq import top_n_list

    return frozenset(top_n_list("en", COMMON_WORD_COUNT))


def computed_word_lists() -> WordLists:
    """The costly lists computed from their sources (what the disk cache keeps)."""
    return WordLists(_computed_common_words(), _computed_concept_words(), _computed_code_meanings())


@cache
def _word_lists() -> WordLists:
    # Read from the disk cache when current (see deidengine.text.word_cache): the same sets.
    return word_lists(computed_word_lists, COMMON_WORD_COUNT)


def concept_words() -> frozenset[str]:
    """Every word of the code meanings pydicom and the standard's tables ship."""
    return _word_lists().concept_words


def code_meanings() -> frozenset[str]:
    """Every code meaning pydicom and the standard's tables ship, in lower case: a value that
    is exactly one of them is a coded concept's name, safe as a whole."""
    return _word_lists().code_meanings


@dataclass(frozen=True, slots=True)
class NameEntry:
    given: bool
    family: bool


@cache
def names() -> dict[str, NameEntry]:
    """The name lexicon: lower-case name → whether it is a given and/or a family name."""
    text = (files("deidengine.text") / "data" / "names.txt").read_text(encoding="utf-8")
    # One entry per distinct kinds column, shared: building 42,000 frozen instances was most
    # of the lexicon's load time, paid by every run before its first file.
    entries: dict[str, NameEntry] = {}
    lexicon: dict[str, NameEntry] = {}
    for line in text.splitlines():
        name, _, kinds = line.partition("\t")
        entry = entries.get(kinds)
        if entry is None:
            entry = entries[kinds] = NameEntry("G" in kinds, "F" in kinds)
        lexicon[name] = entry
    return lexicon


def common_words() -> frozenset[str]:
    """wordfreq's most frequent English words."""
    return _word_lists().common_words


@cache
def clinical_words() -> frozenset[str]:
    """Words known safe in clinical text: radiology terms, and code-meaning words no name has.

    A code-meaning word that is also a name ("Brown", "Young", "Rose") is left out: next to a
    cue it is read as the name.
    """
    # A set difference (a loop in C), not a comprehension: a third of the time, paid at every
    # start of a run that forks its workers (deidengine.run.warmup).
    return RADIOLOGY_TERMS | concept_words().difference(names())


@cache
def plain_words() -> frozenset[str]:
    """Common English words that are not names: never part of a name."""
    return common_words().difference(names()) | RADIOLOGY_TERMS


#: Word endings of medical terms (procedures, findings, conditions): an unknown word that ends
#: so ("ENTEROGRAPHY", "CHOLANGITIS") is read as clinical, not as a name after a cue. Endings
#: that names share ("-oma": Paloma; "-gram": Ingram) are left out.
_MEDICAL_ENDING: Final = re.compile(
    r"(?:ography|ogram|oscopy|itis|ectomy|otomy|ostomy|oplasty|osis|algia|emia|aemia|opathy|"
    r"ology|megaly|orrhage|orrhea|centesis|uria|plegia|trophy|sclerosis|stenosis|ectasis|"
    r"genic|ocele|oid|ism)$",
    re.IGNORECASE,
)


def has_medical_ending(word: str) -> bool:
    """Whether ``word`` ends like a medical term (see :data:`_MEDICAL_ENDING`)."""
    return len(word) > 6 and bool(_MEDICAL_ENDING.search(word))


#: Nouns an eponym names ("Baker cyst", "Barrett esophagus", "Morton neuroma"): a name
#: right before one is a medical term, not a person in the record.
EPONYM_HEADS: Final = frozenset(
    re.findall(
        r"\S+",
        """
        disease diseases syndrome sign signs cyst cysts fracture fractures palsy tumor tumour
        sarcoma lymphoma lesion lesions deformity node nodes neuroma esophagus oesophagus
        malformation procedure operation classification criteria score scale test maneuver
        manoeuvre reflex phenomenon triad law ligament canal duct space pouch hernia ulcer
        ring body bodies cell cells anomaly variant dementia contracture aneurysm fascia fossa
        line angle view position projection index method technique shunt catheter stent
        valve anastomosis repair bypass disorder thyroiditis encephalopathy arthritis
        """,
    )
)


@lru_cache(maxsize=1 << 16)
def zipf(word: str) -> float:
    """wordfreq's Zipf frequency of an English word (0 for an unknown word)."""
    from wordfreq import zipf_frequency

    return float(zipf_frequency(word, "en"))


def is_name(word: str) -> bool:
    return word.lower() in names()


def vouched(word: str) -> bool:
    """Whether a word is safe on its own: clinical vocabulary or a common English word.

    Names that are also common words ("young", "hope") are vouched for here: without a cue
    or a name shape they stay. Only an unknown word is unvouched.
    """
    lower = word.lower()
    return lower in clinical_words() or lower in common_words() or lower in concept_words()


def warm() -> None:
    """Load every vocabulary now (a worker does it once, before its first file)."""
    concept_words()
    code_meanings()
    names()
    common_words()
    clinical_words()
    plain_words()
