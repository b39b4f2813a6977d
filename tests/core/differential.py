"""The differential oracle: the lean reader and pydicom read the same bytes; do they agree?

Both sides are reduced to the same shape, a tuple of :class:`Entry` (one per element, in the
order a ``Dataset`` iterates: by tag within each data set, a sequence's items after it), so
agreement is one comparison. When exactly one side fails, the outcome is *tolerated* only by a
named :class:`Rule` whose predicate holds; anything else is a disagreement the test reports.

**Both fail** means: the lean reader raised a ``CoreError`` (never anything else), and pydicom
raised while reading or while converting an element during the full walk (``ds[tag]`` for
every element, every item, recursively).

pydicom is lenient in ways that make up or drop data; each way the reader declines to follow is
a rule here, with the evidence pydicom itself gives (a warning it emits, a value shorter than
its length field, ...). A rule never matches on the reader's error alone.
"""

from __future__ import annotations

import enum
import io
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pydicom
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filereader import _read_file_meta_info, read_preamble
from pydicom.filewriter import dcmwrite
from pydicom.multival import MultiValue
from pydicom.valuerep import PersonName

from deidengine.core import values
from deidengine.core.errors import Code, CoreError
from deidengine.core.reader import KNOWN_TRANSFER_SYNTAXES, read
from deidengine.core.table import TOP, ElementTable

UNDEFINED = 0xFFFFFFFF
DEFLATED = "1.2.840.10008.1.2.1.99"
NUMBER_VRS = frozenset(values.NUMBER_FORMATS)
STRING_VRS = frozenset(
    {"AE", "AS", "CS", "DA", "DT", "TM", "UI", "UR", "SH", "LO", "ST", "LT", "UC", "UT", "PN"}
)


@dataclass(frozen=True)
class Entry:
    """One element as both readers must see it."""

    path: tuple[int, ...]  # (tag, item number, tag, item number, ..., tag)
    vr: str
    value: bytes | None  # the value bytes; None for a sequence
    converted: Any  # the value decoded (numbers, strings, tags), None where not compared
    creator: str | None


@dataclass
class Side:
    """What one reader made of the bytes."""

    entries: tuple[Entry, ...] | None = None
    error: BaseException | None = None
    evidence: set[str] = field(default_factory=set)  # pydicom's own signs of leniency
    failed_value: tuple[int, ...] | None = None  # path of the element pydicom failed to convert
    partial: tuple[Entry, ...] = ()  # what pydicom's walk produced before it failed


def _converted(vr: str, value: Any) -> Any:
    """pydicom's converted value in the lean accessors' shape."""
    if value is None or value == "" or value == b"":
        return ()
    items = list(value) if isinstance(value, MultiValue | list) else [value]
    if vr in NUMBER_VRS or vr == "AT":
        return tuple(int(item) if vr == "AT" else item for item in items)
    return tuple(str(item) for item in items)


ITEM_TAGS = (b"\xfe\xff\x00\xe0", b"\xff\xfe\xe0\x00")  # (FFFE,E000) little, big endian
ITEM_DELIMITERS = (b"\xfe\xff\x0d\xe0", b"\xff\xfe\xe0\x0d")
SEQUENCE_DELIMITERS = (b"\xfe\xff\xdd\xe0", b"\xff\xfe\xe0\xdd")


@dataclass(frozen=True)
class _Frame:
    """Where pydicom's offsets for one data set are counted from, and where it must end.

    pydicom parses a defined-length sequence from a buffer of its value, so offsets inside
    count from that value's start (``base``); ``end`` is the end, in the file, of the item or
    sequence holding the data set (None where unknown)."""

    base: int
    end: int | None
    little: bool


def _item_evidence(
    data: bytes, item: Dataset, frame: _Frame, limit: int | None, side: Side
) -> int | None:
    """Check one item's header in the bytes; return where the item must end, if defined."""
    at = frame.base + getattr(item, "file_tell", 0)
    header = data[at : at + 8]
    if len(header) < 8 or header[:4] not in ITEM_TAGS:
        side.evidence.add("non-item")
        return None
    length = int.from_bytes(header[4:], "little" if frame.little else "big")
    if length == UNDEFINED:
        if limit is not None and not any(d in data[at:limit] for d in ITEM_DELIMITERS):
            side.evidence.add("no-delimiter")
        return None
    if limit is not None and at + 8 + length > limit:
        side.evidence.add("overrun")
    return at + 8 + length


def _pydicom_walk(
    data: bytes,
    dataset: Dataset,
    prefix: tuple[int, ...],
    frame: _Frame,
    side: Side,
    out: list[Entry],
) -> None:
    for tag in sorted(dataset.keys()):
        raw = dataset.get_item(tag)
        raw_value: bytes | None = None
        path = (*prefix, int(tag))
        sequence_base, sequence_end = frame.base, None
        if isinstance(raw, RawDataElement):
            raw_value = raw.value if isinstance(raw.value, bytes) else b""  # None: empty
            if raw.length != UNDEFINED:
                if len(raw_value) != raw.length:
                    side.evidence.add("short-value")
                value_end = frame.base + raw.value_tell + raw.length
                if frame.end is not None and value_end > frame.end:
                    side.evidence.add("overrun")
                # A raw sequence is parsed from its value: offsets inside count from there.
                sequence_base = frame.base + raw.value_tell
                sequence_end = value_end
        try:
            element = dataset[tag]
        except Exception:
            side.failed_value = path
            raise
        vr = str(element.VR)
        private = element.tag.is_private and not element.tag.is_private_creator
        creator = element.private_creator if private else None
        if vr == "SQ":
            out.append(Entry(path, vr, None, None, creator))
            for number, item in enumerate(element.value):
                item_end = _item_evidence(
                    data, item, _Frame(frame.base, None, frame.little), sequence_end, side
                )
                inner = _Frame(sequence_base, item_end, frame.little)
                if sequence_end is None:  # read in place: offsets count as the holder's do
                    inner = _Frame(frame.base, item_end, frame.little)
                _pydicom_walk(data, item, (*path, number), inner, side, out)
            continue
        compare = vr in NUMBER_VRS or vr == "AT" or vr in STRING_VRS
        out.append(
            Entry(path, vr, raw_value, _converted(vr, element.value) if compare else None, creator)
        )


def _as_read(data: bytes, dataset: Dataset) -> bytes:
    """The bytes pydicom's data set offsets count in: the file, or its inflated data set."""
    if dataset.file_meta.get("TransferSyntaxUID") != DEFLATED:
        return data
    stream = io.BytesIO(data)
    read_preamble(stream, True)
    _read_file_meta_info(stream)
    return zlib.decompress(data[stream.tell() :], -zlib.MAX_WBITS)


def pydicom_side(data: bytes) -> Side:
    side = Side()
    out: list[Entry] = []
    stream = io.BytesIO(data)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            dataset = pydicom.dcmread(stream, force=True)
            stopped = stream.tell()
            syntax = dataset.file_meta.get("TransferSyntaxUID")
            if syntax is not None and syntax not in KNOWN_TRANSFER_SYNTAXES:
                side.evidence.add("unknown-syntax")
            little = dataset.original_encoding[1] is not False
            _pydicom_walk(data, dataset.file_meta, (), _Frame(0, None, True), side, out)
            _pydicom_walk(_as_read(data, dataset), dataset, (), _Frame(0, None, little), side, out)
            side.entries = tuple(sorted(out, key=lambda entry: entry.path))
            if len(data) - stopped >= 8 or data[stopped - 8 : stopped - 4] in ITEM_DELIMITERS:
                side.evidence.add("stopped-early")
        except Exception as error:
            side.error = error
            side.partial = tuple(out)
    for warning in caught:
        message = str(warning.message)
        if "End of file reached before delimiter" in message:
            side.evidence.add("eof-before-delimiter")
        elif "VR, but found" in message:
            side.evidence.add("encoding-switch")
    return side


def _lean_walk(table: ElementTable, parent: int, prefix: tuple[int, ...], out: list[Entry]) -> None:
    latest: dict[int, int] = {}
    for index in table.children(parent):
        latest[table.rows[index].tag] = index  # a Dataset keeps the last of a repeated tag
    for tag in sorted(latest):
        index = latest[tag]
        row = table.rows[index]
        path = (*prefix, tag)
        if row.vr == "SQ":
            out.append(Entry(path, "SQ", None, None, row.creator))
            for number, item in enumerate(table.children(index)):
                _lean_walk(table, item, (*path, number), out)
            continue
        converted: Any = None
        vr = values.resolved_vr(table, index)
        if vr in NUMBER_VRS:
            converted = values.numbers(table, index)
        elif vr == "AT":
            converted = values.tags(table, index)
        elif vr == "PN":  # pydicom renders a name without its empty trailing groups
            converted = tuple(str(PersonName(name)) for name in values.strings(table, index))
        elif vr in STRING_VRS:
            converted = values.strings(table, index)
        out.append(Entry(path, vr, table.value(index), converted, row.creator))


def lean_side(data: bytes) -> Side:
    side = Side()
    try:
        table = read(data)
        out: list[Entry] = []
        _lean_walk(table, TOP, (), out)
        side.entries = tuple(sorted(out, key=lambda entry: entry.path))
    except CoreError as error:
        side.error = error
    return side


class Rule(enum.Enum):
    """Each tolerated difference between the two readers, named."""

    #: pydicom reads a value (or a sequence's bytes) shorter than its length field says, with
    #: no warning; the reader raises ``truncated``. Evidence: a raw element of pydicom's
    #: shorter than its length, or the error's declared end lies past the end of the stream.
    SHORT_VALUE = "pydicom keeps a value cut short by the end of the stream"
    #: pydicom warns "End of file reached before delimiter" and keeps what it read; the reader
    #: raises ``undefined-length-without-delimiter``.
    EOF_BEFORE_DELIMITER = "pydicom ends an undefined length at the end of the stream"
    #: pydicom warns "Expected explicit VR, but found implicit VR" (or the reverse) and reads
    #: the other encoding; the reader raises ``transfer-syntax-mismatch``.
    ENCODING_SWITCH = "pydicom overrides the meta's transfer syntax"
    #: pydicom reads a Transfer Syntax UID it does not know as explicit VR little endian; the
    #: reader raises ``unknown-transfer-syntax`` (a pixel encoding it cannot name).
    UNKNOWN_SYNTAX = "pydicom guesses an unknown transfer syntax"
    #: pydicom fails converting one element's value where the reader's walk decodes nothing
    #: that would fail (none of the current mutants: a number of the wrong length and an
    #: unresolvable ambiguous VR fail on both sides); everything pydicom walked before agrees.
    VALUE_REJECTED = "pydicom rejects a value the reader has not been asked to decode"
    #: pydicom reads an element or an item past the end of the item or sequence holding it
    #: (it never checks an item's length against its contents), or cuts it short at the end
    #: of a sequence's value; the reader raises ``invalid-length``. Evidence: an element or
    #: item in pydicom's walk that ends beyond its holder's length field or is short, or the
    #: error's declared end lies past its container's end inside the stream.
    OVERRUN = "pydicom reads past the end of an item or sequence"
    #: pydicom reads whatever tag stands where a sequence's item must as an item header;
    #: the reader raises ``invalid-item``. Evidence: an item of pydicom's whose header bytes
    #: are not (FFFE,E000), or the bytes at the error's offset are not an Item tag.
    NON_ITEM = "pydicom takes any tag for an item"
    #: pydicom ends a data set silently at a stray Item Delimitation Item (ignoring what
    #: follows), ends a defined-length sequence at a Sequence Delimitation Item, and reads an
    #: Item tag standing among elements as an element; the reader raises
    #: ``unexpected-delimiter``. Evidence: pydicom stopped reading early, or the bytes at the
    #: error's offset are such a tag.
    STOPPED_EARLY = "pydicom stops at, or reads on over, a stray delimiter"
    #: pydicom reads no bytes as an empty data set; the reader raises ``empty``.
    EMPTY = "pydicom reads no bytes as an empty data set"


def _same_entry(lean: Entry, oracle: Entry, used: set[Rule]) -> bool:
    if lean.path != oracle.path or lean.creator != oracle.creator:
        return False
    # pydicom has converted some elements while reading (Specific Character Set): no raw
    # bytes to compare, the converted value still is.
    if oracle.value is not None and lean.value != oracle.value:
        return False
    # The lean side's VR is resolved as pydicom resolves an ambiguous one (values.resolved_vr).
    return lean.vr == oracle.vr and bool(lean.converted == oracle.converted)


@dataclass(frozen=True)
class Verdict:
    agree: bool
    rules: frozenset[Rule]
    detail: str


def _lean_code(side: Side) -> Code | None:
    return side.error.code if isinstance(side.error, CoreError) else None


def _stream(data: bytes) -> bytes:
    """The bytes the reader's error offsets count in (a deflated data set inflated)."""
    stream = io.BytesIO(data)
    try:
        read_preamble(stream, True)
        meta = _read_file_meta_info(stream)
        if meta.get("TransferSyntaxUID") != DEFLATED:
            return data
        start = stream.tell()
        return data[:start] + zlib.decompressobj(-zlib.MAX_WBITS).decompress(data[start:])
    except Exception:
        return data


def _claim_holds(error: CoreError, stream: bytes) -> bool:
    """The reader's error, checked against the bytes it points at."""
    at = error.offset if error.offset is not None else -1
    tag = stream[at : at + 4] if at >= 0 else b""
    if error.code is Code.UNEXPECTED_DELIMITER:
        return tag in ITEM_DELIMITERS + SEQUENCE_DELIMITERS + ITEM_TAGS
    if error.code is Code.INVALID_ITEM:
        return len(tag) == 4 and tag not in ITEM_TAGS
    if error.code is Code.INVALID_LENGTH and error.bound is not None:
        # Declared end past the container, or (undefined length) no delimiter before it.
        return error.bound < len(stream) and (error.end is None or error.end > error.bound)
    if error.code is Code.TRUNCATED:
        return error.end is not None and error.end > len(stream)
    return False


def _only_lean_failed(lean: Side, oracle: Side, stream: bytes) -> Rule | None:
    code = _lean_code(lean)
    error = lean.error
    assert isinstance(error, CoreError)
    claim = _claim_holds(error, stream)
    checks: list[tuple[Rule, Callable[[], bool]]] = [
        (
            Rule.SHORT_VALUE,
            lambda: code is Code.TRUNCATED and ("short-value" in oracle.evidence or claim),
        ),
        (
            Rule.EOF_BEFORE_DELIMITER,
            lambda: (
                code in {Code.UNDEFINED_LENGTH_WITHOUT_DELIMITER, Code.TRUNCATED}
                and bool({"eof-before-delimiter", "no-delimiter"} & oracle.evidence)
            ),
        ),
        (
            Rule.ENCODING_SWITCH,
            lambda: code is Code.TRANSFER_SYNTAX_MISMATCH and "encoding-switch" in oracle.evidence,
        ),
        (
            Rule.UNKNOWN_SYNTAX,
            lambda: code is Code.UNKNOWN_TRANSFER_SYNTAX and "unknown-syntax" in oracle.evidence,
        ),
        (
            Rule.OVERRUN,
            lambda: (
                code is Code.INVALID_LENGTH
                and ("overrun" in oracle.evidence or "short-value" in oracle.evidence or claim)
            ),
        ),
        (
            Rule.NON_ITEM,
            lambda: code is Code.INVALID_ITEM and ("non-item" in oracle.evidence or claim),
        ),
        (
            Rule.STOPPED_EARLY,
            lambda: (
                code is Code.UNEXPECTED_DELIMITER and ("stopped-early" in oracle.evidence or claim)
            ),
        ),
        (Rule.EMPTY, lambda: code is Code.EMPTY and oracle.entries == ()),
    ]
    for rule, holds in checks:
        if holds():
            return rule
    return None


def _only_pydicom_failed(lean: Side, oracle: Side) -> Rule | None:
    failed = oracle.failed_value
    if failed is None or lean.entries is None:
        return None
    # The reader agrees with everything pydicom walked before the failure, and holds the
    # element pydicom could not convert.
    mine = {entry.path: entry for entry in lean.entries}
    if failed not in mine:
        return None
    used: set[Rule] = set()
    agree = all(
        theirs.path in mine and _same_entry(mine[theirs.path], theirs, used)
        for theirs in oracle.partial
    )
    return Rule.VALUE_REJECTED if agree else None


def compare(data: bytes) -> Verdict:
    """Read ``data`` with both readers and judge the outcome."""
    lean = lean_side(data)
    oracle = pydicom_side(data)
    if lean.error is not None and not isinstance(lean.error, CoreError):
        return Verdict(False, frozenset(), f"lean raised {type(lean.error).__name__}")
    if lean.error is not None and oracle.error is not None:
        return Verdict(True, frozenset(), "both fail")
    if lean.error is not None:
        rule = _only_lean_failed(lean, oracle, _stream(data))
        detail = f"only lean failed: {lean.error}; pydicom evidence {sorted(oracle.evidence)}"
        return Verdict(rule is not None, frozenset({rule} if rule else ()), detail)
    if oracle.error is not None:
        rule = _only_pydicom_failed(lean, oracle)
        detail = f"only pydicom failed: {type(oracle.error).__name__}: {oracle.error}"[:300]
        return Verdict(rule is not None, frozenset({rule} if rule else ()), detail)
    assert lean.entries is not None and oracle.entries is not None
    used: set[Rule] = set()
    if len(lean.entries) != len(oracle.entries):
        return Verdict(False, frozenset(), f"{len(lean.entries)} elements vs {len(oracle.entries)}")
    for mine, theirs in zip(lean.entries, oracle.entries, strict=True):
        if not _same_entry(mine, theirs, used):
            return Verdict(False, frozenset(used), f"lean {mine!r}\n pydicom {theirs!r}"[:600])
    return Verdict(True, frozenset(used), "same elements")


def dcmwrite_bytes(data: bytes) -> bytes:
    """The engine's writing policy in pydicom: read with force, write as a DICOM file."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = pydicom.dcmread(io.BytesIO(data), force=True)
        out = io.BytesIO()
        dcmwrite(out, dataset, enforce_file_format=True)
    return out.getvalue()
