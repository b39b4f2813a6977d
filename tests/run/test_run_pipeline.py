"""One file through the pipeline, on real files with injected fake PHI: exact outcomes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pydicom
import pytest
from pydicom.data import get_testdata_file

from deidengine.dicom.identifiers import collect_identifying_values
from deidengine.run.outcome import Reason, Status
from deidengine.run.pipeline import FileProcessor, RunSettings
from tests.phi_corpus import JANE, OMAR, write_corpus

SECRET = bytes.fromhex("9f" * 32)


def _processor(tmp_path: Path, policy: str, **extra: object) -> FileProcessor:
    settings = RunSettings(
        policy, SECRET, str(tmp_path / "out"), str(tmp_path / "quarantine"), **extra
    )  # type: ignore[arg-type]
    return FileProcessor(settings)


@pytest.fixture()
def corpus(tmp_path: Path) -> dict[str, Path]:
    return write_corpus(tmp_path / "in")


def _all_output_bytes(root: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


@pytest.mark.parametrize("policy", ["annex-e/basic", "research-longitudinal"])
def test_no_injected_identifier_survives(
    tmp_path: Path, corpus: dict[str, Path], policy: str
) -> None:
    processor = _processor(tmp_path, policy)
    outcomes = {label: processor.process(str(path)) for label, path in corpus.items()}
    assert {o.status for o in outcomes.values()} == {Status.WRITTEN}, outcomes
    blob = _all_output_bytes(tmp_path / "out").upper()
    for patient in (JANE, OMAR):
        for needle in patient.needles():
            assert needle.upper().encode() not in blob, needle
    assert b"GRIMSDOTTIR" not in blob and b"ACC7781203" not in blob
    for outcome in outcomes.values():
        assert outcome.output is not None and "QUIRINUS" not in outcome.output


def test_inputs_are_never_modified(tmp_path: Path, corpus: dict[str, Path]) -> None:
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in corpus.values()}
    processor = _processor(tmp_path, "hipaa-safe-harbor")
    for path in corpus.values():
        processor.process(str(path))
    assert before == {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in corpus.values()}


def test_uids_and_pseudonyms_are_consistent(tmp_path: Path, corpus: dict[str, Path]) -> None:
    processor = _processor(tmp_path, "research-longitudinal")
    out = {
        label: pydicom.dcmread(tmp_path / "out" / str(processor.process(str(p)).output))
        for label, p in corpus.items()
    }
    ct, mr, later, omar = out["jane-ct"], out["jane-mr"], out["jane-ct-later"], out["omar-ct"]
    assert ct.StudyInstanceUID == mr.StudyInstanceUID != later.StudyInstanceUID
    assert ct.StudyInstanceUID.startswith("2.25.")
    assert ct.file_meta.MediaStorageSOPInstanceUID == ct.SOPInstanceUID
    assert ct.SOPClassUID == "1.2.840.10008.5.1.4.1.1.2"  # registry UIDs are never remapped
    assert ct.PatientID == mr.PatientID == later.PatientID != omar.PatientID
    assert str(ct.PatientID).startswith("SUBJ-")
    # one patient, one offset: the interval between Jane's studies is preserved
    from datetime import date

    def day(value: str) -> date:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))

    assert (day(later.StudyDate) - day(ct.StudyDate)).days == (
        date(2020, 4, 1) - date(2019, 3, 14)
    ).days
    assert ct.StudyDate != "20190314"
    assert ct.LongitudinalTemporalInformationModified == "MODIFIED"
    again = _processor(tmp_path / "second", "research-longitudinal")
    second = pydicom.dcmread(
        tmp_path / "second" / "out" / str(again.process(str(corpus["jane-ct"])).output)
    )
    assert second.StudyInstanceUID == ct.StudyInstanceUID and second.PatientID == ct.PatientID


def test_hipaa_output(tmp_path: Path, corpus: dict[str, Path]) -> None:
    processor = _processor(tmp_path, "hipaa-safe-harbor")
    outcome = processor.process(str(corpus["jane-ct"]))
    assert outcome.status is Status.WRITTEN, outcome
    ds = pydicom.dcmread(tmp_path / "out" / str(outcome.output))
    assert ds.StudyDate == "20190101"
    assert ds.PatientBirthDate == "19620101"
    assert ds.PatientAge == "063Y"
    assert ds.PatientAddress == "021"
    assert "PatientTelephoneNumbers" not in ds
    assert ds.PatientIdentityRemoved == "YES"
    assert ds.DeidentificationMethod[0].startswith("deidengine ")
    codes = [item.CodeValue for item in ds.DeidentificationMethodCodeSequence]
    assert codes[:4] == ["113100", "113105", "113104", "113103"]
    assert "QUIRINUS" not in str(ds.StudyDescription).upper()
    assert str(ds.StudyDescription).startswith("CT CHEST for ")
    assert not [e for e in ds if e.tag.is_private]
    assert "OtherPatientIDsSequence" not in ds


def test_pixel_data_is_untouched_without_a_pixel_rule(
    tmp_path: Path, corpus: dict[str, Path]
) -> None:
    processor = _processor(tmp_path, "annex-e/basic")
    outcome = processor.process(str(corpus["jane-ct"]))
    ds = pydicom.dcmread(tmp_path / "out" / str(outcome.output))
    assert ds.PixelData == pydicom.dcmread(corpus["jane-ct"]).PixelData
    assert ds.PatientID == ""  # Z/D on a Type 2 attribute of CT Image: Z


def test_retain_safe_private_keeps_only_safe_elements(tmp_path: Path) -> None:
    source = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    safe = source.private_block(0x7053, "Philips PET Private Group", create=True)
    safe.add_new(0x00, "DS", "1.5")  # (7053,xx00) SUV Factor: in Table E.3.10-1
    safe.add_new(0x01, "LO", "not in the table")
    path = tmp_path / "in.dcm"
    source.save_as(path, enforce_file_format=True)
    processor = _processor(tmp_path, "annex-e/basic,annex-e/retain-safe-private")
    outcome = processor.process(str(path))
    ds = pydicom.dcmread(tmp_path / "out" / str(outcome.output))
    block = ds.private_block(0x7053, "Philips PET Private Group")
    assert block[0x00].value == "1.5"
    assert block.get_tag(0x01) not in ds
    assert not any(e.tag.group == 0x0009 for e in ds)  # CT_small's GEMS blocks are gone


def test_malformed_inputs_are_quarantined_and_nothing_reaches_out(tmp_path: Path) -> None:
    good = Path(get_testdata_file("CT_small.dcm"))
    (tmp_path / "in").mkdir()
    not_dicom = tmp_path / "in" / "notes.txt"
    not_dicom.write_text("Patient QUIRINUS^HELOISE", encoding="utf-8")
    truncated = tmp_path / "in" / "cut.dcm"
    truncated.write_bytes(good.read_bytes()[:20000])
    processor = _processor(tmp_path, "annex-e/basic")
    first = processor.process(str(not_dicom))
    second = processor.process(str(truncated))
    assert (first.status, first.reason) == (Status.QUARANTINED, Reason.NOT_DICOM)
    assert (second.status, second.reason) == (Status.QUARANTINED, Reason.TRUNCATED)
    assert not (tmp_path / "out").exists()
    record = (tmp_path / "quarantine" / f"{first.input_ref}.json").read_text("utf-8")
    assert "QUIRINUS" not in record and "notes" not in record


def test_lookup_miss_quarantines(tmp_path: Path, corpus: dict[str, Path]) -> None:
    policy = tmp_path / "site.policy"
    policy.write_text(
        "policy site\nuse annex-e/basic\nPatientID -> lookup research-ids\n", encoding="utf-8"
    )
    table = tmp_path / "ids.csv"
    table.write_text(f"id_old,id_new\n{JANE.patient_id},R-0001\n", encoding="utf-8")
    processor = _processor(tmp_path, str(policy), lookups=(("research-ids", str(table)),))
    jane = processor.process(str(corpus["jane-ct"]))
    omar = processor.process(str(corpus["omar-ct"]))
    assert jane.status is Status.WRITTEN
    assert pydicom.dcmread(tmp_path / "out" / str(jane.output)).PatientID == "R-0001"
    assert (omar.status, omar.reason) == (Status.QUARANTINED, Reason.LOOKUP_MISS)
    assert OMAR.patient_id not in str(omar.detail)


def test_reject_rule_quarantines(tmp_path: Path, corpus: dict[str, Path]) -> None:
    policy = tmp_path / "site.policy"
    policy.write_text(
        "policy site\nuse annex-e/basic\npixels when Modality == CT -> reject\n", encoding="utf-8"
    )
    outcome = _processor(tmp_path, str(policy)).process(str(corpus["jane-ct"]))
    assert (outcome.status, outcome.reason) == (Status.QUARANTINED, Reason.REJECTED_BY_POLICY)


def test_unlisted_uids_are_remapped_unless_uids_are_retained(tmp_path: Path) -> None:
    source = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    source.add_new(0x00080017, "UI", "1.2.826.0.1.3680043.9.7.555")  # Acquisition UID: unlisted
    path = tmp_path / "in.dcm"
    source.save_as(path, enforce_file_format=True)
    remapped = _processor(tmp_path / "a", "annex-e/basic").process(str(path))
    ds = pydicom.dcmread(tmp_path / "a" / "out" / str(remapped.output))
    assert str(ds[0x00080017].value).startswith("2.25.")
    assert ds.file_meta.TransferSyntaxUID == source.file_meta.TransferSyntaxUID
    kept = _processor(tmp_path / "b", "annex-e/basic,annex-e/retain-uids").process(str(path))
    ds = pydicom.dcmread(tmp_path / "b" / "out" / str(kept.output))
    assert ds[0x00080017].value == "1.2.826.0.1.3680043.9.7.555"
    assert ds.SOPInstanceUID == source.SOPInstanceUID


def test_honest_broker_mode_envelopes_the_originals(
    tmp_path: Path, corpus: dict[str, Path]
) -> None:
    from deidengine.provenance import reidentify
    from tests.provenance.recipients import make_recipient

    broker = make_recipient("honest broker")
    certificate = tmp_path / "broker.pem"
    certificate.write_bytes(broker.cert_pem)
    processor = _processor(tmp_path, "hipaa-safe-harbor", encrypt_to=str(certificate))
    outcome = processor.process(str(corpus["jane-ct"]))
    assert outcome.status is Status.WRITTEN, outcome
    written = tmp_path / "out" / str(outcome.output)
    raw = written.read_bytes()
    assert JANE.family.encode() not in raw and JANE.patient_id.encode() not in raw
    ds = pydicom.dcmread(written)
    assert 0x04000500 in ds
    restored = reidentify(ds, broker.key_pem, broker.cert_pem)
    assert str(restored.PatientName) == JANE.name
    assert restored.PatientID == JANE.patient_id
    again = processor.process(str(corpus["jane-ct"]))  # a new random envelope, same content
    assert (again.status, again.reason) == (Status.SKIPPED, Reason.ALREADY_DONE)


CHARSET_FILES = [
    "chrArab.dcm",
    "chrFren.dcm",
    "chrGerm.dcm",
    "chrGreek.dcm",
    "chrH31.dcm",
    "chrH32.dcm",
    "chrHbrw.dcm",
    "chrI2.dcm",
    "chrRuss.dcm",
    "chrX1.dcm",
    "chrX2.dcm",
]


@pytest.mark.parametrize("name", CHARSET_FILES)
def test_character_sets_names_are_gone_and_output_reads(tmp_path: Path, name: str) -> None:
    from pydicom.data import get_charset_files

    (path,) = get_charset_files(name)
    source = pydicom.dcmread(path)
    groups = str(source.PatientName).replace("=", "^").split("^")
    processor = _processor(tmp_path, "hipaa-safe-harbor")
    outcome = processor.process(path)
    assert outcome.status is Status.WRITTEN, outcome
    output = pydicom.dcmread(tmp_path / "out" / str(outcome.output))
    text = "".join(str(e.value) for e in output.iterall() if e.VR in ("PN", "LO", "SH", "ST"))
    for part in (g for g in groups if len(g) >= 2):
        assert part not in text, name
    assert str(output.PatientName).startswith("SUBJ-")
    assert output.get("SpecificCharacterSet") == source.get("SpecificCharacterSet")


def test_an_overlay_plane_without_its_data_goes_whole(tmp_path: Path) -> None:
    path = get_testdata_file("examples_overlay.dcm")
    source = pydicom.dcmread(path)
    assert (0x6000, 0x3000) in source and (0x6000, 0x0010) in source
    outcome = _processor(tmp_path, "annex-e/basic").process(str(path))
    ds = pydicom.dcmread(tmp_path / "out" / str(outcome.output))
    assert not [e for e in ds if e.tag.group == 0x6000]
    assert ds.PixelData == source.PixelData


def test_research_longitudinal_leaves_no_original_date(
    tmp_path: Path, corpus: dict[str, Path]
) -> None:
    """Every DA/DT of a patient moves by that patient's one offset; no original date remains,
    in any element, free text included."""
    from datetime import date

    processor = _processor(tmp_path, "research-longitudinal")
    for label, path in corpus.items():
        source = pydicom.dcmread(path)
        outcome = processor.process(str(path))
        assert outcome.status is Status.WRITTEN, (label, outcome)
        written = tmp_path / "out" / str(outcome.output)
        output = pydicom.dcmread(written)
        originals = {
            str(e.value)[:8]
            for e in source.iterall()
            if (e.VR in ("DA", "DT") and e.value and e.tag.group != 0x0008)
            or e.keyword in ("StudyDate", "SeriesDate", "PatientBirthDate")
        }
        blob = written.read_bytes()
        for value in originals:
            if len(value) == 8 and value.isdigit():
                assert value.encode() not in blob, (label, value)
                slashed = f"{value[4:6]}/{value[6:8]}/{value[:4]}".encode()
                assert slashed not in blob
        shift = {
            (
                date.fromisoformat(f"{a[:4]}-{a[4:6]}-{a[6:8]}")
                - date.fromisoformat(f"{b[:4]}-{b[4:6]}-{b[6:8]}")
            ).days
            for keyword in ("StudyDate", "PatientBirthDate", "SeriesDate")
            if (a := str(output.get(keyword, ""))) and (b := str(source.get(keyword, "")))
        }
        assert len(shift) == 1 and -365 <= shift.pop() <= -1, label


def test_pixel_rule_conditions_read_the_input_not_the_deidentified_header(
    tmp_path: Path, corpus: dict[str, Path]
) -> None:
    # Basic removes Institution Name before the pixel stage runs; the condition must still
    # see what the input said.
    policy = tmp_path / "site.policy"
    policy.write_text(
        "policy site\nuse annex-e/basic\n"
        'pixels when InstitutionName == "Saint Elsewhere Hospital" -> reject\n',
        encoding="utf-8",
    )
    outcome = _processor(tmp_path, str(policy)).process(str(corpus["jane-ct"]))
    assert (outcome.status, outcome.reason) == (Status.QUARANTINED, Reason.REJECTED_BY_POLICY)


def test_a_file_the_verifier_rejects_leaves_no_file(
    tmp_path: Path, corpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A leak verdict stops the file before anything is written to the output."""
    import deidengine.run.pipeline as pipeline
    from deidengine.verify.leaks import LeakFinding

    monkeypatch.setattr(pipeline, "find_leaks", lambda *_args: (LeakFinding("(0010,0010)"),))
    processor = _processor(tmp_path, "annex-e/basic")
    outcome = processor.process(str(next(iter(corpus.values()))))
    assert outcome.status is Status.QUARANTINED
    assert outcome.reason is Reason.LEAK_DETECTED
    assert [path for path in (tmp_path / "out").rglob("*") if path.is_file()] == []


def test_store_atomically_links_once_and_never_leaves_a_temporary(tmp_path: Path) -> None:
    from deidengine.dicom.storage import StoreResult, store_atomically

    target = tmp_path / "a" / "b" / "x.dcm"
    one = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    two = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    assert store_atomically(one, target) is StoreResult.WRITTEN
    written = target.read_bytes()
    assert store_atomically(one, target) is StoreResult.ALREADY_THERE
    assert store_atomically(two, target) is StoreResult.CONFLICT
    assert target.read_bytes() == written
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.dcm"]


def test_standard_elements_stored_as_un_are_still_de_identified(tmp_path: Path) -> None:
    """rtdose_rle.dcm states its standard elements as UN: the name and dates are still found
    (deny-list), acted on (plan) and absent from the output."""
    path = get_testdata_file("rtdose_rle.dcm")
    assert isinstance(path, str)
    processor = _processor(tmp_path, "annex-e/basic")
    identifying = collect_identifying_values(pydicom.dcmread(path))
    assert {"lastname", "firstname"} <= identifying.names
    outcome = processor.process(path)
    written = _all_output_bytes(tmp_path / "out")
    assert outcome.status is Status.WRITTEN, outcome.detail
    assert b"Lastname" not in written and b"Firstname" not in written
