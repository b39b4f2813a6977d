"""Seeded mutants of small DICOM files: the damage real files arrive with.

Each mutant is a pure function of (seed file, number): a run reproduces it exactly, and a
failing mutant is named by its seed and number. Five kinds, in turn:

- ``truncate``: the file cut at a random byte;
- ``flip``: one to four random bytes replaced;
- ``length``: an element's, item's or fragment's length field rewritten (off by a little, odd,
  huge, or undefined);
- ``undelimit``: a sequence or item given an undefined length with no delimiter, or an existing
  delimiter removed;
- ``syntax``: the meta's Transfer Syntax UID replaced by another (known, retired or unknown),
  its length field and the group length kept consistent.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from deidengine.core.reader import read
from deidengine.core.table import ElementTable, Kind

KINDS = ("truncate", "flip", "length", "undelimit", "syntax")
SYNTAXES = (
    b"1.2.840.10008.1.2\x00",
    b"1.2.840.10008.1.2.1\x00",
    b"1.2.840.10008.1.2.2\x00",
    b"1.2.840.10008.1.2.1.99",
    b"1.2.840.10008.1.2.4.50",
    b"1.2.840.10008.1.2.5\x00",
    b"1.2.3.4.5.6",
)
TRANSFER_SYNTAX_UID = 0x00020010

#: Small seeds covering each encoding and structure the reader handles: implicit, explicit
#: little and big endian, deflated, no meta, no preamble, private and UN sequences, undefined
#: lengths, encapsulated Pixel Data, structured reports, character sets in sequence items.
SEEDS = (
    "test_files/nested_priv_SQ.dcm",
    "test_files/priv_SQ.dcm",
    "test_files/UN_sequence.dcm",
    "charset_files/chrSQEncoding.dcm",
    "test_files/ExplVR_LitEndNoMeta.dcm",
    "test_files/ExplVR_BigEndNoMeta.dcm",
    "test_files/JPEGLSNearLossless_08.dcm",
    "test_files/SC_rgb_rle.dcm",
    "test_files/reportsi.dcm",
    "test_files/rtplan.dcm",
    "test_files/image_dfl.dcm",
    "test_files/empty_charset_LEI.dcm",
    "test_files/no_meta_group_length.dcm",
    "test_files/meta_missing_tsyntax.dcm",
    "charset_files/chrH32.dcm",
    "test_files/rtdose_1frame.dcm",
    "test_files/MR_small_implicit.dcm",
    "test_files/MR_small_bigendian.dcm",
    "test_files/test-SR.dcm",
    "test_files/rtstruct.dcm",
    "charset_files/chrX1.dcm",
    "test_files/SC_rgb_small_odd_big_endian.dcm",
)


@dataclass(frozen=True)
class Seed:
    name: str
    data: bytes
    table: ElementTable


def _length_field(table: ElementTable, index: int) -> tuple[int, int]:
    """(offset, size) of row ``index``'s length field."""
    row = table.rows[index]
    if row.kind is not Kind.ELEMENT or not row.explicit or not row.encoded_vr:
        return row.header + 4, 4
    if row.offset - row.header == 12:
        return row.header + 8, 4
    return row.header + 6, 2


def _truncate(seed: Seed, rng: random.Random) -> bytes:
    return seed.data[: rng.randrange(len(seed.data))]


def _flip(seed: Seed, rng: random.Random) -> bytes:
    data = bytearray(seed.data)
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)


def _length(seed: Seed, rng: random.Random) -> bytes:
    table = seed.table
    index = rng.randrange(len(table.rows))
    at, size = _length_field(table, index)
    old = table.rows[index].length
    limit = 0xFFFF if size == 2 else 0xFFFFFFFF
    new = rng.choice(
        [old + rng.randint(-8, 8), old + 1, old * 2 + 2, limit, rng.randrange(limit + 1)]
    )
    new = min(max(new, 0), limit)
    order = "<" if table.rows[index].little else ">"
    packed = struct.pack(order + ("H" if size == 2 else "L"), new)
    return seed.data[:at] + packed + seed.data[at + size :]


def _undelimit(seed: Seed, rng: random.Random) -> bytes:
    table = seed.table
    nested = [
        index for index, row in enumerate(table.rows) if row.vr == "SQ" or row.kind is Kind.ITEM
    ]
    if not nested:
        return _truncate(seed, rng)
    index = rng.choice(nested)
    row = table.rows[index]
    order = "<" if row.little else ">"
    if row.undefined_length:
        # Remove the delimiter that closes it.
        end = row.offset + row.length
        return seed.data[:end] + seed.data[end + 8 :]
    at, size = _length_field(table, index)
    if size == 2:
        return _truncate(seed, rng)
    return seed.data[:at] + struct.pack(order + "L", 0xFFFFFFFF) + seed.data[at + size :]


def _syntax(seed: Seed, rng: random.Random) -> bytes:
    table = seed.table
    rows = [i for i, row in enumerate(table.rows) if row.tag == TRANSFER_SYNTAX_UID]
    if not rows or table.facts.deflated:
        return _flip(seed, rng)
    row = table.rows[rows[0]]
    uid = rng.choice(SYNTAXES)
    data = bytearray(seed.data[: row.header + 6])
    data += struct.pack("<H", len(uid)) + uid
    data += seed.data[row.offset + row.length :]
    delta = len(uid) - row.length
    # Keep (0002,0000) File Meta Information Group Length consistent with the new value.
    for meta in table.rows:
        if meta.tag == 0x00020000 and meta.length == 4:
            (old,) = struct.unpack_from("<L", data, meta.offset)
            struct.pack_into("<L", data, meta.offset, old + delta)
    return bytes(data)


MUTATORS: dict[str, Callable[[Seed, random.Random], bytes]] = {
    "truncate": _truncate,
    "flip": _flip,
    "length": _length,
    "undelimit": _undelimit,
    "syntax": _syntax,
}


def seed_from(name: str, data: bytes) -> Seed:
    return Seed(name, data, read(data))


def mutants(seeds: list[Seed], count: int, base: int = 16) -> Iterator[tuple[str, bytes]]:
    """``count`` mutants, cycling through the seeds and the kinds; each named."""
    for number in range(count):
        seed = seeds[number % len(seeds)]
        kind = KINDS[(number // len(seeds)) % len(KINDS)]
        rng = random.Random(f"{base}:{seed.name}:{number}")
        yield f"{seed.name}#{number}:{kind}", MUTATORS[kind](seed, rng)
