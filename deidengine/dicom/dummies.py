"""Dummy values (Table E.1-1a action ``D``): "a non-zero length value that may be a dummy value
and consistent with the VR".

A dummy is valid for its VR (repertoire and maximum length), identifies nothing, and is the
same every time, so outputs are reproducible and a dummy is recognisable as one.

Two choices need stating:

- UI: ``2.25.0`` -- the nil UUID under the UUID-derived root (PS3.5 B.2). It is a syntactically
  valid UID that no real object carries. It is *not* unique, so it suits attributes whose
  value only has to be present; UIDs that must stay distinct or referentially consistent are
  treated with ``U`` (:func:`deidengine.dicom.uids.remap_uid`) instead.
- SQ: no dummy exists. A valid dummy item depends on the macro the sequence holds, which only
  the engine (with the IOD) knows, so :func:`dummy_value` raises :class:`NoDummyValueError`
  and the engine either empties the sequence or treats its items by the policy.

UR gets the nil-UUID URN rather than an empty value, because ``D`` demands non-zero length.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import Final, TypeAlias

from deidengine.errors import DeidError, EngineCode

__all__ = [
    "DUMMY_TEXT",
    "DummyValue",
    "NoDummyValueError",
    "dummy_value",
    "minimum_multiplicity",
]

DUMMY_TEXT: Final = "ANONYMOUS"

_Scalar: TypeAlias = str | int | float | bytes
#: One dummy value, or a list of them when the VM requires several.
DummyValue: TypeAlias = _Scalar | list[_Scalar]


class NoDummyValueError(DeidError, ValueError):
    """The VR has no dummy value (SQ, or a VR this module does not know)."""

    code = EngineCode.NO_DUMMY_VALUE


def _text() -> str:
    return DUMMY_TEXT


def _constant(value: _Scalar) -> Callable[[], _Scalar]:
    return lambda: value


# Binary values are even-length (PS3.5 7.1.1) and a whole number of their words long.
_FACTORIES: Final[dict[str, Callable[[], _Scalar]]] = {
    "AE": _text,
    "AS": _constant("000Y"),
    "AT": _constant(0),
    "CS": _text,
    "DA": _constant("19000101"),
    "DS": _constant("0"),
    "DT": _constant("19000101000000"),
    "FD": _constant(0.0),
    "FL": _constant(0.0),
    "IS": _constant("0"),
    "LO": _text,
    "LT": _text,
    "OB": _constant(b"\x00\x00"),
    "OD": _constant(b"\x00" * 8),
    "OF": _constant(b"\x00" * 4),
    "OL": _constant(b"\x00" * 4),
    "OV": _constant(b"\x00" * 8),
    "OW": _constant(b"\x00\x00"),
    "PN": _text,
    "SH": _text,
    "SL": _constant(0),
    "SS": _constant(0),
    "ST": _text,
    "SV": _constant(0),
    "TM": _constant("000000"),
    "UC": _text,
    "UI": _constant("2.25.0"),
    "UL": _constant(0),
    "UN": _constant(b"\x00\x00"),
    "UR": _constant("urn:uuid:00000000-0000-0000-0000-000000000000"),
    "US": _constant(0),
    "UT": _text,
    "UV": _constant(0),
    # pydicom's names for elements whose VR depends on other attributes.
    "US or SS": _constant(0),
    "US or OW": _constant(0),
    "US or SS or OW": _constant(0),
    "OB or OW": _constant(b"\x00\x00"),
}

# VRs whose value is one byte string whatever the VM says.
_BYTES_VRS: Final = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "UN", "OB or OW"})

_MULTIPLICITY: Final = re.compile(r"(\d+)")


@lru_cache(maxsize=256)  # a few dozen VMs in the dictionary, asked per dummy value
def minimum_multiplicity(vm: str) -> int:
    """The least number of values a PS3.6 VM allows: ``"3"`` -> 3, ``"2-2n"`` -> 2, ``"1-n"`` -> 1.

    An unreadable VM counts as 1; a VM of 0 (a retired, empty attribute) also gives 1, because
    ``D`` asks for a non-empty value.
    """
    match = _MULTIPLICITY.match(vm.strip())
    return max(1, int(match[1])) if match else 1


def dummy_value(vr: str, vm: str = "1") -> DummyValue:
    """A valid, non-identifying dummy value for ``vr``, with the least multiplicity ``vm`` allows.

    A single value is returned as a scalar; a VM such as ``"3"`` gives a list of three dummies.

    Raises:
        NoDummyValueError: for SQ (see the module documentation) or an unknown VR.
    """
    factory = _FACTORIES.get(vr)
    if factory is None:
        raise NoDummyValueError(f"there is no dummy value for VR {vr}")
    count = 1 if vr in _BYTES_VRS else minimum_multiplicity(vm)
    if count == 1:
        return factory()
    return [factory() for _ in range(count)]
