"""Staff use cases: who sees which reports, the inbox, the full record, actions, evidence uploads.

Visibility: officers and leaders see the reports of their own units; coordinators see their
units' whole subtrees and everything awaiting triage. A unit that transferred a report away keeps
reading it (and follows it, civic.domain.notify) but no longer acts on it. A report outside that is
"not found" (404), so its existence never leaks to another ward.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from civic.domain.categories import all_categories, require_category
from civic.domain.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge
from civic.domain.moderation import hide_reason, is_public
from civic.domain.ports import ConcurrentChange, ReportStore, UploadSigner
from civic.domain.reports import (
    FLAG_TEXT,
    REPORT_ID,
    TRIAGE_QUEUE,
    MediaItem,
    Report,
    TimelineEvent,
    change,
    media_detail,
    media_kind,
    owner_view,
)
from civic.domain.sla_watch import deadline_in_effect
from civic.domain.statuses import STATUSES
from civic.domain.units import UnitTree
from civic.domain.workflow import OPEN, Actor, Context, WorkflowError, allowed_actions, plan
from civic.i18n import text

if TYPE_CHECKING:
    from civic.domain.inputs import EvidenceRequest
    from civic.settings import Settings

# A moderator only moderates (civic.domain.moderation), everywhere; a staff role outranks it.
ROLE_RANK = {"moderator": 0, "officer": 1, "leader": 2, "coordinator": 3}
MAX_REVIEW = 500  # the moderation queue lists at most this many reports
MAX_EVIDENCE_TOTAL = 20  # per report


@dataclass(frozen=True)
class StaffMember:
    user_id: str
    role: str
    units: tuple[str, ...]

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.role, self.units)


def member_from(user_id: str, groups: set[str], units: list[str]) -> StaffMember | None:
    """The staff role is the highest staff group the user is in; None for citizens and admins."""
    roles = [g for g in groups if g in ROLE_RANK]
    if not roles:
        return None
    return StaffMember(user_id, max(roles, key=ROLE_RANK.__getitem__), tuple(units))


def _subtree(tree: UnitTree, roots: tuple[str, ...]) -> set[str]:
    out = set(roots)
    for code in tree.by_code:
        if any(a in roots for a in tree.ancestors(code)):
            out.add(code)
    return out


def can_handle(member: StaffMember, report: Report, tree: UnitTree) -> bool:
    """Whether the member works on the report (acts on it), not only reads it."""
    if member.role == "moderator":
        return True
    if member.role == "coordinator":
        return report.status == "needs_triage" or report.unit_code in _subtree(tree, member.units)
    return report.unit_code in member.units


def sent_it(member: StaffMember, report: Report) -> bool:
    """One of the member's units transferred the report away (it follows it, read-only)."""
    return bool(set(report.transferred_from) & set(member.units))


def can_see(member: StaffMember, report: Report, tree: UnitTree) -> bool:
    return can_handle(member, report, tree) or sent_it(member, report)


def _visible(store: ReportStore, member: StaffMember, report_id: str, tree: UnitTree, *, handle: bool = False) -> Report:
    report = store.get(report_id) if isinstance(report_id, str) and REPORT_ID.match(report_id) else None
    if report is None or not can_see(member, report, tree):
        raise NotFound("Không tìm thấy phản ánh", "Report not found")
    if handle and not can_handle(member, report, tree):
        raise Forbidden(text("Đơn vị của bạn đã chuyển phản ánh này cho đơn vị khác: chỉ được xem",
                             "Your unit transferred this report to another unit: you may only read it"),
                        code="transferred_away")
    return report


def _related(store: ReportStore, member: StaffMember, tree: UnitTree, report_id: str) -> dict[str, Any] | None:
    """Another report a flag points at: its id and code, and whether this member may open it in the
    portal (else the public tracking page is the link)."""
    other = store.get(report_id) if REPORT_ID.match(report_id) else None
    if other is None:
        return None
    return {"id": other.id, "tracking_code": other.tracking_code, "status": other.status,
            "staff_visible": can_see(member, other, tree)}


def flag_details(report: Report, store: ReportStore, member: StaffMember, tree: UnitTree) -> list[dict[str, Any]]:
    """Each flag in words with what it points at: the other report of a probable duplicate or of a
    reused photo, the distance of a photo taken far away. One entry per flag and item."""
    from civic.services.media import FAR_FROM_LOCATION_M

    out: list[dict[str, Any]] = []
    for flag in report.flags:
        label = FLAG_TEXT.get(flag)
        base = {"flag": flag, "label": label.as_dict() if label else {"vi": flag, "en": flag}}
        if flag == "probable_duplicate" and report.duplicate_of:
            out.append({**base, "report": _related(store, member, tree, report.duplicate_of)})
        elif flag == "reused_photo":
            reused = [m for m in report.media if m.reused_from]
            out += [{**base, "media_id": m.media_id, "report": _related(store, member, tree, m.reused_from or "")}
                    for m in reused] or [base]
        elif flag == "photo_far_from_location":
            far = [m for m in report.media if m.gps_distance_m is not None and m.gps_distance_m > FAR_FROM_LOCATION_M]
            out += [{**base, "media_id": m.media_id, "distance_m": m.gps_distance_m,
                     "threshold_m": int(FAR_FROM_LOCATION_M)} for m in far] or [base]
        else:
            out.append(base)
    return out


def staff_view(
    report: Report, events: list[TimelineEvent], member: StaffMember, settings: Settings,
    flags: list[dict[str, Any]] | None = None, handles: bool = True, tree: UnitTree | None = None,
) -> dict[str, Any]:
    """Everything staff work with: internal notes, the whole timeline, what they may do next."""
    category = all_categories().get(report.category)
    view = owner_view(report, category, settings.media_base_url)
    view.pop("is_owner", None)
    view["media"] = [
        {**media_detail(m, settings.media_base_url),
         # The photo checks, for staff: how far from the reported place it was taken, whose it was first.
         **({"gps_distance_m": m.gps_distance_m} if m.gps_distance_m is not None else {}),
         **({"reused_from": m.reused_from} if m.reused_from else {})}
        for m in report.media
    ]
    view["flags"] = list(report.flags)  # all of them: photo checks and deadline marks are for staff
    view["flag_details"] = flags if flags is not None else [
        {"flag": f, "label": (FLAG_TEXT[f].as_dict() if f in FLAG_TEXT else {"vi": f, "en": f})} for f in report.flags]
    view["question"] = report.info_question
    view.update(
        version=report.version,
        assignee=report.assignee,
        answer=report.answer,
        evidence=report.evidence,
        awaiting_info_since=report.awaiting_info_since,
        # Moderation: what the public sees and why (the original text stays above).
        moderation={"hidden": hide_reason(report.hidden), "public": is_public(report, category),
                    "redacted": report.redacted, "flag_count": report.flag_count, "review": report.review},
        # "transferred": my unit sent it away and follows it (read-only); "handling": mine to work on.
        access="handling" if handles else "transferred",
        transferred_from=list(report.transferred_from),
        allowed_actions=allowed_actions(report, member.actor) if handles else [],
        timeline=[
            {"seq": e.seq, "type": e.type, "at": e.at, "by": e.actor_role,
             # An anonymous citizen stays anonymous to staff too.
             "actor_id": None if (report.anonymous and e.actor_role == "citizen") else e.actor_id,
             "public": e.public, "status": e.status, "data": e.data}
            for e in events
        ],
    )
    if tree is not None:  # units by name, as the public pages show them (codes stay for links and filters)
        from civic.services.intake import named, named_event, unit_names

        names = unit_names(tree)
        named(view, report, names)
        view["timeline"] = [named_event(e, names) for e in view["timeline"]]
    if report.anonymous:
        view["citizen"] = "anonymous"
    return view


def detail(
    store: ReportStore, member: StaffMember, report_id: str, tree: UnitTree, settings: Settings
) -> dict[str, Any]:
    report = _visible(store, member, report_id, tree)
    return staff_view(report, store.timeline(report.id), member, settings, flag_details(report, store, member, tree),
                      can_handle(member, report, tree), tree)


def inbox(
    store: ReportStore, member: StaffMember, params: Mapping[str, str], tree: UnitTree, settings: Settings,
    due_state: Callable[[str | None], str],
) -> dict[str, Any]:
    """Open reports of my units, filtered, sorted by due time (soonest first), paged by offset cursor."""
    items, limit, offset = _inbox_matches(store, member, params, tree, due_state)
    page = items[offset: offset + limit]
    return {
        "items": [
            {"id": r.id, "tracking_code": r.tracking_code, "status": r.status, "priority": r.priority,
             "category": r.category, "unit_code": r.unit_code, "description": r.description[:200],
             "created_at": r.created_at, "accept_due_at": r.accept_due_at, "due_at": r.due_at,
             "due_state": state, "assignee": r.assignee, "version": r.version, "flags": r.flags}
            for r, state in page
        ],
        "next_cursor": str(offset + limit) if offset + limit < len(items) else None,
        "total": len(items),
    }


def inbox_matches(
    store: ReportStore, member: StaffMember, params: Mapping[str, str], tree: UnitTree,
    due_state: Callable[[str | None], str],
) -> list[tuple[Report, str]]:
    """Every (report, due state) the inbox with these filters would list, in its order (the CSV export)."""
    return _inbox_matches(store, member, params, tree, due_state)[0]


def _inbox_matches(
    store: ReportStore, member: StaffMember, params: Mapping[str, str], tree: UnitTree,
    due_state: Callable[[str | None], str],
) -> tuple[list[tuple[Report, str]], int, int]:
    allowed = {"status", "priority", "category", "due", "q", "limit", "cursor", "queue"}
    queues = ("units", "transferred", "moderation")
    unknown = set(params) - allowed
    if unknown:
        raise Invalid("unknown_parameter", text("Tham số không được hỗ trợ", "Unknown query parameter"),
                          {n: text("Không hỗ trợ", "Not supported") for n in sorted(unknown)})
    statuses = [params["status"]] if params.get("status") else list(OPEN)
    if any(s not in OPEN + ("refused", "resolved", "closed") for s in statuses):
        raise Invalid("unknown_status", text("Trạng thái không tồn tại", "Unknown status"))
    if params.get("category"):
        require_category(params["category"])
    due = params.get("due")
    if due and due not in ("on_time", "due_soon", "overdue", "none"):
        raise Invalid("invalid_request", text("Tham số không hợp lệ", "Invalid parameter"),
                          {"due": text("on_time, due_soon, overdue, none", "on_time, due_soon, overdue, none")})
    try:
        limit = min(max(int(params.get("limit", "50")), 1), 100)
        offset = max(int(params.get("cursor", "0")), 0)
    except ValueError:
        raise Invalid("invalid_request", text("Tham số phân trang không hợp lệ", "Invalid paging parameters")) from None
    queue = params.get("queue")
    if queue not in (None, "", *queues):
        raise Invalid("invalid_request", text("Tham số không hợp lệ", "Invalid parameter"),
                      {"queue": text(", ".join(queues), ", ".join(queues))})
    if member.role == "moderator" and queue != "moderation":
        raise Invalid("invalid_request", text("Người kiểm duyệt dùng hàng đợi kiểm duyệt", "Moderators use the moderation queue"),
                      {"queue": text("moderation", "moderation")})
    if queue == "moderation":
        # Reports a moderator must look at (flagged, or hidden pending review), in any status, that I may see.
        statuses = statuses if params.get("status") else list(STATUSES)
        found = [r for r in store.review_queue(MAX_REVIEW) if can_see(member, r, tree)]
    elif queue == "transferred":
        # Reports my units sent to another unit, in any status (the sender follows them to the end);
        # one that came back to my units is in my own queue again.
        statuses = statuses if params.get("status") else list(STATUSES)
        found = [r for r in store.transferred_by(list(member.units)) if not can_handle(member, r, tree)]
    else:
        units = sorted(_subtree(tree, member.units)) if member.role == "coordinator" else list(member.units)
        found = store.by_units(units, statuses)
    if queue in (None, "", "units") and member.role == "coordinator" and "needs_triage" in statuses:
        found += [r for r in store.by_units([TRIAGE_QUEUE], ["needs_triage"]) if r.id not in {f.id for f in found}]
    q = (params.get("q") or "").strip().lower()
    items = []
    for report in found:
        # The SLA schedule's mark counts too: it may have run with the schedule's own clock.
        state = "overdue" if "overdue" in report.flags else due_state(deadline_in_effect(report))
        if report.status not in statuses:
            continue
        if params.get("priority") and report.priority != params["priority"]:
            continue
        if params.get("category") and report.category != params["category"]:
            continue
        if due and state != due:
            continue
        if q and q not in report.description.lower() and q not in (report.address or "").lower() and q != report.tracking_code.lower():
            continue
        items.append((report, state))
    items.sort(key=lambda pair: (deadline_in_effect(pair[0]) or "9999", pair[0].created_key))
    return items, limit, offset


def act(
    store: ReportStore, member: StaffMember, report_id: str, body: Any, seen_version: int | None,
    tree: UnitTree, ctx: Context, settings: Settings,
) -> dict[str, Any]:
    """Take one action on the version the officer saw; one transaction with its timeline event."""
    if not isinstance(body, dict):
        raise Invalid("invalid_request", text("Nội dung phải là một đối tượng JSON", "The body must be a JSON object"))
    report = _visible(store, member, report_id, tree, handle=True)
    version = body.get("version", seen_version)
    if not isinstance(version, int) or isinstance(version, bool):
        raise Invalid("version_required", text("Cần phiên bản phản ánh đã xem (version hoặc If-Match)",
                                                   "The report version you saw is required (version or If-Match)"))
    if version != report.version:
        raise _conflict(report)
    try:
        updated, event = plan(report, body, member.actor, ctx)
    except WorkflowError as exc:
        raise _workflow_error(exc) from None
    try:
        store.save(updated, report.version, event)
    except ConcurrentChange:
        raise _conflict(store.get(report.id) or report) from None
    # After a transfer my unit follows it read-only: the answer shows it so, not as if I still handled it.
    return staff_view(updated, store.timeline(report.id), member, settings, flag_details(updated, store, member, tree),
                      can_handle(member, updated, tree), tree)


def request_evidence(
    store: ReportStore, signer: UploadSigner, member: StaffMember, report_id: str, request: EvidenceRequest,
    tree: UnitTree, settings: Settings, now: str,
) -> dict[str, Any]:
    """POST /v1/staff/reports/{id}/evidence: presigned uploads for evidence (photos, videos, PDF documents),
    checked by the media pipeline like a citizen's files."""
    from civic.services.intake import upload_slots

    if member.role == "moderator":  # moderators only moderate
        raise Forbidden(text("Người kiểm duyệt không xử lý phản ánh", "Moderators do not handle reports"))
    report = _visible(store, member, report_id, tree, handle=True)
    for index, item in enumerate(request.media):
        limit = settings.max_upload_bytes(media_kind(item.content_type))
        if item.size > limit:
            raise TooLarge("media_too_large", text("Tệp quá lớn", "File too large"),
                           {f"media.{index}.size": text(f"Tối đa {limit // 2**20} MB", f"At most {limit // 2**20} MB")})
    if report.status not in ("accepted", "in_progress"):
        raise Conflict("illegal_action", text("Chỉ thêm minh chứng khi đang xử lý", "Evidence is added while handling"))
    if sum(1 for m in report.media if m.role == "evidence") + len(request.media) > MAX_EVIDENCE_TOTAL:
        raise TooLarge("too_much_evidence",
                       text(f"Tối đa {MAX_EVIDENCE_TOTAL} tệp minh chứng", f"At most {MAX_EVIDENCE_TOTAL} evidence files"))
    items = [
        MediaItem(media_id=uuid.uuid4().hex[:12], kind=media_kind(m.content_type), content_type=m.content_type,
                  declared_size=m.size, role="evidence", uploader=member.user_id)
        for m in request.media
    ]
    updated = change(report, at=now, media=report.media + items)
    event = TimelineEvent(report.id, updated.version, "evidence_requested", now, member.role, member.user_id,
                          public=False, status=updated.status, data={"media_ids": [i.media_id for i in items]})
    try:
        store.save(updated, report.version, event)
    except ConcurrentChange:
        raise _conflict(store.get(report.id) or report) from None
    mine = {i.media_id for i in items}  # only this request's slots, signed for this member
    slots = [slot for slot in upload_slots(updated, signer, settings, role="evidence") if slot["media_id"] in mine]
    return {"version": updated.version, "uploads": slots}


@lru_cache(maxsize=1)
def _templates() -> dict[str, list[dict[str, Any]]]:
    """Answer templates by category code ("*": for every category)."""
    data: dict[str, list[dict[str, Any]]] = json.loads(
        resources.files("civic").joinpath("data/answer_templates.json").read_text("utf-8")
    )
    return data


def templates(category: str | None) -> dict[str, Any]:
    data = _templates()
    if category:
        require_category(category)
        return {"items": data.get(category, []) + data.get("*", [])}
    return {"items": [t for items in data.values() for t in items]}


def _conflict(current: Report) -> Conflict:
    error = Conflict(
        "version_conflict",
        text("Phản ánh vừa được người khác cập nhật; hãy tải lại", "Someone else changed this report; reload it"),
        {"version": text(f"Phiên bản hiện tại: {current.version}", f"Current version: {current.version}")},
    )
    return error


def _workflow_error(exc: WorkflowError) -> Conflict | Invalid:
    if exc.kind == "illegal":
        allowed = ", ".join(exc.allowed) or "-"
        return Conflict("illegal_action", exc.message, {"allowed_actions": text(allowed, allowed)})
    return Invalid("invalid_action", exc.message, exc.fields)
