"""The element table: one file's structure as flat, immutable rows over its bytes.

A row is a :class:`Row` (a named tuple: cheap to build, immutable, indexable by position). Rows
stand in file order, which is depth-first order: a sequence's items follow the sequence row, an
item's elements follow the item row. Nesting is carried by two columns, ``depth`` and ``parent``
(the index of the enclosing row: an item for an element, a sequence or Pixel Data element for an
item or fragment, ``-1`` at the top), so a consumer never recurses to find where it is and can
answer "which dataset holds this row" with an index.

Values are not decoded here: a row records where its value lies (``offset``, ``length`` into
:attr:`ElementTable.data`) and :mod:`deidengine.core.values` decodes on request. That keeps
building the table a plain walk over headers, and keeps the decision stage honest about which
values it actually reads.

How the engine uses it (issue #16; the lean path, :mod:`deidengine.run.lean_path`):

1. **Decisions per row.** One decision module maps each element row (tag, VR, private creator,
   the IOD from a few decoded values) to an action and its reason; the header stage and the
   verifier's conformance check both call it, so there is one cascade, not two.
2. **Actions produce a new table, not a mutated one.** An action is an edit keyed by row index
   (replace this value, remove this row, add this element to that item);
   :func:`deidengine.core.writer.encode` applies the edits while writing, copying every untouched
   row's bytes as read.
3. **The verifier re-parses the output bytes** with :func:`deidengine.core.reader.read`, so it
   checks what will be written (leaks, conformance, provenance), never the engine's own state.

The walks, and why no fewer (README's "Walks per file" measures each): the read (headers
only; it also notes whether every data set lists its tags in order, :meth:`ElementTable.ordered`,
which spares later walks tracking tags) and one grouping of the rows by parent
(:meth:`ElementTable.grouped`, read by every later step; :meth:`ElementTable.top_level` maps the
top level's tags once); admission's check of every element's raw bytes (before anything
converts a value, and before the file is let in); one loop over the rows collecting the
deny-list's values (free text can only be cleaned once every identifying value of the header
is known, and a value may stand after the text that repeats it); one walk deciding and acting
on the rows of the data sets it enters, recording edits (the clean-ups after it read the top
level only, and walk the rows again only for a file holding a Common Instance Reference
sequence); the writer's pass; and the verifier's re-read of the output, kept separate on
purpose so that it shares no state with the engine.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import NamedTuple

__all__ = ["ElementTable", "FileFacts", "Kind", "Row"]

#: (FFFE,E000) Item, (FFFE,E00D) Item Delimitation Item, (FFFE,E0DD) Sequence Delimitation Item.
ITEM_TAG = 0xFFFEE000
ITEM_DELIMITER_TAG = 0xFFFEE00D
SEQUENCE_DELIMITER_TAG = 0xFFFEE0DD
UNDEFINED_LENGTH = 0xFFFFFFFF
TOP = -1


class Kind(enum.IntEnum):
    """What a row stands for."""

    ELEMENT = 0  # a Data Element (a sequence is one too, with VR SQ)
    ITEM = 1  # a sequence's Item: a nested Data Set
    FRAGMENT = 2  # an encapsulated Pixel Data Item (the first is the Basic Offset Table)


class Row(NamedTuple):
    """One element, item or fragment of a file, located but not decoded.

    ``vr`` is the VR pydicom gives the element after reading it (the dictionary's for implicit
    VR; ``'US or SS'`` and the other ambiguous forms left for
    :func:`deidengine.core.values.resolved_vr`, see :mod:`deidengine.core.dictionary`);
    ``encoded_vr`` is the VR written in the header (empty for implicit VR and for items).
    ``header`` is where the element's tag starts, ``offset`` and ``length`` where its value
    lies (for an undefined-length value: the bytes up to, not including, its delimiter).
    ``explicit`` and ``little`` are the encoding the element was read
    in: a sequence item may switch to implicit VR inside an explicit file, as pydicom allows.
    """

    tag: int
    vr: str
    encoded_vr: str
    header: int
    offset: int
    length: int
    undefined_length: bool
    depth: int
    parent: int
    creator: str | None
    kind: Kind
    explicit: bool
    little: bool


_PARENT = itemgetter(Row._fields.index("parent"))


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What the reader learned about the file as a whole."""

    preamble: bytes | None  # the 128 bytes before ``DICM``; None when the file has no preamble
    meta_end: int  # offset of the first byte after the File Meta Information (0 when absent)
    transfer_syntax: str | None  # the meta's Transfer Syntax UID, None when the meta has none
    explicit: bool  # the data set's encoding, as read
    little: bool
    deflated: bool
    meta_explicit: bool  # pydicom reads a meta written in implicit VR; the writer must know
    trailing: int  # bytes after the last element too few for a header (pydicom ignores them)


@dataclass(frozen=True, slots=True)
class ElementTable:
    """A parsed file: ``rows`` over ``data``.

    ``data`` holds the bytes the offsets point into: the file itself, or for a deflated
    transfer syntax the file's preamble and meta followed by the inflated data set.
    ``charsets`` maps a data set (``-1`` or an item's row index) to the row index of its own
    Specific Character Set, when it has one.
    """

    data: bytes
    rows: tuple[Row, ...]
    facts: FileFacts
    charsets: dict[int, int]
    #: :meth:`grouped`, made when first asked for (the rows never change).
    _groups: dict[int, list[int]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    #: :meth:`ordered`, made when first asked for, or given by the reader, which notes it
    #: while it reads the tags.
    _ordered: bool | None = field(default=None, kw_only=True, repr=False, compare=False)
    #: :meth:`top_level`, made when first asked for.
    _top: dict[int, int] | None = field(default=None, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.rows)

    def grouped(self) -> Mapping[int, Sequence[int]]:
        """Every row's index under its ``parent`` (``-1``: the top-level data set), in file
        order: each data set's rows, each sequence's items, made in one pass over the rows the
        first time a consumer asks (the header stage, the writer, the stamp and the conditions
        each ask for the rows of a data set, some many times over)."""
        groups = self._groups
        if groups is None:
            groups = {}
            for index, parent in enumerate(map(_PARENT, self.rows)):
                found = groups.get(parent)
                if found is None:
                    groups[parent] = [index]
                else:
                    found.append(index)
            object.__setattr__(self, "_groups", groups)
        return groups

    def top_level(self) -> Mapping[int, int]:
        """The top-level data set's element rows by tag (the File Meta Information's left
        out; the last of a repeated tag, as pydicom keeps it), made once: the header stage, the
        stamp, the new File Meta Information and the writer each look top-level elements up by
        tag."""
        top = self._top
        if top is None:
            rows = self.rows
            meta_end = self.facts.meta_end
            top = {
                rows[index].tag: index
                for index in self.grouped().get(TOP, ())
                if rows[index].header >= meta_end
            }
            object.__setattr__(self, "_top", top)
        return top

    def ordered(self) -> bool:
        """Whether each data set (the File Meta Information, the top level, each item) lists
        its element tags in strictly ascending order: then no data set states a tag twice."""
        ordered = self._ordered
        if ordered is None:
            ordered = _ordered(self)
            object.__setattr__(self, "_ordered", ordered)
        return ordered

    def value(self, index: int) -> bytes:
        """The value bytes of row ``index``, exactly as in the data set."""
        row = self.rows[index]
        return self.data[row.offset : row.offset + row.length]

    def children(self, parent: int) -> Iterator[int]:
        """Indexes of the rows directly inside ``parent`` (``-1``: the top-level data set)."""
        # Rows stand in file order, a row's children inside its subtree: grouping the rows by
        # their parent once answers every data set's question without a scan of the rows.
        return iter(self.grouped().get(parent, ()))

    def dataset_of(self, index: int) -> int:
        """The data set holding row ``index``: ``-1`` for the top level, else an item's index."""
        return self.rows[index].parent

    def is_meta(self, index: int) -> bool:
        """Whether row ``index`` belongs to the File Meta Information."""
        return self.rows[index].header < self.facts.meta_end and self.rows[index].depth == 0


def _ordered(table: ElementTable) -> bool:
    """:meth:`ElementTable.ordered`, from the rows."""
    meta_end = table.facts.meta_end
    last = [-1]  # by depth: the last tag of the data set being read at that depth
    in_meta = True
    for tag, _, _, header, _, _, _, depth, _, _, kind, _, _ in table.rows:
        if in_meta and header >= meta_end:
            in_meta = False
            last[0] = -1  # the top-level data set starts after the meta
        if kind is not Kind.ELEMENT:
            if kind is Kind.ITEM:
                if depth >= len(last):
                    last.extend([-1] * (depth + 1 - len(last)))
                last[depth] = -1
            continue
        if tag <= last[depth]:
            return False
        last[depth] = tag
    return True
