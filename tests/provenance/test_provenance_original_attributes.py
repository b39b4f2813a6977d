"""Original Attributes: collected, enveloped (never in clear text), restored by the recipient."""

from __future__ import annotations

import copy
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pydicom
import pytest
from click.testing import CliRunner
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deidengine.cli import main
from deidengine.provenance.original_attributes import (
    OriginalAttributesError,
    collect_original_attributes,
    decrypt_original_attributes,
    encrypt_original_attributes,
    original_snapshot,
    protect_original_attributes,
    reidentify,
)
from deidengine.provenance.stamp import KeptPrivateBlock, PixelOutcome, WhatRan, stamp_provenance
from deidengine.provenance.vocabulary import (
    EXPLICIT_VR_LITTLE_ENDIAN,
    LongitudinalTemporalInformationModified,
    Tag,
)
from deidengine.run.pipeline import FileProcessor, RunSettings
from tests.provenance.recipients import Recipient

NAME = b"CompressedSamples^CT1"
PATIENT_ID = b"1CT1"


def _engine(ct_small: Path, tmp_path: Path, policy: str = "annex-e/basic") -> Dataset:
    """The real engine's output for ``ct_small``."""
    processor = FileProcessor(
        RunSettings(policy, b"k" * 32, str(tmp_path / "out"), str(tmp_path / "quarantine"))
    )
    outcome = processor.process(str(ct_small))
    assert outcome.output is not None, outcome
    return pydicom.dcmread(tmp_path / "out" / outcome.output)


def _comparable(ds: Dataset) -> dict[int, object]:
    return {
        int(e.tag): e
        for e in ds
        if int(e.tag) & 0xFFFF != 0 and int(e.tag) != Tag.PixelData  # group lengths dropped
    }


def _by_hand(before: Dataset) -> Dataset:
    """A small de-identification, by hand, with the real stamp."""
    after = copy.deepcopy(before)
    after.PatientName = "ANON"
    del after.PatientID
    after.OtherPatientIDsSequence[0].PatientID = "X"  # nested change: the sequence goes whole
    for tag in [e.tag for e in after if e.tag.group == 0x0009]:
        del after[tag]
    after.PixelData = bytes(len(before.PixelData))  # "redacted"
    stamp_provenance(
        after,
        WhatRan.from_run(
            policy_names=("by-hand",),
            policy_digest="0" * 64,
            plan_codes=("113100", "113101"),
            temporal=LongitudinalTemporalInformationModified.REMOVED,
            pixels=PixelOutcome(pixels_cleaned=True),
            kept_private_blocks=(KeptPrivateBlock(0x0019, "GEMS_ACQU_01", known_safe=(0x23,)),),
        ),
    )
    return after


def test_collect_records_removed_and_replaced_elements(ct_small: Path) -> None:
    before = pydicom.dcmread(ct_small)
    before.LongitudinalTemporalInformationModified = "REMOVED"  # unchanged by the stamp
    after = _by_hand(before)
    moment = datetime(2025, 6, 7, 8, 9, 10, tzinfo=UTC)
    item = collect_original_attributes(before, after, now=moment)
    (originals,) = item[Tag.ModifiedAttributesSequence].value
    recorded = {int(e.tag) for e in originals}
    private = {int(e.tag) for e in before if e.tag.group == 0x0009}
    assert recorded == {
        0x00100010,  # replaced
        0x00100020,  # removed
        0x00101002,  # a nested value changed: the whole sequence
        Tag.LongitudinalTemporalInformationModified,  # the stamp overwrote it (same value)
        *private,
    }
    assert originals.PatientName == before.PatientName
    assert originals.OtherPatientIDsSequence == before.OtherPatientIDsSequence
    assert item[Tag.AttributeModificationDateTime].value == "20250607080910.000000+0000"
    assert item[Tag.ModifyingSystem].value.startswith("deidengine ")
    assert item[Tag.ReasonForTheAttributeModification].value == "DEIDENTIFICATION"
    assert item[Tag.SourceOfPreviousValues].value in ("", None)
    assert item[Tag.SpecificCharacterSet].value == "ISO_IR 100"
    with_pixels = collect_original_attributes(before, after, include_pixel_data=True)
    assert Tag.PixelData in with_pixels[Tag.ModifiedAttributesSequence].value[0]


def test_encrypted_output_holds_no_original_in_clear(
    ct_small: Path, tmp_path: Path, broker: Recipient
) -> None:
    before = pydicom.dcmread(ct_small)
    assert NAME in ct_small.read_bytes() and PATIENT_ID in ct_small.read_bytes()
    after = _engine(ct_small, tmp_path)
    protect_original_attributes(before, after, broker.cert_pem)
    target = tmp_path / "protected.dcm"
    after.save_as(target, enforce_file_format=True)
    raw = target.read_bytes()
    assert NAME not in raw and PATIENT_ID not in raw
    assert b"GEMS_IDEN_01" not in raw  # a removed private creator stays removed, too
    back = pydicom.dcmread(target)
    assert Tag.OriginalAttributesSequence not in back  # Table E.1-1: X
    assert Tag.ModifiedAttributesSequence not in back
    (encrypted,) = back[Tag.EncryptedAttributesSequence].value
    assert encrypted[Tag.EncryptedContentTransferSyntaxUID].value == EXPLICIT_VR_LITTLE_ENDIAN
    assert encrypted[Tag.EncryptedContent].VR == "OB"
    # PS3.3 C.12.1.1.4.1: the decrypted Data Set has one Modified Attributes Sequence item.
    item = decrypt_original_attributes(back, broker.key_pem, broker.cert_pem)
    (originals,) = item[Tag.ModifiedAttributesSequence].value
    assert originals.PatientName == before.PatientName
    assert originals.PatientID == before.PatientID


def test_cli_round_trip_restores_the_originals_exactly(
    ct_small: Path, tmp_path: Path, broker: Recipient
) -> None:
    before = pydicom.dcmread(ct_small)
    after = _engine(ct_small, tmp_path)
    protect_original_attributes(before, after, broker.cert_pem)
    tree = tmp_path / "deidentified"
    (tree / "study").mkdir(parents=True)
    after.save_as(tree / "study" / "one.dcm", enforce_file_format=True)
    key, cert = tmp_path / "broker.key", tmp_path / "broker.pem"
    key.write_bytes(broker.key_pem)
    cert.write_bytes(broker.cert_pem)
    out = tmp_path / "restored"
    arguments = ["reidentify", "--key", str(key), "--cert", str(cert), str(tree), str(out)]
    result = CliRunner().invoke(main, arguments)
    assert result.exit_code == 0, result.output
    assert "1 restored" in result.output
    assert "CompressedSamples" not in result.output and "1CT1" not in result.output
    restored_path = out / "study" / "one.dcm"
    assert stat.S_IMODE(os.stat(restored_path).st_mode) == 0o600
    restored = pydicom.dcmread(restored_path)
    original, back = _comparable(before), _comparable(restored)
    assert {t: back.get(t) for t in original} == original
    # Only E.1.2's Patient Identity Removed NO is new; the rest of the stamp is gone.
    assert set(back) - set(original) == {Tag.PatientIdentityRemoved}
    assert restored.PatientIdentityRemoved == "NO"
    assert restored.PixelData == before.PixelData
    assert restored.file_meta.MediaStorageSOPInstanceUID == before.SOPInstanceUID
    again = CliRunner().invoke(main, arguments)
    assert again.exit_code == 0 and "1 already-done" in again.output


def test_reidentify_keeps_redacted_pixels_and_what_describes_them(
    ct_small: Path, broker: Recipient
) -> None:
    before = pydicom.dcmread(ct_small)
    before.PatientName = "Müller^Jörg"  # ISO_IR 100 text survives the envelope
    snapshot = original_snapshot(before)
    after = _by_hand(before)
    protect_original_attributes(snapshot, after, broker.cert_pem)
    restored = reidentify(after, broker.key_pem, broker.cert_pem)
    assert restored.PatientName == "Müller^Jörg"
    assert restored.PatientID == before.PatientID
    assert restored.OtherPatientIDsSequence == before.OtherPatientIDsSequence
    assert restored[0x00091001] == before[0x00091001]
    assert restored.PixelData == after.PixelData  # not recorded, so not restored
    assert restored.BurnedInAnnotation == "NO"  # still true of those pixels
    for tag in (
        Tag.DeidentificationMethod,
        Tag.DeidentificationMethodCodeSequence,
        Tag.LongitudinalTemporalInformationModified,
        Tag.PrivateDataElementCharacteristicsSequence,
        Tag.ContributingEquipmentSequence,
        Tag.EncryptedAttributesSequence,
    ):
        assert tag not in restored, f"{tag:08X}"
    assert Tag.EncryptedAttributesSequence in after  # the input is not changed


def test_reidentify_restores_recorded_pixels(ct_small: Path, broker: Recipient) -> None:
    before = pydicom.dcmread(ct_small)
    after = _by_hand(before)
    protect_original_attributes(before, after, broker.cert_pem, include_pixel_data=True)
    restored = reidentify(after, broker.key_pem, broker.cert_pem)
    assert restored.PixelData == before.PixelData
    assert "BurnedInAnnotation" not in restored  # the input had none


def test_provenance_the_input_had_is_restored(ct_small: Path, broker: Recipient) -> None:
    before = pydicom.dcmread(ct_small)
    before.LongitudinalTemporalInformationModified = "REMOVED"
    after = _by_hand(before)  # stamps the same value
    protect_original_attributes(before, after, broker.cert_pem)
    restored = reidentify(after, broker.key_pem, broker.cert_pem)
    assert restored.LongitudinalTemporalInformationModified == "REMOVED"


def test_only_the_recipient_can_open_it(
    ct_small: Path, tmp_path: Path, broker: Recipient, stranger: Recipient
) -> None:
    before = pydicom.dcmread(ct_small)
    after = _by_hand(before)
    protect_original_attributes(before, after, broker.cert_pem)
    with pytest.raises(OriginalAttributesError, match="addressed to this certificate"):
        reidentify(after, stranger.key_pem, stranger.cert_pem)
    with pytest.raises(OriginalAttributesError, match="does not belong"):
        reidentify(after, stranger.key_pem, broker.cert_pem)
    path = tmp_path / "one.dcm"
    after.save_as(path, enforce_file_format=True)
    files = {}
    for label, pem in (
        ("key", stranger.key_pem),
        ("cert", stranger.cert_pem),
        ("brokercert", broker.cert_pem),
    ):
        files[label] = tmp_path / label
        files[label].write_bytes(pem)
    runner = CliRunner()
    wrong = runner.invoke(
        main,
        [
            "reidentify",
            "--key",
            str(files["key"]),
            "--cert",
            str(files["cert"]),
            str(path),
            str(tmp_path / "a.dcm"),
        ],
    )
    assert wrong.exit_code == 1, wrong.output
    assert not (tmp_path / "a.dcm").exists()
    mismatched = runner.invoke(
        main,
        [
            "reidentify",
            "--key",
            str(files["key"]),
            "--cert",
            str(files["brokercert"]),
            str(path),
            str(tmp_path / "b.dcm"),
        ],
    )
    assert mismatched.exit_code == 2, mismatched.output


def test_several_recipients_and_padded_content(
    ct_small: Path, broker: Recipient, stranger: Recipient
) -> None:
    before = pydicom.dcmread(ct_small)
    after = _by_hand(before)
    protect_original_attributes(before, after, stranger.cert_pem)
    item = collect_original_attributes(before, after)
    mine = encrypt_original_attributes(item, broker.cert_pem)
    content = bytes(mine[Tag.EncryptedContent].value)
    mine[Tag.EncryptedContent].value = content + b"\0"  # as an OB value padded to even length
    sequence = after[Tag.EncryptedAttributesSequence].value
    after[Tag.EncryptedAttributesSequence].value = Sequence([*sequence, mine])
    restored = reidentify(after, broker.key_pem, broker.cert_pem)
    assert restored.PatientID == before.PatientID
    (left,) = restored[Tag.EncryptedAttributesSequence].value  # the stranger's stays
    assert bytes(left[Tag.EncryptedContent].value) != content
