"""Reports and their timeline: the shapes, the submission rules, and what each reader may see."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from civic.domain import geo
from civic.domain.categories import Category
from civic.domain.moderation import hide_reason, public_media, public_text
from civic.i18n import text

if TYPE_CHECKING:
    from civic.domain.submission import ReportSubmission

# The lifecycle of DESIGN.md; transitions other than submission arrive with the staff workflow.
PRIORITIES = ("normal", "urgent", "complex")
TRIAGE_QUEUE = "#triage"  # the staff queue of reports no unit handles yet
REPORT_ID = re.compile(r"^[0-9a-f]{32}$")
# Flags the author may see; the others (reused or distant photos, deadline marks) are for staff.
OWNER_FLAGS = ("probable_duplicate",)
# What each flag tells staff, in words (the staff report page shows these, with what they point at).
FLAG_TEXT = {
    "probable_duplicate": text("Có thể trùng với phản ánh khác đang mở gần đó",
                               "Probably a duplicate of another open report nearby"),
    "reused_photo": text("Ảnh đã được dùng trong phản ánh khác", "A photo was already sent with another report"),
    "photo_far_from_location": text("Ảnh được chụp xa vị trí phản ánh", "A photo was taken far from the reported place"),
    "overdue": text("Quá hạn", "Overdue"),
    "due_soon": text("Sắp đến hạn", "Due soon"),
    "escalated": text("Đã báo cáo cấp trên", "Escalated to the unit above"),
    "unsatisfied": text("Người dân chưa hài lòng với kết quả", "The citizen is not satisfied with the result"),
}

MAX_DESCRIPTION = 4000
MAX_ADDRESS = 300
MAX_MEDIA = 5
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic")
VIDEO_TYPES = ("video/mp4", "video/quicktime")
# Documents are evidence of a result only: a citizen's report is published as it comes, and a PDF
# cannot be re-encoded from pixels or masked like its text (civic.domain.privacy).
DOCUMENT_TYPES = ("application/pdf",)
MEDIA_TYPES = {"report": PHOTO_TYPES + VIDEO_TYPES, "evidence": PHOTO_TYPES + VIDEO_TYPES + DOCUMENT_TYPES}

# Tracking codes: no 0/O, 1/I/L, U/V look-alikes, so they survive being read aloud or retyped.
TRACKING_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
TRACKING_LENGTH = 6


def new_tracking_code(prefix: str) -> str:
    body = "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(TRACKING_LENGTH))
    return f"{prefix}-{body}"


def normalise_tracking_code(raw: str) -> str:
    """Accepts what people type: lower case, spaces, a missing dash."""
    cleaned = raw.strip().upper().replace(" ", "")[:32]  # codes are ~9 characters; keys stay small
    if "-" not in cleaned and len(cleaned) > TRACKING_LENGTH:
        cleaned = f"{cleaned[:-TRACKING_LENGTH]}-{cleaned[-TRACKING_LENGTH:]}"
    return cleaned


# ---------------------------------------------------------------- the report


@dataclass
class MediaItem:
    media_id: str
    kind: Literal["photo", "video", "document"]
    content_type: str
    declared_size: int
    status: Literal["pending", "ready", "refused"] = "pending"
    reason: dict[str, str] | None = None  # {"code", "vi", "en"} when refused
    renditions: dict[str, str] = field(default_factory=dict)  # name -> media-bucket key without extension
    formats: list[str] = field(default_factory=list)  # "jpeg", "webp" (photos); the content type (videos)
    gps_distance_m: int | None = None  # from the photo's EXIF position to the reported place
    taken_at: str | None = None  # EXIF capture time, as written by the camera
    sha256: str | None = None  # of the original upload: spots a photo reused from another report
    reused_from: str | None = None  # the report that sent the same photo first (staff only)
    role: Literal["report", "evidence"] = "report"  # the citizen's photos, or staff's evidence of a result
    uploader: str | None = None  # who may upload it (None: the report's author)
    hidden: bool = False  # taken down by a moderator: staff and the author still see it
    pages: int | None = None  # a document's page count, shown beside its link
    # Where the author's phone read the photo was taken (its EXIF, before shrinking it): used when the
    # uploaded file carries no position of its own. Never shown; only its distance is kept.
    declared_lat: float | None = None
    declared_lon: float | None = None


@dataclass
class Report:
    id: str
    tracking_code: str
    status: str
    category: str
    description: str
    lat: float
    lon: float
    citizen_id: str
    created_at: str
    updated_at: str
    version: int = 1
    address: str | None = None
    anonymous: bool = False
    priority: str = "normal"
    unit_code: str | None = None
    due_at: str | None = None  # resolution deadline
    accept_due_at: str | None = None  # acceptance deadline
    duplicate_of: str | None = None  # a probable duplicate of this open report (shown, never hidden)
    routed_at: str | None = None
    accepted_at: str | None = None
    resolved_at: str | None = None
    assignee: str | None = None  # an officer's id or a department's code (staff only)
    answer: str | None = None  # the published result
    evidence: list[str] = field(default_factory=list)  # media ids of the result's evidence
    awaiting_info_since: str | None = None  # the unit asked the citizen; the clock is paused
    info_question: str | None = None  # what the unit asked (the author sees it; the public does not)
    resolved_by: str | None = None  # who wrote the result (may not approve it)
    rating: dict[str, Any] | None = None  # {"satisfied", "stars", "at"} from the author; the comment stays internal
    media: list[MediaItem] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    # Moderation (civic.domain.moderation): why it is hidden from the public, staff's public version of
    # the text ({"description", "address"}), how many accounts flagged it, and whether a moderator must look.
    hidden: str | None = None
    redacted: dict[str, Any] | None = None
    flag_count: int = 0
    review: str | None = None
    # Units that transferred the report away, in order: they keep reading it and hear of its progress.
    transferred_from: list[str] = field(default_factory=list)

    @property
    def cell(self) -> str:
        return geo.cell_of(self.lat, self.lon)

    @property
    def published_location(self) -> tuple[float, float]:
        """Where the public may see (and search for) the report: rounded in private categories."""
        from civic.domain.categories import all_categories

        category = all_categories().get(self.category)
        if category and category.private_location:
            return geo.rounded(self.lat, self.lon)
        return self.lat, self.lon

    @property
    def created_key(self) -> str:
        """Sort key for newest-first listings; the id breaks ties between equal timestamps."""
        return f"{self.created_at}#{self.id}"


@dataclass
class TimelineEvent:
    report_id: str
    seq: int  # the report's version after this change: one event per version, in order
    type: str
    at: str
    actor_role: str  # citizen | officer | system | ...
    actor_id: str | None = None
    public: bool = True
    status: str | None = None  # the report's status after the change
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def event_id(self) -> str:
        return f"{self.report_id}:{self.seq}"


def upload_key(report_id: str, media_id: str) -> str:
    return f"uploads/{report_id}/{media_id}"


def media_kind(content_type: str) -> Literal["photo", "video", "document"]:
    if content_type in DOCUMENT_TYPES:
        return "document"
    return "video" if content_type in VIDEO_TYPES else "photo"


def new_report(
    submission: ReportSubmission,
    *,
    citizen_id: str,
    tracking_code: str,
    now: str,
    report_id: str | None = None,
) -> tuple[Report, TimelineEvent]:
    """A fresh report in `submitted` and its first timeline event."""
    report = Report(
        id=report_id or uuid.uuid4().hex,
        tracking_code=tracking_code,
        status="submitted",
        category=submission.category,
        description=submission.description,
        lat=submission.lat,
        lon=submission.lon,
        address=submission.address,
        anonymous=submission.anonymous,
        citizen_id=citizen_id,
        created_at=now,
        updated_at=now,
        media=[
            MediaItem(
                media_id=uuid.uuid4().hex[:12],
                kind=media_kind(m.content_type),
                content_type=m.content_type,
                declared_size=m.size,
                declared_lat=m.lat,
                declared_lon=m.lon,
            )
            for m in submission.media
        ],
    )
    event = TimelineEvent(
        report_id=report.id,
        seq=report.version,
        type="submitted",
        at=now,
        actor_role="citizen",
        actor_id=citizen_id,
        status=report.status,
        data={"category": report.category, "media_count": len(report.media)},
    )
    if submission.answers:  # for staff: answers may hold what a citizen would not publish
        event.data["answers"] = dict(submission.answers)
    return report, event


def change(report: Report, *, at: str, **updates: Any) -> Report:
    """The next version of a report; callers pair it with exactly one timeline event, stamped with
    the new `updated_at`. Times never go backwards along the versions, even when a writer that read
    the clock earlier retries after a concurrent change."""
    return replace(report, version=report.version + 1, updated_at=max(at, report.updated_at), **updates)


# ---------------------------------------------------------------- views


# File extension of each stored format (photo renditions by format, videos and documents by content type).
EXTENSIONS = {"jpeg": "jpg", "webp": "webp", "video/mp4": "mp4", "video/quicktime": "mov", "application/pdf": "pdf"}


def _media_public(item: MediaItem, media_base_url: str, image_format: str = "jpeg") -> dict[str, Any]:
    """A media item with rendition URLs in the format the client accepts (WebP or JPEG)."""
    out: dict[str, Any] = {"media_id": item.media_id, "kind": item.kind, "status": item.status}
    if item.status == "ready":
        fmt = image_format if image_format in item.formats else (item.formats[0] if item.formats else "jpeg")
        base = media_base_url.rstrip("/")
        out["format"] = fmt
        out["renditions"] = {name: f"{base}/{stem}.{EXTENSIONS[fmt]}" for name, stem in item.renditions.items()}
        if item.pages is not None:
            out["pages"] = item.pages
    return out


def _met(done_at: str | None, due: str | None) -> bool | None:
    return None if not done_at or not due else done_at <= due


def public_view(report: Report, category: Category | None, media_base_url: str, image_format: str = "jpeg") -> dict[str, Any]:
    """What anyone may see: never the citizen's identity; private categories' places rounded."""
    private = bool(category and category.private_location)
    lat, lon = report.published_location
    published = report.status in ("resolved", "closed") and bool(report.answer)
    description, address = public_text(report)
    return {
        "id": report.id,
        "tracking_code": report.tracking_code,
        "status": report.status,
        "category": report.category,
        "category_name": category.name.as_dict() if category else None,
        "description": description,
        "location": {"lat": lat, "lon": lon, "precision": "approximate" if private else "exact"},
        "address": None if private else address,
        "unit_code": report.unit_code,
        "priority": report.priority,
        "created_at": report.created_at,
        "updated_at": report.updated_at,
        "due_at": report.due_at,
        "accept_due_at": report.accept_due_at,
        # Whether the deadlines were met, for everyone to see (None while it is not decided yet).
        "accepted_on_time": _met(report.accepted_at, report.accept_due_at),
        "resolved_on_time": _met(report.resolved_at, report.due_at),
        "duplicate_of": report.duplicate_of,
        # Only finished renditions are public; pending or refused items are the owner's business;
        # evidence only with a published result.
        "media": [
            _media_public(m, media_base_url, image_format)
            for m in report.media
            if public_media(m) and (m.role == "report" or (published and m.media_id in report.evidence))
        ],
        "result": {"answer": report.answer, "resolved_at": report.resolved_at} if published else None,
        "rating": {k: report.rating[k] for k in ("satisfied", "stars")} if report.rating else None,
    }


def media_detail(item: MediaItem, media_base_url: str, image_format: str = "jpeg") -> dict[str, Any]:
    """A media item with its state for those who may see every state (its author, the staff)."""
    entry = _media_public(item, media_base_url, image_format)
    entry["content_type"] = item.content_type
    entry["size"] = item.declared_size  # a file chosen again for a pending item must fit it
    entry["role"] = item.role
    if item.hidden:
        entry["hidden"] = True
    if item.reason:
        entry["reason"] = item.reason
    return entry


def owner_view(report: Report, category: Category | None, media_base_url: str, image_format: str = "jpeg") -> dict[str, Any]:
    """The author's own view: the exact place, the anonymity choice, every media item's state."""
    view = public_view(report, category, media_base_url, image_format)
    view["location"] = {"lat": report.lat, "lon": report.lon, "precision": "exact"}
    view["description"] = report.description  # as written: the author's own contact details too
    view["address"] = report.address
    view["anonymous"] = report.anonymous
    evidence = [m for m in view["media"] if m["media_id"] in report.evidence]  # with a published result
    view["media"] = [media_detail(m, media_base_url, image_format) for m in report.media if m.role == "report"]
    view["media"] += evidence
    view["flags"] = [f for f in report.flags if f in OWNER_FLAGS]
    if report.hidden:  # the author is told why the public no longer sees it
        view["hidden"] = hide_reason(report.hidden)
    if report.redacted:
        view["public_description"] = public_text(report)[0]  # what the public reads instead
    if report.awaiting_info_since:
        view["question"] = {"text": report.info_question, "since": report.awaiting_info_since}
    view["is_owner"] = True
    return view


def public_event(event: TimelineEvent) -> dict[str, Any]:
    """A timeline entry for the public history: what happened and when, never who (by id)."""
    return {
        "seq": event.seq,
        "type": event.type,
        "at": event.at,
        "by": event.actor_role,
        "status": event.status,
        "data": {k: v for k, v in event.data.items() if k in PUBLIC_EVENT_DATA},
    }


# Keys of event data that may be shown publicly (answers, reasons, unit codes; never people).
PUBLIC_EVENT_DATA = frozenset(
    {
        "category", "media_count", "media_id", "unit_code", "admin_unit", "basis", "rule_id", "snapped",
        "reason", "answer", "priority", "due_at", "accept_due_at", "duplicate_of", "status",
        "evidence", "to_unit", "from_unit", "satisfied", "stars",
    }
)


