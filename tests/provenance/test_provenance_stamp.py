"""Provenance stamping: exact attributes and codes for a given WhatRan, on a real file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pydicom
import pytest
from pydicom.dataset import Dataset

from deidengine import __version__
from deidengine.provenance.stamp import (
    KeptPrivateBlock,
    PixelOutcome,
    WhatRan,
    deidentification_method,
    kept_private_blocks,
    plan_known_safe,
    private_block_inventory,
    stamp_provenance,
)
from deidengine.provenance.vocabulary import (
    DE_IDENTIFYING_EQUIPMENT,
    BlockIdentifyingInformationStatus,
    BurnedInAnnotation,
    DeidentificationAction,
    LongitudinalTemporalInformationModified,
    PatientIdentityRemoved,
    RecognizableVisualFeatures,
    Tag,
)
from deidengine.run.pipeline import FileProcessor, RunSettings

DIGEST = "ab" * 32
MODIFIED = LongitudinalTemporalInformationModified.MODIFIED


def _ran(**extra: object) -> WhatRan:
    arguments: dict[str, object] = {
        "policy_names": ("annex-e/basic", "annex-e/clean-pixel-data"),
        "policy_digest": DIGEST,
        "plan_codes": ("113100", "113101", "113102"),
        "temporal": MODIFIED,
        "pixels": PixelOutcome(pixels_cleaned=True),
    }
    arguments.update(extra)
    return WhatRan.from_run(**arguments)  # type: ignore[arg-type]


def _codes(ds: Dataset) -> list[tuple[str, str, str]]:
    return [
        (i[Tag.CodeValue].value, i[Tag.CodingSchemeDesignator].value, i[Tag.CodeMeaning].value)
        for i in ds[Tag.DeidentificationMethodCodeSequence].value
    ]


def test_stamp_writes_exactly_what_ran(ct_small: Path) -> None:
    ds = pydicom.dcmread(ct_small)
    stamp_provenance(ds, _ran())
    assert ds[Tag.PatientIdentityRemoved].VR == "CS"
    assert ds[Tag.PatientIdentityRemoved].value == "YES"
    assert ds[Tag.DeidentificationMethod].VR == "LO"
    assert list(ds[Tag.DeidentificationMethod].value) == [
        f"deidengine {__version__}",
        "policy annex-e/basic",
        "policy annex-e/clean-pixel-data",
        "policy-digest sha256:" + "ab" * 20,
    ]
    # 113102 is in the plan but no recognizable-features rule ran: not claimed.
    assert _codes(ds) == [
        ("113100", "DCM", "Basic Application Confidentiality Profile"),
        ("113101", "DCM", "Clean Pixel Data Option"),
    ]
    assert ds[Tag.BurnedInAnnotation].value == "NO"
    assert Tag.RecognizableVisualFeatures not in ds
    assert ds[Tag.LongitudinalTemporalInformationModified].value == "MODIFIED"
    assert Tag.PrivateDataElementCharacteristicsSequence not in ds
    (equipment,) = ds[Tag.ContributingEquipmentSequence].value
    assert equipment[Tag.Manufacturer].value == "deidengine"
    assert equipment[Tag.SoftwareVersions].value == __version__
    assert Tag.ContributionDateTime not in equipment
    (purpose,) = equipment[Tag.PurposeOfReferenceCodeSequence].value
    assert (purpose.CodeValue, purpose.CodingSchemeDesignator, purpose.CodeMeaning) == (
        "109104",
        "DCM",
        "De-identifying Equipment",
    )


@pytest.mark.parametrize(
    ("pixels", "codes", "burned_in", "recognizable"),
    [
        (PixelOutcome(), ("113100",), None, None),
        (PixelOutcome(pixels_cleaned=True), ("113100", "113101"), BurnedInAnnotation.NO, None),
        (
            PixelOutcome(pixels_cleaned=True, recognizable_visual_features_cleaned=True),
            ("113100", "113101", "113102"),
            BurnedInAnnotation.NO,
            RecognizableVisualFeatures.NO,
        ),
    ],
)
def test_pixel_options_are_claimed_only_when_they_ran(
    pixels: PixelOutcome,
    codes: tuple[str, ...],
    burned_in: BurnedInAnnotation | None,
    recognizable: RecognizableVisualFeatures | None,
) -> None:
    ran = _ran(pixels=pixels)
    assert ran.codes == codes
    assert ran.burned_in_annotation is burned_in
    assert ran.recognizable_visual_features is recognizable


def test_no_code_ran_leaves_the_code_sequence_out(ct_small: Path) -> None:
    ds = pydicom.dcmread(ct_small)
    ds.add_new(Tag.DeidentificationMethodCodeSequence, "SQ", [Dataset()])
    stamp_provenance(ds, _ran(plan_codes=()))
    assert Tag.DeidentificationMethodCodeSequence not in ds  # Type 1C: one or more items
    assert ds[Tag.PatientIdentityRemoved].value == "YES"
    assert len(ds[Tag.DeidentificationMethod].value) == 4  # so (0012,0063) is present


def test_general_image_attributes_only_for_images(ct_small: Path) -> None:
    ds = pydicom.dcmread(ct_small)
    del ds.PixelData
    pixels = PixelOutcome(pixels_cleaned=True, recognizable_visual_features_cleaned=True)
    stamp_provenance(ds, _ran(pixels=pixels))
    assert Tag.BurnedInAnnotation not in ds and Tag.RecognizableVisualFeatures not in ds
    assert ds[Tag.LongitudinalTemporalInformationModified].value == "MODIFIED"


def test_existing_contributing_equipment_is_kept(ct_small: Path) -> None:
    ds = pydicom.dcmread(ct_small)
    modality = Dataset()
    modality.Manufacturer = "GE MEDICAL SYSTEMS"
    ds.ContributingEquipmentSequence = [modality]
    moment = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    stamp_provenance(ds, _ran(contribution_datetime=moment))
    first, ours = ds[Tag.ContributingEquipmentSequence].value
    assert first.Manufacturer == "GE MEDICAL SYSTEMS"
    assert ours[Tag.ContributionDateTime].VR == "DT"
    assert ours[Tag.ContributionDateTime].value == "20240102030405.000000+0000"


def test_stamped_dataset_saves_and_rereads(ct_small: Path, tmp_path: Path) -> None:
    ds = pydicom.dcmread(ct_small)
    block = KeptPrivateBlock(0x0019, "GEMS_ACQU_01", known_safe=(0x23, 0x24), removed=(0x02,))
    stamp_provenance(ds, _ran(kept_private_blocks=(block,)))
    target = tmp_path / "stamped.dcm"
    ds.save_as(target, enforce_file_format=True)
    back = pydicom.dcmread(target)
    for tag in (
        Tag.PatientIdentityRemoved,
        Tag.DeidentificationMethod,
        Tag.DeidentificationMethodCodeSequence,
        Tag.BurnedInAnnotation,
        Tag.LongitudinalTemporalInformationModified,
        Tag.PrivateDataElementCharacteristicsSequence,
        Tag.ContributingEquipmentSequence,
    ):
        assert back[tag] == ds[tag], f"{tag:08X}"
        assert back[tag].VR == ds[tag].VR


def test_private_block_item_mixed() -> None:
    ds = Dataset()
    block = KeptPrivateBlock(
        0x0019, "GEMS_ACQU_01", known_safe=(0x27, 0x23, 0x24), removed=(0x03, 0x02)
    )
    assert block.status is BlockIdentifyingInformationStatus.MIXED
    stamp_provenance(ds, _ran(kept_private_blocks=(block,)))
    (item,) = ds[Tag.PrivateDataElementCharacteristicsSequence].value
    assert (item[Tag.PrivateGroupReference].VR, item[Tag.PrivateGroupReference].value) == (
        "US",
        0x0019,
    )
    assert item[Tag.PrivateCreatorReference].value == "GEMS_ACQU_01"
    assert item[Tag.BlockIdentifyingInformationStatus].value == "MIXED"
    assert item[Tag.NonidentifyingPrivateElements].VR == "US"
    assert list(item[Tag.NonidentifyingPrivateElements].value) == [0x23, 0x24, 0x27]
    (action,) = item[Tag.DeidentificationActionSequence].value
    assert list(action[Tag.IdentifyingPrivateElements].value) == [0x02, 0x03]
    assert action[Tag.DeidentificationAction].value == DeidentificationAction.X.value


def test_private_block_item_safe_and_unsafe() -> None:
    safe = KeptPrivateBlock(0x7053, "Philips PET Private Group", known_safe=(0x00, 0x09))
    unsafe = KeptPrivateBlock(0x0029, "ACME 1.0", kept_unverified=(0x10,), removed=(0x11,))
    assert safe.status is BlockIdentifyingInformationStatus.SAFE
    assert unsafe.status is BlockIdentifyingInformationStatus.UNSAFE
    ds = Dataset()
    stamp_provenance(ds, _ran(kept_private_blocks=(safe, unsafe)))
    first, second = ds[Tag.PrivateDataElementCharacteristicsSequence].value
    assert first[Tag.PrivateGroupReference].value == 0x0029  # sorted by group
    assert first[Tag.BlockIdentifyingInformationStatus].value == "UNSAFE"
    assert Tag.NonidentifyingPrivateElements not in first
    assert second[Tag.BlockIdentifyingInformationStatus].value == "SAFE"
    # Type 1C, required only if MIXED: SAFE already says every element is nonidentifying.
    assert Tag.NonidentifyingPrivateElements not in second
    assert Tag.DeidentificationActionSequence not in second


def test_kept_private_blocks_from_the_real_engine(ct_small: Path, tmp_path: Path) -> None:
    before = pydicom.dcmread(ct_small)
    processor = FileProcessor(
        RunSettings(
            "annex-e/basic,annex-e/retain-safe-private",
            b"k" * 32,
            str(tmp_path / "out"),
            str(tmp_path / "quarantine"),
        )
    )
    outcome = processor.process(str(ct_small))
    assert outcome.output is not None, outcome
    after = pydicom.dcmread(tmp_path / "out" / outcome.output)
    blocks = kept_private_blocks(
        private_block_inventory(before), after, plan_known_safe(processor.plan)
    )
    by_creator = {b.creator: b for b in blocks}
    acquisition = by_creator["GEMS_ACQU_01"]
    assert acquisition.group == 0x0019
    assert acquisition.known_safe == (0x23, 0x24, 0x27)  # Table E.3.10-1 rows in CT_small
    assert acquisition.kept_unverified == ()
    assert 0x02 in acquisition.removed and 0x23 not in acquisition.removed
    assert by_creator["GEMS_PARM_01"].known_safe == (0x27,)
    assert all(b.status is BlockIdentifyingInformationStatus.MIXED for b in blocks)
    stamp_provenance(after, _ran(kept_private_blocks=blocks))
    items = after[Tag.PrivateDataElementCharacteristicsSequence].value
    assert [(i.PrivateGroupReference, i.PrivateCreatorReference) for i in items] == [
        (b.group, b.creator) for b in blocks
    ]


def test_inventory_names_blocks_by_creator_at_any_depth() -> None:
    ds = Dataset()
    ds.add_new(0x00290010, "LO", "ACME 1.0")
    ds.add_new(0x00291001, "LO", "top")
    item = Dataset()
    item.add_new(0x00290011, "LO", "ACME 1.0")  # same creator, another block number
    item.add_new(0x00291105, "LO", "nested")
    item.add_new(0x00291201, "LO", "orphan: no creator")
    ds.add_new(0x00081110, "SQ", [item])
    assert private_block_inventory(ds) == {(0x0029, "ACME 1.0"): frozenset({0x01, 0x05})}


def test_method_values_are_valid_lo() -> None:
    ran = _ran(policy_names=("C:\\policies\\" + "x" * 80,))
    values = deidentification_method(ran)
    assert all(len(v) <= 64 and "\\" not in v for v in values)


@pytest.mark.parametrize(
    "bad",
    [
        {"codes": ("999999",)},
        {"codes": ("113100", "113100")},
    ],
)
def test_what_ran_rejects_what_cannot_be_stamped(bad: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "policy_names": ("p",),
        "policy_digest": DIGEST,
        "engine_version": "0",
        "codes": ("113100",),
        "temporal": MODIFIED,
    }
    fields.update(bad)
    with pytest.raises(ValueError):
        WhatRan(**fields)  # type: ignore[arg-type]


def test_private_block_rejects_bad_values() -> None:
    with pytest.raises(ValueError):
        KeptPrivateBlock(0x0010, "ACME")  # not a private group
    with pytest.raises(ValueError):
        KeptPrivateBlock(0x0029, "ACME", known_safe=(0x100,))
    with pytest.raises(ValueError):
        KeptPrivateBlock(0x0029, "ACME", known_safe=(1,), kept_unverified=(1,))


def test_vocabulary_matches_the_standard(standard: Path) -> None:
    """Enumerations, VRs and CID 7005 as PS3.3 / PS3.16 give them (deid_vocabulary.json)."""
    vocabulary = json.loads((standard / "deid_vocabulary.json").read_text(encoding="utf-8"))
    enumerations = {
        "(0012,0062) Patient Identity Removed": PatientIdentityRemoved,
        "(0028,0301) Burned In Annotation": BurnedInAnnotation,
        "(0028,0302) Recognizable Visual Features": RecognizableVisualFeatures,
        "(0028,0303) Longitudinal Temporal Information Modified": (
            LongitudinalTemporalInformationModified
        ),
        "(0008,0303) Block Identifying Information Status": BlockIdentifyingInformationStatus,
        "(0008,0307) Deidentification Action": DeidentificationAction,
    }
    for name, enumeration in enumerations.items():
        assert vocabulary["enumerations"][name]["values"] == [m.value for m in enumeration]
    (code,) = [r for r in vocabulary["cid_7005"]["rows"] if r["code_value"] == "109104"]
    assert (code["code_value"], code["coding_scheme_designator"], code["code_meaning"]) == (
        DE_IDENTIFYING_EQUIPMENT.value,
        DE_IDENTIFYING_EQUIPMENT.scheme,
        DE_IDENTIFYING_EQUIPMENT.meaning,
    )
    # Every attribute we write has the PS3.6 VR the vocabulary gives it.
    ds = Dataset()
    ds.PixelData = b"\0\0"
    block = KeptPrivateBlock(0x0019, "GEMS_ACQU_01", known_safe=(0x23,), removed=(0x02,))
    pixels = PixelOutcome(pixels_cleaned=True, recognizable_visual_features_cleaned=True)
    stamp_provenance(ds, _ran(kept_private_blocks=(block,), pixels=pixels))
    written = {
        f"({e.tag.group:04X},{e.tag.element:04X})": e.VR
        for e in ds.iterall()
        if e.tag != Tag.PixelData
    }
    rows = [
        row
        for table in vocabulary["ps3_3_attributes"].values()
        if isinstance(table, list)
        for row in table
        if "tag" in row
    ]
    checked = 0
    for row in rows:
        if row["tag"] in written:
            assert written[row["tag"]] == row["vr"], row["tag"]
            checked += 1
    assert checked >= 12
