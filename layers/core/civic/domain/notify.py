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
from civic.domain.statuses import STATUSES
from civic.domain.statuses import label as status_label

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
HHMM = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")


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
    resolved_by: str | None = None
    senders: tuple[str, ...] = ()  # units that transferred it away and follow it (Report.transferred_from)


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
    public: bool = True  # on the public timeline: its author, followers and sending units hear of it

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

# The people an event concerns: each group's name (the README's table) and who they are for one event.
# `staff_of(unit)` → [(user_id, role)] of a unit's officers and leaders.
StaffOf = Callable[[str], list[tuple[str, str]]]
Who = Callable[[Event, ReportFacts, list[str], StaffOf], list[str]]


def _unit_staff(staff_of: StaffOf, unit: Any, roles: tuple[str, ...] = STAFF_ROLES) -> list[str]:
    return [uid for uid, role in (staff_of(unit) if isinstance(unit, str) and unit else []) if role in roles]


def _unit(e: Event, r: ReportFacts) -> str | None:
    return e.data.get("unit_code") or r.unit_code


def _in_unit(person: str | None, e: Event, r: ReportFacts, staff_of: StaffOf) -> bool:
    """A person (not a department code) who works in the report's unit now."""
    return bool(person) and person in _unit_staff(staff_of, _unit(e, r))


def _if_in_unit(person: Any, e: Event, r: ReportFacts, staff_of: StaffOf) -> list[str]:
    return [person] if isinstance(person, str) and _in_unit(person, e, r, staff_of) else []


def _else_officers(person: Callable[[Event, ReportFacts], str | None]) -> Who:
    def who(e: Event, r: ReportFacts, followers: list[str], staff_of: StaffOf) -> list[str]:
        found = person(e, r)
        return [found] if found and _in_unit(found, e, r, staff_of) else _unit_staff(staff_of, _unit(e, r), ("officer",))
    return who


WHO: dict[str, Who] = {
    "author": lambda e, r, f, s: [r.citizen_id],
    # Followers hear only what the public may see (the caller gives none while the report is hidden).
    "followers": lambda e, r, f, s: list(f) if e.public else [],
    # Units that transferred the report away follow it: told of every public step after.
    "sending units (earlier)": lambda e, r, f, s: [
        u for unit in r.senders if unit not in (r.unit_code, e.data.get("from_unit")) for u in _unit_staff(s, unit)
    ] if e.public else [],
    "unit staff": lambda e, r, f, s: _unit_staff(s, _unit(e, r)),
    "unit leaders": lambda e, r, f, s: _unit_staff(s, _unit(e, r), ("leader",)),
    "assigned officer": lambda e, r, f, s: _if_in_unit(r.assignee, e, r, s),
    # An assignee that is a department code (not a person) is told through its own channels.
    "new assignee": lambda e, r, f, s: _if_in_unit(e.data.get("assignee"), e, r, s),
    "receiving unit": lambda e, r, f, s: _unit_staff(s, e.data.get("to_unit")),
    "sending unit": lambda e, r, f, s: _unit_staff(s, e.data.get("from_unit")),
    "parent unit leaders": lambda e, r, f, s: _unit_staff(s, e.data.get("escalated_to"), ("leader",)),
    "assigned officer, else unit officers": _else_officers(lambda e, r: r.assignee),
    "author of the result, else unit officers": _else_officers(lambda e, r: r.resolved_by),
    "person warned, else unit staff": lambda e, r, f, s: (
        [n] if (n := e.data.get("notify")) and n != "unit" and _in_unit(n, e, r, s) else _unit_staff(s, _unit(e, r))),
}


@dataclass(frozen=True)
class Rule:
    """One line of who hears what: an event, when (in words, and as a test), whom, with which template."""

    event: str
    who: str
    template: str
    when: str = ""
    applies: Callable[[Event], bool] = lambda e: True
    to_actor: bool = False  # a confirmation the person who acted gets too


def _resolved(e: Event) -> bool:
    return e.status == "resolved"


def _unsatisfied(e: Event) -> bool:
    return e.data.get("satisfied") is False


CITIZENS = ("author", "followers")
SENDERS = "sending units (earlier)"


def _public(event: str, template: str, when: str = "", applies: Callable[[Event], bool] = lambda e: True) -> tuple[Rule, ...]:
    """A public event: the author, the followers and the units that sent the report away all hear it."""
    return (*(Rule(event, who, template, when, applies) for who in CITIZENS),
            Rule(event, SENDERS, "progress", when, applies))


# Who hears what. Every public event reaches the author, the followers and the sending units (their
# progress); an internal event that needs someone to act reaches them. The person who acted never hears
# of their own action, and nobody gets one event twice (the first line that names them wins).
RULES: tuple[Rule, ...] = (
    *_public("routed", "routed"),
    Rule("routed", "unit staff", "new_report"),
    *_public("needs_triage", "triage"),
    *_public("accept", "accepted"),
    # The author is told of every refusal (one for its content is internal, and tells them why).
    *_public("refuse", "refused"),
    *_public("transfer", "transferred"),
    Rule("transfer", "receiving unit", "new_report"),
    Rule("transfer", "sending unit", "transferred_out"),
    Rule("request_info", "author", "info_requested"),  # the question is the author's business
    Rule("request_info", "followers", "waiting_info"),
    Rule("request_info", SENDERS, "progress"),
    *_public("set_priority", "priority_changed"),
    *_public("resolve", "resolved", "published (status resolved)", _resolved),
    Rule("resolve", "unit leaders", "awaiting_approval", "awaiting approval", lambda e: e.status == "pending_approval"),
    *_public("approve", "resolved"),
    Rule("return", "author of the result, else unit officers", "returned"),
    *_public("reopen", "reopened"),
    Rule("reopen", "assigned officer", "reopened_staff"),
    Rule("reopen", "unit leaders", "reopened_staff"),
    Rule("assign", "new assignee", "assigned"),
    Rule("citizen_reply", "assigned officer, else unit officers", "citizen_reply"),
    Rule("partner_update", "assigned officer, else unit officers", "citizen_reply"),
    Rule("due_soon", "person warned, else unit staff", "due_soon"),
    Rule("overdue", "unit leaders", "overdue"),
    *_public("overdue", "overdue_public"),
    Rule("escalate_parent", "parent unit leaders", "escalated"),
    Rule("question_expired", "assigned officer, else unit officers", "question_expired"),
    *_public("closed", "closed"),
    # An unsatisfied author is told it reached the leader, who may reopen the report.
    Rule("rated", "author", "unsatisfied_recorded", "not satisfied", _unsatisfied, to_actor=True),
    Rule("rated", "unit leaders", "unsatisfied", "not satisfied", _unsatisfied),
    *_public("rated", "rated"),
    Rule("rating_changed", "author", "unsatisfied_recorded", "not satisfied", _unsatisfied, to_actor=True),
    Rule("rating_changed", "unit leaders", "unsatisfied", "not satisfied", _unsatisfied),
    *_public("rating_changed", "rated"),
    # Moderation: the author is told why the public no longer sees (all of) it; followers are not.
    Rule("hide", "author", "hidden"),
    Rule("flag_hidden", "author", "hidden"),
    Rule("redact", "author", "redacted"),
)

# Events nobody is told of, and why (the README lists them under the table).
QUIET: dict[str, str] = {
    "submitted": "the author's own act, answered at once with the tracking code; nobody follows it yet",
    "media_added": "a photo of the submission passed its checks; the author sent it",
    "media_refused": "shown with the file on the page that sent it (the form or the staff report page)",
    "evidence_requested": "the officer's own upload slots",
    "note": "an internal note, read on the report",
    "flag": "moderators work from the moderation queue",
    "unhide": "the report is public again; nothing to do",
    "hide_media": "a moderator's decision on one photo, on the report's timeline",
    "show_media": "a moderator's decision on one photo, on the report's timeline",
}


def audience(event: Event, report: ReportFacts, followers: Iterable[str], staff_of: StaffOf) -> list[Target]:
    """The people an event concerns and the template each gets, by RULES."""
    people = [f for f in followers if f != report.citizen_id]
    seen: set[str] = set()
    out: list[Target] = []
    for rule in RULES:
        if rule.event != event.type or not rule.applies(event):
            continue
        for user_id in WHO[rule.who](event, report, people, staff_of):
            if user_id in seen or (event.actor_id and user_id == event.actor_id and not rule.to_actor):
                continue
            seen.add(user_id)
            out.append(Target(user_id, rule.template))
    return out


def recipient_table() -> str:
    """RULES and QUIET as the README shows them (tests/unit/test_notify.py keeps the two equal)."""
    rows: dict[tuple[str, str], list[str]] = {}
    for r in RULES:
        cell = rows.setdefault((r.event, r.when), [])
        cell.append(f"{r.who}{' (even if they rated)' if r.to_actor else ''}: `{r.template}`")
    lines = ["| event | when | who: template |", "|---|---|---|"]
    lines += [f"| `{event}` | {when} | {'; '.join(cell)} |" for (event, when), cell in rows.items()]
    lines += ["", "Nobody is told of:", ""]
    lines += [f"- `{event}`: {why}" for event, why in QUIET.items()]
    return "\n".join(lines) + "\n"


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


UnitName = Callable[[str, str], str]  # (unit code, language) → the unit's name


def _code(code: str, language: str) -> str:
    return code


def _values(event: Event, report: ReportFacts, language: str, web_base: str, unit_name: UnitName = _code) -> dict[str, str]:
    data = event.data or {}

    def named(code: Any) -> str:  # people read a unit's name, never its code
        return unit_name(str(code), language) if code else ""
    reason = data.get("reason") or {}
    reason_text = reason.get("en" if language == "en" else "vi", "") if isinstance(reason, dict) else str(reason)
    answer = data.get("answer") or {}
    resolve_due = data.get("due_at") or report.due_at
    if event.type in ("routed", "transfer"):  # staff are told the acceptance deadline of a new report
        due = data.get("accept_due_at") or report.accept_due_at
    else:
        due = resolve_due
    en = language == "en"
    satisfied = data.get("satisfied")
    return {
        "code": report.tracking_code,
        "link": tracking_link(web_base, report.tracking_code),
        "reason": reason_text,
        "answer": answer.get("text", "") if isinstance(answer, dict) else str(answer),
        "to_unit": named(data.get("to_unit")),
        "due": local_time(due, language),
        "resolve_due": local_time(resolve_due, language),
        "question": str(data.get("question") or ""),
        "from_unit": named(data.get("from_unit")),
        "unit": named(report.unit_code),
        "status": status_label(event.status).get(language) if event.status in STATUSES else "",
        "rating": "" if satisfied is None else
        ("satisfied" if en else "hài lòng") if satisfied else ("not satisfied" if en else "không hài lòng"),
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
            web_base: str, now: str, withheld: Counter[str] | None = None,
            unit_name: UnitName = _code) -> list[Message]:
    """One message per target and channel, in each person's language, deferred in quiet hours."""
    messages = []
    for target in targets:
        prefs = people.get(target.user_id) or Preferences(user_id=target.user_id)
        lang = prefs.language if prefs.language in LANGUAGES else "vi"

        def build(channel: str, language: str, kind: str = target.kind) -> tuple[str, str]:
            return render(kind, language, channel, _values(event, report, language, web_base, unit_name))

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
    return isinstance(value, str) and bool(HHMM.match(value))
