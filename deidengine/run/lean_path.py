"""The pipeline's lean path: a file's output written from its element table, not a Dataset.

For a file the lean reader parsed (:attr:`~deidengine.dicom.reading.FileReading.table`), the
header stage runs over the table (:func:`~deidengine.dicom.table_apply.apply_plan_to_table`)
and this module turns its edits into the output file: the provenance stamp as edits
(:func:`~deidengine.provenance.stamp_edits.provenance_edits`, from the one description of what
a stamp says), the new File Meta Information the Dataset path's ``_new_file_meta`` builds
(PS3.15 E.1: replaced, not carried over), and a zero preamble, all written by
:func:`deidengine.core.writer.encode` in one pass over the table. The bytes are the Dataset
path's, byte for byte (tests/run/test_run_lean_path.py runs both paths over the same files and
compares what they write).

**Which files take it** (:func:`lean_eligible`; everything else takes the Dataset path):

- a table exists (a file read whole, up to 4 MiB, that the lean reader accepts) with its File
  Meta Information in explicit VR and a transfer syntax the writer can name;
- the pixel stage would leave the file as it is (:func:`pixel_rule_keeps`: no pixel rule, or
  ``pixels -> keep``, or a cleaning rule on a file without Pixel Data); redacting pixels
  edits a Dataset, and a review sheet has rows only for redacted pixels;
- no honest-broker certificate (the envelope is built from Datasets);
- the table stage accepts the file (:class:`~deidengine.dicom.table_apply.LeanUnsupported`
  lists what it declines);
- the writer accepts the edits (:class:`~deidengine.core.errors.EncodingError`: content only
  pydicom's writer converts); a policy that removes the SOP identity is quarantined as on the
  Dataset path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from deidengine.core.table import TOP, ElementTable
from deidengine.core.writer import (
    IMPLEMENTATION_CLASS,
    IMPLEMENTATION_VERSION,
    MEDIA_CLASS,
    MEDIA_INSTANCE,
    SOP_CLASS,
    SOP_INSTANCE,
    TRANSFER_SYNTAX,
    Edits,
    Value,
    encode,
)
from deidengine.dicom.action_errors import ActionError
from deidengine.dicom.conditions import ConditionSnapshot, first_applicable
from deidengine.dicom.table_apply import LeanUnsupported
from deidengine.policy import ast
from deidengine.policy.plan import Plan
from deidengine.provenance import WhatRan
from deidengine.provenance.stamp_edits import provenance_edits
from deidengine.standard.dictionary import PIXEL_DATA

__all__ = [
    "REMOVED_IDENTITY",
    "LeanOutput",
    "encode_output",
    "lean_eligible",
    "lean_output",
    "pixel_rule_keeps",
    "transfer_syntax_of",
]

PREAMBLE: Final = bytes(128)
#: Why a file whose SOP identity the policy removed cannot be written (the Dataset path's words).
REMOVED_IDENTITY: Final = "the policy removed the SOP Instance UID"
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


def pixel_rule_keeps(plan: Plan, snapshot: ConditionSnapshot, table: ElementTable) -> bool:
    """The pixel stage leaves this input as it is: no pixel rule fires, the one that does
    keeps the pixels, or it would clean pixels the file does not have (no Pixel Data at the
    top level: an SR, an RT Plan), as :func:`~deidengine.run.pixel_stage.run_pixel_stage`
    decides. A rejecting rule rejects any file, with or without pixels."""
    rule = first_applicable(plan.pixels, snapshot)
    if rule is None or rule.action.kind is ast.ActionKind.KEEP:
        return True
    if rule.action.kind is ast.ActionKind.REJECT:
        return False
    return not any(table.rows[i].tag == PIXEL_DATA for i in table.children(TOP))


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

    def _surviving(self, tag: int) -> int | None:
        """The data set's top-level row of ``tag`` that survives (nothing encloses a top-level
        element: it survives unless removed itself), the last of a repeated tag."""
        table, remove = self.table, self.edits.remove
        if table.ordered():  # no tag repeats: the one row of the tag, if any
            index = table.top_level().get(tag)
            return None if index is None or index in remove else index
        rows, meta_end = table.rows, table.facts.meta_end
        found = None
        for index in table.grouped().get(TOP, ()):
            if rows[index].tag == tag and rows[index].header >= meta_end and index not in remove:
                found = index
        return found

    def uid(self, tag: int) -> str | None:
        index = self._surviving(tag)
        if index is None:
            return None
        replaced = self.edits.replace.get(index)
        data = replaced.data if replaced is not None else self.table.value(index)
        return data.decode("latin-1").strip(" \x00")


def lean_output(
    table: ElementTable,
    edits: Edits,
    ran: WhatRan,
    implementation: tuple[str, str],
) -> LeanOutput:
    """The output's edits: the header stage's ``edits``, the provenance stamp of ``ran``
    (:func:`~deidengine.provenance.stamp_edits.provenance_edits`) and the new File Meta
    Information (``implementation``: its class UID and version name). Raises
    ``LeanUnsupported`` for an output only the Dataset path writes (see the module), and
    :class:`~deidengine.dicom.action_errors.ActionError` (:data:`REMOVED_IDENTITY`) when the
    policy removed the SOP identity."""
    syntax = transfer_syntax_of(table)
    if syntax is None:
        raise LeanUnsupported("no transfer syntax to name")
    output = _Output(table, edits)
    sop_class, sop_instance = output.uid(SOP_CLASS), output.uid(SOP_INSTANCE)
    if sop_class is None or sop_instance is None:
        raise ActionError(REMOVED_IDENTITY)
    stamped = provenance_edits(table, ran, edits)
    remove = set(stamped.remove)
    meta_end = table.facts.meta_end
    for index in table.children(TOP):  # the File Meta Information's rows stand first
        if table.rows[index].header >= meta_end:
            break
        remove.add(index)
    implementation_uid, implementation_version = implementation
    meta = (
        (MEDIA_CLASS, Value("UI", sop_class.encode("latin-1"))),
        (MEDIA_INSTANCE, Value("UI", sop_instance.encode("latin-1"))),
        (TRANSFER_SYNTAX, Value("UI", syntax.encode("latin-1"))),
        (IMPLEMENTATION_CLASS, Value("UI", implementation_uid.encode("latin-1"))),
        (IMPLEMENTATION_VERSION, Value("SH", implementation_version.encode("latin-1"))),
    )
    add = {**stamped.add, TOP: (*stamped.add.get(TOP, ()), *meta)}
    final = Edits(replace=stamped.replace, remove=frozenset(remove), add=add)
    return LeanOutput(final, syntax)


def encode_output(table: ElementTable, edits: Edits) -> bytes:
    """The output file's bytes: ``table`` with ``edits``, after a zero preamble (the preamble
    may carry application data, a TIFF header or a name). Raises
    :class:`~deidengine.core.errors.EncodingError` for content only pydicom's writer
    converts (the Dataset path then writes the file, or says why it cannot)."""
    return encode(table, edits, preamble=PREAMBLE)
