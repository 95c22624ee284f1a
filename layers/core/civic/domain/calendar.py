"""Working time: the clock that deadlines for handling citizens' reports run on.

Pure Python, no AWS. Timestamps are stored in UTC (``2026-11-23T11:00:00.000Z``, see `parse_utc` and
`to_iso`); the calendar itself is local to the office (``Asia/Ho_Chi_Minh`` by default).

What counts
-----------
* Only **working days**: not Saturday or Sunday, not a Vietnamese public holiday. Holidays come from
  the `holidays` package (``holidays.country_holidays("VN")``), which knows New Year's Day, Tết
  (the lunar new year's eve and the following days as the Labour Code 2019 gives them, plus the extra
  days the government announces), Hùng Kings' day (10/3 lunar), 30/4, 1/5, 2/9 with its second day,
  Vietnam Cultural Day 24/11 (from 2026), the observed days when a holiday falls on a weekend, and the
  government's one-off swaps ("Ngày nghỉ (thay cho ngày …)": a weekday off in exchange for a Saturday
  worked — those Saturdays come from the package's ``weekend_workdays`` and *are* working days here).
* Operators add what the package does not know yet: ``extra_holidays`` (e.g. a swap announced this
  month, or a local day off) and ``extra_workdays`` (e.g. a Saturday the government makes a working
  day). A date may not be in both lists. Precedence: ``extra_workdays`` > ``extra_holidays`` >
  package holidays > weekend rule.
* Only **office hours** count: by default 07:30–11:30 and 13:30–17:00 local time (7.5 hours a day),
  see `OfficeHours`.

Semantics
---------
* ``add_hours(start, h)`` counts only office time. A start outside office hours (before the first
  period, at lunch, after closing, on a weekend or holiday) begins at the start of the next office
  period. The result is the *earliest* instant at which ``h`` hours of office time have passed, so it
  is always inside an office period, or exactly at the end of one: Friday 16:00 + 1 h is Friday 17:00,
  not Monday 07:30. ``add_hours(start, 0)`` is the first office instant at or after ``start`` (the end
  of a period is not an office instant: 17:00 + 0 h is the next morning's 07:30).
* ``add_days(start, n)`` adds ``n`` whole working days, defined as ``n × hours_per_day`` office hours
  (7.5 h by default) through the same rule. So Monday 10:00 + 1 day is Tuesday 10:00, a report that
  arrives on Friday evening + 1 day is due Monday 17:00, and counting back with ``working_seconds``
  always gives exactly ``n × hours_per_day × 3600``.
* ``working_seconds(start, end)``: office time between two instants (0 if ``end <= start``). For any
  start and ``h >= 0``: ``working_seconds(start, add_hours(start, h)) == h * 3600`` (to the
  microsecond, the resolution of `datetime`).
* Inputs must be timezone-aware; results of ``add_*`` are aware UTC datetimes.
* Arithmetic is done on the office's wall clock. Vietnam has had no daylight saving time since 1975;
  for a zone with DST, office periods that straddle a transition are counted by wall-clock time.

Holiday facts (checked with ``holidays`` 0.109; run ``holidays.country_holidays("VN", years=y)`` to see):
  2025: Tết Mon 27/1 – Fri 31/1 (+ Sat 1/2), Hùng Kings Mon 7/4, 30/4, 1/5, Fri 2/5 off for Sat 26/4
        worked, 2/9 with Mon 1/9.
  2026: Tết Mon 16/2 (giao thừa) – Fri 20/2 (the official 9-day break 14/2–22/2 with its weekends),
        Hùng Kings Sun 26/4 observed Mon 27/4, 30/4, 1/5, 2/9 with Tue 1/9, Mon 31/8 off for Sat 22/8
        worked, Vietnam Cultural Day Tue 24/11.
  2027: Tết Thu 4/2 – Wed 10/2 (computed from the labour code; the government's actual plan for 2027
        is not announced yet — add its swaps as extra holidays/workdays when it is), Hùng Kings Fri 16/4,
        30/4, Sat 1/5 observed Mon 3/5, 2/9 with Fri 3/9, 24/11.
Known gap: one-off swaps and Tết plans are added to the package only after the government announces
them (and after a package release), so keep the package up to date and use ``extra_holidays`` /
``extra_workdays`` in between.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any

import holidays as _holidays

__all__ = ["OfficeHours", "WorkCalendar", "parse_utc", "to_iso", "holidays_of"]

UTC = UTC
_US_PER_SECOND = 1_000_000
_US_PER_HOUR = 3600 * _US_PER_SECOND
_US_PER_DAY = 24 * _US_PER_HOUR
_ONE_DAY = timedelta(days=1)
COUNTRY = "VN"

# Fixed offsets used only when the system has no tz database (some minimal Lambda images).
_FALLBACK_OFFSETS = {"Asia/Ho_Chi_Minh": 7, "Asia/Saigon": 7, "UTC": 0, "Etc/UTC": 0}


def _zone(name: str) -> tzinfo:
    try:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    except ImportError:  # pragma: no cover - Python >= 3.9 always has it
        ZoneInfo, ZoneInfoNotFoundError = None, Exception  # type: ignore[assignment,misc]
    try:
        if ZoneInfo is None:
            raise LookupError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, LookupError, ValueError):
        if name in _FALLBACK_OFFSETS:
            return timezone(timedelta(hours=_FALLBACK_OFFSETS[name]), name)
        raise ValueError(f"unknown time zone {name!r}") from None


def _tod_us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _US_PER_SECOND + t.microsecond


@dataclass(frozen=True)
class OfficeHours:
    """The office periods of a working day (local wall-clock times) and the office's time zone."""

    periods: tuple[tuple[time, time], ...] = ((time(7, 30), time(11, 30)), (time(13, 30), time(17, 0)))
    tz: str = "Asia/Ho_Chi_Minh"

    def __post_init__(self) -> None:
        periods = tuple(tuple(p) for p in self.periods)
        object.__setattr__(self, "periods", periods)
        self.spans_us()  # validates
        _zone(self.tz)  # fail early on an unknown zone

    def spans_us(self) -> tuple[tuple[int, int], ...]:
        """The periods as (start, end) microseconds since local midnight; raises ValueError if invalid."""
        periods = self.periods
        if not periods:
            raise ValueError("office hours need at least one period")
        spans: list[tuple[int, int]] = []
        for p in periods:
            if len(p) != 2 or not all(isinstance(t, time) for t in p):
                raise ValueError(f"an office period is a (start, end) pair of datetime.time, got {p!r}")
            if p[0].tzinfo is not None or p[1].tzinfo is not None:
                raise ValueError("office period times are local wall-clock times without tzinfo")
            s, e = _tod_us(p[0]), _tod_us(p[1])
            if s >= e:
                raise ValueError(f"office period {p[0]}–{p[1]} must start before it ends")
            if spans and s < spans[-1][1]:
                raise ValueError("office periods must be in order and must not overlap")
            spans.append((s, e))
        return tuple(spans)

    @property
    def seconds_per_day(self) -> float:
        return sum(e - s for s, e in self.spans_us()) / _US_PER_SECOND

    @property
    def hours_per_day(self) -> float:
        return self.seconds_per_day / 3600


@lru_cache(maxsize=64)
def _package_year(year: int) -> tuple[dict[date, str], frozenset[date]]:
    """The package's holidays of one year and the weekend days it says are worked (swaps)."""
    h = _holidays.country_holidays(COUNTRY, years=year, language="vi")
    return dict(h.items()), frozenset(getattr(h, "weekend_workdays", ()) or ())


@lru_cache(maxsize=64)
def _year_sets(year: int) -> tuple[frozenset[date], frozenset[date]]:
    days, _ = _package_year(year)
    workdays: set[date] = set()
    # A swap can be recorded under the neighbouring year (e.g. Sat 27/12/2014 for 2/1/2015).
    for y in (year - 1, year, year + 1):
        workdays.update(d for d in _package_year(y)[1] if d.year == year)
    return frozenset(d for d in days if d.year == year), frozenset(workdays)


def holidays_of(year: int) -> dict[date, str]:
    """The package's public holidays of a year with their (Vietnamese) names — for display and checks."""
    return {d: n for d, n in sorted(_package_year(year)[0].items()) if d.year == year}


class WorkCalendar:
    """Office days and hours; adds and counts working time. Cheap to build, safe to share between threads."""

    def __init__(
        self,
        hours: OfficeHours = OfficeHours(),
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
    ) -> None:
        self.hours = hours
        self.extra_holidays = frozenset(_as_date(d) for d in extra_holidays)
        self.extra_workdays = frozenset(_as_date(d) for d in extra_workdays)
        both = self.extra_holidays & self.extra_workdays
        if both:
            raise ValueError(
                "a date cannot be both an extra holiday and an extra working day: "
                + ", ".join(sorted(d.isoformat() for d in both))
            )
        self._tz = _zone(hours.tz)
        self._periods = hours.spans_us()
        self._first_start = self._periods[0][0]
        self._day_us = sum(e - s for s, e in self._periods)

    def __repr__(self) -> str:
        return (f"WorkCalendar(hours={self.hours!r}, extra_holidays={len(self.extra_holidays)} days, "
                f"extra_workdays={len(self.extra_workdays)} days)")

    # -- the operator's JSON ---------------------------------------------------------------------
    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None) -> WorkCalendar:
        """Build from stored settings; every problem is reported in one ValueError. Shape (all optional)::

            {"periods": [["07:30", "11:30"], ["13:30", "17:00"]], "tz": "Asia/Ho_Chi_Minh",
             "extra_holidays": ["2027-02-03"], "extra_workdays": ["2027-02-20"]}
        """
        raw = {} if raw is None else raw
        if not isinstance(raw, dict):
            raise ValueError("calendar settings: must be a JSON object")
        problems = [f"{k}: unknown field (allowed: periods, tz, extra_holidays, extra_workdays)"
                    for k in raw if k not in ("periods", "tz", "extra_holidays", "extra_workdays")]
        kwargs: dict[str, Any] = {}
        if "periods" in raw:
            try:
                kwargs["periods"] = tuple(
                    (time.fromisoformat(a), time.fromisoformat(b)) for a, b in raw["periods"]
                )
            except (TypeError, ValueError):
                problems.append('periods: a list of ["HH:MM", "HH:MM"] pairs')
        if "tz" in raw:
            kwargs["tz"] = raw["tz"] if isinstance(raw["tz"], str) else ""
        days: dict[str, list[date]] = {}
        for key in ("extra_holidays", "extra_workdays"):
            value = raw.get(key, [])
            if not isinstance(value, list):
                problems.append(f"{key}: a list of dates (YYYY-MM-DD)")
                continue
            try:
                days[key] = [_as_date(d) for d in value]
            except ValueError as exc:
                problems.append(f"{key}: {exc}")
        hours = None
        if not problems:
            try:
                hours = OfficeHours(**kwargs)
            except ValueError as exc:
                problems.append(f"{'tz' if 'zone' in str(exc) else 'periods'}: {exc}")
        if hours is not None:
            try:
                return cls(hours, days.get("extra_holidays", ()), days.get("extra_workdays", ()))
            except ValueError as exc:
                problems.append(str(exc))
        raise ValueError("invalid calendar settings:\n  " + "\n  ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; ``WorkCalendar.from_dict(c.to_dict())`` builds the same calendar."""
        return {
            "periods": [[a.isoformat("minutes") if not a.second and not a.microsecond else a.isoformat(),
                         b.isoformat("minutes") if not b.second and not b.microsecond else b.isoformat()]
                        for a, b in self.hours.periods],
            "tz": self.hours.tz,
            "extra_holidays": sorted(d.isoformat() for d in self.extra_holidays),
            "extra_workdays": sorted(d.isoformat() for d in self.extra_workdays),
        }

    @property
    def hours_per_day(self) -> float:
        """Office hours in one working day (7.5 by default): the length of one `add_days` day."""
        return self._day_us / _US_PER_HOUR

    # -- days ---------------------------------------------------------------------------------
    def is_working_day(self, day: date) -> bool:
        if isinstance(day, datetime):
            day = day.date()
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        hols, weekend_workdays = _year_sets(day.year)
        if day.weekday() >= 5:
            return day in weekend_workdays
        return day not in hols

    # -- arithmetic ---------------------------------------------------------------------------
    def add_hours(self, start: datetime, hours: float) -> datetime:
        """``start`` plus ``hours`` of office time (see the module docstring); aware UTC."""
        if isinstance(hours, bool) or not isinstance(hours, (int, float)) or not math.isfinite(hours):
            raise ValueError(f"hours must be a finite number, got {hours!r}")
        if hours < 0:
            raise ValueError(f"hours must not be negative, got {hours!r}")
        return self._add_us(start, round(hours * _US_PER_HOUR))

    def add_days(self, start: datetime, days: int | float) -> datetime:
        """``start`` plus ``days`` whole working days, i.e. ``days × hours_per_day`` office hours
        (a whole float such as 2.0 counts as 2)."""
        if isinstance(days, bool) or not isinstance(days, int):
            if isinstance(days, float) and days.is_integer():
                days = int(days)
            else:
                raise ValueError(f"days must be a whole number, got {days!r}")
        if days < 0:
            raise ValueError(f"days must not be negative, got {days!r}")
        return self._add_us(start, days * self._day_us)

    def working_seconds(self, start: datetime, end: datetime) -> float:
        """Office time between two instants, in seconds (0 if ``end <= start``)."""
        _check_aware(start, "start")
        _check_aware(end, "end")
        if end <= start:
            return 0.0
        a = start.astimezone(self._tz)
        b = end.astimezone(self._tz)
        a_day, b_day = a.date(), b.date()
        a_tod, b_tod = _tod_us(a.time()), _tod_us(b.time())
        total = 0
        day = a_day
        while day <= b_day:
            if self.is_working_day(day):
                lo = a_tod if day == a_day else 0
                hi = b_tod if day == b_day else _US_PER_DAY
                if lo == 0 and hi == _US_PER_DAY:
                    total += self._day_us
                else:
                    for ps, pe in self._periods:
                        overlap = min(pe, hi) - max(ps, lo)
                        if overlap > 0:
                            total += overlap
            day += _ONE_DAY
        return total / _US_PER_SECOND

    def next_office_instant(self, at: datetime) -> datetime:
        """The first office instant at or after ``at`` (aware UTC) — ``add_hours(at, 0)``."""
        return self._add_us(at, 0)

    def _add_us(self, start: datetime, remaining: int) -> datetime:
        _check_aware(start, "start")
        local = start.astimezone(self._tz)
        day = local.date()
        tod = _tod_us(local.time())
        periods, day_us, first_start = self._periods, self._day_us, self._first_start
        while True:
            if self.is_working_day(day):
                if tod <= first_start and remaining > day_us:
                    remaining -= day_us  # a whole working day (strictly more is left: never ends here)
                else:
                    for ps, pe in periods:
                        if tod >= pe:
                            continue  # this period is over (a start exactly at its end moves on)
                        s = tod if tod > ps else ps
                        avail = pe - s
                        if remaining <= avail:
                            return self._instant(day, s + remaining)
                        remaining -= avail
            day += _ONE_DAY
            tod = 0

    def _instant(self, day: date, tod_us: int) -> datetime:
        naive = datetime(day.year, day.month, day.day) + timedelta(microseconds=tod_us)
        return naive.replace(tzinfo=self._tz).astimezone(UTC)


def _as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"not a date (YYYY-MM-DD): {value!r}") from None
    raise ValueError(f"not a date: {value!r}")


def _check_aware(dt: datetime, name: str) -> None:
    if not isinstance(dt, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got naive {dt.isoformat()})")


def parse_utc(iso: str) -> datetime:
    """Parse an ISO-8601 timestamp (``…Z`` or with an offset) into an aware UTC datetime.

    A timestamp without an offset is taken as UTC (the project stores UTC only).
    """
    if not isinstance(iso, str):
        raise ValueError(f"not an ISO-8601 timestamp: {iso!r}")
    text = iso.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO-8601 timestamp: {iso!r}") from None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def to_iso(dt: datetime) -> str:
    """The project's UTC format: ``2026-11-23T11:00:00.000Z`` (milliseconds, truncated)."""
    _check_aware(dt, "dt")
    return dt.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
