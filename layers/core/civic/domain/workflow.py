"""The staff's actions on a report: who may do what, from which state, and what it becomes.

Pure: `plan(report, action, actor, ...)` validates an action and returns the next version of the
report and its timeline event, or raises WorkflowError. The caller writes both in one transaction
guarded by the version the officer saw.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from civic.clock import LOCAL_TZ
from civic.domain.calendar import WorkCalendar, parse_utc, to_iso
from civic.domain.moderation import MODERATOR_ROLES, hide_reason
from civic.domain.reports import MAX_ADDRESS, MAX_DESCRIPTION, PRIORITIES, Report, TimelineEvent, change
from civic.domain.statuses import STATUSES, WAITING_STATUSES, WORKING_STATUSES
from civic.i18n import Text, text

ACTIONS = (
    "accept", "refuse", "transfer", "assign", "set_priority", "note",
    "request_info", "resolve", "approve", "return", "reopen",
    "hide", "unhide", "redact", "hide_media", "show_media",
)
STAFF_ROLES = ("officer", "leader", "coordinator")
OPEN = WAITING_STATUSES + WORKING_STATUSES

# action -> (statuses it may start from, roles that may take it)
RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "accept": (("routed",), STAFF_ROLES),
    "refuse": (("routed", "accepted"), STAFF_ROLES),
    "transfer": (("needs_triage", "routed", "accepted"), STAFF_ROLES),
    "assign": (("accepted", "in_progress"), STAFF_ROLES),
    "set_priority": (OPEN, ("leader", "coordinator")),
    "note": (OPEN + ("refused", "resolved", "closed"), STAFF_ROLES),
    "request_info": (("routed", "accepted", "in_progress"), STAFF_ROLES),
    "resolve": (("accepted", "in_progress"), STAFF_ROLES),
    "approve": (("pending_approval",), ("leader", "coordinator")),
    "return": (("pending_approval",), ("leader", "coordinator")),
    "reopen": (("resolved", "closed"), ("leader", "coordinator")),  # e.g. after an unsatisfied rating
    # Moderation, in any status: what the public sees of the report (civic.domain.moderation).
    "hide": (STATUSES, MODERATOR_ROLES),
    "unhide": (STATUSES, MODERATOR_ROLES),
    "redact": (STATUSES, MODERATOR_ROLES),
    "hide_media": (STATUSES, MODERATOR_ROLES),
    "show_media": (STATUSES, MODERATOR_ROLES),
}
# action -> the body fields it takes (besides `action` and `version`); any other field is refused, so a
# field a client believes does something (a transfer's `due_at` before it existed) never passes silently.
FIELDS: dict[str, tuple[str, ...]] = {
    "accept": (),
    "refuse": ("reason", "text"),
    "transfer": ("to_unit", "to", "reason", "due_at"),
    "assign": ("to",),
    "set_priority": ("priority",),
    "note": ("text",),
    "request_info": ("question",),
    "resolve": ("answer", "evidence"),
    "approve": (),
    "return": ("reason",),
    "reopen": ("reason",),
    "hide": ("reason",),
    "unhide": ("reason",),
    "redact": ("description", "address", "reason"),
    "hide_media": ("media_id", "reason"),
    "show_media": ("media_id", "reason"),
}
ALWAYS_FIELDS = ("action", "version")
REFUSAL_REASONS = {
    "incomplete": text("Nội dung chưa đủ thông tin để xử lý", "Not enough information to act on"),
    "not_competent": text("Không thuộc thẩm quyền giải quyết", "Not within this unit's competence"),
    "duplicate": text("Trùng với phản ánh đã được tiếp nhận", "Duplicate of a report already accepted"),
    "not_public_matter": text("Không phải vấn đề công cộng", "Not a public matter"),
    "inappropriate": text("Nội dung không phù hợp", "Inappropriate content"),
}
MAX_TEXT = 4000
MIN_ANSWER = 10


class WorkflowError(Exception):
    """An action that cannot be taken: `kind` is invalid (400), illegal (409) or forbidden (404/403)."""

    def __init__(self, kind: str, message: Text, fields: dict[str, Text] | None = None, allowed: list[str] | None = None):
        super().__init__(message.en)
        self.kind = kind
        self.message = message
        self.fields = fields or {}
        self.allowed = allowed or []


@dataclass(frozen=True)
class Actor:
    user_id: str
    role: str  # officer | leader | coordinator
    units: tuple[str, ...] = ()


@dataclass
class Context:
    """What an action may need beyond the report: the unit tree and the deadlines (injected)."""

    now: str
    unit_exists: Callable[[str], bool] = lambda code: False
    parent_of: Callable[[str | None], str | None] = lambda code: None
    requires_approval: Callable[[str | None], bool] = lambda code: False
    evidence_optional: Callable[[str], bool] = lambda category: False
    # (whom, the report's unit) -> may the report be assigned to them: an active officer or leader of
    # that unit, or one of its departments. Nobody by default.
    may_be_assigned: Callable[[str, str | None], bool] = lambda whom, unit: False
    # (report, new priority, start) -> (accept_due_at, due_at)
    deadlines: Callable[[Report, str, str], tuple[str, str]] | None = None
    # The office calendar a deadline set by hand is counted in (a transfer's `due_at`).
    calendar: WorkCalendar | None = None
    extra: dict[str, Any] = field(default_factory=dict)


SLA_FLAGS = ("due_soon", "overdue", "escalated")


def _overdue_cleared(before: Report, after: Report) -> dict[str, Any]:
    from civic.domain.sla_watch import overdue_cleared

    return overdue_cleared(before, after)


def _deadline_in_effect(report: Report) -> str | None:
    from civic.domain.sla_watch import deadline_in_effect

    return deadline_in_effect(report)


# Moderation actions that make sense only in some moderation states (offered only then).
_APPLIES: dict[str, Callable[[Report], bool]] = {
    "hide": lambda r: r.hidden != "moderation",
    "unhide": lambda r: bool(r.hidden or r.review),
    "hide_media": lambda r: any(m.role == "report" and not m.hidden for m in r.media),
    "show_media": lambda r: any(m.hidden for m in r.media),
}


def _applies(action: str, report: Report) -> bool:
    check = _APPLIES.get(action)
    return check is None or check(report)


def allowed_actions(report: Report, actor: Actor) -> list[str]:
    return [a for a, (states, roles) in RULES.items()
            if report.status in states and actor.role in roles and _applies(a, report)]


def _text(body: dict[str, Any], name: str, *, required: bool, min_len: int = 1) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or len(value.strip()) < min_len or len(value) > MAX_TEXT:
        raise WorkflowError(
            "invalid",
            text("Thiếu hoặc sai nội dung", "Missing or invalid text"),
            {name: text(f"Bắt buộc, {min_len}–{MAX_TEXT} ký tự", f"Required, {min_len}–{MAX_TEXT} characters")},
        )
    return value.strip()


def plan(report: Report, body: dict[str, Any], actor: Actor, ctx: Context) -> tuple[Report, TimelineEvent]:
    """Validate `body` ({"action", ...}) for `actor` on `report`; the next version and its event."""
    action = body.get("action")
    if not isinstance(action, str) or action not in RULES:
        raise WorkflowError(
            "invalid", text("Thao tác không tồn tại", "Unknown action"),
            {"action": text(", ".join(ACTIONS), ", ".join(ACTIONS))},
        )
    unknown = sorted(set(body) - set(ALWAYS_FIELDS) - set(FIELDS[action]))
    if unknown:
        takes = ", ".join(FIELDS[action]) or "—"
        raise WorkflowError(
            "invalid", text(f"Thao tác '{action}' không nhận các trường này", f"The '{action}' action does not take these fields"),
            {name: text(f"Không dùng cho '{action}' (nhận: {takes})", f"Not taken by '{action}' (it takes: {takes})")
             for name in unknown},
        )
    states, roles = RULES[action]
    if actor.role not in roles:
        raise WorkflowError(
            "illegal",
            text(f"Vai trò '{actor.role}' không được '{action}'", f"The '{actor.role}' role may not '{action}'"),
            allowed=allowed_actions(report, actor),
        )
    if report.status not in states:
        raise WorkflowError(
            "illegal",
            text(f"Không thể '{action}' khi phản ánh đang ở trạng thái '{report.status}'",
                 f"'{action}' is not possible while the report is '{report.status}'"),
            allowed=allowed_actions(report, actor),
        )
    updates, data, public = _ACTIONS[action](report, body, ctx, actor)
    updated = change(report, at=ctx.now, **updates)
    if _deadline_in_effect(updated) != _deadline_in_effect(report):
        # A new clock (accepted, transferred, re-prioritised): the schedule's warnings start over.
        updated.flags = [f for f in updated.flags if f not in SLA_FLAGS]
    event = TimelineEvent(
        report_id=report.id,
        seq=updated.version,
        type=action,
        at=updated.updated_at,
        actor_role=actor.role,
        actor_id=actor.user_id,
        public=public,
        status=updated.status,
        # The category in every event lets statistics count it from the event alone (civic.domain.stats).
        data={"unit_code": report.unit_code, "category": report.category, **data,
              **_overdue_cleared(report, updated)},
    )
    return updated, event


# What an action's handler returns: the report's changes, the event's data, and whether the event is public.
Planned = tuple[dict[str, Any], dict[str, Any], bool]


def _accept(report: Report, body: dict[str, Any], ctx: Context, actor: Actor) -> Planned:
    return {"status": "accepted", "accepted_at": ctx.now}, {}, True


def _refuse(report: Report, body: dict[str, Any], ctx: Context, actor: Actor) -> Planned:
    code = body.get("reason")
    if not isinstance(code, str) or code not in REFUSAL_REASONS:
        raise WorkflowError("invalid", text("Cần lý do từ chối", "A refusal reason is required"),
                            {"reason": text(", ".join(REFUSAL_REASONS), ", ".join(REFUSAL_REASONS))})
    detail = _text(body, "text", required=False)
    reason = {"code": code, **REFUSAL_REASONS[code].as_dict(), **({"text": detail} if detail else {})}
    updates: dict[str, Any] = {"status": "refused", "accept_due_at": None, "due_at": None, **_NO_QUESTION}
    data: dict[str, Any] = {"reason": reason}
    if code == "inappropriate":  # refused for its content: taken down from every public surface, audit internal
        updates.update(hidden="inappropriate", review=None)
        data["hidden"] = "inappropriate"
        return updates, data, False
    return updates, data, True


def _transfer(report: Report, body: dict[str, Any], ctx: Context, actor: Actor) -> Planned:
    to_unit = body.get("to_unit") or (ctx.parent_of(report.unit_code) if body.get("to") == "superior" else None)
    if not isinstance(to_unit, str) or not ctx.unit_exists(to_unit) or to_unit == report.unit_code:
        raise WorkflowError("invalid", text("Đơn vị nhận không hợp lệ", "Invalid receiving unit"),
                            {"to_unit": text("Mã một đơn vị khác", "The code of another unit")})
    reason = _text(body, "reason", required=True)
    updates: dict[str, Any] = {"status": "routed", "unit_code": to_unit, "assignee": None, "accepted_at": None,
                               "routed_at": ctx.now, **_NO_QUESTION}
    if report.unit_code and report.unit_code not in report.transferred_from:
        # The sending unit keeps reading the report and hears of its progress (civic.services.staff, notify).
        updates["transferred_from"] = [*report.transferred_from, report.unit_code]
    if ctx.deadlines:  # both clocks start again, by the receiver's rules
        updates["accept_due_at"], updates["due_at"] = ctx.deadlines(replace(report, unit_code=to_unit),
                                                                    report.priority, ctx.now)
    data: dict[str, Any] = {"to_unit": to_unit, "from_unit": report.unit_code}
    if body.get("due_at") is not None:  # the sender sets the time for processing
        updates["due_at"] = _set_due(body["due_at"], updates.get("accept_due_at"), ctx)
        data["due_set"] = True
    data["due_at"] = updates.get("due_at", report.due_at)
    # Which units and the deadline are public; the staff's reason stays internal ("note").
    data["note"] = reason
    return updates, data, True


def _set_due(value: Any, accept_due_at: str | None, ctx: Context) -> str:
    """A resolution deadline set by staff: ISO-8601 with a zone, counted in office time (a moment outside
    office hours is the next office instant, as every computed deadline is), in the future and not before
    the acceptance deadline."""
    def refuse(vi: str, en: str) -> WorkflowError:
        return WorkflowError("invalid", text("Hạn xử lý không hợp lệ", "Invalid resolution deadline"),
                             {"due_at": text(vi, en)})

    example = ("Thời điểm ISO-8601 có múi giờ, ví dụ 2026-12-01T17:00:00+07:00",
               "An ISO-8601 time with a zone, e.g. 2026-12-01T17:00:00+07:00")
    if not isinstance(value, str) or len(value) > 40:
        raise refuse(*example)
    raw = value.strip()
    try:
        zoned = datetime.fromisoformat(raw[:-1] + "+00:00" if raw.endswith(("Z", "z")) else raw)
    except ValueError:
        raise refuse(*example) from None
    if zoned.tzinfo is None:  # a bare local time is ambiguous for a deadline: the sender says which zone
        raise refuse("Thiếu múi giờ (thêm +07:00 hoặc Z)", "The time needs a zone (add +07:00 or Z)")
    moment = parse_utc(raw)
    if ctx.calendar is not None:
        moment = ctx.calendar.next_office_instant(moment)
    due = to_iso(moment)
    if due <= ctx.now:
        raise refuse("Hạn xử lý đã qua", "The deadline is in the past")
    if accept_due_at and due < accept_due_at:
        shown = parse_utc(accept_due_at).astimezone(LOCAL_TZ).strftime("%H:%M %d/%m/%Y")
        raise refuse(f"Không được trước hạn tiếp nhận ({shown})", f"Not before the acceptance deadline ({shown})")
    return due


def _assign(report: Report, body: dict[str, Any], ctx: Context, actor: Actor) -> Planned:
    to = body.get("to")
    if not isinstance(to, str) or not 1 <= len(to) <= 128:
        raise WorkflowError("invalid", text("Cần người hoặc bộ phận được giao", "Whom to assign is required"),
                            {"to": text("Mã cán bộ hoặc bộ phận", "An officer's id or a department code")})
    if not ctx.may_be_assigned(to, report.unit_code):
        raise WorkflowError("invalid", text("Chỉ giao cho cán bộ hoặc bộ phận của đơn vị xử lý",
                                            "Assign only to an officer or a department of the handling unit"),
                            {"to": text("Không phải cán bộ đang làm việc hay bộ phận của đơn vị này",
                                        "Not an active officer or a department of this unit")})
    return {"status": "in_progress", "assignee": to}, {"assignee": to}, False


def _set_priority(report: Report, body: dict[str, Any], ctx: Context, actor: Actor) -> Planned:
    priority = body.get("priority")
    if not isinstance(priority, str) or priority not in PRIORITIES or priority == report.priority:
        raise WorkflowError("invalid", text("Mức ưu tiên không hợp lệ", "Invalid priority"),
                            {"priority": text(", ".join(PRIORITIES), ", ".join(PRIORITIES))})
    updates: dict[str, Any] = {"priority": priority}
    if ctx.deadlines and report.status in OPEN:
        start = report.routed_at or report.created_at
        updates["accept_due_at"], updates["due_at"] = ctx.deadlines(report, priority, start)
        if report.status != "routed":
            updates["accept_due_at"] = report.accept_due_at  # already accepted: keep what was met
    return updates, {"priority": priority, "due_at": updates.get("due_at", report.due_at)}, True


def _note(report: Report, body: dict[str, Any], ctx: Context, actor: Actor) -> Planned:
    return {}, {"note": _text(body, "text", required=True)}, False


def _request_info(report: Report, body: dict[str, Any], ctx: Context, actor: Actor) -> Planned:
    if report.awaiting_info_since:
        raise WorkflowError("illegal", text("Đang chờ người dân trả lời câu hỏi trước",
                                            "Still waiting for the citizen's answer to the previous question"))
    question = _text(body, "question", required=True)
    # The public timeline says information was requested; the question goes to the author only.
    return {"awaiting_info_since": ctx.now, "info_question": question}, {"question": question}, True


def _resolve(report: Report, body: dict[str, Any], ctx: Context, actor: Actor) -> Planned:
    answer = _text(body, "answer", required=True, min_len=MIN_ANSWER)
    evidence = body.get("evidence") or []
    ready = {m.media_id for m in report.media if m.status == "ready" and m.role == "evidence"}
    if not isinstance(evidence, list) or any(not isinstance(e, str) or e not in ready for e in evidence):
        raise WorkflowError("invalid", text("Tài liệu minh chứng không hợp lệ", "Invalid evidence"),
                            {"evidence": text("Mã các ảnh minh chứng đã tải lên và xử lý xong",
                                              "Ids of evidence uploads that are ready")})
    if not evidence and not ctx.evidence_optional(report.category):
        raise WorkflowError("invalid", text("Kết quả xử lý phải kèm ảnh hoặc tài liệu minh chứng",
                                            "A resolution needs evidence (photos or documents)"),
                            {"evidence": text("Bắt buộc với lĩnh vực này", "Required for this category")})
    pending = ctx.requires_approval(report.unit_code)
    status = "pending_approval" if pending else "resolved"
    data: dict[str, Any] = {"answer": {"text": answer}, "evidence": list(evidence)}
    if not pending:  # published now: what statistics need for handling time and "on time"
        data.update(submitted_at=report.created_at, due_at=report.due_at)
    updates = {"status": status, "answer": answer, "evidence": list(evidence), "resolved_by": actor.user_id,
               "resolved_at": None if pending else ctx.now, **_NO_QUESTION}
    # Not public until approved where the unit requires approval.
    return updates, data, not pending


def _approve(report: Report, body: dict[str, Any], ctx: Context, actor: Actor) -> Planned:
    if report.resolved_by == actor.user_id:
        raise WorkflowError("illegal", text("Không thể tự phê duyệt kết quả của mình",
                                            "A result cannot be approved by the person who wrote it"))
    data = {"answer": {"text": report.answer}, "evidence": report.evidence,
            "submitted_at": report.created_at, "due_at": report.due_at}  # for statistics
    return {"status": "resolved", "resolved_at": ctx.now}, data, True


def _return(report: Report, body: dict[str, Any], ctx: Context, actor: Actor) -> Planned:
    return {"status": "in_progress"}, {"note": _text(body, "reason", required=True)}, False


def _reopen(report: Report, body: dict[str, Any], ctx: Context, actor: Actor) -> Planned:
    reason = _text(body, "reason", required=True)
    updates: dict[str, Any] = {"status": "in_progress", "resolved_at": None, "resolved_by": None,
                     "flags": [f for f in report.flags if f != "unsatisfied"]}
    if ctx.deadlines:  # a new resolution deadline, counted from now
        _, updates["due_at"] = ctx.deadlines(report, report.priority, ctx.now)
    return updates, {"note": reason}, True


# ---------------------------------------------------------------- moderation (internal events: who, when, why)


def _hide(report: Report, body: dict[str, Any], ctx: Context, actor: Actor) -> Planned:
    if report.hidden == "moderation":
        raise WorkflowError("illegal", text("Phản ánh đã bị ẩn", "The report is already hidden"))
    why = _text(body, "reason", required=True)
    # The author is told the rule (data.reason); the moderator's own words stay internal (note).
    return {"hidden": "moderation", "review": None}, {"hidden": "moderation", "reason": hide_reason("moderation"),
                                                        "note": why}, False


def _unhide(report: Report, body: dict[str, Any], ctx: Context, actor: Actor) -> Planned:
    if not report.hidden and not report.review:
        raise WorkflowError("illegal", text("Phản ánh không bị ẩn", "The report is not hidden"))
    why = _text(body, "reason", required=True)
    # Reviewed and kept: earlier flags are settled (the same accounts cannot flag it again).
    return {"hidden": None, "review": None, "flag_count": 0}, {"was": report.hidden, "note": why}, False


def _redact(report: Report, body: dict[str, Any], ctx: Context, actor: Actor) -> Planned:
    redacted = dict(report.redacted or {})
    limits = {"description": MAX_DESCRIPTION, "address": MAX_ADDRESS}
    for name, limit in limits.items():
        if name not in body:
            continue
        value = body[name]
        if name == "address" and value is None:
            redacted[name] = None  # no public address at all
        elif isinstance(value, str) and 1 <= len(value.strip()) <= limit:
            redacted[name] = value.strip()
        else:
            raise WorkflowError("invalid", text("Nội dung công khai không hợp lệ", "Invalid public text"),
                                {name: text(f"1–{limit} ký tự", f"1–{limit} characters")})
    if redacted == (report.redacted or {}):
        raise WorkflowError("invalid", text("Cần nội dung công khai mới", "A new public text is required"),
                            {"description": text("Mô tả hoặc địa chỉ công khai", "The public description or address")})
    why = _text(body, "reason", required=True)
    reason = {"code": "redacted", "vi": "Nội dung công khai đã được biên tập", "en": "The public text was edited"}
    return {"redacted": redacted, "review": None}, {"redacted": sorted(k for k in limits if k in body),
                                                     "reason": reason, "note": why}, False


def _media_visibility(hidden: bool) -> Callable[[Report, dict[str, Any], Context, Actor], Planned]:
    def toggle(report: Report, body: dict[str, Any], ctx: Context, actor: Actor) -> Planned:
        media_id = body.get("media_id")
        item = next((m for m in report.media if m.media_id == media_id), None)
        if item is None or item.hidden == hidden:
            raise WorkflowError("invalid", text("Ảnh không hợp lệ", "Invalid photo"),
                                {"media_id": text("Mã một ảnh của phản ánh này", "The id of one of this report's photos")})
        why = _text(body, "reason", required=hidden)
        media = [replace(m, hidden=hidden) if m is item else m for m in report.media]
        return {"media": media}, {"media_id": item.media_id, "note": why}, False

    return toggle


_NO_QUESTION = {"awaiting_info_since": None, "info_question": None}  # a decision ends any pending question

_ACTIONS: dict[str, Callable[[Report, dict[str, Any], Context, Actor], Planned]] = {
    "accept": _accept, "refuse": _refuse, "transfer": _transfer, "assign": _assign,
    "set_priority": _set_priority, "note": _note, "request_info": _request_info, "resolve": _resolve,
    "approve": _approve, "return": _return, "reopen": _reopen,
    "hide": _hide, "unhide": _unhide, "redact": _redact,
    "hide_media": _media_visibility(True), "show_media": _media_visibility(False),
}
