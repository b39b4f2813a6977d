"""Why a malformed input failed: the precise defect, found after the engine could not finish.

The engine reads elements lazily and trusts their encoding until it needs a value. A damaged
file (a flipped byte in a VR, a length that runs into the next element, a transfer syntax
that is not the data's) then fails deep inside a stage, as whatever exception the value's
conversion happened to raise. That says nothing useful, and an unexplained exception looks
like a bug in the engine. So when a file fails unexpectedly the pipeline asks
:func:`diagnose_input`, which reads the file again, strictly, and names the first defect it
finds, checked in this order:

1. ``transfer-syntax-mismatch``: the first element is not encoded as the meta's transfer
   syntax says (explicit VR read as implicit, big endian as little, deflate that is not);
2. ``invalid-vr``: an element's VR is not a DICOM VR, or (for a tag the dictionary knows)
   not one the dictionary allows for it, so its value cannot mean what the tag says;
3. ``invalid-length``: a sequence whose items cannot be found where its lengths put them, or
   a binary value whose length is not a multiple of its VR's unit;
4. ``invalid-value``: a value that cannot be read as its VR says.

Only when none is found is the failure the engine's own (``internal-error``). The diagnosis
runs only on failure, so well-formed files never pay for the strict reading. A diagnosis
names tags and VRs, never values.

One check runs on every input, because it guards a kept value rather than explains a failure:
:func:`check_encoding`. A length that runs past its value makes an element swallow the
elements after it; when the swallowing element is one the policy keeps (a Code String such as
Photometric Interpretation), the swallowed bytes, a name among them, would be written as its
value. The VRs whose values are plain ASCII of a fixed maximum length cannot hide that. And
a VR byte flipped into another kind (a name stated as US) would have the policy treat the
value as that kind: ``C`` keeps numbers.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filereader import _read_file_meta_info, read_preamble
from pydicom.tag import Tag
from pydicom.uid import UID
from pydicom.values import converters

from deidengine.core.errors import Code, ReadError
from deidengine.core.table import TOP, ElementTable, Kind
from deidengine.core.values import unresolvable_by_pydicom
from deidengine.dicom.elements import ElementPath, element_location, known_raw_vr, walk_tree
from deidengine.dicom.reading import read_dataset
from deidengine.dicom.vr import MAXIMUM_LENGTH
from deidengine.run.outcome import Reason
from deidengine.standard.dictionary import attribute_info, is_private_group
from deidengine.verify.table_view import TableView

__all__ = [
    "ASCII_VRS",
    "Diagnosis",
    "check_encoding",
    "check_table_encoding",
    "diagnose_input",
    "encoding_mismatch",
    "may_have_encoding_defect",
    "syntax_mismatch",
]

#: Every VR a file may spell (the compound "US or SS" forms are the dictionary's, not a file's).
FILE_VRS: Final = frozenset(str(vr) for vr in converters if " " not in str(vr))
#: Binary VRs and the size of one value: a length not a multiple of it cannot be read.
UNIT_SIZES: Final = {
    "AT": 4,
    "FD": 8,
    "FL": 4,
    "OD": 8,
    "OF": 4,
    "OL": 4,
    "OV": 8,
    "OW": 2,
    "SL": 4,
    "SS": 2,
    "SV": 8,
    "UL": 4,
    "US": 2,
    "UV": 8,
}
DEFLATED: Final = "1.2.840.10008.1.2.1.99"
#: The head of a file read for the transfer syntax check (the meta and the first element).
HEAD_BYTES: Final = 64 * 1024
#: Values longer than this are left in the file by the strict reading.
DEFER_BYTES: Final = 1 << 20
#: Binary VRs: their values are bytes, read as they are; converting them proves nothing.
BINARY_VRS: Final = frozenset({"OB", "OD", "OF", "OL", "OV", "OW"})
CHARSET: Final = 0x00080005
#: Deeper than any real file nests; a damaged length can make a sequence look endless.
MAXIMUM_DEPTH: Final = 64


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The defect: a reason and a detail naming the tag (never a value)."""

    reason: Reason
    detail: str


class _Found(Exception):
    def __init__(self, diagnosis: Diagnosis) -> None:
        super().__init__(diagnosis.reason.value)
        self.diagnosis = diagnosis


def _tag_text(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


def diagnose_input(path: str) -> Diagnosis | None:
    """The first defect of the file at ``path`` (see the module's list), or None when the file
    reads cleanly and strictly, so that a failure on it is the engine's own."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom's warnings quote values
        try:
            with open(path, "rb") as handle:
                head = handle.read(HEAD_BYTES)
        except OSError:
            return None
        try:
            mismatch = syntax_mismatch(head)
            if mismatch is not None:
                return mismatch
            # Large values (pixels) stay in the file: the diagnosis holds no second copy.
            dataset = read_dataset(path, force=True, defer_size=DEFER_BYTES)
            _check_dataset(dataset, 0)
        except _Found as found:
            return found.diagnosis
        except (OSError, EOFError, struct.error, OverflowError, MemoryError):
            return Diagnosis(Reason.INVALID_LENGTH, "an element's length runs past its data")
        except Exception:
            return Diagnosis(Reason.INVALID_VALUE, "the data set cannot be read strictly")
    return None


def syntax_mismatch(data: bytes) -> Diagnosis | None:
    """Whether the first data element in ``data`` (the head of a file) contradicts the
    meta's transfer syntax; None when it does not, or the meta cannot be read from the head."""
    if data[128:132] != b"DICM":
        return None
    stream = io.BytesIO(data)
    try:
        read_preamble(stream, False)
        meta = _read_file_meta_info(stream)
    except Exception:
        return None
    syntax_text = str(meta.get("TransferSyntaxUID", "")).strip(" \x00")
    if not syntax_text:
        return None
    body = data[stream.tell() :]
    syntax = UID(syntax_text)
    if syntax == DEFLATED:
        try:
            body = zlib.decompressobj(-zlib.MAX_WBITS).decompress(body, 64)
        except zlib.error:
            return Diagnosis(Reason.TRANSFER_SYNTAX_MISMATCH, "the data set is not deflated")
    if len(body) < 8 or not syntax.is_transfer_syntax:
        return None
    order, other = ("<", ">") if syntax.is_little_endian else (">", "<")
    (group,) = struct.unpack(order + "H", body[:2])
    (swapped,) = struct.unpack(other + "H", body[:2])
    vr = body[4:6].decode("latin-1")
    looks_explicit = vr in FILE_VRS
    # A data set starts with a low group (0008 mostly): read in the wrong byte order, it is
    # high, and its bytes swapped are the low one.
    if swapped < group and swapped <= 0x00FF:
        problem = "the first element's group reads right only in the other byte order"
    elif syntax.is_implicit_VR and looks_explicit:
        problem = "explicit VRs where the transfer syntax says implicit"
    elif not syntax.is_implicit_VR and not looks_explicit:
        problem = "no VR where the transfer syntax says explicit"
    else:
        return None
    return Diagnosis(Reason.TRANSFER_SYNTAX_MISMATCH, problem)


def _dictionary_vrs(tag: int) -> frozenset[str] | None:
    if is_private_group(tag >> 16):
        return None
    info = attribute_info(tag)
    if info is None or not info.vr:
        return None
    return frozenset(part.strip() for part in info.vr.split(" or "))


def _check_dataset(dataset: Dataset, depth: int) -> None:
    if depth > MAXIMUM_DEPTH:
        raise _Found(Diagnosis(Reason.INVALID_LENGTH, "sequences nest without end"))
    for key, raw in list(dataset._dict.items()):
        tag = int(Tag(key))
        where = _tag_text(tag)
        vr = str(raw.VR) if raw.VR is not None else None
        if isinstance(raw, RawDataElement) and vr is not None:
            if vr not in FILE_VRS:
                raise _Found(Diagnosis(Reason.INVALID_VR, f"{where} has no DICOM VR"))
            allowed = _dictionary_vrs(tag)
            if allowed is not None and vr != "UN" and vr not in allowed:
                raise _Found(
                    Diagnosis(
                        Reason.INVALID_VR,
                        f"{where} is written as {vr}, PS3.6 gives {' or '.join(sorted(allowed))}",
                    )
                )
            unit = UNIT_SIZES.get(vr)
            if unit and raw.length != 0xFFFFFFFF and raw.length % unit:
                raise _Found(
                    Diagnosis(Reason.INVALID_LENGTH, f"{where}: {raw.length} bytes of {vr}")
                )
        if vr in BINARY_VRS:
            continue
        try:
            element = dataset[key]
        except (OSError, EOFError, struct.error):
            raise _Found(
                Diagnosis(Reason.INVALID_LENGTH, f"{where}: its items are not where it says")
            ) from None
        except NotImplementedError:
            raise _Found(Diagnosis(Reason.INVALID_VR, f"{where} has no DICOM VR")) from None
        except Exception:
            raise _Found(
                Diagnosis(Reason.INVALID_VALUE, f"{where} cannot be read as its VR")
            ) from None
        if element.VR == "SQ":
            for item in element.value or ():
                _check_dataset(item, depth + 1)


#: VRs whose values are ASCII (no character set applies) of at most MAXIMUM_LENGTH characters.
ASCII_VRS: Final = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "TM", "UI"})
PRINTABLE_LOW, PRINTABLE_HIGH = 0x20, 0x7E
PRINTABLE: Final = bytes(range(PRINTABLE_LOW, PRINTABLE_HIGH + 1))
#: ACR-NEMA forms PS3.5 still describes for old files: ``yyyy.mm.dd`` and ``hh:mm:ss.frac``.
LEGACY_LENGTH: Final = {"DA": 10, "TM": 16}
#: VRs by what a policy does with them: ``C`` scrubs text, keeps codes and numbers, shifts
#: dates, remaps UIDs, walks sequences, removes bytes. A file VR of another kind than the
#: dictionary's (a name written as US) would be treated as that kind: text kept as a number.
#: Within a kind, writers differ (SH for LO, IS for DS, OW for OB) and nothing changes.
VR_KINDS: Final = {
    **dict.fromkeys(("AE", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "UR"), "text"),
    **dict.fromkeys(("CS", "AS"), "code"),
    **dict.fromkeys(("AT", "DS", "FD", "FL", "IS", "SL", "SS", "SV", "UL", "US", "UV"), "number"),
    **dict.fromkeys(("DA", "DT", "TM"), "date"),
    "UI": "uid",
    "SQ": "sequence",
    **dict.fromkeys(("OB", "OD", "OF", "OL", "OV", "OW", "UN"), "bytes"),
}


#: The longest value of each ASCII VR :func:`_ascii_defect` takes at once (a UID's length is
#: not checked: see there).
ASCII_LIMITS: Final = {
    vr: (1 << 62) if vr == "UI" else LEGACY_LENGTH.get(vr, MAXIMUM_LENGTH[vr]) for vr in ASCII_VRS
}


def _ascii_defect(vr: str, value: bytes) -> str | None:
    limit = LEGACY_LENGTH.get(vr, MAXIMUM_LENGTH[vr])
    body = value.rstrip(b" \x00")
    if not body.translate(None, PRINTABLE) and (vr == "UI" or len(body) <= limit):
        return None  # every value printable and within the limit (the common case, at once)
    for part in value.split(b"\\"):
        text = part.strip(b" \x00")
        # Over-long UIDs occur in real files; a remap replaces them, and output names refuse
        # them (is_valid_uid): only their bytes are checked here.
        if len(text) > limit and vr != "UI":
            return f"a {vr} longer than {limit}"
        if text and (min(text) < PRINTABLE_LOW or max(text) > PRINTABLE_HIGH):
            return f"a {vr} that is not ASCII text"
    return None


@lru_cache(maxsize=8192)
def _kind_mismatch(tag: int, vr: str) -> str | None:
    allowed = _dictionary_vrs(tag)
    if allowed is None or vr == "UN":
        return None
    kinds = {VR_KINDS.get(choice) for choice in allowed}
    if VR_KINDS.get(vr) in kinds:
        return None
    return f"written as {vr}, PS3.6 gives {' or '.join(sorted(allowed))}"


def check_encoding(dataset: Dataset) -> Diagnosis | None:
    """The first element, at any depth, whose encoding the policy cannot be trusted on, or
    None when there is none. Reads raw bytes and stated VRs only (nothing is converted that
    the engine would not convert anyway):

    - ``invalid-vr``: a stated VR of another kind than the dictionary's for the tag (see
      :data:`VR_KINDS`);
    - ``invalid-length`` / ``invalid-value``: a value of an ASCII VR longer than the VR
      allows, or holding a byte that is not printable ASCII: the mark of a length that ran
      past its value and swallowed the elements after it.
    """
    for path, _dataset, tag, vr, element in walk_tree(dataset):
        if not isinstance(element, RawDataElement):
            continue
        raw_vr = str(element.VR) if element.VR is not None else None
        defect = _encoding_defect(path, tag, raw_vr, vr, element.value or b"")
        if defect is not None:
            return defect
    return None


def _encoding_defect(
    path: ElementPath, tag: int, raw_vr: str | None, vr: str, value: bytes
) -> Diagnosis | None:
    """The defect :func:`check_encoding` names for one raw element, or None."""
    if raw_vr is not None and not (tag >> 16) & 1:
        mismatch = _kind_mismatch(tag, raw_vr)
        if mismatch is not None:
            return Diagnosis(Reason.INVALID_VR, f"{element_location(path, tag)} {mismatch}")
    if vr in ASCII_VRS and value:
        defect = _ascii_defect(vr, value)
        if defect is not None:
            reason = Reason.INVALID_LENGTH if "longer" in defect else Reason.INVALID_VALUE
            return Diagnosis(reason, f"{element_location(path, tag)}: {defect}")
    return None


def _row_defect(
    table: ElementTable, index: int, path: ElementPath, already_read: frozenset[int]
) -> Diagnosis | None:
    """The defect :func:`check_table_encoding` names for element row ``index`` at ``path``,
    or None (also for a row :func:`check_encoding` would not see raw: see there)."""
    row = table.rows[index]
    tag = row.tag
    if row.vr == "SQ" or (row.parent == TOP and (tag in already_read or tag == CHARSET)):
        return None
    if unresolvable_by_pydicom(table, index):
        # check_encoding's walk fails converting it, and admission then diagnoses the file
        # from pydicom's reading: fail the same way, so that the verdict is the same.
        raise ReadError(Code.INVALID_VR, "'US or SS' without a Pixel Representation", row.header)
    raw_vr = row.encoded_vr if row.encoded_vr and row.explicit else None
    vr = known_raw_vr(tag, raw_vr)
    if vr is None:
        return None
    value = table.data[row.offset : row.offset + row.length] if vr in ASCII_VRS else b""
    return _encoding_defect(path, tag, raw_vr, vr, value)


#: :func:`_verdict`'s answers, by (tag, stated VR): tags and VRs are few (a plain dict: the
#: loop over every row asks it once per row).
_STATED: dict[tuple[int, str | None], int] = {}
STATED_LIMIT: Final = 8192
#: :func:`_verdict`: nothing to check (no VR checked, or not an ASCII VR), or a stated VR of
#: another kind than the dictionary's; else the ASCII VR's length limit (positive).
_NOT_ASCII: Final = 0
_MISMATCH: Final = -1


def _verdict(tag: int, raw_vr: str | None) -> int:
    """:func:`_stated` for one (tag, stated VR), as :func:`_any_defect` acts on it."""
    vr, mismatch = _stated(tag, raw_vr)
    if vr is None:
        return _NOT_ASCII
    if mismatch:
        return _MISMATCH
    limit = ASCII_LIMITS.get(vr)
    if limit is None:
        return _NOT_ASCII
    return limit


def _stated(tag: int, raw_vr: str | None) -> tuple[str | None, bool]:
    """For an element at ``tag`` stating ``raw_vr``: the VR :func:`_row_defect` checks it as
    (None: it does not), and whether the stated VR is of another kind than the dictionary's
    (:func:`_encoding_defect`'s first test). A file asks the same few pairs row after row."""
    checked = raw_vr is not None and not (tag >> 16) & 1
    return known_raw_vr(tag, raw_vr), checked and _kind_mismatch(tag, raw_vr or "") is not None


def _any_defect(table: ElementTable, already_read: frozenset[int]) -> bool:
    """Whether any element row, in file order, has a defect :func:`check_table_encoding`
    would name: a superset of the rows it walks (it also sees rows pydicom drops as repeated
    tags), so False means that walk finds none, and only a file with a defect pays for
    the walk in pydicom's order that says which defect comes first. (:func:`_row_defect`'s
    verdict per row, the look-ups per (tag, stated VR) made once: see :func:`_verdict`; an
    ASCII value asks :func:`_ascii_defect` only when it is not plainly printable within its
    limit.)"""
    meta_end = table.facts.meta_end
    data = table.data
    element = Kind.ELEMENT
    stated = _STATED
    for table_index, row in enumerate(table.rows):
        tag, row_vr, encoded, header, offset, length, _, _, parent, _, kind, explicit, _ = row
        if kind is not element or row_vr == "SQ":
            continue
        if parent == TOP and (header < meta_end or tag in already_read or tag == CHARSET):
            continue
        if row_vr == "US or SS" and unresolvable_by_pydicom(table, table_index):
            return True
        key = (tag, encoded if encoded and explicit else None)
        verdict = stated.get(key)
        if verdict is None:
            if len(stated) >= STATED_LIMIT:
                stated.clear()  # bounded: a long-lived process reads many files' private tags
            verdict = stated[key] = _verdict(*key)
        if verdict == _NOT_ASCII:
            continue
        if verdict == _MISMATCH:
            return True
        if length:
            value = data[offset : offset + length]
            body = value.rstrip(b" \x00")
            # Not plainly printable within the limit: the VR's own test (rare) says.
            if (body.translate(None, PRINTABLE) or len(body) > verdict) and _ascii_defect(
                str(_stated(*key)[0]), value
            ) is not None:
                return True
    return False


def may_have_encoding_defect(table: ElementTable) -> bool:
    """Whether :func:`check_table_encoding` may name a defect for ``table``, whatever
    elements earlier checks have read: False means it names none for any ``already_read``
    (its first pass with nothing set aside sees every row any call would walk)."""
    return _any_defect(table, frozenset())


def check_table_encoding(
    table: ElementTable, already_read: frozenset[int] = frozenset()
) -> Diagnosis | None:
    """:func:`check_encoding` of the dataset ``table`` stands for, read from the table: the
    same elements in the same order (each data set's by tag, depth first: the verifier's
    :meth:`~deidengine.verify.table_view.TableView.walk`), the same verdict, without building
    pydicom's objects. An element pydicom would convert to learn its VR (a private element in
    implicit VR, ``UN``, a VR the dictionary leaves open) is converted by
    :func:`check_encoding` and so not checked; it is skipped here too, and so is the top
    level's Specific Character Set, which pydicom converts on reading to decode the file,
    and every top-level element in ``already_read``: the values earlier checks have read
    (and so converted, with their own rules) before this one runs."""
    if not _any_defect(table, already_read):
        return None  # the common case: no row of the file has one, in whatever order
    for path, _dataset, index, _tag, _vr in TableView.of(table).walk():
        defect = _row_defect(table, index, path, already_read)
        if defect is not None:
            return defect
    return None


def encoding_mismatch(dataset: Dataset) -> Diagnosis | None:
    """``transfer-syntax-mismatch`` when the data set's elements are not in the VR encoding
    its meta's transfer syntax says. pydicom notices, reads on in the other encoding and still
    reports the declared one; the writer would then copy the elements as read under a meta
    that says otherwise, and the output would carry the same contradiction."""
    meta = getattr(dataset, "file_meta", None)
    syntax_text = str(meta.get("TransferSyntaxUID", "")).strip(" \x00") if meta else ""
    if not syntax_text or not UID(syntax_text).is_transfer_syntax:
        return None
    first = next((e for e in dataset._dict.values() if isinstance(e, RawDataElement)), None)
    if first is None:
        return None
    read_implicit = first.VR is None  # a raw element read as explicit VR states its VR
    if read_implicit == UID(syntax_text).is_implicit_VR:
        return None
    found = "implicit" if read_implicit else "explicit"
    return Diagnosis(Reason.TRANSFER_SYNTAX_MISMATCH, f"{found} VR data under {syntax_text}")
