"""Dates, times and ages: keyed date shifting, keep-year, age capping (PS3.5 Table 6.2-1).

Accepted forms (a value may be multi-valued with ``\\``, and any value may be a query range
``A-B``, ``A-`` or ``-B``; each side is treated alone):

- DA ``YYYYMMDD``, and the ACR-NEMA form ``YYYY.MM.DD`` (written back in the form it came in).
- DT ``YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&ZZXX]`` with ``&`` a ``+`` or ``-`` UTC offset.
- TM ``HH[MM[SS[.F{1,6}]]]``, and the ACR-NEMA form ``HH:MM[:SS[.F{1,6}]]``.

A value that is none of these raises :class:`UnparseableDateError`, whose message names the VR
but never the value. Trailing space padding is dropped.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from deidengine.dicom.keys import ProjectSecret, keyed_digest
from deidengine.errors import DeidError, EngineCode
from deidengine.standard.vr_classes import DATE_TIME_VRS

__all__ = [
    "DATE_TIME_VRS",
    "UnparseableAgeError",
    "UnparseableDateError",
    "age_from_dates",
    "age_in_years",
    "cap_age",
    "keep_year",
    "patient_date_offset",
    "shift_date",
]

# Mean Gregorian year, for turning AS days and weeks into years.
_DAYS_PER_YEAR: Final = 365.2425

_DA: Final = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DA_ACR_NEMA: Final = re.compile(r"(\d{4})\.(\d{2})\.(\d{2})")
_DT: Final = re.compile(
    r"(?P<year>\d{4})"
    r"(?:(?P<month>\d{2})"
    r"(?:(?P<day>\d{2})"
    r"(?P<time>(?P<hour>\d{2})(?:(?P<minute>\d{2})(?:(?P<second>\d{2})(?:\.\d{1,6})?)?)?)?"
    r")?)?"
    r"(?P<offset>[+-](?P<offset_hour>\d{2})(?P<offset_minute>\d{2}))?"
)
_TM: Final = re.compile(
    r"(?P<hour>\d{2})(?:(?P<minute>\d{2})(?:(?P<second>\d{2})(?:\.\d{1,6})?)?)?"
)
_TM_ACR_NEMA: Final = re.compile(
    r"(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d{1,6})?)?"
)
_AS: Final = re.compile(r"(\d{1,9})([DWMY])")


class UnparseableDateError(DeidError, ValueError):
    """A DA, DT or TM value is not in any accepted form, or cannot be shifted."""

    code = EngineCode.UNPARSEABLE_DATE


class UnparseableAgeError(DeidError, ValueError):
    """An AS value is not ``nnnD``, ``nnnW``, ``nnnM`` or ``nnnY``."""

    code = EngineCode.UNPARSEABLE_AGE


@dataclass(frozen=True)
class _DateTime:
    """A parsed DT: the calendar part to shift and the verbatim rest to keep."""

    date: datetime.date
    precision: int  # characters of YYYYMMDD present: 4, 6 or 8
    time: str
    offset: str

    def written(self, date: datetime.date) -> str:
        return f"{date:%Y%m%d}"[: self.precision] + self.time + self.offset


def _check_time(hour: str | None, minute: str | None, second: str | None) -> bool:
    # PS3.5 permits second 60 for a leap second.
    return (
        (hour is None or int(hour) <= 23)
        and (minute is None or int(minute) <= 59)
        and (second is None or int(second) <= 60)
    )


def _parse_date(text: str) -> tuple[datetime.date, bool] | None:
    """Parse a DA value; the flag tells whether it was in the ACR-NEMA dotted form."""
    for pattern, dotted in ((_DA, False), (_DA_ACR_NEMA, True)):
        match = pattern.fullmatch(text)
        if match:
            try:
                year, month, day = (int(group) for group in match.groups())
                return datetime.date(year, month, day), dotted
            except ValueError:
                return None
    return None


def _parse_date_time(text: str) -> _DateTime | None:
    match = _DT.fullmatch(text)
    if match is None:
        return None
    if not _check_time(match["hour"], match["minute"], match["second"]):
        return None
    if match["offset"] and (int(match["offset_hour"]) > 14 or int(match["offset_minute"]) > 59):
        return None
    # A partial date stands for its whole period; shifting the middle of the period rather
    # than its first day keeps the shift unbiased (a -1 day shift of "2020" stays in 2020).
    month = int(match["month"]) if match["month"] else 7
    day = int(match["day"]) if match["day"] else (15 if match["month"] else 1)
    precision = 8 if match["day"] else (6 if match["month"] else 4)
    try:
        date = datetime.date(int(match["year"]), month, day)
    except ValueError:
        return None
    return _DateTime(date, precision, match["time"] or "", match["offset"] or "")


def _is_time(text: str) -> bool:
    for pattern in (_TM, _TM_ACR_NEMA):
        match = pattern.fullmatch(text)
        if match:
            return _check_time(match["hour"], match["minute"], match["second"])
    return False


def _unparseable(vr: str) -> UnparseableDateError:
    return UnparseableDateError(f"the {vr} value is not a valid {vr} value")


def _over_values(value: str, vr: str, treat: Callable[[str], str | None]) -> str:
    """Apply ``treat`` to every value and every side of every range in ``value``.

    ``treat`` returns ``None`` when its input does not parse.
    """
    if vr not in DATE_TIME_VRS:
        raise ValueError(f"{vr} is not a date or time VR (DA, DT, TM)")
    results = []
    for item in value.rstrip(" \x00").split("\\"):
        single = item.strip(" ")
        if not single:
            results.append("")
            continue
        treated = treat(single)
        if treated is None:
            treated = _over_range(single, vr, treat)
        results.append(treated)
    return "\\".join(results)


def _over_range(text: str, vr: str, treat: Callable[[str], str | None]) -> str:
    # DT offsets also use "-", so try every hyphen as the range separator and take the first
    # at which both sides parse.
    for position, character in enumerate(text):
        if character != "-":
            continue
        low, high = text[:position], text[position + 1 :]
        if not low and not high:
            break
        low_treated = treat(low) if low else ""
        high_treated = treat(high) if high else ""
        if low_treated is not None and high_treated is not None:
            return f"{low_treated}-{high_treated}"
    raise _unparseable(vr)


def patient_date_offset(
    secret: ProjectSecret, patient_key: str, low: int = -365, high: int = -1
) -> int:
    """The patient's keyed date offset in days, uniform over ``low..high`` inclusive.

    ``patient_key`` names the patient in the source (e.g. PatientID and its issuer), so every
    file of one patient moves by the same number of days and intervals between their studies
    are preserved, while different patients move independently.
    """
    if low > high:
        raise ValueError("the date offset range is empty: low must not exceed high")
    span = high - low + 1
    # 256 bits modulo a span of a few hundred: the bias is far below 2**-200.
    return low + int.from_bytes(keyed_digest(secret, "date-offset", patient_key), "big") % span


def shift_date(value: str, vr: str, days: int) -> str:
    """Move a DA or DT value by ``days``, keeping its precision, form, time and UTC offset.

    TM values are validated and returned unchanged: a whole-day shift does not move the time
    of day, and intervals between times are preserved.

    Raises:
        UnparseableDateError: a value is not valid for ``vr``, or the shift leaves the years
            0001-9999.
    """
    delta = datetime.timedelta(days=days)

    def shifted(text: str) -> str | None:
        try:
            if vr == "DA":
                parsed = _parse_date(text)
                if parsed is None:
                    return None
                date, dotted = parsed
                return f"{date + delta:%Y.%m.%d}" if dotted else f"{date + delta:%Y%m%d}"
            if vr == "DT":
                date_time = _parse_date_time(text)
                if date_time is None:
                    return None
                return date_time.written(date_time.date + delta)
        except OverflowError:
            raise UnparseableDateError(
                f"shifting the {vr} value leaves the years 0001-9999"
            ) from None
        return text if _is_time(text) else None

    return _over_values(value, vr, shifted)


def keep_year(value: str, vr: str) -> str:
    """Keep only the year: DA becomes ``YYYY0101``, DT becomes ``YYYY``, TM becomes empty.

    HIPAA Safe Harbor (164.514(b)(2)(i)(C)) removes "all elements of dates (except year)"; the
    time of day is such an element, so a TM is emptied and a DT loses its time and offset.

    Raises:
        UnparseableDateError: a value is not valid for ``vr``.
    """

    def year_only(text: str) -> str | None:
        if vr == "DA":
            parsed = _parse_date(text)
            if parsed is None:
                return None
            date, dotted = parsed
            return f"{date:%Y}.01.01" if dotted else f"{date:%Y}0101"
        if vr == "DT":
            date_time = _parse_date_time(text)
            return None if date_time is None else f"{date_time.date:%Y}"
        return "" if _is_time(text) else None

    kept = _over_values(value, vr, year_only)
    # An emptied TM leaves only separators behind; the whole value is then empty.
    return "" if vr == "TM" else kept


def _age_parts(age_string: str) -> tuple[int, str] | None:
    match = _AS.fullmatch(age_string.strip(" \x00").upper())
    if match is None:
        return None
    return int(match[1]), match[2]


def age_in_years(age_string: str) -> float | None:
    """The age an AS value states, in years; ``None`` when it is not an AS value.

    Besides the standard's three digits, 1 to 9 digits and a lower-case unit are tolerated,
    because an age written sloppily is still an age.
    """
    parts = _age_parts(age_string)
    if parts is None:
        return None
    number, unit = parts
    if unit == "Y":
        return float(number)
    if unit == "M":
        return number / 12
    days = number * 7 if unit == "W" else number
    return days / _DAYS_PER_YEAR


def _completed_years(number: int, unit: str) -> int:
    if unit == "Y":
        return number
    if unit == "M":
        return number // 12
    days = number * 7 if unit == "W" else number
    return math.floor(days / _DAYS_PER_YEAR)


def cap_age(value: str, cap: int) -> str:
    """Ages over ``cap`` completed years become ``cap + 1`` years; others are unchanged.

    ``cap_age("095Y", 89) == "090Y"``: Safe Harbor aggregates ages over 89 into "90 or older".
    Months, weeks and days are converted to completed years for the comparison. An empty
    value stays empty.

    Raises:
        UnparseableAgeError: ``value`` is not an AS value. An unreadable age is not passed
            through, because it may be one that should have been capped.
    """
    if not value.strip(" \x00"):
        return value
    parts = _age_parts(value)
    if parts is None:
        raise UnparseableAgeError("the AS value is not an age string (nnnD/W/M/Y)")
    if _completed_years(*parts) > cap:
        return f"{cap + 1:03d}Y"
    return value


def _full_date(text: str) -> datetime.date | None:
    text = text.strip(" \x00")
    parsed = _parse_date(text)
    if parsed is not None:
        return parsed[0]
    date_time = _parse_date_time(text)
    if date_time is not None and date_time.precision == 8:
        return date_time.date
    return None


def age_from_dates(birth: str, on: str) -> int | None:
    """Completed years between a birth date and a later date (DA or full-date DT values).

    ``None`` when either value is not a complete date or ``on`` precedes ``birth``.
    """
    born, then = _full_date(birth), _full_date(on)
    if born is None or then is None or then < born:
        return None
    return then.year - born.year - ((then.month, then.day) < (born.month, born.day))
