"""Who hears what, on which channel, when: timeline events and government alerts → messages.

Pure. The notify function gives it one timeline event, the report's facts, the followers, the unit
staff and everyone's preferences; it returns one `Message` per recipient and channel. Each message
has a deterministic id (event id + recipient + channel), so a replayed event makes the same ids and
the sender's idempotency record sends nothing twice.

Personal data of one citizen never goes to another: texts carry only the tracking code, the public
result, the public refusal reason and units; the unit's question (`request_info`) goes to the
author alone. A message's `address` (email, phone, Zalo id, device tokens) is the recipient's own.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

from civic.clock import LOCAL_TZ, iso_utc
from civic.domain.contacts import VERIFIABLE, contact_key

CHANNELS = ("inbox", "email", "sms", "push", "zalo")
# Channels that can wake someone up: held back during the recipient's quiet hours. The in-app inbox
# and email are silent, so they are never deferred.
DEFERRABLE = ("sms", "push", "zalo")
LANGUAGES = ("vi", "en")
DEVICE_PLATFORMS = ("android", "ios", "web")
DEFAULT_CHANNELS = ("inbox", "email", "push")
DEFAULT_QUIET = ("22:00", "06:30")
SQS_MAX_DELAY = 900  # seconds: longer waits are re-enqueued by the sender until `not_before`
SMS_LIMIT = 160  # one GSM-7 segment
ALERT_KINDS = ("flood", "storm", "water_cut", "road_closure", "other")
ALERT_SEVERITIES = ("info", "warning", "severe", "extreme")
# Alerts of these severities are sent at once even during quiet hours (a flood at 3 a.m. matters).
URGENT_SEVERITIES = ("severe", "extreme")
STAFF_ROLES = ("officer", "leader")
MAX_FOLLOW_UNITS = 10  # areas a person may follow beyond their home ward
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


# ------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class Device:
    platform: str  # android | ios | web
    token: str


@dataclass(frozen=True)
class Preferences:
    """A person's notification settings and contact details (the Users table)."""

    user_id: str
    role: str = "citizen"
    channels: tuple[str, ...] = DEFAULT_CHANNELS
    language: str = "vi"
    quiet_start: str | None = DEFAULT_QUIET[0]
    quiet_end: str | None = DEFAULT_QUIET[1]
    email: str | None = None
    phone: str | None = None
    zalo_user_id: str | None = None
    home_unit: str | None = None
    follow_units: tuple[str, ...] = ()  # areas followed beyond the home ward: their alerts reach the person
    devices: tuple[Device, ...] = ()
    verified: frozenset[str] = frozenset()  # contact keys (civic.domain.contacts) their owner confirmed

    def is_verified(self, channel: str) -> bool:
        """Whether this channel's address may be sent to: confirmed by its owner, or a channel that
        needs no proof (inbox, push)."""
        if channel not in VERIFIABLE:
            return True
        address = self.address(channel)
        return bool(address) and contact_key(channel, address) in self.verified

    def address(self, channel: str) -> Any:
        """Where this channel reaches the person, or None when it cannot."""
        if channel == "inbox":
            return self.user_id
        if channel == "email":
            return self.email
        if channel == "sms":
            return self.phone
        if channel == "zalo":
            return self.zalo_user_id
        if channel == "push":
            return [asdict(d) for d in self.devices] or None
        return None


@dataclass(frozen=True)
class ReportFacts:
    id: str
    tracking_code: str
    citizen_id: str
    unit_code: str | None = None
    assignee: str | None = None
    due_at: str | None = None
    accept_due_at: str | None = None


@dataclass(frozen=True)
class Event:
    """The timeline event fields notifications need (civic.domain.reports.TimelineEvent has them)."""

    report_id: str
    seq: int
    type: str
    at: str
    status: str | None = None
    actor_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def event_id(self) -> str:
        return f"{self.report_id}:{self.seq}"


@dataclass(frozen=True)
class Target:
    user_id: str
    kind: str  # the template: accepted, refused, ..., new_report, assigned, ...


@dataclass
class Message:
    id: str
    user_id: str
    channel: str
    kind: str  # template kind, or "alert"
    event_type: str
    title: str
    text: str
    language: str
    at: str  # when the event happened
    address: Any = None
    report_id: str | None = None
    tracking_code: str | None = None
    alert_id: str | None = None
    not_before: str | None = None  # quiet hours: deliver at or after this time (UTC ISO)

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | dict[str, Any]) -> Message:
        data = json.loads(raw) if isinstance(raw, str) else raw
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]  # our own JSON


def message_id(source_id: str, user_id: str, channel: str) -> str:
    """Deterministic: the same event (or alert), recipient and channel always give the same id."""
    return hashlib.sha256(f"{source_id}|{user_id}|{channel}".encode()).hexdigest()[:32]


# ------------------------------------------------------------------ who hears what

# Citizen-facing event type → template (author and followers).
_CITIZEN_KINDS = {"accept": "accepted", "refuse": "refused", "transfer": "transferred", "closed": "closed"}
# Moderation event type → the author's template (followers are not told).
_MODERATION_KINDS = {"hide": "hidden", "flag_hidden": "hidden", "redact": "redacted"}


def audience(event: Event, report: ReportFacts, followers: Iterable[str],
             staff_of: Callable[[str], list[tuple[str, str]]]) -> list[Target]:
    """The people an event concerns and the template each gets.

    `staff_of(unit_code)` → [(user_id, role)] of the unit's officers and leaders. The person who
    acted never hears about their own action; nobody gets the same event twice.
    """
    citizens = [report.citizen_id, *[f for f in followers if f != report.citizen_id]]
    out: list[Target] = []
    kind = None
    t = event.type
    if t in _CITIZEN_KINDS:
        kind = _CITIZEN_KINDS[t]
    elif t in ("resolve", "approve") and event.status == "resolved":
        kind = "resolved"  # published (approved where the unit requires it): the rating reminder too
    if kind:
        out += [Target(c, kind) for c in citizens]
    if t == "request_info":
        out.append(Target(report.citizen_id, "info_requested"))  # the question is the author's business
    if t in _MODERATION_KINDS:  # the author is told why the public no longer sees (all of) it
        out.append(Target(report.citizen_id, _MODERATION_KINDS[t]))

    def unit_staff(unit: str | None, roles: tuple[str, ...] = STAFF_ROLES) -> list[str]:
        return [uid for uid, role in (staff_of(unit) if unit else []) if role in roles]

    if t == "routed":
        out += [Target(u, "new_report") for u in unit_staff(event.data.get("unit_code") or report.unit_code)]
    elif t == "transfer":
        out += [Target(u, "new_report") for u in unit_staff(event.data.get("to_unit"))]
    elif t == "assign":
        assignee = event.data.get("assignee")
        # An assignee that is a department code (not a person) is told through its own channels.
        if assignee and assignee in unit_staff(report.unit_code):
            out.append(Target(assignee, "assigned"))
    elif t in ("citizen_reply", "partner_update"):
        people = [report.assignee] if report.assignee and report.assignee in unit_staff(report.unit_code) else \
            unit_staff(report.unit_code, ("officer",))
        out += [Target(u, "citizen_reply") for u in people]
    elif t == "due_soon":
        notify = event.data.get("notify")
        unit = event.data.get("unit_code") or report.unit_code
        people = [notify] if notify and notify != "unit" and notify in unit_staff(unit) else unit_staff(unit)
        out += [Target(u, "due_soon") for u in people]
    elif t == "overdue":
        out += [Target(u, "overdue") for u in unit_staff(event.data.get("unit_code") or report.unit_code, ("leader",))]
    elif t == "escalate_parent":
        out += [Target(u, "escalated") for u in unit_staff(event.data.get("escalated_to"), ("leader",))]
    elif t == "resolve" and event.status == "pending_approval":
        out += [Target(u, "awaiting_approval") for u in unit_staff(report.unit_code, ("leader",))]

    seen: set[str] = set()
    unique = []
    for target in out:
        if target.user_id in seen or (event.actor_id and target.user_id == event.actor_id):
            continue
        seen.add(target.user_id)
        unique.append(target)
    return unique


# ------------------------------------------------------------------ text


@lru_cache(maxsize=1)
def templates() -> dict[str, dict[str, dict[str, str]]]:
    raw = json.loads(resources.files("civic.data").joinpath("notify_templates.json").read_text(encoding="utf-8"))
    return {k: v for k, v in raw.items() if not k.startswith("_")}


def plain(value: str) -> str:
    """Vietnamese without diacritics (đ → d): SMS in GSM-7, 160 characters a segment instead of 70
    in UCS-2, and readable on every handset; brand-name SMS in Vietnam are sent this way."""
    value = value.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _clip(value: str, limit: int, ellipsis: str = "…") -> str:
    value = " ".join(str(value).split())
    if len(value) <= limit:
        return value
    return value[: max(0, limit - len(ellipsis))].rstrip() + ellipsis if limit > len(ellipsis) else ""


def local_time(iso: str | None, language: str) -> str:
    """A deadline for people: Asia/Ho_Chi_Minh wall-clock time."""
    if not iso:
        return "—"

    moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(LOCAL_TZ)
    return moment.strftime("%H:%M %d/%m/%Y")


def tracking_link(web_base: str, code: str) -> str:
    return f"{web_base.rstrip('/')}/track/{code}"


def render(kind: str, language: str, channel: str, values: dict[str, str]) -> tuple[str, str]:
    """(title, text) of a template in a language, for a channel (SMS: short, without diacritics)."""
    lang = language if language in LANGUAGES else "vi"
    tpl = templates()[kind][lang]
    if channel == "sms":
        for cap in (40, 24, 12, 0):  # shorten the free-text values until the link fits in one segment
            short = {k: _clip(plain(v), cap, "...") for k, v in values.items() if k != "link"}
            short["link"] = values.get("link", "")
            body = plain(tpl["sms"].format(**short))
            if len(body) <= SMS_LIMIT:
                break
        return plain(tpl["title"].format(**values)), body
    clipped = {k: (_clip(v, 1000) if k in ("answer", "question") else v) for k, v in values.items()}
    return tpl["title"].format(**clipped), tpl["text"].format(**clipped)


def _values(event: Event, report: ReportFacts, language: str, web_base: str) -> dict[str, str]:
    data = event.data or {}
    reason = data.get("reason") or {}
    reason_text = reason.get("en" if language == "en" else "vi", "") if isinstance(reason, dict) else str(reason)
    answer = data.get("answer") or {}
    if event.type in ("routed", "transfer"):  # staff are told the acceptance deadline of a new report
        due = data.get("accept_due_at") or report.accept_due_at
    else:
        due = data.get("due_at") or report.due_at
    return {
        "code": report.tracking_code,
        "link": tracking_link(web_base, report.tracking_code),
        "reason": reason_text,
        "answer": answer.get("text", "") if isinstance(answer, dict) else str(answer),
        "to_unit": str(data.get("to_unit") or ""),
        "due": local_time(due, language),
        "question": str(data.get("question") or ""),
    }


# ------------------------------------------------------------------ quiet hours


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def quiet_until(now_iso: str, start: str | None, end: str | None) -> str | None:
    """The end of the quiet period `now` falls in (UTC ISO), or None when it is not quiet.

    Quiet hours are local (Asia/Ho_Chi_Minh) wall-clock times and may span midnight (22:00–06:30).
    """
    if not start or not end or start == end:
        return None

    zone = LOCAL_TZ
    now = datetime.fromisoformat(now_iso.replace("Z", "+00:00")).astimezone(zone)
    minute = now.hour * 60 + now.minute
    s, e = _minutes(start), _minutes(end)
    inside = s <= minute < e if s < e else (minute >= s or minute < e)
    if not inside:
        return None
    end_local = now.replace(hour=e // 60, minute=e % 60, second=0, microsecond=0)
    if end_local <= now:
        end_local += timedelta(days=1)
    return iso_utc(end_local.astimezone(UTC))


def delay_seconds(now_iso: str, not_before: str | None) -> int:
    """SQS DelaySeconds for a message that must wait until `not_before` (at most 15 minutes a hop)."""
    if not not_before:
        return 0
    now = datetime.fromisoformat(now_iso.replace("Z", "+00:00"))
    later = datetime.fromisoformat(not_before.replace("Z", "+00:00"))
    return max(0, min(SQS_MAX_DELAY, int((later - now).total_seconds() + 0.999)))


# ------------------------------------------------------------------ messages


def _for_person(prefs: Preferences, source_id: str, now: str, urgent: bool,
                build: Callable[[str, str], tuple[str, str]],
                withheld: Counter[str] | None = None) -> list[tuple[str, Any, str, str, str | None]]:
    """Where a person's channels are resolved for delivery, for report events and alerts alike: the one
    place an unconfirmed email, phone or Zalo id is left out (counted in `withheld`, never held back
    for later). The verification message itself is built elsewhere (civic.services.contacts)."""
    out = []
    quiet = None if urgent else quiet_until(now, prefs.quiet_start, prefs.quiet_end)
    for channel in prefs.channels:
        if channel not in CHANNELS:
            continue
        address = prefs.address(channel)
        if address is None:
            continue
        if not prefs.is_verified(channel):
            if withheld is not None:
                withheld[channel] += 1
            continue
        title, body = build(channel, prefs.language)
        out.append((channel, address, title, body, quiet if channel in DEFERRABLE else None))
    if "inbox" not in prefs.channels:  # the in-app inbox always keeps a copy: the app shows history
        title, body = build("inbox", prefs.language)
        out.append(("inbox", prefs.user_id, title, body, None))
    return out


def compose(event: Event, report: ReportFacts, targets: list[Target], people: dict[str, Preferences],
            web_base: str, now: str, withheld: Counter[str] | None = None) -> list[Message]:
    """One message per target and channel, in each person's language, deferred in quiet hours."""
    messages = []
    for target in targets:
        prefs = people.get(target.user_id) or Preferences(user_id=target.user_id)
        lang = prefs.language if prefs.language in LANGUAGES else "vi"

        def build(channel: str, language: str, kind: str = target.kind) -> tuple[str, str]:
            return render(kind, language, channel, _values(event, report, language, web_base))

        for channel, address, title, body, not_before in _for_person(prefs, event.event_id, now, False, build,
                                                                     withheld):
            messages.append(Message(
                id=message_id(event.event_id, target.user_id, channel), user_id=target.user_id, channel=channel,
                kind=target.kind, event_type=event.type, title=title, text=body, language=lang, at=event.at,
                address=address, report_id=report.id, tracking_code=report.tracking_code, not_before=not_before,
            ))
    return messages


# ------------------------------------------------------------------ government alerts


@dataclass(frozen=True)
class Alert:
    id: str
    kind: str
    severity: str
    title: dict[str, str]
    body: dict[str, str]
    starts_at: str
    expires_at: str
    units: tuple[str, ...] = ()
    polygon: dict[str, Any] | None = None  # a GeoJSON Polygon, when drawn instead of units
    created_at: str = ""
    created_by: str = ""

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "severity": self.severity, "title": dict(self.title),
                "body": dict(self.body), "starts_at": self.starts_at, "expires_at": self.expires_at,
                "units": list(self.units), **({"polygon": self.polygon} if self.polygon else {})}

    def active(self, now: str) -> bool:
        return self.starts_at <= now < self.expires_at


def alert_messages(alert: Alert, people: Iterable[Preferences], now: str,
                   withheld: Counter[str] | None = None) -> list[Message]:
    """One message per recipient and channel; SMS short and without diacritics."""
    urgent = alert.severity in URGENT_SEVERITIES
    messages = []
    for prefs in people:
        def build(channel: str, language: str) -> tuple[str, str]:
            lang = language if language in LANGUAGES else "vi"
            title, body = alert.title.get(lang) or alert.title["vi"], alert.body.get(lang) or alert.body["vi"]
            if channel == "sms":
                label = "CANH BAO" if lang == "vi" else "ALERT"
                return plain(title), _clip(plain(f"[{label}] {title}: {body}"), SMS_LIMIT, "...")
            return title, body

        for channel, address, title, body, not_before in _for_person(prefs, alert.id, now, urgent, build, withheld):
            messages.append(Message(
                id=message_id(f"alert:{alert.id}", prefs.user_id, channel), user_id=prefs.user_id,
                channel=channel, kind="alert", event_type=f"alert_{alert.kind}", title=title, text=body,
                language=prefs.language if prefs.language in LANGUAGES else "vi", at=alert.starts_at,
                address=address, alert_id=alert.id, not_before=not_before,
            ))
    return messages


def valid_hhmm(value: Any) -> bool:
    return isinstance(value, str) and bool(_HHMM.match(value))
