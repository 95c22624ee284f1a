"""Schedules: EventBridge's rate(), cron() and at() expressions, and the source that fires them.

AWS cron has six fields (minutes hours day-of-month month day-of-week year), numbers its days of the
week 1-7 from Sunday and writes `?` for "no value"; croniter evaluates it once the days are renumbered
(0-6) and the year moved to croniter's seventh field.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import TYPE_CHECKING, Any

from croniter import croniter

if TYPE_CHECKING:
    from civic_dev.local.dispatcher import Dispatcher
    from civic_dev.local.template_functions import EventMapping


class AwsCron:
    """An AWS ``cron(Minutes Hours Day-of-month Month Day-of-week Year)`` expression."""

    def __init__(self, body: str):
        parts = body.split()
        if len(parts) != 6:
            raise ValueError(f"cron() needs 6 fields, got {body!r}")
        minute, hour, dom, month, dow, year = parts
        # AWS 1-7 (SUN-SAT) → cron 0-6; a number after '#' (the nth weekday) or '/' (a step) stays.
        dow = re.sub(r"(?<![#/\d])([1-7])(?!\d)", lambda m: str(int(m.group(1)) - 1), dow)
        self.expression = " ".join((minute, hour, dom, month, dow, "0", year))
        if not croniter.is_valid(self.expression):
            raise ValueError(f"unsupported cron expression {body!r}")

    def matches(self, t: dt.datetime) -> bool:
        return croniter.match(self.expression, t.replace(second=0, microsecond=0))


def parse_schedule(expr: str) -> tuple[str, Any]:
    """``rate(5 minutes)`` → ("rate", 300.0); ``cron(...)`` → ("cron", AwsCron);
    ``at(...)`` (one-time, ScheduleV2) → ("at", datetime)."""
    expr = expr.strip()
    m = re.fullmatch(r"rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)", expr)
    if m:
        n = int(m.group(1))
        unit = {"minute": 60, "hour": 3600, "day": 86400}[m.group(2).rstrip("s")]
        return "rate", float(n * unit)
    m = re.fullmatch(r"cron\((.*)\)", expr)
    if m:
        return "cron", AwsCron(m.group(1))
    m = re.fullmatch(r"at\((.*)\)", expr)
    if m:
        return "at", dt.datetime.fromisoformat(m.group(1))
    raise ValueError(f"unsupported schedule expression {expr!r}")


class ScheduleSource:
    def __init__(self, d: Dispatcher, m: EventMapping):
        self.d = d
        self.mapping = m
        p = m.props
        expr = p.get("Schedule") if m.type == "Schedule" else p.get("ScheduleExpression")
        self.kind, self.spec = parse_schedule(str(expr))
        enabled = p.get("Enabled", True)
        state = str(p.get("State", "ENABLED")).upper()
        self.enabled = enabled not in (False, "false", "False") and state != "DISABLED"
        tzname = p.get("ScheduleExpressionTimezone")
        self.tz: dt.tzinfo = dt.UTC
        if tzname:
            from zoneinfo import ZoneInfo

            self.tz = ZoneInfo(tzname)
        now = time.time()
        self.next_due = now + self.spec if self.kind == "rate" else None
        self.last_minute = self._minute(now)
        self.fired_at = False

    def _minute(self, now: float) -> dt.datetime:
        return dt.datetime.fromtimestamp(now, self.tz).replace(second=0, microsecond=0)

    def due(self, now: float) -> bool:
        if not self.enabled:
            return False
        if self.kind == "rate":
            if now >= self.next_due:  # type: ignore[operator]
                self.next_due = max(self.next_due + self.spec, now + 1)  # type: ignore[operator]
                return True
            return False
        minute = self._minute(now)
        if self.kind == "cron":
            if minute != self.last_minute:
                self.last_minute = minute
                return self.spec.matches(minute)
            return False
        # at(...)
        at = self.spec if self.spec.tzinfo else self.spec.replace(tzinfo=self.tz)
        if not self.fired_at and dt.datetime.fromtimestamp(now, self.tz) >= at:
            self.fired_at = True
            return True
        return False


