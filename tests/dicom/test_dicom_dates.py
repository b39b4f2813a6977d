"""Date shifting, keep-year and ages."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deidengine.dicom.dates import (
    UnparseableAgeError,
    UnparseableDateError,
    age_from_dates,
    age_in_years,
    cap_age,
    keep_year,
    patient_date_offset,
    shift_date,
)
from deidengine.dicom.keys import ProjectSecret

SECRET = ProjectSecret(bytes(range(32)))


def test_offset_in_range_and_deterministic(secret: ProjectSecret) -> None:
    offsets = [patient_date_offset(secret, f"PAT{number}^ISSUER") for number in range(300)]
    assert all(-365 <= offset <= -1 for offset in offsets)
    assert len(set(offsets)) > 100
    assert patient_date_offset(secret, "PAT1^ISSUER") == offsets[1]


def test_offset_depends_on_the_secret(secret: ProjectSecret, other_secret: ProjectSecret) -> None:
    keys = [f"PAT{number}" for number in range(20)]
    mine = [patient_date_offset(secret, key) for key in keys]
    theirs = [patient_date_offset(other_secret, key) for key in keys]
    assert mine != theirs


@given(st.text(max_size=20), st.integers(-1000, 1000), st.integers(0, 1000))
def test_offset_stays_in_any_range(key: str, low: int, width: int) -> None:
    assert low <= patient_date_offset(SECRET, key, low, low + width) <= low + width


def test_single_day_range_and_empty_range() -> None:
    assert patient_date_offset(SECRET, "X", -7, -7) == -7
    with pytest.raises(ValueError):
        patient_date_offset(SECRET, "X", 0, -1)


@pytest.mark.parametrize(
    ("value", "days", "expected"),
    [
        ("20200301", -1, "20200229"),  # leap year
        ("20190301", -1, "20190228"),
        ("20200101", -1, "20191231"),  # across a year
        ("20200315", -15, "20200229"),
        ("20210131", 1, "20210201"),  # across a month
        ("2020.03.01", -1, "2020.02.29"),  # ACR-NEMA form kept
        ("20200301 ", -1, "20200229"),  # padding dropped
        ("", -10, ""),
    ],
)
def test_shift_da(value: str, days: int, expected: str) -> None:
    assert shift_date(value, "DA", days) == expected


def test_shift_multi_valued_da() -> None:
    assert shift_date("20200301\\20000229\\", "DA", -1) == "20200229\\20000228\\"


def test_shift_da_query_ranges() -> None:
    assert shift_date("20200101-20200201", "DA", -1) == "20191231-20200131"
    assert shift_date("-20200101", "DA", -1) == "-20191231"
    assert shift_date("20200101-", "DA", -1) == "20191231-"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("20200101120000.123456+0100", "20191222120000.123456+0100"),
        ("20200101120000.123456-0500", "20191222120000.123456-0500"),
        ("20200101120000", "20191222120000"),
        ("2020010112", "2019122212"),
        ("20200101", "20191222"),
        ("202003", "202003"),  # month precision: shifted from mid-month, 5 March
        ("2020", "2020"),  # year precision: shifted from mid-year
        ("2020+0100", "2020+0100"),
    ],
)
def test_shift_dt(value: str, expected: str) -> None:
    assert shift_date(value, "DT", -10) == expected


def test_partial_dt_moves_when_the_middle_of_its_period_does() -> None:
    assert shift_date("202003", "DT", -20) == "202002"
    assert shift_date("2020", "DT", -190) == "2019"


def test_shift_dt_range() -> None:
    assert shift_date("20200101-20200201", "DT", -10) == "20191222-20200122"
    assert shift_date("20200101000000-0500-20200201", "DT", -10) == "20191222000000-0500-20200122"


def test_tm_is_validated_and_unchanged() -> None:
    assert shift_date("123000.5", "TM", -10) == "123000.5"
    assert shift_date("12:30:00", "TM", -10) == "12:30:00"
    assert shift_date("1200-1300", "TM", -10) == "1200-1300"
    with pytest.raises(UnparseableDateError):
        shift_date("2500", "TM", -1)


@pytest.mark.parametrize(
    ("value", "vr"),
    [
        ("20201301", "DA"),
        ("20200230", "DA"),
        ("2020-03-01", "DA"),
        ("DOE^JANE", "DA"),
        ("20200101250000", "DT"),
        ("20200101+2500", "DT"),
        ("12345", "TM"),
        ("120000.1234567", "TM"),
    ],
)
def test_invalid_values_raise_without_the_value(value: str, vr: str) -> None:
    with pytest.raises(UnparseableDateError) as error:
        shift_date(value, vr, -1)
    assert value not in str(error.value)


def test_shift_out_of_range_raises() -> None:
    with pytest.raises(UnparseableDateError):
        shift_date("00010101", "DA", -1)


def test_not_a_date_vr() -> None:
    with pytest.raises(ValueError):
        shift_date("20200101", "LO", -1)


@given(st.dates(datetime.date(1800, 1, 1), datetime.date(2100, 1, 1)), st.integers(-365, 365))
def test_shift_moves_by_exactly_the_offset(date: datetime.date, days: int) -> None:
    shifted = shift_date(f"{date:%Y%m%d}", "DA", days)
    assert datetime.datetime.strptime(shifted, "%Y%m%d").date() - date == datetime.timedelta(days)


@pytest.mark.parametrize(
    ("value", "vr", "expected"),
    [
        ("19620315", "DA", "19620101"),
        ("1962.03.15", "DA", "1962.01.01"),
        ("19620315\\20200101", "DA", "19620101\\20200101"),
        ("20200315120000.5+0100", "DT", "2020"),
        ("202003", "DT", "2020"),
        ("120000", "TM", ""),
        ("120000\\130000", "TM", ""),
        ("", "DA", ""),
    ],
)
def test_keep_year(value: str, vr: str, expected: str) -> None:
    assert keep_year(value, vr) == expected


def test_keep_year_rejects_invalid() -> None:
    with pytest.raises(UnparseableDateError):
        keep_year("1962031", "DA")
    with pytest.raises(UnparseableDateError):
        keep_year("noon", "TM")


@pytest.mark.parametrize(
    ("value", "years"),
    [
        ("095Y", 95.0),
        ("012M", 1.0),
        ("006M", 0.5),
        ("052W", 52 * 7 / 365.2425),
        ("010D", 10 / 365.2425),
    ],
)
def test_age_in_years(value: str, years: float) -> None:
    assert age_in_years(value) == pytest.approx(years)


@pytest.mark.parametrize("value", ["", "95", "Y095", "095X", "ninety"])
def test_age_in_years_invalid(value: str) -> None:
    assert age_in_years(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("095Y", "090Y"),
        ("090Y", "090Y"),
        ("089Y", "089Y"),
        ("1100M", "090Y"),  # 91 years, though four digits are not strictly AS
        ("1079M", "1079M"),  # 89 years 11 months: not over 89 completed years
        ("1080M", "090Y"),
        ("4800W", "090Y"),
        ("32900D", "090Y"),
        ("032Y", "032Y"),
        ("", ""),
    ],
)
def test_cap_age(value: str, expected: str) -> None:
    assert cap_age(value, 89) == expected


def test_cap_age_other_cap() -> None:
    assert cap_age("070Y", 65) == "066Y"


def test_cap_age_rejects_unreadable_ages() -> None:
    with pytest.raises(UnparseableAgeError) as error:
        cap_age("95 years", 89)
    assert "95" not in str(error.value)


@pytest.mark.parametrize(
    ("birth", "on", "expected"),
    [
        ("19620315", "20200314", 57),
        ("19620315", "20200315", 58),
        ("20000229", "20010228", 0),
        ("20000229", "20010301", 1),
        ("1962.03.15", "20200315120000", 58),
        ("19620315", "19620315", 0),
        ("20200101", "20190101", None),
        ("1962", "20200101", None),
        ("", "20200101", None),
    ],
)
def test_age_from_dates(birth: str, on: str, expected: int | None) -> None:
    assert age_from_dates(birth, on) == expected


@given(st.text(max_size=30), st.sampled_from(["DA", "DT", "TM"]), st.integers(-400, 400))
def test_shift_only_raises_unparseable(value: str, vr: str, days: int) -> None:
    try:
        shift_date(value, vr, days)
        keep_year(value, vr)
    except UnparseableDateError:
        pass
