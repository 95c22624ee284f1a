"""Working time: office hours, weekends, Vietnamese holidays; examples and properties."""

from __future__ import annotations

import time as _time
from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civic.domain.calendar import OfficeHours, WorkCalendar, holidays_of, parse_utc, to_iso

VN = timezone(timedelta(hours=7))
CAL = WorkCalendar()


def vn(y, mo, d, h=0, mi=0, s=0):
    return datetime(y, mo, d, h, mi, s, tzinfo=VN)


def local(dt: datetime) -> datetime:
    return dt.astimezone(VN)


# -- holidays --------------------------------------------------------------------------------------
@pytest.mark.parametrize("day", [
    # Tết 2025 (Ất Tỵ), 2026 (Bính Ngọ: official break 14/2–22/2), 2027 (Đinh Mùi, computed)
    *[date(2025, 1, d) for d in range(27, 32)],
    *[date(2026, 2, d) for d in range(16, 21)],
    date(2027, 2, 4), date(2027, 2, 5), date(2027, 2, 8), date(2027, 2, 9), date(2027, 2, 10),
    # Hùng Kings: 2025 Mon 7/4; 2026 falls on Sunday 26/4 -> observed Monday 27/4; 2027 Fri 16/4
    date(2025, 4, 7), date(2026, 4, 27), date(2027, 4, 16),
    # 30/4, 1/5 and the substituted/observed days
    date(2025, 4, 30), date(2025, 5, 1), date(2025, 5, 2),
    date(2026, 4, 30), date(2026, 5, 1),
    date(2027, 4, 30), date(2027, 5, 3),
    # National Day and its second day (and the 2026 swap of Monday 31/8)
    date(2025, 9, 1), date(2025, 9, 2), date(2026, 8, 31), date(2026, 9, 1), date(2026, 9, 2),
    date(2027, 9, 2), date(2027, 9, 3),
    # New Year, Vietnam Cultural Day (from 2026)
    date(2025, 1, 1), date(2026, 1, 1), date(2027, 1, 1), date(2026, 11, 24), date(2027, 11, 24),
])
def test_public_holidays_are_not_working_days(day):
    assert day.weekday() < 5
    assert not CAL.is_working_day(day)


@pytest.mark.parametrize("day", [date(2025, 4, 26), date(2026, 8, 22)])
def test_saturdays_swapped_by_the_government_are_working_days(day):
    assert day.weekday() == 5
    assert CAL.is_working_day(day)


def test_ordinary_days():
    assert CAL.is_working_day(date(2026, 11, 23))  # Monday
    assert not CAL.is_working_day(date(2026, 11, 21))  # Saturday
    assert not CAL.is_working_day(date(2026, 11, 22))  # Sunday
    assert CAL.is_working_day(datetime(2026, 11, 23, 9))  # a datetime counts by its date


def test_tet_2026_as_the_package_gives_it():
    days = holidays_of(2026)
    tet = sorted(d for d in days if date(2026, 2, 1) <= d <= date(2026, 2, 28))
    assert tet == [date(2026, 2, d) for d in range(16, 21)]  # giao thừa Mon 16/2 … mùng 4 Fri 20/2
    assert "Tết" in days[date(2026, 2, 17)]


def test_operator_extra_holidays_and_workdays():
    cal = WorkCalendar(extra_holidays=[date(2026, 11, 23)], extra_workdays=["2026-11-21", date(2026, 2, 16)])
    assert not cal.is_working_day(date(2026, 11, 23))
    assert cal.is_working_day(date(2026, 11, 21))
    assert cal.is_working_day(date(2026, 2, 16))  # extra working day beats a package holiday
    # Friday 16:00 + 2h: Friday 1h, Saturday (worked) 07:30-08:30
    assert local(cal.add_hours(vn(2026, 11, 20, 16), 2)) == vn(2026, 11, 21, 8, 30)
    with pytest.raises(ValueError, match="both"):
        WorkCalendar(extra_holidays=[date(2026, 1, 5)], extra_workdays=[date(2026, 1, 5)])


def test_from_dict_and_to_dict():
    raw = {"periods": [["08:00", "12:00"], ["13:00", "17:00"]], "extra_holidays": ["2027-02-03"],
           "extra_workdays": ["2027-02-20"]}
    cal = WorkCalendar.from_dict(raw)
    assert cal.hours_per_day == 8
    assert not cal.is_working_day(date(2027, 2, 3)) and cal.is_working_day(date(2027, 2, 20))
    assert WorkCalendar.from_dict(cal.to_dict()).to_dict() == cal.to_dict() == {**raw, "tz": "Asia/Ho_Chi_Minh"}
    assert WorkCalendar.from_dict(None).hours == OfficeHours()
    with pytest.raises(ValueError) as err:
        WorkCalendar.from_dict({"periods": [["8h", "12h"]], "extra_holidays": ["tomorrow"], "weekend": []})
    assert all(w in str(err.value) for w in ("periods:", "extra_holidays:", "weekend: unknown field"))
    with pytest.raises(ValueError, match="tz"):
        WorkCalendar.from_dict({"tz": "Nowhere/Special"})
    with pytest.raises(ValueError, match="both"):
        WorkCalendar.from_dict({"extra_holidays": ["2027-02-03"], "extra_workdays": ["2027-02-03"]})
    with pytest.raises(ValueError, match="start before"):
        WorkCalendar.from_dict({"periods": [["12:00", "08:00"]]})


# -- examples --------------------------------------------------------------------------------------
def test_friday_afternoon_plus_two_hours_is_monday_morning():
    assert local(CAL.add_hours(vn(2026, 11, 13, 16), 2)) == vn(2026, 11, 16, 8, 30)


def test_result_is_aware_utc():
    out = CAL.add_hours(vn(2026, 11, 13, 16), 2)
    assert out.tzinfo is UTC
    assert to_iso(out) == "2026-11-16T01:30:00.000Z"


def test_exact_period_end_stays_at_the_end():
    assert local(CAL.add_hours(vn(2026, 11, 13, 16), 1)) == vn(2026, 11, 13, 17)
    assert local(CAL.add_hours(vn(2026, 11, 13, 10), 1.5)) == vn(2026, 11, 13, 11, 30)


def test_lunch_and_out_of_hours_starts():
    assert local(CAL.add_hours(vn(2026, 11, 23, 12), 1)) == vn(2026, 11, 23, 14, 30)  # lunch -> 13:30
    assert local(CAL.add_hours(vn(2026, 11, 22, 10), 1)) == vn(2026, 11, 23, 8, 30)  # Sunday -> Monday 07:30
    assert local(CAL.add_hours(vn(2026, 11, 23, 6), 0.5)) == vn(2026, 11, 23, 8)  # before opening
    assert local(CAL.add_hours(vn(2026, 11, 23, 11, 0), 1)) == vn(2026, 11, 23, 14)  # across lunch
    # zero hours: the first office instant at or after the start; a period end is not one
    assert local(CAL.add_hours(vn(2026, 11, 22, 10), 0)) == vn(2026, 11, 23, 7, 30)
    assert local(CAL.add_hours(vn(2026, 11, 23, 11, 30), 0)) == vn(2026, 11, 23, 13, 30)
    assert local(CAL.next_office_instant(vn(2026, 11, 23, 9))) == vn(2026, 11, 23, 9)


def test_tet_2026_is_skipped():
    # Friday 13/2/2026 16:00 + 2h: 1h on Friday, then the break 14/2–22/2, Monday 23/2 07:30 + 1h
    assert local(CAL.add_hours(vn(2026, 2, 13, 16), 2)) == vn(2026, 2, 23, 8, 30)
    assert local(CAL.add_days(vn(2026, 2, 13, 9), 1)) == vn(2026, 2, 23, 9)
    assert CAL.working_seconds(vn(2026, 2, 13, 17), vn(2026, 2, 23, 7, 30)) == 0


def test_reunification_and_labour_day_are_skipped():
    # Wednesday 29/4/2026 16:00 + 2h: Thu 30/4, Fri 1/5, weekend -> Monday 4/5 08:30
    assert local(CAL.add_hours(vn(2026, 4, 29, 16), 2)) == vn(2026, 5, 4, 8, 30)
    # 2025: Tue 29/4 16:00 + 2h: Wed 30/4, Thu 1/5, Fri 2/5 (swapped) off, Sat 26/4 was the one worked
    assert local(CAL.add_hours(vn(2025, 4, 29, 16), 2)) == vn(2025, 5, 5, 8, 30)


def test_hung_kings_observed_monday_2026():
    assert local(CAL.add_hours(vn(2026, 4, 24, 16), 2)) == vn(2026, 4, 28, 8, 30)


def test_add_days_is_whole_office_days():
    assert CAL.hours_per_day == 7.5
    assert local(CAL.add_days(vn(2026, 11, 16, 10), 1)) == vn(2026, 11, 17, 10)  # Mon -> Tue
    assert local(CAL.add_days(vn(2026, 11, 20, 18), 1)) == vn(2026, 11, 23, 17)  # Fri evening -> Mon 17:00
    assert local(CAL.add_days(vn(2026, 11, 20, 10), 2)) == vn(2026, 11, 25, 10)  # over Tue 24/11 (holiday)
    assert local(CAL.add_days(vn(2026, 11, 16, 10), 0)) == vn(2026, 11, 16, 10)
    start = vn(2026, 11, 16, 10)
    assert CAL.working_seconds(start, CAL.add_days(start, 10)) == 10 * 7.5 * 3600


def test_working_seconds_examples():
    assert CAL.working_seconds(vn(2026, 11, 23, 7), vn(2026, 11, 23, 18)) == 7.5 * 3600
    assert CAL.working_seconds(vn(2026, 11, 23, 11), vn(2026, 11, 23, 14)) == 3600
    assert CAL.working_seconds(vn(2026, 11, 23, 14), vn(2026, 11, 23, 11)) == 0
    assert CAL.working_seconds(vn(2026, 11, 20, 0), vn(2026, 11, 26, 0)) == 3 * 7.5 * 3600  # Fri, Mon, Wed (24/11 off)


def test_custom_office_hours():
    hours = OfficeHours(periods=((time(8), time(12)), (time(13), time(17))), tz="Asia/Ho_Chi_Minh")
    cal = WorkCalendar(hours)
    assert cal.hours_per_day == 8
    assert local(cal.add_days(vn(2026, 11, 23, 8), 1)) == vn(2026, 11, 23, 17)
    with pytest.raises(ValueError):
        OfficeHours(periods=((time(13), time(12)),))
    with pytest.raises(ValueError):
        OfficeHours(periods=((time(8), time(12)), (time(11), time(17))))
    with pytest.raises(ValueError):
        OfficeHours(periods=())
    with pytest.raises(ValueError):
        OfficeHours(tz="Mars/Olympus_Mons")


def test_bad_inputs():
    with pytest.raises(ValueError):
        CAL.add_hours(datetime(2026, 1, 5, 9), 1)  # naive
    with pytest.raises(ValueError):
        CAL.add_hours(vn(2026, 1, 5, 9), -1)
    with pytest.raises(ValueError):
        CAL.add_hours(vn(2026, 1, 5, 9), float("nan"))
    with pytest.raises(ValueError):
        CAL.add_days(vn(2026, 1, 5, 9), 1.5)
    with pytest.raises(ValueError):
        CAL.working_seconds(datetime(2026, 1, 5), vn(2026, 1, 6))


def test_parse_and_format_utc():
    dt = parse_utc("2026-11-23T11:00:00.000Z")
    assert dt == datetime(2026, 11, 23, 11, tzinfo=UTC) and dt.tzinfo is UTC
    assert parse_utc("2026-11-23T18:00:00+07:00") == dt
    assert parse_utc("2026-11-23T11:00:00") == dt  # no offset: UTC
    assert to_iso(dt) == "2026-11-23T11:00:00.000Z"
    assert to_iso(vn(2026, 11, 23, 18)) == "2026-11-23T11:00:00.000Z"
    assert to_iso(dt + timedelta(microseconds=123456)) == "2026-11-23T11:00:00.123Z"
    with pytest.raises(ValueError):
        parse_utc("yesterday")
    with pytest.raises(ValueError):
        to_iso(datetime(2026, 1, 1))


def test_thirty_working_days_is_fast():
    start = vn(2026, 11, 20, 16)
    CAL.add_days(start, 30)  # warm the holiday cache
    n = 2000
    t0 = _time.perf_counter()
    for _ in range(n):
        CAL.add_days(start, 30)
    per_call = (_time.perf_counter() - t0) / n
    assert per_call < 1e-3, per_call  # typically ~15 µs


# -- properties ------------------------------------------------------------------------------------
# Aware starts anywhere in 2025–2027, in UTC or local time, to the microsecond.
starts = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31, 23, 59, 59),
    timezones=st.sampled_from([UTC, VN]),
)
hours_ = st.floats(min_value=0, max_value=300, allow_nan=False, allow_infinity=False)
EPS = 1e-3  # seconds; the arithmetic is exact to the microsecond


def assert_in_office(dt: datetime, cal: WorkCalendar = CAL) -> None:
    loc = local(dt)
    assert cal.is_working_day(loc.date()), loc
    t = loc.time()
    assert any(a <= t <= b for a, b in cal.hours.periods), loc


@settings(max_examples=300, deadline=None, database=None)
@given(start=starts, h=hours_)
def test_add_hours_counts_back_exactly(start, h):
    end = CAL.add_hours(start, h)
    assert end >= start
    assert abs(CAL.working_seconds(start, end) - h * 3600) < EPS
    assert_in_office(end)


@settings(max_examples=200, deadline=None, database=None)
@given(start=starts, n=st.integers(min_value=0, max_value=60))
def test_add_days_counts_back_exactly(start, n):
    end = CAL.add_days(start, n)
    assert CAL.working_seconds(start, end) == n * 7.5 * 3600
    assert_in_office(end)


@settings(max_examples=300, deadline=None, database=None)
@given(start=starts, a=hours_, b=hours_)
def test_add_hours_is_monotonic(start, a, b):
    lo, hi = sorted((a, b))
    assert CAL.add_hours(start, lo) <= CAL.add_hours(start, hi)


@settings(max_examples=200, deadline=None, database=None)
@given(start=starts, h=st.floats(min_value=0.001, max_value=100))
def test_result_is_the_earliest_instant(start, h):
    # a moment earlier, the required working time has not passed yet
    end = CAL.add_hours(start, h)
    assert CAL.working_seconds(start, end - timedelta(seconds=1)) < h * 3600


@settings(max_examples=200, deadline=None, database=None)
@given(a=starts, b=starts, c=starts)
def test_working_seconds_is_additive(a, b, c):
    a, b, c = sorted((a, b, c))
    total = CAL.working_seconds(a, c)
    assert abs(total - (CAL.working_seconds(a, b) + CAL.working_seconds(b, c))) < EPS
    assert 0 <= total <= (c - a).total_seconds()
