"""Stamp de-identification provenance from what actually ran (the paper's Table 1).

The caller describes the run in a :class:`WhatRan` (built with :meth:`WhatRan.from_run` from
the plan, the header outcome and the pixel stage) and :func:`stamp_provenance` writes:

* Patient Identity Removed (0012,0062) ``YES`` (PS3.15 E.1.1), or ``NO`` when the plan
  weakened the Basic Profile (:mod:`deidengine.policy.claims`);
* De-identification Method (0012,0063), one LO value each for the engine and version, each
  policy and the policy digest;
* De-identification Method Code Sequence (0012,0064), exactly the CID 7050 codes that ran;
* Burned In Annotation (0028,0301) and Recognizable Visual Features (0028,0302) when the
  caller knows them and the dataset is an image (General Image Module, PS3.3 C.7-9);
* Longitudinal Temporal Information Modified (0028,0303) (PS3.15 E.2, E.3.6);
* Private Data Element Characteristics Sequence (0008,0300), one item per kept private block
  (PS3.3 C.12.1.1.7, PS3.15 E.3.10);
* an item of Contributing Equipment Sequence (0018,A001) with Purpose of Reference
  (109104, DCM, "De-identifying Equipment") (CID 7005, PS3.3 C.7-1 note).

Every element is added by tag with an explicit VR.

Decisions:

* Contribution DateTime (0018,A002) is the time of de-identification, not a date of the
  patient, so it may be written (Safe Harbor removes dates "directly related to an
  individual"). It is still left out unless the caller passes one: a wall-clock value makes
  every re-run byte-different (the pipeline's "already written" check compares bytes), and a
  verifier that reads any DT left under ``REMOVED`` as a kept date would flag it.
* Private blocks: SAFE when everything kept is known safe and nothing was taken out of the
  block; MIXED (with Nonidentifying Private Elements) when identifying elements were removed
  (they are listed with action X) or kept unverified; UNSAFE when nothing kept is known safe.
  Nonidentifying Private Elements (0008,0304) is Type 1C "required if MIXED", so it is only
  written for MIXED.
* De-identification Method and its Code Sequence describe this run only; values from earlier
  steps are replaced (the Original Attributes Sequence keeps them for an honest broker).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from deidengine import ENGINE_NAME, __version__
from deidengine.dicom.elements import AnyElement, walk_private
from deidengine.dicom.private_blocks import PrivateBlockTally, PrivateInventory
from deidengine.policy import ast
from deidengine.policy.plan import Plan
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
from deidengine.standard.cid7050 import cid_7050
from deidengine.standard.dictionary import is_private_group
from deidengine.standard.vr_classes import PIXEL_DATA_TAGS

__all__ = [
    "PIXEL_OPTION_CODES",
    "KeptPrivateBlock",
    "KnownSafe",
    "PixelOutcome",
    "PrivateInventory",
    "ProvenanceStamp",
    "StampElement",
    "WhatRan",
    "deidentification_method",
    "kept_blocks",
    "kept_private_blocks",
    "method_policy_value",
    "plan_known_safe",
    "private_block_inventory",
    "provenance_stamp",
    "stamp_provenance",
]

#: LO: at most 64 characters, no backslash (it separates values), no control characters.
LO_MAXIMUM = 64

#: ``known_safe(group, creator, offset)``: is this private element known to be safe?
KnownSafe = Callable[[int, str, int], bool]


@dataclass(frozen=True)
class PixelOutcome:
    """What the pixel stage did to this file."""

    pixels_cleaned: bool = False
    recognizable_visual_features_cleaned: bool = False


def _ran_by_the_header_stage(pixels: PixelOutcome) -> bool:
    return True


#: Pixel Option codes (CID 7050) and when they ran: a plan that names one claims it only for
#: the files whose pixels that Option actually cleaned (PS3.15 E.3.1, E.3.2).
PIXEL_OPTION_CODES: Mapping[str, Callable[[PixelOutcome], bool]] = {
    "113101": lambda pixels: pixels.pixels_cleaned,
    "113102": lambda pixels: pixels.recognizable_visual_features_cleaned,
}


def _offsets(values: Iterable[int]) -> tuple[int, ...]:
    """Increasing, each at most once, each within 0000H-00FFH (PS3.3 (0008,0304)/(0008,0306))."""
    unique = sorted(set(values))
    if any(not 0 <= v <= 0xFF for v in unique):
        raise ValueError("private element offsets are the low 8 bits of a tag: 0 to 255")
    return tuple(unique)


@dataclass(frozen=True)
class KeptPrivateBlock:
    """A private block that survived de-identification, with what happened to its elements.

    ``known_safe`` are kept offsets known to be safe (named by a keep rule of the policy, such
    as the rows of PS3.15 Table E.3.10-1); ``kept_unverified`` are kept offsets nothing vouches
    for; ``removed`` were in the input block and are gone.
    """

    group: int
    creator: str
    known_safe: tuple[int, ...] = ()
    kept_unverified: tuple[int, ...] = ()
    removed: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not is_private_group(self.group):
            raise ValueError(f"({self.group:04X},xxxx) is not a private group")
        if not self.creator or "\\" in self.creator or len(self.creator) > LO_MAXIMUM:
            raise ValueError("a Private Creator is a non-empty LO value")
        object.__setattr__(self, "known_safe", _offsets(self.known_safe))
        object.__setattr__(self, "kept_unverified", _offsets(self.kept_unverified))
        object.__setattr__(self, "removed", _offsets(self.removed))
        if set(self.known_safe) & set(self.kept_unverified):
            raise ValueError("an element is either known safe or not")

    @property
    def status(self) -> BlockIdentifyingInformationStatus:
        """SAFE: everything in the block is known safe and nothing was taken out of it;
        UNSAFE: nothing kept is known safe; MIXED: some elements may identify (those removed
        or kept unverified) and Nonidentifying Private Elements lists the rest."""
        if not self.known_safe:
            return BlockIdentifyingInformationStatus.UNSAFE
        if self.kept_unverified or self.removed:
            return BlockIdentifyingInformationStatus.MIXED
        return BlockIdentifyingInformationStatus.SAFE


@dataclass(frozen=True)
class WhatRan:
    """What de-identified this dataset; only what actually ran."""

    policy_names: tuple[str, ...]
    policy_digest: str
    engine_version: str
    #: CID 7050 code values of the Profile and Options that ran, in the plan's order.
    codes: tuple[str, ...]
    temporal: LongitudinalTemporalInformationModified
    burned_in_annotation: BurnedInAnnotation | None = None
    recognizable_visual_features: RecognizableVisualFeatures | None = None
    kept_private_blocks: tuple[KeptPrivateBlock, ...] = ()
    #: When the de-identification ran; None leaves Contribution DateTime out (module docstring).
    contribution_datetime: datetime | None = None
    #: Patient Identity Removed: YES only when every Basic Profile row was handled
    #: (:attr:`deidengine.policy.plan.Plan.identity_removed`).
    identity_removed: bool = True

    def __post_init__(self) -> None:
        for code in self.codes:
            try:
                cid_7050(code)
            except KeyError:
                raise ValueError(f"{code} is not a CID 7050 code") from None
        if len(set(self.codes)) != len(self.codes):
            raise ValueError("a CID 7050 code is claimed once")
        blocks = [(b.group, b.creator) for b in self.kept_private_blocks]
        if len(set(blocks)) != len(blocks):
            raise ValueError("one item per private block")

    @classmethod
    def from_run(
        cls,
        *,
        policy_names: Iterable[str],
        policy_digest: str,
        plan_codes: Iterable[str],
        temporal: LongitudinalTemporalInformationModified,
        pixels: PixelOutcome = PixelOutcome(),
        kept_private_blocks: Iterable[KeptPrivateBlock] = (),
        contribution_datetime: datetime | None = None,
        engine_version: str = __version__,
        identity_removed: bool = True,
    ) -> WhatRan:
        """The run's record: the plan's codes less the pixel Options that did not run here.

        Burned In Annotation is NO exactly when the Clean Pixel Data Option cleaned the pixels
        (PS3.15 E.3.1); Recognizable Visual Features is NO exactly when a recognizable-features
        rule ran (E.3.2). Otherwise both are left as the input had them.
        """
        codes: list[str] = []
        for code in plan_codes:
            ran = PIXEL_OPTION_CODES.get(code, _ran_by_the_header_stage)(pixels)
            if ran and code not in codes:
                codes.append(code)
        blocks = tuple(sorted(kept_private_blocks, key=lambda b: (b.group, b.creator)))
        return cls(
            policy_names=tuple(policy_names),
            policy_digest=policy_digest,
            engine_version=engine_version,
            codes=tuple(codes),
            temporal=temporal,
            burned_in_annotation=BurnedInAnnotation.NO if pixels.pixels_cleaned else None,
            recognizable_visual_features=(
                RecognizableVisualFeatures.NO
                if pixels.recognizable_visual_features_cleaned
                else None
            ),
            kept_private_blocks=blocks,
            contribution_datetime=contribution_datetime,
            identity_removed=identity_removed,
        )

    @classmethod
    def from_plan(
        cls,
        plan: Plan,
        *,
        temporal: LongitudinalTemporalInformationModified,
        pixels: PixelOutcome = PixelOutcome(),
        kept_private_blocks: Iterable[KeptPrivateBlock] = (),
        contribution_datetime: datetime | None = None,
    ) -> WhatRan:
        """:meth:`from_run` with what the plan may claim (:attr:`Plan.claims`): the profiles it
        left intact, their codes, and whether Patient Identity Removed is YES."""
        return cls.from_run(
            policy_names=plan.claimed_names,
            policy_digest=plan.digest,
            plan_codes=plan.claimed_codes,
            temporal=temporal,
            pixels=pixels,
            kept_private_blocks=kept_private_blocks,
            contribution_datetime=contribution_datetime,
            identity_removed=plan.identity_removed,
        )


# ------------------------------------------------------------------------------ values
def _lo(text: str) -> str:
    """A valid LO value: control characters and backslashes replaced, at most 64 characters."""
    cleaned = "".join(" " if ord(c) < 0x20 or c == "\x7f" else c for c in text)
    return cleaned.replace("\\", "/").strip()[:LO_MAXIMUM]


def method_policy_value(name: str) -> str:
    """The De-identification Method value that names one policy: ``policy NAME``."""
    return _lo(f"policy {name}")


def deidentification_method(ran: WhatRan) -> list[str]:
    """The values of De-identification Method (0012,0063): engine, policies, digest."""
    return [
        _lo(f"{ENGINE_NAME} {ran.engine_version}"),
        *(method_policy_value(name) for name in ran.policy_names),
        _lo(f"policy-digest sha256:{ran.policy_digest[:40]}"),
    ]


def _dt(moment: datetime) -> str:
    """A DT value in UTC with its offset: YYYYMMDDHHMMSS.FFFFFF+0000."""
    if moment.tzinfo is None:
        raise ValueError("Contribution DateTime needs an aware datetime")
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S.%f+0000")


#: A value as the stamp states it: text, several texts, unsigned shorts, or (for a sequence)
#: its items, each a tuple of elements.
StampValue = str | tuple[str, ...] | tuple[int, ...] | tuple[tuple["StampElement", ...], ...]


@dataclass(frozen=True, slots=True)
class StampElement:
    """One element the stamp writes: its tag, VR and value (a sequence's items for ``SQ``).

    Both ways of stamping read these: :func:`stamp_provenance` builds pydicom elements from
    them, :func:`deidengine.provenance.stamp_edits.provenance_edits` encodes them as element
    table edits; what the stamp says is decided once, in :func:`provenance_stamp`."""

    tag: int
    vr: str
    value: StampValue

    @property
    def items(self) -> tuple[tuple[StampElement, ...], ...]:
        """A sequence's items (nothing for any other VR)."""
        if self.vr != "SQ":
            return ()
        return cast(tuple[tuple[StampElement, ...], ...], self.value)


@dataclass(frozen=True, slots=True)
class ProvenanceStamp:
    """What :func:`stamp_provenance` does to a data set's top level, as data.

    ``elements`` replace (or add) the top-level elements of their tags; the top-level elements
    of ``removed`` go (a sequence that would have no item); ``equipment_item`` is appended to
    Contributing Equipment Sequence (after the items it already has, in a new element)."""

    elements: tuple[StampElement, ...]
    removed: frozenset[int]
    equipment_item: tuple[StampElement, ...]


def _code_item(value: str, scheme: str, meaning: str) -> tuple[StampElement, ...]:
    return (
        StampElement(Tag.CodeValue, "SH", value),
        StampElement(Tag.CodingSchemeDesignator, "SH", scheme),
        StampElement(Tag.CodeMeaning, "LO", meaning),
    )


def _private_block_item(block: KeptPrivateBlock) -> tuple[StampElement, ...]:
    """One item of Private Data Element Characteristics Sequence (PS3.3 Table C.12-1)."""
    status = block.status
    item = [
        StampElement(Tag.PrivateGroupReference, "US", (block.group,)),
        StampElement(Tag.PrivateCreatorReference, "LO", block.creator),
        StampElement(Tag.BlockIdentifyingInformationStatus, "CS", status.value),
    ]
    if status is BlockIdentifyingInformationStatus.MIXED:
        # Type 1C: required if MIXED, and the condition does not allow it otherwise.
        item.append(StampElement(Tag.NonidentifyingPrivateElements, "US", block.known_safe))
    if block.removed:
        action = (
            StampElement(Tag.IdentifyingPrivateElements, "US", block.removed),
            StampElement(Tag.DeidentificationAction, "CS", DeidentificationAction.X.value),
        )
        item.append(StampElement(Tag.DeidentificationActionSequence, "SQ", (action,)))
    return tuple(item)


def _equipment_item(ran: WhatRan) -> tuple[StampElement, ...]:
    """The de-identifier's item of Contributing Equipment Sequence (PS3.3 Table C.12-1)."""
    item = [
        StampElement(Tag.Manufacturer, "LO", ENGINE_NAME),
        StampElement(Tag.SoftwareVersions, "LO", _lo(ran.engine_version)),
    ]
    if ran.contribution_datetime is not None:
        item.append(StampElement(Tag.ContributionDateTime, "DT", _dt(ran.contribution_datetime)))
    purpose = DE_IDENTIFYING_EQUIPMENT
    code = _code_item(purpose.value, purpose.scheme, purpose.meaning)
    item.append(StampElement(Tag.PurposeOfReferenceCodeSequence, "SQ", (code,)))
    return tuple(item)


def _is_image(dataset: Dataset) -> bool:
    return any(tag in dataset for tag in PIXEL_DATA_TAGS)


def provenance_stamp(ran: WhatRan, *, is_image: bool) -> ProvenanceStamp:
    """What the stamp of ``ran`` writes into a data set (``is_image``: it holds pixel data,
    so the General Image Module's attributes apply): the one source of what the stamp says.

    (0012,0064) and (0008,0300) are removed when there is nothing to put in them: both
    require at least one item."""
    removed = PatientIdentityRemoved.YES if ran.identity_removed else PatientIdentityRemoved.NO
    elements = [
        StampElement(Tag.PatientIdentityRemoved, "CS", removed.value),
        StampElement(Tag.DeidentificationMethod, "LO", tuple(deidentification_method(ran))),
        StampElement(Tag.LongitudinalTemporalInformationModified, "CS", ran.temporal.value),
    ]
    codes = tuple(
        _code_item(concept.value, concept.scheme, concept.meaning)
        for concept in map(cid_7050, ran.codes)
    )
    blocks = tuple(_private_block_item(block) for block in ran.kept_private_blocks)
    gone: set[int] = set()
    for tag, items in (
        (Tag.DeidentificationMethodCodeSequence, codes),
        (Tag.PrivateDataElementCharacteristicsSequence, blocks),
    ):
        if items:
            elements.append(StampElement(tag, "SQ", items))
        else:
            gone.add(tag)
    if is_image:
        if ran.burned_in_annotation is not None:
            value = ran.burned_in_annotation.value
            elements.append(StampElement(Tag.BurnedInAnnotation, "CS", value))
        if ran.recognizable_visual_features is not None:
            value = ran.recognizable_visual_features.value
            elements.append(StampElement(Tag.RecognizableVisualFeatures, "CS", value))
    return ProvenanceStamp(
        elements=tuple(sorted(elements, key=lambda element: element.tag)),
        removed=frozenset(gone),
        equipment_item=_equipment_item(ran),
    )


def _pydicom_value(element: StampElement) -> object:
    """The value :meth:`Dataset.add_new` takes for ``element``: a text, a list of values, or a
    Sequence of items."""
    if element.vr == "SQ":
        return Sequence([_item_dataset(item) for item in element.items])
    if isinstance(element.value, tuple):
        return list(element.value)
    return element.value


def _item_dataset(item: tuple[StampElement, ...]) -> Dataset:
    dataset = Dataset()
    for element in item:
        dataset.add_new(element.tag, element.vr, _pydicom_value(element))
    return dataset


def stamp_provenance(ds: Dataset, ran: WhatRan) -> None:
    """Write the provenance of ``ran`` into ``ds`` (top level), replacing what was there
    (:func:`provenance_stamp` says what).

    Contributing Equipment Sequence gains an item; every other attribute written here is
    replaced. (0012,0064) and (0008,0300) are left out (and removed) when there is nothing
    to put in them: both require at least one item.
    """
    stamp = provenance_stamp(ran, is_image=_is_image(ds))
    for element in stamp.elements:
        ds.add_new(element.tag, element.vr, _pydicom_value(element))
    for tag in stamp.removed:
        if tag in ds:
            del ds[tag]
    existing = ds.get(Tag.ContributingEquipmentSequence)
    equipment = Sequence(list(existing.value) if existing is not None and existing.value else [])
    equipment.append(_item_dataset(stamp.equipment_item))
    ds.add_new(Tag.ContributingEquipmentSequence, "SQ", equipment)


# ------------------------------------------------------------------------------ private blocks
def private_block_inventory(dataset: Dataset) -> dict[tuple[int, str], frozenset[int]]:
    """Which element offsets each private block holds, merged over every depth (see
    :class:`~deidengine.dicom.private_blocks.PrivateBlockTally`).

    The input's inventory is taken on the engine's one walk of the input
    (:func:`~deidengine.dicom.facts.input_facts`); this one is for a dataset after the header
    stage (which edits in place). Only creators and sequences are converted from their raw form.
    """
    tally = PrivateBlockTally()
    item: Dataset | None = None
    private: list[tuple[int, str, AnyElement]] = []
    # walk_private yields each item's elements together: tally them item by item.
    for current, tag, vr, element in walk_private(dataset):
        if current is not item:
            if item is not None:
                tally.add_item(item, private)
            item, private = current, []
        private.append((tag, vr, element))
    if item is not None:
        tally.add_item(item, private)
    return tally.result()


def plan_known_safe(plan: Plan) -> KnownSafe:
    """Known safe: a keep rule of the plan names the element by creator and offset (how the
    Retain Safe Private Option writes PS3.15 Table E.3.10-1). A catch-all ``private -> K``
    vouches for nothing."""
    safe = frozenset(
        key
        for key, rules in plan.by_private_creator.items()
        if any(rule.action.kind is ast.ActionKind.KEEP for rule in rules)
    )

    def known_safe(group: int, creator: str, offset: int) -> bool:
        return (creator, group, offset) in safe

    return known_safe


def kept_private_blocks(
    before: PrivateInventory, after: Dataset, known_safe: KnownSafe
) -> tuple[KeptPrivateBlock, ...]:
    """The private blocks still in ``after``, each with its known-safe, unverified and removed
    offsets (``before`` is :func:`private_block_inventory` of the input)."""
    if not before:
        return ()  # de-identification adds no private block: an input without any keeps none
    return kept_blocks(before, private_block_inventory(after), known_safe)


def kept_blocks(
    before: PrivateInventory, after: PrivateInventory, known_safe: KnownSafe
) -> tuple[KeptPrivateBlock, ...]:
    """The blocks of the output's inventory ``after``, each with its known-safe, unverified
    and removed offsets against the input's ``before``: the rule both ways of finding the
    output's blocks share (a Dataset's, :func:`kept_private_blocks`; a table's with its edits,
    :func:`deidengine.provenance.stamp_edits.kept_private_blocks_of_table`)."""
    if not before:
        return ()  # de-identification adds no private block: an input without any keeps none
    blocks: list[KeptPrivateBlock] = []
    for (group, creator), kept in sorted(after.items()):
        safe = [o for o in kept if known_safe(group, creator, o)]
        blocks.append(
            KeptPrivateBlock(
                group=group,
                creator=creator,
                known_safe=tuple(safe),
                kept_unverified=tuple(kept - set(safe)),
                removed=tuple(before.get((group, creator), frozenset()) - kept),
            )
        )
    return tuple(blocks)
