"""One file through the pipeline: read, identifiers, header, pixels, encode, verify, write.

:meth:`FileProcessor.process` never raises and never writes a file it could not prove clean:
it returns an :class:`~deidengine.run.outcome.Outcome`, having written the output atomically
or put the input in quarantine with a reason. The CLI's local pool and the Dask executor call
the same function.

The output is encoded once, and the verifier reads those bytes back
(:func:`~deidengine.verify.written.read_written`): the leak scan, conformance (UIDs, dates,
keyed values) and provenance checks judge what will be on disk, not the engine's dataset, and
exactly the bytes they judged are written.

A file the lean reader parsed, whose pixels the pixel stage would leave as they are, with no
honest broker, takes the lean path (:mod:`deidengine.run.lean_path`): its header stage runs on
the element table and its output is written from the table; every other file takes the
Dataset path. Both end in the same verification and write
(:meth:`FileProcessor._verify_and_write`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID

from deidengine import __version__
from deidengine.core.errors import EncodingError
from deidengine.core.table import ElementTable
from deidengine.dicom.apply import (
    ActionError,
    EngineContext,
    HeaderOutcome,
    LookupMissError,
    RejectedError,
    apply_plan,
)
from deidengine.dicom.burned_in import BURNED_IN_SIGNAL_TAGS
from deidengine.dicom.conditions import ConditionSnapshot
from deidengine.dicom.encode import encode_file
from deidengine.dicom.facts import InputFacts, TableFacts, input_facts, table_facts
from deidengine.dicom.identifiers import IdentifyingValues
from deidengine.dicom.keys import ProjectSecret
from deidengine.dicom.limits import (
    DEFAULT_LIMITS,
    InputLimits,
)
from deidengine.dicom.reading import FileReading, dataset_from_bytes
from deidengine.dicom.storage import (
    BackgroundMover,
    PendingStore,
    StoreResult,
    store_bytes_atomically,
)
from deidengine.dicom.table_apply import LeanUnsupported, apply_plan_to_table
from deidengine.dicom.uids import is_valid_uid
from deidengine.errors import DeidError
from deidengine.policy import load_plan
from deidengine.policy.plan import Plan, PlannedRule
from deidengine.provenance import (
    PixelOutcome,
    WhatRan,
    kept_private_blocks,
    original_snapshot,
    plan_known_safe,
    protect_original_attributes,
    stamp_provenance,
)
from deidengine.provenance.stamp_edits import kept_private_blocks_of_table
from deidengine.provenance.vocabulary import LongitudinalTemporalInformationModified
from deidengine.run.admission import (
    InputRefused,
    admit_file,
    admitted_dataset,
    is_media_directory_reading,
)
from deidengine.run.diagnose import diagnose_input
from deidengine.run.diskfull import is_disk_full
from deidengine.run.lean_path import (
    REMOVED_IDENTITY,
    encode_output,
    lean_eligible,
    lean_output,
    pixel_rule_keeps,
)
from deidengine.run.outcome import REASON_TEXT, Outcome, Reason, Status, input_reference
from deidengine.run.pixel_stage import unexamined_pixel_signal
from deidengine.run.quarantine import SEALED_FIELD, seal_input_path
from deidengine.run.safety import (
    copy_private,
    is_inside,
    private_directory,
    write_private_bytes,
)
from deidengine.standard.hipaa import restricted_zip3
from deidengine.standard.vr_classes import PIXEL_DATA_TAGS
from deidengine.text.header import clean_header_text
from deidengine.verify.conformance import Severity, check_conformance
from deidengine.verify.leaks import find_leaks, patient_borne_values
from deidengine.verify.provenance_check import check_provenance
from deidengine.verify.table_view import TOP as TOP_DATASET
from deidengine.verify.table_view import TableView, table_of_dataset
from deidengine.verify.written import (
    OpaquePayloadError,
    UnreadableOutputError,
    read_written,
    set_aside_envelopes,
)

if TYPE_CHECKING:
    from deidengine.pixels.redact import PixelOutcome as RedactionOutcome

#: Our Implementation Class UID: a 2.25 UUID-derived UID fixed for this engine.
IMPLEMENTATION_CLASS_UID = "2.25." + str(int(hashlib.sha256(b"deidengine").hexdigest()[:32], 16))
IMPLEMENTATION_VERSION_NAME = f"DEIDENGINE_{__version__.replace('.', '')}"[:16]
RECOGNIZABLE_FEATURES_POLICY = "annex-e/clean-recognizable-visual-features"
ENCRYPTED_ATTRIBUTES_SEQUENCE = 0x04000500
#: (implicit VR, little endian) of a dataset read without File Meta → its transfer syntax.
ENCODING_SYNTAX = {
    (True, True): "1.2.840.10008.1.2",
    (False, True): "1.2.840.10008.1.2.1",
    (False, False): "1.2.840.10008.1.2.2",
}
#: The output name of a one-file run, relative to its output root, which is the file itself.
SINGLE_OUTPUT = "."
#: Pixel-stage exceptions by class name → quarantine reason (others: pixel-stage-failed).
PIXEL_FAILURES = {"PixelCleanError": Reason.PIXELS_NOT_CLEAN}
#: pyo3's exception for a panic in a Rust extension (pylibjpeg's decoders), by class name: the
#: class lives in whichever extension raised it.
NATIVE_PANIC = "PanicException"
PIXEL_FAILURES = {
    "PixelCleanError": Reason.PIXELS_NOT_CLEAN,
    "PixelCodecError": Reason.UNDECODABLE_PIXEL_DATA,
}


@dataclass(frozen=True, slots=True)
class RunSettings:
    """Everything a worker needs; picklable so every executor can ship it."""

    policy_spec: str
    secret_key: bytes
    output_root: str
    quarantine_root: str
    lookups: tuple[tuple[str, str], ...] = ()
    record_mappings: bool = False
    ocr_backend: str = "default"
    #: Honest-broker mode: a recipient certificate (PEM path); the originals of everything
    #: removed or replaced travel in Encrypted Attributes Sequence, readable by its key only.
    encrypt_to: str | None = None
    #: ``output_root`` is the output file itself (``deid run FILE OUT.dcm``), not a tree.
    output_is_file: bool = False
    #: The most an input may inflate to and the most pixel data it may declare (too-large).
    limits: InputLimits = DEFAULT_LIMITS
    #: Where each written file's review-sheet rows go (``deid run --review``), or None.
    review_dir: str | None = None


class _Quarantine(Exception):
    def __init__(self, reason: Reason, detail: str | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.detail = detail


def read_lookup_table(path: str) -> dict[str, str]:
    """A two-column CSV (original, assigned), with or without an ``id_old,id_new`` header."""
    table: dict[str, str] = {}
    with open(path, encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle):
            if len(row) < 2 or row[0] == "id_old":
                continue
            table[row[0].strip()] = row[1].strip()
    return table


def read_input(path: str, limits: InputLimits = DEFAULT_LIMITS) -> Dataset:
    """Read one input fully, or raise :class:`_Quarantine` with the reason
    (:func:`deidengine.run.admission.admit` decides which)."""
    reading = read_input_file(path, limits)
    try:
        return admitted_dataset(reading, path)
    except InputRefused as refused:
        raise _Quarantine(refused.reason, refused.detail) from refused


def read_input_file(path: str, limits: InputLimits = DEFAULT_LIMITS) -> FileReading:
    """:func:`read_input`, keeping the lean reader's element table of the input (``None``
    where pydicom read it: see :func:`deidengine.dicom.reading.read_file`)."""
    try:
        return admit_file(path, limits)
    except InputRefused as refused:
        raise _Quarantine(refused.reason, refused.detail) from refused


def _new_file_meta(dataset: Dataset, transfer_syntax: str) -> FileMetaDataset:
    """PS3.15 E.1: the File Meta Information is replaced, not carried over."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = dataset.SOPClassUID
    meta.MediaStorageSOPInstanceUID = dataset.SOPInstanceUID
    meta.TransferSyntaxUID = UID(transfer_syntax)
    meta.ImplementationClassUID = UID(IMPLEMENTATION_CLASS_UID)
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION_NAME
    return meta


#: The UIDs an output is named by, outermost folder first.
OUTPUT_NAME_UIDS = (
    (0x0020000D, "(0020,000D)"),  # Study Instance UID
    (0x0020000E, "(0020,000E)"),  # Series Instance UID
    (0x00080018, "(0008,0018)"),  # SOP Instance UID
)


def output_name(output: TableView) -> str:
    """``<study>/<series>/<instance>.dcm`` from the de-identified UIDs of ``output`` (the
    verifier's reading of the bytes to be written).

    Only valid UIDs (PS3.5 9.1) name files: a policy that keeps UIDs keeps whatever the input
    held, and ``../..`` or ``/etc`` there would lead the write out of the output tree. Any
    other value is quarantined as ``invalid-uid`` (an absent Study or Series UID is
    ``unknown``).
    """
    parts = []
    for number, tag in OUTPUT_NAME_UIDS:
        index = output.get(TOP_DATASET, number)
        value = str((output.value(index) if index is not None else "") or "").strip(" \x00")
        if value and not is_valid_uid(value):
            raise _Quarantine(Reason.INVALID_UID, tag)
        parts.append(value or "unknown")
    return f"{parts[0]}/{parts[1]}/{parts[2]}.dcm"


#: What a stored output means for the run.
STORE_STATUS = {StoreResult.WRITTEN: Status.WRITTEN, StoreResult.ALREADY_THERE: Status.SKIPPED}


def _write_atomically(data: bytes, root: Path, name: str) -> Status:
    """Write ``data`` (the verified bytes, as they are) via a temporary file and a link; an
    existing equal file means already done."""
    result = store_bytes_atomically(data, _output_target(root, name), same=_same_output)
    if result is StoreResult.CONFLICT:
        raise _Quarantine(Reason.DUPLICATE_OUTPUT)
    return STORE_STATUS[result]


def _output_target(root: Path, name: str) -> Path:
    """Where the output named ``name`` goes under ``root``, once the name is shown to stay
    inside it."""
    # A one-file run names the output file itself (SINGLE_OUTPUT): no UID goes into its path.
    if name != SINGLE_OUTPUT and not is_inside(root, name):
        raise _Quarantine(Reason.INVALID_UID, "the output name leaves the output tree")
    return root / name


def _identical_output(mine: bytes, theirs: Path) -> bool:
    """The mover's half of :func:`_same_output`: byte for byte. The other half reads the
    files as data sets, whose warnings quote values and are silenced only on the worker's
    own thread (``warnings.catch_warnings`` is per process, not per thread): the worker asks
    it when this half says no (:meth:`FileProcessor._finish`)."""
    return mine == theirs.read_bytes()


def _written(reference: str, name: str, header: HeaderOutcome) -> Outcome:
    return Outcome(
        reference,
        Status.WRITTEN,
        output=name,
        actions=header.actions,
        uid_map=header.uid_map,
        id_map=header.id_map,
    )


def _already_done(written: Outcome) -> Outcome:
    """``written``, skipped instead: an equal output was already in place (a re-run)."""
    done = Reason.ALREADY_DONE
    return replace(written, status=Status.SKIPPED, reason=done, detail=REASON_TEXT[done])


def _same_output(mine: bytes, theirs: Path) -> bool:
    """Byte-identical, or equal but for the Encrypted Attributes Sequence (its CMS envelope
    is random every time, so an honest-broker re-run never repeats its bytes)."""
    existing = theirs.read_bytes()
    if mine == existing:
        return True
    try:
        first, second = dataset_from_bytes(mine), dataset_from_bytes(existing)
    except Exception:
        return False
    for dataset in (first, second):
        if ENCRYPTED_ATTRIBUTES_SEQUENCE not in dataset:
            return False
        del dataset[ENCRYPTED_ATTRIBUTES_SEQUENCE]
    return bool(first == second)


class FileProcessor:
    """Processes files with one compiled plan; build it once per worker process."""

    def __init__(self, settings: RunSettings, plan: Plan | None = None) -> None:
        self.settings = settings
        self.secret = ProjectSecret(settings.secret_key)
        self.plan = plan or load_plan(settings.policy_spec, runnable=True)
        lookups: Mapping[str, Mapping[str, str]] = {
            name: read_lookup_table(path) for name, path in settings.lookups
        }
        self.context = EngineContext(
            plan=self.plan,
            secret=self.secret,
            text_cleaner=clean_header_text,
            lookups=lookups,
            restricted_zip3=restricted_zip3(),
            record_mappings=settings.record_mappings,
        )
        self.known_safe = plan_known_safe(self.plan)
        # What the condition snapshot takes from the input: what the plan's conditions read,
        # and what _pixels_examined reads.
        self._snapshot_tags = self.plan.condition_tags | BURNED_IN_SIGNAL_TAGS
        self.certificate = Path(settings.encrypt_to).read_bytes() if settings.encrypt_to else None
        self.output_root = Path(settings.output_root)
        self.quarantine_root = Path(settings.quarantine_root)
        # Set by start() for one file: its write goes to the mover.
        self._mover: BackgroundMover | None = None
        self._pending: tuple[PendingStore, bytes, Path] | None = None

    def input_reference(self, path: str) -> str:
        """A keyed reference to the input: stable per secret, meaningless without it."""
        return input_reference(self.secret, path)

    def process(self, path: str) -> Outcome:
        reference = self.input_reference(path)
        try:
            with warnings.catch_warnings():
                # pydicom's warnings quote element values: none may reach a terminal or log.
                warnings.simplefilter("ignore")
                return self._process(path, reference)
        except _Quarantine as quarantine:
            if is_disk_full(quarantine):
                return _disk_full(reference)
            return self._quarantine(path, reference, quarantine.reason, quarantine.detail)
        except MemoryError:
            return self._quarantine(path, reference, Reason.INTERNAL_ERROR, "out of memory")
        except Exception as error:  # the run goes on: this file fails closed
            if is_disk_full(error):
                return _disk_full(reference)
            # A malformed file fails wherever its defect is first touched: name the defect.
            diagnosis = diagnose_input(path)
            if diagnosis is not None:
                return self._quarantine(path, reference, diagnosis.reason, diagnosis.detail)
            detail = f"{type(error).__name__} in the engine"
            return self._quarantine(path, reference, Reason.INTERNAL_ERROR, detail)
        except BaseException as error:
            # A panic in a Rust decoder (pyo3's PanicException is a BaseException, so no
            # ``except Exception`` sees it) on corrupt compressed pixels: the file fails closed.
            if type(error).__name__ != NATIVE_PANIC:
                raise
            detail = "a native pixel decoder failed on the data"
            return self._quarantine(path, reference, Reason.PIXEL_STAGE_FAILED, detail)

    def _process(self, path: str, reference: str) -> Outcome:
        reading = read_input_file(path, self.settings.limits)
        if is_media_directory_reading(reading):
            return Outcome.skipped(reference, Reason.DIRECTORY_RECORD)
        table = reading.table
        found = None
        if table is not None:
            # The lean path: the deny-list, what conditions read and the private blocks from
            # the input's element table, the header stage on it, the output written from it;
            # pydicom's dataset of the input is never built.
            found = table_facts(table, self._snapshot_tags)
            top = table.top_level()
            self._pixels_examined(found.snapshot, any(tag in top for tag in PIXEL_DATA_TAGS))
            lean = self._lean_output(reading, found)
            if lean is not None:
                header, data, transfer_syntax = lean
                return self._verify_and_write(
                    reference, data, transfer_syntax, 0, header, found, table, reading, []
                )
        try:
            dataset = admitted_dataset(reading, path)
        except InputRefused as refused:
            raise _Quarantine(refused.reason, refused.detail) from refused
        # One walk of the input before any stage edits it: the deny-list, the copy the
        # verifier compares the output with, what conditions read, the private blocks (read
        # from the element table above when the lean reader parsed the input).
        facts = input_facts(dataset, self._snapshot_tags, found=found)
        if found is None:  # the lean path above asked the same of the table
            self._pixels_examined(facts.snapshot, any(tag in dataset for tag in PIXEL_DATA_TAGS))
        identifying, snapshot = facts.identifying, facts.snapshot
        private_before = facts.private_blocks
        # The verifier compares the output with the input's element table; an input only
        # pydicom could read has none, and pydicom's reading of it stands in, written out
        # (table_of_dataset: the one fallback).
        original_table = table if table is not None else table_of_dataset(facts.original)
        before = original_snapshot(dataset) if self.certificate is not None else None
        try:
            header = apply_plan(dataset, self.context, identifying, snapshot)
        except LookupMissError as error:
            raise _Quarantine(Reason.LOOKUP_MISS, str(error)) from error
        except RejectedError as error:
            raise _Quarantine(Reason.REJECTED_BY_POLICY, str(error)) from error
        pixel_outcomes: list[RedactionOutcome] = []
        try:
            pixel_rule = self._pixel_stage(dataset, identifying, snapshot, pixel_outcomes)
        except RejectedError as error:
            raise _Quarantine(Reason.REJECTED_BY_POLICY, str(error)) from error
        except Exception as error:
            reason = PIXEL_FAILURES.get(type(error).__name__, Reason.PIXEL_STAGE_FAILED)
            raise _Quarantine(reason, type(error).__name__) from error
        if "SOPInstanceUID" not in dataset or "SOPClassUID" not in dataset:
            raise _Quarantine(Reason.ACTION_FAILED, REMOVED_IDENTITY)
        # The pixel stage may have re-encoded in another (recorded, lossless) syntax.
        implicit, little = dataset.original_encoding  # a bare dataset: as it was read
        transfer_syntax = (
            str(dataset.file_meta.get("TransferSyntaxUID", ""))
            or ENCODING_SYNTAX[(bool(implicit), little is not False)]
        )
        dataset.file_meta = _new_file_meta(dataset, transfer_syntax)
        # The preamble may carry application data (a TIFF header, a name): written as zeros.
        dataset.preamble = None
        pixels = PixelOutcome(
            pixels_cleaned=pixel_rule is not None,
            recognizable_visual_features_cleaned=pixel_rule is not None
            and pixel_rule.policy == RECOGNIZABLE_FEATURES_POLICY,
        )
        ran = WhatRan.from_plan(
            self.plan,
            temporal=LongitudinalTemporalInformationModified(header.temporal.value),
            pixels=pixels,
            kept_private_blocks=kept_private_blocks(private_before, dataset, self.known_safe),
        )
        stamp_provenance(dataset, ran)
        envelopes = 0
        if before is not None and self.certificate is not None:
            # After the stamp (the envelope records it too); its ciphertext is set aside, not
            # scanned, by the verifier below.
            envelopes = _envelope_count(dataset)
            protect_original_attributes(before, dataset, self.certificate)
            envelopes = _envelope_count(dataset) - envelopes
        data = _encode(dataset)
        return self._verify_and_write(
            reference,
            data,
            transfer_syntax,
            envelopes,
            header,
            facts,
            original_table,
            reading,
            pixel_outcomes,
        )

    def _verify_and_write(
        self,
        reference: str,
        data: bytes,
        transfer_syntax: str,
        envelopes: int,
        header: HeaderOutcome,
        facts: InputFacts | TableFacts,
        original_table: ElementTable,
        reading: FileReading,
        pixel_outcomes: list[RedactionOutcome],
    ) -> Outcome:
        """The verifier gates the write of ``data`` (either path's output file), judging it
        against ``original_table``, the input as read."""
        identifying, snapshot = facts.identifying, facts.snapshot
        untouched_values = patient_borne_values(identifying)
        output = self._verify_written(data, transfer_syntax, envelopes)
        leaks = find_leaks(
            output, identifying, header.explicitly_kept, header.default_kept, untouched_values
        )
        if leaks:
            where = ", ".join(sorted({leak.described for leak in leaks})[:5])
            raise _Quarantine(Reason.LEAK_DETECTED, f"at {where}")
        self._verify_before_write(output, original_table, snapshot)
        name = SINGLE_OUTPUT if self.settings.output_is_file else output_name(output)
        if self._mover is not None and self.settings.review_dir is None:
            # start(): stored by the mover while the next file is processed; _finish says how
            # the store ended.
            target = _output_target(self.output_root, name)
            pending = self._mover.store_bytes(data, target, same=_identical_output)
            self._pending = (pending, data, target)
            return _written(reference, name, header)
        try:
            status = _write_atomically(data, self.output_root, name)
        except _Quarantine:
            raise
        except Exception as error:
            raise _Quarantine(Reason.WRITE_FAILED, type(error).__name__) from error
        if self.settings.review_dir is not None and status is not Status.SKIPPED:
            self._review(reference, reading, pixel_outcomes)
        if status is Status.SKIPPED:
            return _already_done(_written(reference, name, header))
        return _written(reference, name, header)

    def start(self, path: str, mover: BackgroundMover) -> Callable[[], Outcome]:
        """:meth:`process` up to the durable write, which ``mover`` makes while the caller
        starts the next file; the callable returned waits for it and returns what
        :meth:`process` would have (written, already done, a duplicate output quarantined, a
        full disk, a failed write). It never raises."""
        self._mover, self._pending = mover, None
        try:
            outcome = self.process(path)
            pending = self._pending
        finally:
            self._mover, self._pending = None, None
        if pending is None:
            return lambda: outcome
        return lambda: self._finish(path, outcome, *pending)

    def _finish(
        self, path: str, written: Outcome, pending: PendingStore, data: bytes, target: Path
    ) -> Outcome:
        """The outcome of a write started by :meth:`start`, as :meth:`process` decides it."""
        reference = written.input_ref
        try:
            result = pending.result()
            if result is StoreResult.CONFLICT:
                with warnings.catch_warnings():  # see _identical_output
                    warnings.simplefilter("ignore")
                    if _same_output(data, target):
                        result = StoreResult.ALREADY_THERE
        except Exception as error:
            if is_disk_full(error):
                return _disk_full(reference)
            return self._quarantine(path, reference, Reason.WRITE_FAILED, type(error).__name__)
        if result is StoreResult.CONFLICT:
            return self._quarantine(path, reference, Reason.DUPLICATE_OUTPUT, None)
        if result is StoreResult.ALREADY_THERE:
            return _already_done(written)
        return written

    def _lean_output(
        self, reading: FileReading, facts: TableFacts
    ) -> tuple[HeaderOutcome, bytes, str] | None:
        """The lean path (:mod:`deidengine.run.lean_path`): the header stage on the input's
        table and the output written from it; None where the Dataset path must run (the
        module says where), having changed nothing."""
        table = reading.table
        if (
            table is None
            or self.certificate is not None
            or not lean_eligible(table)
            or not pixel_rule_keeps(self.plan, facts.snapshot, table)
        ):
            return None
        try:
            header = apply_plan_to_table(table, self.context, facts.identifying, facts.snapshot)
        except LeanUnsupported:
            return None
        except LookupMissError as error:
            raise _Quarantine(Reason.LOOKUP_MISS, str(error)) from error
        except RejectedError as error:
            raise _Quarantine(Reason.REJECTED_BY_POLICY, str(error)) from error
        except (DeidError, MemoryError):
            raise  # what the Dataset path's stage raises the same way (an action that fails)
        except Exception:
            # Not the stage's own refusal: a value the table cannot read as pydicom does, say.
            # The Dataset path treats the file (or fails on it) as it always has.
            return None
        outcome = header.outcome
        blocks = kept_private_blocks_of_table(
            facts.private_blocks, table, header.edits, self.known_safe
        )
        ran = WhatRan.from_plan(
            self.plan,
            temporal=LongitudinalTemporalInformationModified(outcome.temporal.value),
            pixels=PixelOutcome(),
            kept_private_blocks=blocks,
        )
        implementation = (IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME)
        try:
            planned = lean_output(table, header.edits, ran, implementation)
        except LeanUnsupported:
            return None
        except ActionError as error:  # the policy removed the SOP identity
            raise _Quarantine(Reason.ACTION_FAILED, REMOVED_IDENTITY) from error
        try:
            data = encode_output(table, planned.edits)
        except EncodingError:
            return None  # the Dataset path writes it, or says why it cannot
        except MemoryError:
            raise
        except Exception as error:  # as _encode: the file fails closed, and says where
            raise _Quarantine(Reason.ENCODING_FAILED, type(error).__name__) from error
        return outcome, data, planned.transfer_syntax

    def _verify_written(self, data: bytes, transfer_syntax: str, envelopes: int) -> TableView:
        """``data`` read back as the verifier's own element table (the honest broker's
        ``envelopes`` set aside), or the quarantine that says why the bytes are not a file to
        write."""
        try:
            output = set_aside_envelopes(read_written(data, transfer_syntax), envelopes)
        except UnreadableOutputError as error:
            raise _Quarantine(Reason.UNREADABLE_OUTPUT, error.detail) from error
        except OpaquePayloadError as error:
            detail = f"beside the envelope at {error.location}"
            raise _Quarantine(Reason.LEAK_DETECTED, detail) from error
        return output

    def _verify_before_write(
        self, output: TableView, original: ElementTable, snapshot: ConditionSnapshot
    ) -> None:
        """The verifier gates the write: policy conformance and provenance coherence."""
        problems = check_conformance(
            output, self.plan, secret=self.secret, original=original, snapshot=snapshot
        ) + check_provenance(output, self.plan)
        errors = sorted(
            {
                f"{p.code.split()[0]} at {p.location}"
                for p in problems
                if p.severity is Severity.ERROR
            }
        )
        if errors:
            raise _Quarantine(Reason.NONCONFORMANT, ", ".join(errors[:5]))

    def _pixels_examined(self, snapshot: ConditionSnapshot, has_pixel_data: bool) -> None:
        """Quarantine a file whose pixels may carry burned-in text and no pixel rule reaches
        (:func:`~deidengine.run.pixel_stage.unexamined_pixel_signal`)."""
        signal = unexamined_pixel_signal(self.plan, snapshot, has_pixel_data)
        if signal is not None:
            raise _Quarantine(Reason.PIXELS_NOT_EXAMINED, signal)

    def _pixel_stage(
        self,
        dataset: Dataset,
        identifying: IdentifyingValues,
        snapshot: ConditionSnapshot,
        outcomes: list[RedactionOutcome] | None = None,
    ) -> PlannedRule | None:
        """Run the policy's pixel rule for this file; the rule when it cleaned pixels."""
        from deidengine.run.pixel_stage import run_pixel_stage

        return run_pixel_stage(
            dataset, self.plan, identifying, snapshot, self.settings.ocr_backend, outcomes
        )

    def _review(
        self, reference: str, reading: FileReading, outcomes: list[RedactionOutcome]
    ) -> None:
        """Store this written file's review-sheet rows: its OUTPUT frames and their masks (the
        pixel stage's redactions, made on the file's dataset)."""
        from deidengine.pixels.review import rows_for, write_fragment

        marks = [mark for outcome in outcomes for mark in outcome.marks]
        if not marks or self.settings.review_dir is None:
            return
        rows = rows_for(reference, reading.dataset, marks)
        write_fragment(Path(self.settings.review_dir), reference, rows)

    def _quarantine(self, path: str, reference: str, reason: Reason, detail: str | None) -> Outcome:
        """Copy the input beside a JSON reason, outside the output tree."""
        text = REASON_TEXT[reason] + (f" ({detail})" if detail else "")
        try:
            # The copies hold the original PHI: a 0700 folder, 0600 files (safety.py).
            private_directory(self.quarantine_root)
            record = {
                "input": reference,
                "reason": reason.value,
                "detail": text,
                "policy_digest": self.plan.digest,
                # The path, readable by the secret's holder only: deid quarantine list.
                SEALED_FIELD: seal_input_path(self.secret, reference, path),
            }
            target = self.quarantine_root / f"{reference}.json"
            write_private_bytes(target, (json.dumps(record, indent=2) + "\n").encode("utf-8"))
            copy_private(path, self.quarantine_root / f"{reference}.input")
        except OSError as error:
            if is_disk_full(error):  # no half-written record or copy: the run stops, redoes it
                for suffix in (".json", ".input"):
                    (self.quarantine_root / f"{reference}{suffix}").unlink(missing_ok=True)
                return _disk_full(reference)
            # otherwise the outcome still says quarantined; nothing reached the output
        return Outcome(reference, Status.QUARANTINED, reason=reason, detail=text)


def _envelope_count(dataset: Dataset) -> int:
    """The items of ``dataset``'s Encrypted Attributes Sequence."""
    element = dataset.get(ENCRYPTED_ATTRIBUTES_SEQUENCE)
    return len(element.value) if element is not None and element.value else 0


def _encode(dataset: Dataset) -> bytes:
    """The output file's bytes, encoded once: what the verifier reads and the disk receives."""
    try:
        return encode_file(dataset)
    except MemoryError:
        raise
    except Exception as error:
        raise _Quarantine(Reason.ENCODING_FAILED, type(error).__name__) from error


def _disk_full(reference: str) -> Outcome:
    """A full disk is not the input's fault: nothing is written or copied, the run stops."""
    return Outcome(
        reference, Status.QUARANTINED, reason=Reason.DISK_FULL, detail=REASON_TEXT[Reason.DISK_FULL]
    )


def prepare_worker(settings: RunSettings) -> FileProcessor:
    """Compile the plan once for this process and return the processor."""
    return FileProcessor(settings)
