"""Answer bodies. Fields without a default are always present; `= None` fields may be left out."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.schemas.bodies import UnitContact
from chalicelib.schemas.common import (
    ActionName,
    AlertKind,
    AlertSeverity,
    BBox,
    CodedText,
    NullableIndex,
    NullableRate,
    NullableTime,
    Priority,
    ReportIdValue,
    Status,
    Text,
    Time,
    UnitKind,
)
from civic.domain.contacts import VERIFIABLE
from civic.domain.moderation import HIDE_REASONS, PUBLISH_POLICIES
from civic.domain.notify import CHANNELS, LANGUAGES
from civic.domain.opendata import FORMATS
from civic.domain.opendata import KINDS as EXPORT_KINDS
from civic.domain.questions import TYPES as QUESTION_TYPES
from civic.domain.statuses import Stage
from civic.domain.units import SCOPES

ROLES = ("citizen", "officer", "leader", "coordinator", "admin")


# ---------------------------------------------------------------- public


class Health(BaseModel):
    status: Literal["ok"]
    version: str


class OpenApiDocument(BaseModel):
    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]


class StatusInfo(BaseModel):
    code: str
    label: Text
    stage: Stage
    open: bool
    open311: Literal["open", "closed"]
    colour: str = Field(pattern="^#[0-9a-f]{6}$")


class FlagReasonInfo(BaseModel):
    code: str
    label: Text


class WordingInfo(BaseModel):
    code: str
    label: Text


class StaffMember(BaseModel):
    user_id: str | None
    email: str
    name: str | None
    role: str
    units: list[str]
    enabled: bool


class StaffList(BaseModel):
    items: list[StaffMember]


class StaffSaved(BaseModel):
    user_id: str
    email: str
    role: str
    units: list[str]
    created: bool
    notified_for: list[str]
    temporary_password: str = Field(None, description="The local stack only (it sends no email): shown once")


class StaffEnabled(BaseModel):
    user_id: str
    email: str
    enabled: bool
    role: str | None
    units: list[str]


class ProvinceName(BaseModel):
    vi: str
    en: str


class MediaTypes(BaseModel):
    report: list[str] = Field(description="A citizen's photos and videos (POST /v1/reports)")
    evidence: list[str] = Field(description="A result's evidence (POST /v1/staff/reports/{report_id}/evidence)")


class PublicConfig(BaseModel):
    region: str
    user_pool_id: str
    user_pool_client_id: str
    cognito_endpoint_url: str = Field(
        json_schema_extra={"format": "uri"},
        description="Where browsers call Cognito's JSON API (the region's endpoint in AWS)",
    )
    tracking_prefix: str
    service_bbox: BBox
    feed_default_bbox: BBox
    languages: list[Literal[LANGUAGES]]  # type: ignore[valid-type]
    statuses: list[StatusInfo] = Field(description="The statuses of a report, in order, from the domain's table")
    flag_reasons: list[FlagReasonInfo] = Field(
        description="What citizens may flag a report for (POST /v1/reports/{report_id}/flags)"
    )
    events: list[WordingInfo] = Field(description="How each timeline event type reads (civic/domain/wording.py)")
    roles: list[WordingInfo] = Field(description="How each actor role of a timeline event reads")
    channels: list[WordingInfo] = Field(description="The notification channels, in order, and how they read")
    province_name: ProvinceName = Field(description="The province or city served (empty strings when not set)")
    map_center: list[float] | None = Field(min_length=2, max_length=2, description="[lat, lon] where the form's map opens")
    map_zoom: int = Field(ge=3, le=19)
    tile_url: str | None = Field(description="A base-map tile URL ({z}/{x}/{y}); null: boundaries and markers only")
    tile_attribution: str | None
    media_types: MediaTypes = Field(description="The content types each kind of upload accepts")


class QuestionOption(BaseModel):
    key: str
    label: Text


class Question(BaseModel):
    code: str
    type: Literal[tuple(QUESTION_TYPES)]  # type: ignore[valid-type]
    label: Text
    required: bool
    options: list[QuestionOption] = Field(None, description="The choices of a single, multiple or yes/no question")


class Category(BaseModel):
    code: str
    name: Text
    description: Text
    keywords: list[str]
    private_location: bool = Field(description="Reports' places are published rounded")
    label: str = None
    questions: list[Question] = Field(
        None, description="Extra questions asked with a report; POST /v1/reports takes their `answers`"
    )
    publish: Literal[tuple(PUBLISH_POLICIES)] = Field(  # type: ignore[valid-type]
        None, description="When reports of this category become public (shown to the citizen before sending)"
    )
    publish_note: Text = None
    evidence_optional: bool = Field(
        None, description="A resolution may be the answer alone (otherwise it needs evidence too)"
    )


class CategoryList(BaseModel):
    items: list[Category]


# ---------------------------------------------------------------- reports


class UploadSlot(BaseModel):
    """A presigned S3 POST (send `fields` and then the file as multipart form data to `url`)"""

    media_id: str
    url: str
    fields: dict[str, str]


class SubmissionCreated(BaseModel):
    id: ReportIdValue
    tracking_code: str
    status: Status
    created_at: Time
    uploads: list[UploadSlot]


class Media(BaseModel):
    media_id: str
    kind: Literal["photo", "video", "document"]
    status: Literal["pending", "ready", "refused"]
    format: str = Field(None, description="jpeg, webp, or a video's or document's content type (ready items)")
    renditions: dict[str, str] = Field(
        None, description="Rendition name → URL (ready items); a document has one, `document` (its PDF)"
    )
    pages: int = Field(None, ge=1, description="A document's page count (ready documents)")
    content_type: str = Field(None, description="Owner and staff views")
    size: int = Field(None, ge=1, description="The declared size in bytes, which an upload may not exceed (owner and staff views)")
    role: Literal["report", "evidence"] = Field(None, description="Owner and staff views")
    hidden: Literal[True] = Field(None, description="Taken down by a moderator (owner and staff views)")
    reason: CodedText = Field(None, description="Why it was refused (owner and staff views)")


class Rating(BaseModel):
    satisfied: bool
    stars: int = Field(ge=1, le=5)


class Location(BaseModel):
    lat: float
    lon: float
    precision: Literal["exact", "approximate"]


class ReportResult(BaseModel):
    answer: str
    resolved_at: NullableTime


class OwnerQuestion(BaseModel):
    text: str | None = None
    since: str = None


class HiddenReason(BaseModel):
    code: Literal[tuple(HIDE_REASONS)]  # type: ignore[valid-type]
    vi: str
    en: str


class ReportView(BaseModel):
    """The public view (never the citizen's identity; places of private categories rounded). The
    author's own view adds `anonymous`, `flags`, `question`, `is_owner` and every media item's state."""

    id: ReportIdValue
    tracking_code: str
    status: Status
    category: str
    category_name: Text | None
    description: str
    location: Location
    address: str | None
    unit_code: str | None
    unit_name: Text | None = Field(None, description="The handling unit's name (pages show names, never codes)")
    priority: Priority
    created_at: Time
    updated_at: Time
    due_at: NullableTime
    accept_due_at: NullableTime
    accepted_on_time: bool | None
    resolved_on_time: bool | None
    duplicate_of: str | None
    media: list[Media]
    result: ReportResult | None
    rating: Rating | None
    followers: int = Field(None, ge=0)
    following: bool = Field(None, description="Whether the signed-in viewer follows it (not its author)")
    anonymous: bool = Field(None, description="Owner view")
    flags: list[str] = None
    question: None | str | OwnerQuestion = Field(
        None, description="Owner view (an object); staff view (the question's text or null)"
    )
    is_owner: Literal[True] = None
    hidden: HiddenReason = Field(None, description="Owner view: why the public no longer sees the report")
    public_description: str = Field(None, description="Owner view: the text the public reads (edited by a moderator)")


class ReportPage(BaseModel):
    items: list[ReportView]
    next_cursor: str | None


class NearbyReport(ReportView):
    distance_m: int = Field(ge=0)


class NearbyPage(BaseModel):
    radius_m: float
    items: list[NearbyReport] = Field(max_length=50)


class PublicEvent(BaseModel):
    seq: int
    type: str
    at: Time
    by: str = Field(description="The actor's role: citizen, officer, system, ...")
    status: str | None
    data: dict[str, Any]


class TrackedReport(ReportView):
    timeline: list[PublicEvent]


class WhoAmI(BaseModel):
    user_id: str
    role: Literal[ROLES]  # type: ignore[valid-type]
    groups: list[str]
    units: list[str]


class FollowState(BaseModel):
    report_id: ReportIdValue
    following: bool
    followers: int = Field(ge=0)


class Replied(BaseModel):
    id: ReportIdValue
    status: Status
    accept_due_at: NullableTime
    due_at: NullableTime


class Rated(BaseModel):
    id: ReportIdValue
    status: Literal["closed"]
    rating: Rating


class Flagged(BaseModel):
    report_id: ReportIdValue
    flagged: Literal[True]
    reason: str


# ---------------------------------------------------------------- units and rules


class UnitSummary(BaseModel):
    code: str
    name_vi: str
    name_en: str
    kind: UnitKind
    contact: UnitContact


class Located(BaseModel):
    lat: float
    lon: float
    category: str
    status: Literal["routed", "needs_triage"]
    admin_unit: UnitSummary | None
    handler: UnitSummary | None
    rule_id: str | None
    basis: str = Field(description="unit_rule, boundary_rule, ancestor_rule, default, parent_handles, outside")
    snapped: bool


class Unit(BaseModel):
    code: str
    name_vi: str
    name_en: str
    kind: UnitKind
    parent_code: str | None
    categories: list[str] = Field(description="Empty means every category")
    contact: UnitContact
    synthetic: bool
    requires_approval: bool


class UnitList(BaseModel):
    items: list[Unit]


class Boundary(BaseModel):
    type: Literal["Feature"]
    properties: dict[str, Any]
    geometry: dict[str, Any]


class Area(BaseModel):
    code: str
    name_vi: str
    name_en: str
    kind: UnitKind
    parent_code: str | None


class AreaList(BaseModel):
    items: list[Area]


class UnitView(Unit):
    ancestors: list[str] = Field(description="Parent first, root last")
    children: list[str]
    boundary: Boundary | None = Field(description="A GeoJSON Feature, or null when no boundary is published")


class Rule(BaseModel):
    id: str
    category: str
    scope: Literal[SCOPES]  # type: ignore[valid-type]
    target: str
    where: str | None
    priority: int
    enabled: bool
    note: str


class RuleList(BaseModel):
    items: list[Rule]


# ---------------------------------------------------------------- staff


class InboxItem(BaseModel):
    id: ReportIdValue
    tracking_code: str
    status: Status
    priority: Priority
    category: str
    unit_code: str | None
    description: str = Field(max_length=200)
    created_at: Time
    accept_due_at: NullableTime
    due_at: NullableTime
    due_state: Literal["on_time", "due_soon", "overdue", "none"]
    assignee: str | None
    version: int
    flags: list[str]


class InboxPage(BaseModel):
    items: list[InboxItem]
    next_cursor: str | None
    total: int = Field(ge=0)


class ModerationState(BaseModel):
    hidden: CodedText | None
    public: bool = Field(description="Whether the public sees the report now")
    redacted: dict[str, Any] | None = Field(description="The public versions of description and address")
    flag_count: int = Field(ge=0)
    review: str | None = Field(description="`pending` while it is in the moderation queue")


class StaffEvent(BaseModel):
    seq: int
    type: str
    at: Time
    by: str
    actor_id: str | None
    public: bool
    status: str | None
    data: dict[str, Any]


class RelatedReport(BaseModel):
    id: ReportIdValue
    tracking_code: str
    status: Status
    staff_visible: bool = Field(description="Whether the caller may open it in the staff portal")


class FlagDetail(BaseModel):
    """A flag in words, with what it points at."""

    flag: str
    label: Text
    report: RelatedReport | None = Field(None, description="The other report (probable_duplicate, reused_photo)")
    media_id: str = Field(None, description="The photo concerned (reused_photo, photo_far_from_location)")
    distance_m: int = Field(None, ge=0, description="How far from the reported place the photo was taken")
    threshold_m: int = Field(None, ge=0, description="The distance above which a photo is flagged")


class StaffReport(ReportView):
    flag_details: list[FlagDetail]
    version: int
    assignee: str | None
    answer: str | None
    evidence: list[str]
    awaiting_info_since: NullableTime
    moderation: ModerationState = None
    access: Literal["handling", "transferred"] = Field(
        description="handling: my unit works on it; transferred: my unit sent it to another unit and follows it "
                    "(read-only, no actions)")
    transferred_from: list[str] = Field(description="Units that transferred it away, in order")
    allowed_actions: list[ActionName]
    citizen: Literal["anonymous"] = None
    timeline: list[StaffEvent]


class EvidenceSlots(BaseModel):
    version: int
    uploads: list[UploadSlot]


class AnswerTemplate(BaseModel):
    id: str
    vi: str
    en: str


class TemplateList(BaseModel):
    items: list[AnswerTemplate]


# ---------------------------------------------------------------- statistics


class StatsScopeView(BaseModel):
    unit: str | None
    category: str | None
    from_: str = Field(alias="from", json_schema_extra={"format": "date"})
    to: str = Field(json_schema_extra={"format": "date"})


class HandlingHours(BaseModel):
    median: float | None
    p90: float | None
    mean: float | None


class StatsSummary(BaseModel):
    """Each figure is defined once (GET /v1/stats/figures). Below `min_ratings` ratings `satisfied_rate`
    and `satisfaction_index` are null: "not enough ratings (n = `rated`)"."""

    scope: StatsScopeView
    received: int = Field(ge=0)
    routed: int = Field(ge=0)
    accepted: int = Field(ge=0)
    refused: int = Field(ge=0)
    transferred: int = Field(ge=0)
    resolved: int = Field(ge=0)
    on_time: int = Field(ge=0)
    overdue: int = Field(ge=0)
    rated: int = Field(ge=0)
    satisfied: int = Field(ge=0)
    processed_rate: NullableRate
    on_time_rate: NullableRate
    satisfied_rate: NullableRate
    handling_hours: HandlingHours | None
    satisfaction_index: NullableIndex
    overdue_open: int = Field(ge=0, description="Reports past their deadline and still open, now")
    min_ratings: int = Field(ge=1, description="Ratings needed for a satisfied share and an index")
    open: int = Field(None, ge=0, description="Reports open now")


class UnitFigures(BaseModel):
    unit: str
    name: Text
    received: int = None
    resolved: int = None
    open: int = None
    overdue_open: int = None
    rated: int = None
    on_time_rate: NullableRate = None
    median_hours: float | None = None
    p90_hours: float | None = None
    satisfied_rate: NullableRate = None
    satisfaction_index: NullableIndex = None


class StatsUnits(BaseModel):
    unit: str | None
    min_ratings: int = Field(ge=1)
    items: list[UnitFigures]


class UnitChoice(BaseModel):
    unit: str
    name: Text
    parent: str | None
    kind: UnitKind
    depth: int = Field(ge=0, description="Below the viewer's own unit (0)")
    has_children: bool


class UnitChoices(BaseModel):
    """The units whose figures the caller may see, depth first: the dashboard's unit picker."""

    items: list[UnitChoice]


class FigureDefinition(BaseModel):
    label: Text
    definition: Text


class FigureDefinitions(BaseModel):
    min_ratings: int = Field(ge=1)
    figures: dict[str, FigureDefinition] = Field(description="By figure code, as the stats answers name them")


class PointProperties(BaseModel):
    id: ReportIdValue
    tracking_code: str
    status: Status
    category: str
    unit: str | None
    created_at: Time
    overdue: bool


class PointFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any] = Field(description="A GeoJSON Point at the published place (rounded in private categories)")
    properties: PointProperties


class StatsPoints(BaseModel):
    """A GeoJSON FeatureCollection of the unit's reports submitted in the period, newest first."""

    type: Literal["FeatureCollection"]
    unit: str
    total: int = Field(ge=0)
    truncated: bool = Field(description="More reports than the 2000 points listed")
    features: list[PointFeature]


class OutlineProperties(BaseModel):
    unit: str
    name_vi: str
    name_en: str
    kind: str | None
    label_at: list[float] = Field(description="[lat, lon] where the name is drawn")


class OutlineFeature(BaseModel):
    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any]
    properties: OutlineProperties


class Boundaries(BaseModel):
    """The published administrative boundaries in the box, simplified to its scale (GeoJSON)."""

    type: Literal["FeatureCollection"]
    bbox: list[float]
    features: list[OutlineFeature]


class CategoryFigures(BaseModel):
    category: str
    name: Text = None
    count: int = Field(ge=0)
    share: float = Field(ge=0, le=1)


class StatsCategories(BaseModel):
    items: list[CategoryFigures]


class TimeseriesPoint(BaseModel):
    start: str = Field(json_schema_extra={"format": "date"})
    value: int


class Timeseries(BaseModel):
    metric: str
    interval: str
    points: list[TimeseriesPoint]


class Heatmap(BaseModel):
    timezone: Literal["Asia/Ho_Chi_Minh"]
    weekday_start: Literal["monday"]
    cells: list[Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=24, max_length=24)]] = Field(
        min_length=7, max_length=7
    )


class MapProperties(BaseModel):
    unit: str
    name_vi: str = None
    name_en: str = None
    received: int = None
    resolved: int = None
    open: int = None
    on_time_rate: NullableRate = None
    satisfied_rate: NullableRate = None
    satisfaction_index: NullableIndex = None
    overdue_open: int = None
    rated: int = None
    colour: Literal["green", "amber", "red", "grey"]
    status_vi: str = None
    status_en: str = None


class MapFeature(BaseModel):
    type: Literal["Feature"]
    geometry: dict[str, Any] | None = None
    properties: MapProperties


class StatsMap(BaseModel):
    """A GeoJSON FeatureCollection of the child units, and `outline`: the unit's own boundary (null
    without one), so a ward without child units is drawn as itself."""

    type: Literal["FeatureCollection"]
    min_ratings: int = Field(ge=1)
    features: list[MapFeature]
    outline: dict[str, Any] | None


# ---------------------------------------------------------------- exports


class ExportItem(BaseModel):
    kind: Literal[EXPORT_KINDS]  # type: ignore[valid-type]
    period: str
    format: Literal[tuple(FORMATS)]  # type: ignore[valid-type]
    url: str
    size: int = None
    rows: int = None
    created_at: str = None
    sha256: str = None


class ExportList(BaseModel):
    items: list[ExportItem]


# ---------------------------------------------------------------- notifications


class QuietHoursView(BaseModel):
    start: str
    end: str


ContactState = Literal["verified", "pending", "unverified"]


class ContactStates(BaseModel):
    """Each email, phone and Zalo id on file: `verified` (it receives notifications), `pending` (a
    verification message was sent; it receives nothing else until confirmed) or `unverified` (no live
    message: the daily limit was reached or the last one expired; saving it again asks anew)."""

    model_config = ConfigDict(extra="forbid")
    email: ContactState | None = None
    phone: ContactState | None = None
    zalo_user_id: ContactState | None = None


class PreferencesView(BaseModel):
    channels: list[Literal[CHANNELS]]  # type: ignore[valid-type]
    language: Literal[LANGUAGES]  # type: ignore[valid-type]
    quiet_hours: QuietHoursView | None
    email: str | None
    phone: str | None
    zalo_user_id: str | None
    home_unit: str | None
    follow_units: list[str] = Field(description="Administrative units followed beyond the home one")
    devices: int = Field(ge=0, description="How many devices receive push notifications")
    verification: ContactStates


class ContactVerified(BaseModel):
    verified: Literal[True]
    channel: Literal[tuple(VERIFIABLE)]  # type: ignore[valid-type]


class DeviceRegistered(BaseModel):
    platform: str
    registered: Literal[True]
    new: bool


class DeviceRemoved(BaseModel):
    token_removed: Literal[True]


class Notification(BaseModel):
    id: str
    at: str
    event_type: str
    report_id: str | None = None
    tracking_code: str | None = None
    alert_id: str | None = None
    title: str | None = None
    text: str | None = None
    read: bool


class NotificationPage(BaseModel):
    items: list[Notification]
    unread: int = Field(ge=0)
    next_cursor: str | None


class NotificationRead(BaseModel):
    id: str
    read: Literal[True]


class Alert(BaseModel):
    id: str
    kind: AlertKind
    severity: AlertSeverity
    title: Text
    body: Text
    starts_at: Time
    expires_at: Time
    units: list[str]
    polygon: dict[str, Any] = Field(None, description="The drawn GeoJSON Polygon, when the area is one")
    areas: list[str] = Field(None, description="On publishing, the units whose people are notified")


class AlertList(BaseModel):
    items: list[Alert]


# ---------------------------------------------------------------- Open311


class Open311Client(BaseModel):
    client_id: str
    name: str
    contact: str | None = None
    key_hint: str | None = None
    created_at: str = None
    revoked_at: str | None = None
    active: bool


class Open311ClientList(BaseModel):
    items: list[Open311Client]


class Open311ClientIssued(Open311Client):
    api_key: str
