"""An element table read as the verifier reads a file: data sets, paths, VRs and values.

The verifier judges the bytes the engine writes, parsed by the lean reader into an
:class:`~deidengine.core.table.ElementTable`; it builds no pydicom ``Dataset``. This module
gives its checks what they read, with pydicom's meaning where a value is read:

- :class:`TableView` groups the table's rows once into data sets (the File Meta Information,
  the top level, each sequence item), each element at most once per data set (the last row of
  a tag, as a ``Dataset`` keeps it) and in tag order, as ``Dataset`` iterates;
- :meth:`TableView.walk` visits every element at every depth, depth first, a sequence's items
  after the sequence, with its :data:`~deidengine.dicom.elements.ElementPath`;
- :meth:`TableView.value` is the value pydicom hands out for the element (its converter run on
  this element's bytes alone, with the data set's character sets), and :meth:`TableView.text`
  the value as one text, as :func:`deidengine.dicom.elements.value_text` reads it from a
  dataset: the raw bytes where they are plain (binary and ASCII VRs, one character set), the
  converted value otherwise.

The VR of an element is the one pydicom gives it once read (``US or SS`` and the other
ambiguous forms resolved by :func:`deidengine.core.values.resolved_vr`).

**The one fallback to pydicom objects** is :func:`table_of_dataset`: a ``Dataset`` (an input
the lean reader refuses, so the pipeline holds only pydicom's reading of it; a dataset a caller
of the library built) is written by pydicom's writer and that buffer read by the lean reader,
so the checks still read a table holding what pydicom understood. :func:`view_of` applies it to
whatever a check is given.
"""

from __future__ import annotations

import io
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Final, TypeVar

from pydicom import config
from pydicom.charset import decode_bytes
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import dcmwrite, write_dataset, write_file_meta_info
from pydicom.multival import MultiValue
from pydicom.tag import BaseTag
from pydicom.uid import UID, DeflatedExplicitVRLittleEndian
from pydicom.values import convert_value

from deidengine.core.dictionary import AMBIGUOUS
from deidengine.core.reader import read
from deidengine.core.table import TOP, ElementTable, Kind
from deidengine.core.values import encodings, resolved_vr
from deidengine.dicom.apply import patient_key_of
from deidengine.dicom.conditions import ConditionSnapshot
from deidengine.dicom.elements import (
    ASCII_TEXT_VRS,
    BINARY_VRS,
    TEXT_DELIMITERS,
    ElementPath,
    copy_as_read,
    element_text,
)
from deidengine.standard.vr_classes import CHARACTER_SET_VRS, PIXEL_DATA_TAGS

__all__ = [
    "META",
    "TOP",
    "TableView",
    "Verifiable",
    "Visit",
    "condition_snapshot",
    "make_room",
    "patient_key",
    "table_of_dataset",
    "view_of",
    "without_rows",
]

#: The File Meta Information, as a data set of its own (``TOP`` is the top-level data set).
META: Final = -2

#: The lean reader's bound on inflating a deflated data set written here (none in fact: the
#: bytes were deflated from a dataset held in memory).
UNBOUNDED_INFLATION: Final = 1 << 40
TRANSFER_SYNTAX_UID: Final = 0x00020010
#: The transfer syntax of an (implicit VR, little endian) encoding.
ENCODING_SYNTAXES: Final = {
    (True, True): "1.2.840.10008.1.2",
    (False, True): "1.2.840.10008.1.2.1",
    (False, False): "1.2.840.10008.1.2.2",
}

_K = TypeVar("_K")
_V = TypeVar("_V")

#: What :meth:`TableView.value` has not converted yet (``None`` is a value).
_UNCONVERTED: Final = object()

_TAG: Final = itemgetter(0)
#: The text delimiters, as decode_bytes takes them.
_DELIMITERS: Final = set(TEXT_DELIMITERS)

#: The VRs whose value pydicom converts from the bytes, the character sets and the reading
#: validation mode alone (no other setting of pydicom's, not the byte order), to a ``str``.
MEMO_VRS: Final = frozenset({"AE", "CS", "LO", "LT", "SH", "ST", "UC", "UI", "UR", "UT"})
#: Values of those VRs converted in this process, by what their conversion reads: the
#: provenance, the SOP Class and the transfer syntax a check reads are the same bytes file
#: after file. A text only (immutable); short values only; cleared when full.
_CONVERTED: dict[tuple[str, bytes, tuple[str, ...], int], str] = {}
MEMO_BYTES: Final = 256
MEMO_LIMIT: Final = 4096

#: One element as :meth:`TableView.walk` visits it: ``(path, dataset, index, tag, vr)``.
Visit = tuple[ElementPath, int, int, int, str]


@dataclass(frozen=True)
class TableView:
    """An element table's data sets, laid out once (see the module)."""

    table: ElementTable
    #: Per data set (``META``, ``TOP`` or an item's row index): tag -> row index, in tag order.
    datasets: dict[int, dict[int, int]]
    #: Per sequence row: its items' row indexes, in order.
    items: dict[int, list[int]]
    #: Laid out as asked (:meth:`lazy_of`): each data set and sequence when first read.
    lazy: bool = False
    _vrs: dict[int, str] = field(default_factory=dict, repr=False)
    _walks: dict[tuple[int, ElementPath], list[Visit]] = field(default_factory=dict, repr=False)
    #: Values converted once (:meth:`value`): only those no caller can change in place.
    _values: dict[int, object] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, table: ElementTable) -> TableView:
        """Lay ``table`` out (one pass over its rows; a data set's elements are sorted by tag
        only where the file did not write them in order).

        Where every data set's tags ascend in the file (the engine's writer writes them so),
        file order is :meth:`walk`'s order: the same pass then finds the walks of the top level
        and of the File Meta Information, which the leak scan and the provenance check read.
        A table laid out as one met before takes its layout (:func:`_remembered_layout`)."""
        laid = _remembered_layout(table)
        if laid is None:
            return cls(table, *_grouped(table))
        datasets, items, vrs, walks = laid
        return cls(table, datasets, items, _vrs=vrs, _walks=walks)

    @classmethod
    def remembered(cls, table: ElementTable) -> TableView | None:
        """``table`` laid out whole (as :meth:`of` lays it out) where a table of its shape has
        been met before, ``None`` otherwise: for an input whose items the checks look in many
        times (an SR's content tree), where the inputs of a series are alike and a lazy view
        would search each item's rows anew for each file (see :func:`_remembered_layout`)."""
        laid = _remembered_layout(table, at_first_sight=False)
        if laid is None:
            return None
        datasets, items, vrs, walks = laid
        return cls(table, datasets, items, _vrs=vrs, _walks=walks)

    @classmethod
    def lazy_of(cls, table: ElementTable) -> TableView:
        """A view of ``table`` that lays out each data set (the top level, the File Meta
        Information, an item) when first asked, from the table's rows by parent: for an
        input, of which the checks read only a few elements."""
        return cls(table, {}, {}, lazy=True)

    # ------------------------------------------------------------------ structure
    def elements(self, dataset: int) -> dict[int, int]:
        """``tag -> row index`` of ``dataset``'s elements, in tag order."""
        found = self.datasets.get(dataset)
        if found is None:
            if not self.lazy:
                return {}
            found = self.datasets[dataset] = self._lay_out(dataset)
        return found

    def _lay_out(self, dataset: int) -> dict[int, int]:
        """One data set's elements, as :meth:`of` groups them."""
        table = self.table
        rows = table.rows
        # The table's rows by parent (made once per table: the pipeline's admission of an
        # input has made them already), so a data set is laid out from its own rows alone.
        children = table.grouped()
        if dataset in (META, TOP):
            top = children.get(TOP, ())
            # The top level's rows stand in file order, the File Meta Information's first.
            split = bisect_left(top, table.facts.meta_end, key=lambda index: rows[index][3])
            candidates = top[:split] if dataset == META else top[split:]
        elif 0 <= dataset < len(rows) and rows[dataset].kind is Kind.ITEM:
            candidates = children.get(dataset, ())  # an item holds elements only
        else:
            return {}
        # tag -> row, the last one of a tag standing; built in C (a look-up made once per file).
        grouped = dict(zip(map(_TAG, map(rows.__getitem__, candidates)), candidates, strict=True))
        tags = list(grouped)
        if len(tags) == len(candidates) and tags == sorted(tags):
            return grouped  # written in tag order, as the engine writes
        return dict(sorted(grouped.items()))

    def get(self, dataset: int, tag: int) -> int | None:
        """The row of ``tag`` in ``dataset``, if it has one."""
        found = self.datasets.get(dataset)
        if found is not None:
            return found.get(tag)
        if self.lazy and dataset >= 0:
            # An item of a lazy view, not laid out: its few rows are searched (an input's
            # item is mostly looked in once or twice, for a UID or a date at its place).
            table = self.table
            rows = table.rows
            if dataset >= len(rows) or rows[dataset].kind is not Kind.ITEM:
                return None
            # From the end: the last row of a tag stands, and the sequence an SR's content
            # item is looked in for (Content Sequence) is its last element.
            for index in reversed(table.grouped().get(dataset, ())):
                if rows[index][0] == tag:
                    return index
            return None
        return self.elements(dataset).get(tag)

    def sequence_items(self, index: int) -> list[int]:
        """The item rows of the sequence at row ``index`` (none for another element)."""
        if self.vr(index) != "SQ":
            return []
        if self.lazy:
            found = self.items.get(index)
            if found is None:
                # A sequence's rows are its items.
                found = self.items[index] = list(self.table.grouped().get(index, ()))
            return found
        return self.items.get(index) or []

    def vr(self, index: int) -> str:
        """The VR pydicom gives row ``index``'s element."""
        vr = self.table.rows[index].vr
        if vr not in AMBIGUOUS:
            return vr
        found = self._vrs.get(index)
        if found is None:
            found = self._vrs[index] = resolved_vr(self.table, index)
        return found

    def walk(
        self,
        dataset: int = TOP,
        path: ElementPath = (),
        vrs: frozenset[str] | None = None,
    ) -> Iterator[Visit]:
        """Every element of ``dataset`` and of the items below it, depth first, a sequence's
        items right after the sequence; with ``vrs``, only elements of those VRs are visited
        (every sequence is still walked). The visits are found once per data set and view:
        the leak scan and the provenance check walk the same file."""
        visits = self._walks.get((dataset, path))
        if visits is None:
            visits = self._walks[(dataset, path)] = self._visits(dataset, path)
        if vrs is None:
            return iter(visits)
        return (visit for visit in visits if visit[4] in vrs)

    def visits(self, dataset: int = TOP) -> list[Visit]:
        """:meth:`walk` of ``dataset`` (the top level or the File Meta Information) as the list
        the view holds: read it, never change it. Two files laid out alike have equal lists
        (the same paths, rows, tags and VRs), which a caller compares in C."""
        visits = self._walks.get((dataset, ()))
        if visits is None:
            visits = self._walks[(dataset, ())] = self._visits(dataset, ())
        return visits

    def _visits(self, dataset: int, path: ElementPath) -> list[Visit]:
        found: list[Visit] = []
        rows = self.table.rows
        items = self.items
        stack: list[tuple[ElementPath, list[tuple[int, int]], int, int]] = [
            (path, list(self.elements(dataset).items()), dataset, 0)
        ]
        while stack:
            where, elements, current, position = stack.pop()
            while position < len(elements):
                tag, index = elements[position]
                position += 1
                vr = rows[index].vr
                if vr in AMBIGUOUS:
                    vr = self.vr(index)
                found.append((where, current, index, tag, vr))
                inner = None
                if vr == "SQ":
                    inner = self.sequence_items(index) if self.lazy else items.get(index)
                if inner:
                    stack.append((where, elements, current, position))
                    for number in range(len(inner) - 1, -1, -1):
                        item = inner[number]
                        step = (*where, (tag, number))
                        stack.append((step, list(self.elements(item).items()), item, 0))
                    break
        return found

    def item_at(self, path: ElementPath) -> int | None:
        """The data set at ``path`` (the same sequence tags and item numbers), if any."""
        dataset = TOP
        for tag, number in path:
            index = self.get(dataset, tag)
            if index is None:
                return None
            inner = self.sequence_items(index)
            if number >= len(inner):
                return None
            dataset = inner[number]
        return dataset

    # ------------------------------------------------------------------ values
    def value(self, index: int) -> object:
        """Row ``index``'s value as pydicom hands it out (a sequence: its item rows).

        A text, bytes or a number is converted once per view (the checks read a few top-level
        values, and several read the same); a value that can change in place (a multi-value, a
        person name) is converted anew for each caller."""
        found = self._values.get(index, _UNCONVERTED)
        if found is not _UNCONVERTED:
            return found
        vr = self.vr(index)
        if vr == "SQ":
            return self.sequence_items(index)
        table = self.table
        row = table.rows[index]
        stored = table.value(index)
        codecs = encodings(table, index)
        key = None
        if vr in MEMO_VRS and 0 < len(stored) <= MEMO_BYTES:
            key = (vr, stored, tuple(codecs), config.settings.reading_validation_mode)
            remembered = _CONVERTED.get(key)
            if remembered is not None:
                self._values[index] = remembered
                return remembered
        raw = RawDataElement(
            BaseTag(row.tag), vr, row.length, stored, row.offset, not row.explicit, row.little
        )
        converted = convert_value(vr, raw, codecs)
        if key is not None and isinstance(converted, str):
            if len(_CONVERTED) >= MEMO_LIMIT:
                _CONVERTED.clear()
            _CONVERTED[key] = converted
        if isinstance(converted, str | bytes | int | float):
            self._values[index] = converted
        return converted

    def text(self, index: int, charset_raw: bool = False) -> str:
        """The value as one text, values joined by ``\\`` (bytes as Latin-1), each value's
        trailing padding dropped: :func:`~deidengine.dicom.elements.value_text` of the
        element. ``charset_raw`` decodes a text of one character set from its bytes (the leak
        scan's reading), else such a text is converted as pydicom converts it."""
        table = self.table
        # vr() and table.value(), inlined: every check reads texts, the leak scan most.
        row = table.rows[index]
        vr = row[1]
        if vr in AMBIGUOUS:
            vr = self.vr(index)
        offset = row[4]
        stored = table.data[offset : offset + row[5]]
        if vr in BINARY_VRS:
            return stored.decode("latin-1")
        if vr in ASCII_TEXT_VRS:
            text = stored.decode("latin-1")
        elif vr in CHARACTER_SET_VRS and charset_raw:
            codecs = encodings(table, index)
            if len(codecs) != 1:
                return element_text(self.value(index))
            text = decode_bytes(stored, codecs, _DELIMITERS)
        else:
            return element_text(self.value(index))
        if "\\" not in text:  # one value (most): the same as the parts below, without a list
            text = text.rstrip(" \x00")
            return text.rstrip("=") if vr == "PN" else text
        parts = [part.rstrip(" \x00") for part in text.split("\\")]
        if vr == "PN":
            parts = [part.rstrip("=") for part in parts]
        return "\\".join(parts)

    def top_text(self, tag: int, strip: str | None = " \x00") -> str:
        """The top-level element's value as :func:`element_text` gives it, stripped; empty
        when there is none."""
        index = self.get(TOP, tag)
        if index is None:
            return ""
        return element_text(self.value(index)).strip(strip)


#: A table's rows as its layout reads them: tag, VR (as read), parent, kind.
_ROW_SHAPE: Final = itemgetter(0, 1, 8, 10)
_HEADER: Final = itemgetter(3)
_Laid = tuple[
    dict[int, dict[int, int]],
    dict[int, list[int]],
    dict[int, str],
    dict[tuple[int, ElementPath], list[Visit]],
]


def _laid_out(table: ElementTable) -> _Laid | None:
    """:func:`_grouped`, the resolved VRs of the ambiguous elements and the visits of
    ``walk(TOP)`` and ``walk(META)``, in one pass over the rows; ``None`` where a data set's
    tags do not strictly ascend in the file (a disordered or a repeated tag: file order is not
    the walk's then, and :func:`_grouped` and :meth:`TableView._visits` lay the table out)."""
    if not table.ordered():  # noted by the reader of the output's bytes
        return None
    rows = table.rows
    meta_end = table.facts.meta_end
    top: list[Visit] = []
    meta: list[Visit] = []
    grouped: dict[int, dict[int, int]] = {META: {}, TOP: {}}
    items: dict[int, list[int]] = {}
    vrs: dict[int, str] = {}
    # Per data set: its path and the visits of the walk that reaches it.
    state: dict[int, tuple[ElementPath, list[Visit]]] = {TOP: ((), top), META: ((), meta)}
    element_kind, item_kind = Kind.ELEMENT, Kind.ITEM
    # A data set's elements stand in runs of rows (broken only by a sequence's items): the run's
    # data set and what is read of it are held while it lasts.
    current: int | None = None
    run: dict[int, int] = {}
    visits: list[Visit] = top
    path: ElementPath = ()
    for index, (tag, vr, _, header, _, _, _, _, parent, _, kind, _, _) in enumerate(rows):
        if kind is element_kind:
            if parent == TOP and header < meta_end:
                parent = META
            if parent != current:
                current = parent
                path, visits = state[parent]
                run = grouped[parent]
            run[tag] = index
            if vr in AMBIGUOUS:
                try:
                    vr = vrs[index] = resolved_vr(table, index)
                except Exception:
                    return None  # raised where a check first reads this VR, as before
            visits.append((path, parent, index, tag, vr))
        elif kind is item_kind:
            sequence = parent
            found = items.get(sequence)
            if found is None:
                found = items[sequence] = []
            number = len(found)
            found.append(index)
            holder_row = rows[sequence]
            holder = holder_row[8]
            if holder == TOP and holder_row[3] < meta_end:
                holder = META
            held = state[holder]
            state[index] = ((*held[0], (holder_row[0], number)), held[1])
            grouped[index] = {}
    return grouped, items, vrs, {(TOP, ()): top, (META, ()): meta}


@dataclass(frozen=True, slots=True)
class _Layout:
    """One table's layout (:func:`_laid_out`) and what it was found from besides: the rows'
    shapes (tag, VR, parent, kind), the rows of the File Meta Information, and the VRs the
    ambiguous rows were resolved to (read from values: Pixel Representation, say)."""

    shape: list[tuple[int, str, int, Kind]]
    resolved: tuple[tuple[int, str], ...]
    laid: _Laid


#: The last layouts met, by row count, File Meta Information rows and a few tags: the outputs
#: of a series (or of an SR template) are laid out alike file after file. Cleared when full.
_LAYOUTS: dict[tuple[int, ...], _Layout] = {}
LAYOUTS_LIMIT: Final = 64
#: The shapes of tables met once and not laid out (see :meth:`TableView.remembered`).
_SEEN: dict[tuple[int, ...], list[tuple[int, str, int, Kind]]] = {}
#: The rows the remembered layouts may hold in all (and, apart, the noted shapes): a worker's
#: memory stays bounded whatever tables it meets (a few hundred bytes a row). A table of more
#: rows than ``MEMO_TABLE_ROWS`` is not remembered at all.
MEMO_ROWS: Final = 1 << 16
MEMO_TABLE_ROWS: Final = 1 << 13


def make_room(
    memo: dict[_K, _V], rows: int, held: Callable[[_V], int], limit: int = LAYOUTS_LIMIT
) -> None:
    """Clear ``memo`` when it holds ``limit`` entries, or when ``rows`` more rows would take
    the rows it holds (``held`` of each entry) past :data:`MEMO_ROWS`: the bound every
    verifier memo of tables keeps (these layouts, conformance's decisions)."""
    # A snapshot of the entries (made in C): another thread may add to the memo meanwhile.
    if len(memo) >= limit or sum(map(held, list(memo.values()))) + rows > MEMO_ROWS:
        memo.clear()


def _layout_rows(layout: _Layout) -> int:
    return len(layout.shape)


def _remembered_layout(table: ElementTable, *, at_first_sight: bool = True) -> _Laid | None:
    """:func:`_laid_out` of ``table``, taken from a table met before whose rows have the same
    tags, VRs, parents and kinds (a list compare, in C), the same File Meta Information rows,
    and whose ambiguous VRs resolve alike in ``table``: a layout reads nothing else. The
    layout's dictionaries and lists are then shared between the views, which never change
    them (only a lazy view lays out as it reads); each view has its own VRs and walks.

    Not ``at_first_sight``, a table of a shape not met before is not laid out (``None``), and
    its shape is noted: the next table of that shape is."""
    if not table.ordered():
        return None  # _laid_out lays out no disordered table
    rows = table.rows
    if not rows or len(rows) > MEMO_TABLE_ROWS:
        return _laid_out(table) if at_first_sight else None
    meta_rows = bisect_left(rows, table.facts.meta_end, key=_HEADER)  # rows stand in file order
    key = (len(rows), meta_rows, rows[-1][0], rows[len(rows) // 2][0])
    shape = list(map(_ROW_SHAPE, rows))
    known = _LAYOUTS.get(key)
    if known is not None and known.shape == shape:
        vrs: dict[int, str] = {}
        for index, resolved in known.resolved:
            try:
                vr = resolved_vr(table, index)
            except Exception:
                break  # _laid_out says what then
            if vr != resolved:
                break
            vrs[index] = vr
        else:
            datasets, items, _, walks = known.laid
            return datasets, items, vrs, dict(walks)
    elif not at_first_sight and _SEEN.get(key) != shape:
        make_room(_SEEN, len(shape), len)
        _SEEN[key] = shape
        return None
    laid = _laid_out(table)
    if laid is not None:
        make_room(_LAYOUTS, len(shape), _layout_rows)
        # The walks held apart from the view's own (its walk() adds to them).
        datasets, items, vrs, walks = laid
        _LAYOUTS[key] = _Layout(shape, tuple(vrs.items()), (datasets, items, {}, dict(walks)))
    return laid


def _grouped(table: ElementTable) -> tuple[dict[int, dict[int, int]], dict[int, list[int]]]:
    """Every data set's elements (``tag -> row``, in tag order) and every sequence's items."""
    meta_end = table.facts.meta_end
    grouped: dict[int, dict[int, int]] = {META: {}, TOP: {}}
    items: dict[int, list[int]] = {}
    disordered: set[int] = set()
    last: dict[int, int] = {}
    element_kind, item_kind = Kind.ELEMENT, Kind.ITEM
    # A data set's elements stand in runs of rows (broken only by a sequence's items): the run's
    # data set, its elements and its last tag are held while it lasts.
    current: int | None = None
    run: dict[int, int] = {}
    previous = -1
    for index, (tag, _, _, header, _, _, _, _, parent, _, kind, _, _) in enumerate(table.rows):
        if kind is element_kind:
            if parent != current or parent == TOP:
                if parent == TOP and header < meta_end:
                    parent = META
                if parent != current:
                    if current is not None:
                        last[current] = previous
                    current, run, previous = parent, grouped[parent], last.get(parent, -1)
            if tag <= previous:
                disordered.add(parent)
            previous = tag
            run[tag] = index  # a repeated tag: the last one stands
        elif kind is item_kind:
            found = items.get(parent)
            if found is None:
                items[parent] = [index]
            else:
                found.append(index)
            grouped[index] = {}
    for dataset in disordered:
        grouped[dataset] = dict(sorted(grouped[dataset].items()))
    return grouped, items


def patient_key(view: TableView) -> str:
    """The input's patient identity for keyed date offsets, read from its table by the header
    stage's own rule (:func:`deidengine.dicom.apply.patient_key_of`)."""
    return patient_key_of(lambda tag: view.top_text(tag, None))


def condition_snapshot(view: TableView, tags: Iterable[int] | None) -> ConditionSnapshot:
    """The top-level values conditions read, from a table
    (:meth:`~deidengine.dicom.conditions.ConditionSnapshot.of_table`, over this view's
    top-level elements)."""
    return ConditionSnapshot.of_table(view.table, tags, view.elements(TOP))


def is_empty_value(value: object) -> bool:
    """Whether a value holds nothing but padding (a sequence: no item)."""
    if value is None:
        return True
    if isinstance(value, MultiValue | list | tuple):
        return all(is_empty_value(v) for v in value)
    if isinstance(value, bytes):
        return not value.strip(b" \x00")
    return not str(value).strip(" \x00")


#: What a check reads: an element table (or its view), or a pydicom dataset (see the module).
Verifiable = ElementTable | TableView | Dataset


def table_of_dataset(dataset: Dataset) -> ElementTable:
    """The element table of the bytes pydicom's writer makes of ``dataset`` (its top-level
    Pixel Data left out: no check reads it), in the transfer syntax its File Meta Information
    names, else the encoding it was read in, else explicit VR little endian.

    The one place the verifier goes from pydicom's objects to a table (see the module). A
    Transfer Syntax UID the dataset's meta lacks is written, so that the lean reader need not
    guess the encoding, and its row left out of the table; one the writer cannot write in (a
    damaged or unknown UID) is written as the UID of the encoding the data set was read in,
    and its row then points at the meta's own value."""
    copy = Dataset()
    copy.update({tag: element for tag, element in dataset.items() if tag not in PIXEL_DATA_TAGS})
    meta = FileMetaDataset()
    meta.update(getattr(dataset, "file_meta", None) or {})
    added = TRANSFER_SYNTAX_UID not in meta
    if not added:
        try:
            return _written(copy, meta)
        except Exception:
            pass
    stated = None if added else _value_bytes(meta[TRANSFER_SYNTAX_UID].value)
    implicit, little = dataset.original_encoding
    if implicit is None or little is None:
        implicit, little = False, True
    meta.TransferSyntaxUID = UID(ENCODING_SYNTAXES[(bool(implicit), bool(little))])
    table = _written(copy, meta)
    (row,) = (i for i, r in enumerate(table.rows) if r.tag == TRANSFER_SYNTAX_UID and r.depth == 0)
    if stated is None:
        return without_rows(table, row, row + 1)
    # The meta's own value stands in the table (after the bytes read), as pydicom read it.
    rows = list(table.rows)
    rows[row] = rows[row]._replace(offset=len(table.data), length=len(stated))
    return ElementTable(table.data + stated, tuple(rows), table.facts, table.charsets)


def _value_bytes(value: object) -> bytes:
    """An element's value as stored: bytes as they are, text as Latin-1."""
    return value if isinstance(value, bytes) else str(value or "").encode("latin-1")


def _written(dataset: Dataset, meta: FileMetaDataset) -> ElementTable:
    """The table of ``dataset`` written with ``meta``: its raw values copied as read; where
    that fails (pydicom kept a damaged value's bytes, which it read leniently and the lean
    reader does not, or a Command Set element stands in the data set), every value converted
    and written anew, a Command Set first and in implicit VR, as pydicom reads one."""
    dataset.file_meta = meta
    try:
        stream = io.BytesIO()
        dcmwrite(stream, dataset, enforce_file_format=False)
        return read(stream.getvalue(), max_inflated=UNBOUNDED_INFLATION)
    except Exception:
        pass
    copy = copy_as_read(dataset)
    _convert_all(copy)
    syntax = UID(str(meta.TransferSyntaxUID))
    if syntax == DeflatedExplicitVRLittleEndian:
        stream = io.BytesIO()
        dcmwrite(stream, copy, enforce_file_format=False)
        return read(stream.getvalue(), max_inflated=UNBOUNDED_INFLATION)
    out = DicomBytesIO()
    out.is_little_endian, out.is_implicit_VR = True, False
    write_file_meta_info(out, meta, enforce_standard=False)
    command = Dataset()
    command.update({tag: element for tag, element in copy.items() if tag >> 16 == 0})
    if len(command):
        out.is_little_endian, out.is_implicit_VR = True, True
        write_dataset(out, command)
    rest = Dataset()
    rest.update({tag: element for tag, element in copy.items() if tag >> 16 != 0})
    out.is_little_endian, out.is_implicit_VR = syntax.is_little_endian, syntax.is_implicit_VR
    write_dataset(out, rest)
    return read(out.getvalue(), max_inflated=UNBOUNDED_INFLATION)


def _convert_all(dataset: Dataset) -> None:
    """Convert every element of ``dataset`` and of its items that converts (one that does not
    stays as read)."""
    for tag in list(dataset.keys()):
        try:
            element = dataset[tag]
        except Exception:
            continue
        if element.VR == "SQ":
            for item in element.value or ():
                _convert_all(item)


def without_rows(table: ElementTable, start: int, end: int) -> ElementTable:
    """``table`` without rows ``start`` to ``end`` (whole subtrees: a top-level element, or a
    run of whole items ending a sequence), later rows, their parents and the character sets
    renumbered; the values stay where they are in ``table.data``."""
    removed = end - start

    def moved(index: int) -> int:
        return index - removed if index >= end else index

    later = [
        row if row.parent < end else row._replace(parent=row.parent - removed)
        for row in table.rows[end:]
    ]
    charsets = {
        moved(dataset): moved(row)
        for dataset, row in table.charsets.items()
        if not start <= dataset < end and not start <= row < end
    }
    return ElementTable(table.data, (*table.rows[:start], *later), table.facts, charsets)


def view_of(output: Verifiable, *, lazy: bool = False) -> TableView:
    """``output`` as a :class:`TableView` (laid out as it is read with ``lazy``: see
    :meth:`TableView.lazy_of`), a dataset through :func:`table_of_dataset`."""
    if isinstance(output, TableView):
        return output
    table = output if isinstance(output, ElementTable) else table_of_dataset(output)
    return TableView.lazy_of(table) if lazy else TableView.of(table)
