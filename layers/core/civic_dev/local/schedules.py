"""Schedules: EventBridge's rate(), cron() and at() expressions, the source that fires them, the
event a scheduled function gets, and the dispatcher's schedule loop.

AWS cron has six fields (minutes hours day-of-month month day-of-week year), numbers its days of the
week 1-7 from Sunday and writes `?` for "no value"; croniter evaluates it once the days are renumbered
(0-6) and the year moved to croniter's seventh field.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from croniter import croniter

if TYPE_CHECKING:
    from civic_dev.local.dispatcher import Dispatcher
    from civic_dev.local.template_functions import EventMapping

log = logging.getLogger("civic_dev.local.dispatcher")


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




def schedule_event(d: Dispatcher, mapping: EventMapping) -> Any:
    """The event EventBridge (Schedule) or EventBridge Scheduler (ScheduleV2) sends: the mapping's
    ``Input`` when it has one, else a "Scheduled Event"."""
    props = mapping.props
    if props.get("Input"):
        inp = d.resolver.resolve(props["Input"])
        return json.loads(inp) if isinstance(inp, str) else inp
    acct = d._account_id()
    name = props.get("Name") or f"{mapping.function.logical_id}{mapping.event_name}"
    if mapping.type == "ScheduleV2":
        resource = f"arn:aws:scheduler:{d.region}:{acct}:schedule/default/{name}"
        source = "aws.scheduler"
    else:
        resource = f"arn:aws:events:{d.region}:{acct}:rule/{name}"
        source = "aws.events"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": source,
        "account": acct,
        "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": d.region,
        "resources": [resource],
        "detail": {},
    }


def run_schedules(d: Dispatcher) -> None:
    """The dispatcher's schedule thread: each second, queue the event of every schedule that is due
    as an asynchronous invocation of its function."""
    while not d._stop.is_set():
        now = time.time()
        for s in d._schedules:
            try:
                if s.due(now):
                    d._async[s.mapping.function.logical_id].submit(
                        schedule_event(d, s.mapping), s.mapping.type, s.mapping.event_name)
            except Exception as exc:  # noqa: BLE001
                log.error("schedule %s.%s failed: %s", s.mapping.function.logical_id, s.mapping.event_name, exc)
        if d._sleep(1.0 - (time.time() % 1.0) + 0.01):
            return
