"""The pipeline's lean path: a file's output written from its element table, not a Dataset.

For a file the lean reader parsed (:attr:`~deidengine.dicom.reading.FileReading.table`), the
header stage runs over the table (:func:`~deidengine.dicom.table_apply.apply_plan_to_table`)
and this module turns its edits into the output file: the new File Meta Information the
Dataset path's ``_new_file_meta`` builds (PS3.15 E.1: replaced, not carried over), the
provenance stamp (:func:`~deidengine.provenance.stamp.stamp_provenance`'s elements), and a
zero preamble, all written by :func:`deidengine.core.writer.encode` in one pass over the
table. The bytes are the Dataset path's, byte for byte (tests/run/test_run_lean_path.py runs
both paths over the same files and compares what they write).

**Which files take it** (:func:`lean_eligible`; everything else takes the Dataset path):

- a table exists (a file read whole, up to 4 MiB, that the lean reader accepts) with its File
  Meta Information in explicit VR and a transfer syntax the writer can name;
- no pixel rule fires for the file (no rule, or ``pixels -> keep``): the pixel stage edits a
  Dataset;
- no honest-broker certificate (the envelope is built from Datasets) and no review sheet;
- the table stage accepts the file (:class:`~deidengine.dicom.table_apply.LeanUnsupported`
  lists what it declines), and the stamp has nothing to append to: an output that still holds
  a Contributing Equipment Sequence (which the stamp extends) takes the Dataset path.

The stamp's elements are built by the provenance module itself on a scratch Dataset holding
only what the stamp reads (whether the output is an image), then each is encoded by pydicom's
element writer into the file's encoding: the provenance module stays the one place that says
what a stamp holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_data_element

from deidengine.core.table import TOP, ElementTable, Kind
from deidengine.core.writer import Edits, Value, encode
from deidengine.dicom.conditions import ConditionSnapshot, first_applicable
from deidengine.dicom.private_blocks import PrivateInventory
from deidengine.dicom.table_apply import LeanUnsupported, TableHeader
from deidengine.policy import ast
from deidengine.policy.plan import Plan, is_private_group
from deidengine.provenance import (
    KeptPrivateBlock,
    WhatRan,
    stamp_provenance,
)
from deidengine.provenance.stamp import KnownSafe
from deidengine.standard.vr_classes import PIXEL_DATA_TAGS

__all__ = [
    "LeanOutput",
    "RemovedIdentity",
    "encode_output",
    "kept_blocks",
    "lean_eligible",
    "lean_output",
    "output_private_blocks",
    "pixel_rule_keeps",
    "transfer_syntax_of",
]

PREAMBLE: Final = bytes(128)
MEDIA_STORAGE_SOP_CLASS_UID: Final = 0x00020002
MEDIA_STORAGE_SOP_INSTANCE_UID: Final = 0x00020003
TRANSFER_SYNTAX_UID: Final = 0x00020010
IMPLEMENTATION_CLASS_UID: Final = 0x00020012
IMPLEMENTATION_VERSION_NAME: Final = 0x00020013
SOP_CLASS_UID: Final = 0x00080016
SOP_INSTANCE_UID: Final = 0x00080018
CONTRIBUTING_EQUIPMENT_SEQUENCE: Final = 0x0018A001
#: The stamp's sequences it removes when it has no item for them.
STAMP_SEQUENCES: Final = (0x00120064, 0x00080300)
#: (explicit VR, little endian) of a data set read without a Transfer Syntax UID.
ENCODING_SYNTAX: Final = {
    (False, True): "1.2.840.10008.1.2",
    (True, True): "1.2.840.10008.1.2.1",
    (True, False): "1.2.840.10008.1.2.2",
}


@dataclass(frozen=True, slots=True)
class LeanOutput:
    """The lean path's output: the edits that make it of the input's table, and the transfer
    syntax it is written in (:func:`encode_output` writes it)."""

    edits: Edits
    transfer_syntax: str


def pixel_rule_keeps(plan: Plan, snapshot: ConditionSnapshot) -> bool:
    """No pixel rule fires for this input, or the one that does keeps the pixels."""
    rule = first_applicable(plan.pixels, snapshot)
    return rule is None or rule.action.kind is ast.ActionKind.KEEP


def transfer_syntax_of(table: ElementTable) -> str | None:
    """The output's transfer syntax: the input's, as the Dataset path keeps it (None: one the
    writer cannot name, a data set in explicit VR little endian without a meta saying so)."""
    facts = table.facts
    if facts.transfer_syntax:
        return facts.transfer_syntax
    if facts.explicit and facts.little:
        return None  # the Dataset path names it; the writer refuses to guess
    return ENCODING_SYNTAX.get((facts.explicit, facts.little))


def lean_eligible(table: ElementTable | None) -> bool:
    """The file-level conditions of the lean path the table alone settles (the module's
    first point); the caller checks the run's settings and the pixel rule."""
    return table is not None and table.facts.meta_explicit and transfer_syntax_of(table) is not None


class _Output:
    """The output as the table and the header stage's edits make it: what survives, and the
    text of a top-level element."""

    def __init__(self, table: ElementTable, edits: Edits) -> None:
        self.table = table
        self.edits = edits
        rows = table.rows
        dead = [False] * len(rows)
        for index, row in enumerate(rows):
            parent = row.parent
            dead[index] = index in edits.remove or (
                parent != TOP and (dead[parent] or parent in edits.replace)
            )
        self.dead = dead
        self.top = {
            rows[i].tag: i
            for i in range(len(rows))
            if rows[i].parent == TOP
            and rows[i].kind is Kind.ELEMENT
            and not dead[i]
            and not table.is_meta(i)
        }

    def uid(self, tag: int) -> str | None:
        index = self.top.get(tag)
        if index is None:
            return None
        replaced = self.edits.replace.get(index)
        data = replaced.data if replaced is not None else self.table.value(index)
        return data.decode("latin-1").strip(" \x00")


def _encoded(element: DataElement, explicit: bool, little: bool) -> Value:
    """``element``'s value as pydicom writes it in a data set of this encoding."""
    buffer = DicomBytesIO()
    buffer.is_little_endian = little
    buffer.is_implicit_VR = not explicit if element.VR == "SQ" else True
    write_data_element(buffer, element)
    header = 12 if explicit and element.VR == "SQ" else 8
    return Value(str(element.VR), buffer.getvalue()[header:])


def lean_output(
    table: ElementTable,
    header: TableHeader,
    ran: Callable[[PrivateInventory], WhatRan],
    implementation: tuple[str, str],
) -> LeanOutput:
    """The output's edits: the header stage's, with the new File Meta
    Information (``implementation``: its class UID and version name) and the stamp of what
    ``ran`` gives for the output's private block inventory. Raises ``LeanUnsupported`` for
    an output only the Dataset path writes (see the module), and :class:`RemovedIdentity`
    when the policy removed the SOP identity."""
    syntax = transfer_syntax_of(table)
    if syntax is None:
        raise LeanUnsupported("no transfer syntax to name")
    edits = header.edits
    output = _Output(table, edits)
    sop_class, sop_instance = output.uid(SOP_CLASS_UID), output.uid(SOP_INSTANCE_UID)
    if sop_class is None or sop_instance is None:
        raise RemovedIdentity
    if CONTRIBUTING_EQUIPMENT_SEQUENCE in output.top:
        raise LeanUnsupported("the stamp extends a Contributing Equipment Sequence")
    remove = set(edits.remove)
    remove.update(i for i in table.children(TOP) if table.is_meta(i))
    implementation_uid, implementation_version = implementation
    added: dict[int, Value] = {
        MEDIA_STORAGE_SOP_CLASS_UID: Value("UI", sop_class.encode("latin-1")),
        MEDIA_STORAGE_SOP_INSTANCE_UID: Value("UI", sop_instance.encode("latin-1")),
        TRANSFER_SYNTAX_UID: Value("UI", syntax.encode("latin-1")),
        IMPLEMENTATION_CLASS_UID: Value("UI", implementation_uid.encode("latin-1")),
        IMPLEMENTATION_VERSION_NAME: Value("SH", implementation_version.encode("latin-1")),
    }
    image = next((tag for tag in PIXEL_DATA_TAGS if tag in output.top), None)
    facts = table.facts
    stamp = _stamp(ran(output_private_blocks(output)), image, facts.explicit, facts.little)
    added.update(stamp)
    for tag in STAMP_SEQUENCES:
        if tag not in added and tag in output.top:
            remove.add(output.top[tag])
    add = dict(edits.add)
    add[TOP] = (*add.get(TOP, ()), *sorted(added.items()))
    final = Edits(replace=edits.replace, remove=frozenset(remove), add=add)
    return LeanOutput(final, syntax)


def encode_output(table: ElementTable, edits: Edits) -> bytes:
    """The output file's bytes: ``table`` with ``edits``, after a zero preamble (the preamble
    may carry application data, a TIFF header or a name). Raises
    :class:`~deidengine.core.errors.EncodingError` for content only pydicom's writer
    converts (the Dataset path then writes the file, or says why it cannot)."""
    return encode(table, edits, preamble=PREAMBLE)


@lru_cache(maxsize=64)
def _stamp(
    ran: WhatRan, image: int | None, explicit: bool, little: bool
) -> tuple[tuple[int, Value], ...]:
    """The stamp's elements, encoded: a run's files share a few stamps (they differ by the
    temporal treatment and the private blocks kept), so each is built and encoded once."""
    scratch = Dataset()
    if image is not None:
        scratch.add_new(image, "OB", b"")  # what the stamp reads: the output is an image
    stamp_provenance(scratch, ran)
    if image is not None:
        del scratch[image]
    return tuple((int(element.tag), _encoded(element, explicit, little)) for element in scratch)


class RemovedIdentity(Exception):
    """The policy removed the SOP Class or Instance UID: the file cannot be written."""


def output_private_blocks(output: _Output) -> PrivateInventory:
    """Which element offsets each private block of the output holds, over every depth
    (:class:`~deidengine.dicom.private_blocks.PrivateBlockTally`'s rules: a member counts when
    its own data set still holds its block's creator, with a value)."""
    table, rows = output.table, output.table.rows
    creators: dict[tuple[int, int, int], str] = {}
    members: list[tuple[int, int, int, int]] = []
    for index, row in enumerate(rows):
        if output.dead[index] or row.kind is not Kind.ELEMENT or table.is_meta(index):
            continue
        group, number = row.tag >> 16, row.tag & 0xFFFF
        if not is_private_group(group):
            continue
        if 0x0010 <= number <= 0x00FF:
            text = table.value(index).decode("latin-1").strip(" \x00")
            if text:
                creators[(row.parent, group, number)] = text
        elif number >= 0x1000:
            members.append((row.parent, group, number >> 8, number & 0xFF))
    found: dict[tuple[int, str], set[int]] = {}
    for parent, group, block, offset in members:
        creator = creators.get((parent, group, block))
        if creator is not None:
            found.setdefault((group, creator), set()).add(offset)
    return {key: frozenset(offsets) for key, offsets in found.items()}


def kept_blocks(
    before: PrivateInventory, after: PrivateInventory, known_safe: KnownSafe
) -> tuple[KeptPrivateBlock, ...]:
    """:func:`deidengine.provenance.stamp.kept_private_blocks` from the output's inventory."""
    if not before:
        return ()
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
