"""Deadlines for handling reports, as data: how long a unit has to accept a report and to resolve it.

Each priority (``normal``, ``urgent``, ``complex``) has two deadlines, counted in working time on a
`civic.domain.calendar.WorkCalendar` (weekends, public holidays and out-of-office hours do not count):

* ``accept``  — from routing (or a transfer) to acceptance by the receiving unit;
* ``resolve`` — from routing to the published result.

A `Duration` is an amount of working ``hours`` or working ``days`` (one day = the calendar's office
hours of a day, 7.5 h by default; see `civic.domain.calendar`).

Precedence — the most specific rule wins (`SlaPolicy.deadlines`):
  1. unit × category × priority, for the unit itself, then its parent, grandparent, … (nearest first);
  2. category × priority;
  3. the priority's default.

Defaults (`DEFAULT_POLICY`) are our judgement, not law: they follow what Vietnamese city apps such as
iHanoi publish as practice — an ordinary report is taken on within about a working day and answered
within two working weeks; an urgent one (danger to people or traffic) is taken on within hours and
handled within two working days; a complex one (several agencies, surveys, budget) gets a day to be
taken on and about six working weeks. Operators set their own per category and per unit.

The operator's JSON (`SlaPolicy.from_dict`, `SlaPolicy.to_dict`)::

    {
      "defaults":    {"normal": {"accept": "8h", "resolve": "10d"}},             # merged over DEFAULT_POLICY
      "by_category": {"lighting": {"urgent": {"accept": "1h", "resolve": "1d"}}},
      "by_unit":     {"HN-HK": {"lighting": {"normal": {"accept": {"amount": 4, "unit": "hours"},
                                                         "resolve": {"amount": 5, "unit": "days"}}}}}
    }

A duration is written ``"8h"`` / ``"10d"`` (also ``"8 hours"``, ``"1 day"``) or as
``{"amount": 8, "unit": "hours"}``. Both ``accept`` and ``resolve`` are required wherever a priority
is given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from civic.domain.calendar import WorkCalendar, parse_utc, to_iso

__all__ = [
    "PRIORITIES", "UNITS", "Duration", "Deadlines", "DEFAULT_POLICY", "SlaPolicy",
    "due_at", "due_state", "extend_due", "duration_seconds",
]

# Same as civic.domain.reports.PRIORITIES (kept here so this module imports nothing heavy; a test checks).
PRIORITIES = ("normal", "urgent", "complex")
UNITS = ("hours", "days")
MAX_AMOUNT = 1000  # in either unit: a guard against typos such as 100000 hours
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_SHORT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(h|hours?|d|days?)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Duration:
    """An amount of working time: working ``hours`` or working ``days``."""

    amount: float
    unit: Literal["hours", "days"]

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unit must be 'hours' or 'days', got {self.unit!r}")
        a = self.amount
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not math.isfinite(a) or a < 0:
            raise ValueError(f"amount must be a number >= 0, got {a!r}")

    def hours(self, calendar: WorkCalendar) -> float:
        """The amount in working hours on this calendar."""
        return self.amount * calendar.hours_per_day if self.unit == "days" else float(self.amount)

    def to_json(self) -> str:
        """The short form, e.g. ``"8h"`` or ``"10d"`` (accepted back by `SlaPolicy.from_dict`)."""
        amount = int(self.amount) if float(self.amount).is_integer() else self.amount
        return f"{amount}{'h' if self.unit == 'hours' else 'd'}"

    def __str__(self) -> str:
        return self.to_json()


@dataclass(frozen=True)
class Deadlines:
    accept: Duration
    resolve: Duration


def _h(amount: float) -> Duration:
    return Duration(amount, "hours")


def _d(amount: float) -> Duration:
    return Duration(amount, "days")


# Defaults (our judgement, see the module docstring); operators override them.
DEFAULT_POLICY: dict[str, Deadlines] = {
    "normal": Deadlines(accept=_h(8), resolve=_d(10)),
    "urgent": Deadlines(accept=_h(2), resolve=_d(2)),
    "complex": Deadlines(accept=_d(1), resolve=_d(30)),
}


class SlaPolicy:
    """Deadline rules: defaults per priority, overrides per category and per unit (see the module docstring)."""

    def __init__(
        self,
        defaults: Mapping[str, Deadlines] = DEFAULT_POLICY,
        by_category: Mapping[str, Mapping[str, Deadlines]] = {},  # copied, never mutated
        by_unit: Mapping[str, Mapping[str, Mapping[str, Deadlines]]] = {},
    ) -> None:
        self.defaults: dict[str, Deadlines] = dict(defaults)
        self.by_category: dict[str, dict[str, Deadlines]] = {c: dict(p) for c, p in by_category.items()}
        self.by_unit: dict[str, dict[str, dict[str, Deadlines]]] = {
            u: {c: dict(p) for c, p in cats.items()} for u, cats in by_unit.items()
        }

    def __repr__(self) -> str:
        return (f"SlaPolicy(priorities={sorted(self.defaults)}, categories={sorted(self.by_category)}, "
                f"units={sorted(self.by_unit)})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SlaPolicy) and (self.defaults, self.by_category, self.by_unit) == (
            other.defaults, other.by_category, other.by_unit)

    def deadlines(
        self,
        category: str,
        priority: str,
        unit_code: str | None,
        unit_ancestors: Sequence[str] = (),
    ) -> Deadlines:
        """The deadlines for a report; ``unit_ancestors`` nearest first (parent, grandparent, …)."""
        chain = ([unit_code] if unit_code else []) + [u for u in unit_ancestors if u]
        for code in chain:
            found = self.by_unit.get(code, {}).get(category, {}).get(priority)
            if found is not None:
                return found
        found = self.by_category.get(category, {}).get(priority)
        if found is not None:
            return found
        try:
            return self.defaults[priority]
        except KeyError:
            raise ValueError(
                f"no deadlines for priority {priority!r} (known: {', '.join(sorted(self.defaults))})"
            ) from None

    # -- the operator's JSON ----------------------------------------------------------------------
    @classmethod
    def from_dict(
        cls,
        raw: dict[str, Any],
        *,
        known_categories: Iterable[str] | None = None,
        known_units: Iterable[str] | None = None,
    ) -> SlaPolicy:
        """Build a policy from the stored JSON; every problem is reported in one ValueError.

        ``known_categories`` / ``known_units``, when given, also reject unknown codes.
        """
        problems: list[str] = []
        if not isinstance(raw, Mapping):
            raise ValueError("SLA policy: must be a JSON object with 'defaults', 'by_category' and/or 'by_unit'")
        for key in raw:
            if key not in ("defaults", "by_category", "by_unit"):
                problems.append(f"{key}: unknown field (allowed: defaults, by_category, by_unit)")
        cats = set(known_categories) if known_categories is not None else None
        units = set(known_units) if known_units is not None else None

        defaults = dict(DEFAULT_POLICY)
        defaults.update(_priorities(raw.get("defaults", {}), "defaults", problems))

        by_category: dict[str, dict[str, Deadlines]] = {}
        for cat, table in _object(raw.get("by_category", {}), "by_category", problems).items():
            if _code(cat, "by_category", "category", cats, problems):
                by_category[cat] = _priorities(table, f"by_category.{cat}", problems)

        by_unit: dict[str, dict[str, dict[str, Deadlines]]] = {}
        for unit, per_cat in _object(raw.get("by_unit", {}), "by_unit", problems).items():
            if not _code(unit, "by_unit", "unit", units, problems):
                continue
            by_unit[unit] = {}
            for cat, table in _object(per_cat, f"by_unit.{unit}", problems).items():
                if _code(cat, f"by_unit.{unit}", "category", cats, problems):
                    by_unit[unit][cat] = _priorities(table, f"by_unit.{unit}.{cat}", problems)
        if problems:
            raise ValueError("invalid SLA policy:\n  " + "\n  ".join(problems))
        return cls(defaults, by_category, by_unit)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (short durations); ``SlaPolicy.from_dict(p.to_dict()) == p``."""
        def table(t: Mapping[str, Deadlines]) -> dict[str, Any]:
            return {p: {"accept": d.accept.to_json(), "resolve": d.resolve.to_json()} for p, d in t.items()}

        return {
            "defaults": table(self.defaults),
            "by_category": {c: table(t) for c, t in self.by_category.items()},
            "by_unit": {u: {c: table(t) for c, t in cats.items()} for u, cats in self.by_unit.items()},
        }


def _object(value: Any, path: str, problems: list[str]) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        problems.append(f"{path}: must be an object")
        return {}
    return dict(value)


def _code(key: Any, path: str, what: str, known: set[str] | None, problems: list[str]) -> bool:
    if not isinstance(key, str) or not _KEY.match(key):
        problems.append(f"{path}: {key!r} is not a {what} code (1–64 letters, digits, '-', '_' or '.')")
        return False
    if known is not None and key not in known:
        problems.append(f"{path}.{key}: unknown {what}")
        return False
    return True


def _priorities(value: Any, path: str, problems: list[str]) -> dict[str, Deadlines]:
    out: dict[str, Deadlines] = {}
    for priority, entry in _object(value, path, problems).items():
        where = f"{path}.{priority}"
        if priority not in PRIORITIES:
            problems.append(f"{where}: unknown priority (one of {', '.join(PRIORITIES)})")
            continue
        if not isinstance(entry, Mapping):
            problems.append(f"{where}: must be an object with 'accept' and 'resolve'")
            continue
        extra = [k for k in entry if k not in ("accept", "resolve")]
        if extra:
            problems.append(f"{where}: unknown field(s) {', '.join(map(str, extra))} (allowed: accept, resolve)")
        accept = _duration(entry.get("accept"), f"{where}.accept", problems)
        resolve = _duration(entry.get("resolve"), f"{where}.resolve", problems)
        if accept is None or resolve is None:
            continue
        if accept.unit == resolve.unit and accept.amount > resolve.amount:
            problems.append(f"{where}: accept ({accept}) must not be longer than resolve ({resolve})")
            continue
        out[priority] = Deadlines(accept, resolve)
    return out


def _duration(value: Any, path: str, problems: list[str]) -> Duration | None:
    if value is None:
        problems.append(f"{path}: required (e.g. \"8h\", \"10d\" or {{\"amount\": 8, \"unit\": \"hours\"}})")
        return None
    if isinstance(value, str):
        m = _SHORT.match(value)
        if not m:
            problems.append(f"{path}: {value!r} is not a duration (e.g. \"8h\" or \"10d\")")
            return None
        amount: Any = float(m.group(1))
        unit: Any = "hours" if m.group(2).lower().startswith("h") else "days"
    elif isinstance(value, Mapping):
        extra = [k for k in value if k not in ("amount", "unit")]
        if extra:
            problems.append(f"{path}: unknown field(s) {', '.join(map(str, extra))} (allowed: amount, unit)")
            return None
        amount, unit = value.get("amount"), value.get("unit")
        if unit not in UNITS:
            problems.append(f"{path}.unit: must be 'hours' or 'days', got {unit!r}")
            return None
    else:
        problems.append(f"{path}: must be a string like \"8h\" or an object {{\"amount\", \"unit\"}}")
        return None
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not math.isfinite(amount):
        problems.append(f"{path}: amount must be a number, got {amount!r}")
        return None
    if not 0 < amount <= MAX_AMOUNT:
        problems.append(f"{path}: amount must be more than 0 and at most {MAX_AMOUNT} {unit}, got {amount:g}")
        return None
    if isinstance(amount, float) and amount.is_integer():
        amount = int(amount)
    return Duration(amount, cast(Literal["hours", "days"], unit))  # both checked above


# -- computing deadlines ------------------------------------------------------------------------------
def duration_seconds(calendar: WorkCalendar, duration: Duration) -> float:
    """The working seconds a duration stands for on this calendar."""
    return duration.hours(calendar) * 3600


def _add(calendar: WorkCalendar, start: datetime, duration: Duration) -> datetime:
    if duration.unit == "days" and float(duration.amount).is_integer():
        return calendar.add_days(start, int(duration.amount))
    return calendar.add_hours(start, duration.hours(calendar))


def due_at(calendar: WorkCalendar, start_iso: str, duration: Duration) -> str:
    """The deadline (UTC ISO) of ``duration`` of working time from ``start_iso``."""
    return to_iso(_add(calendar, parse_utc(start_iso), duration))


def extend_due(calendar: WorkCalendar, due_iso: str, paused_from_iso: str, resumed_iso: str) -> str:
    """Push a deadline by the working time a pause took (e.g. while waiting for the citizen's reply)."""
    paused = calendar.working_seconds(parse_utc(paused_from_iso), parse_utc(resumed_iso))
    if paused <= 0:
        return due_iso
    return to_iso(calendar.add_hours(parse_utc(due_iso), paused / 3600))


def due_state(
    now_iso: str,
    due_iso: str | None,
    calendar: WorkCalendar,
    soon: Duration = Duration(4, "hours"),
) -> Literal["none", "on_time", "due_soon", "overdue"]:
    """Where a deadline stands at ``now``.

    ``none``: no deadline; ``overdue``: ``now`` is after the deadline; ``due_soon``: at most ``soon``
    of *working* time is left (so Friday evening with a Monday 08:00 deadline is due soon);
    ``on_time``: otherwise. At the deadline instant itself the report is still ``due_soon``.
    """
    if not due_iso:
        return "none"
    now, due = parse_utc(now_iso), parse_utc(due_iso)
    if now > due:
        return "overdue"
    if calendar.working_seconds(now, due) <= duration_seconds(calendar, soon):
        return "due_soon"
    return "on_time"
