"""The operations table: every route's documentation, with its models. `civic_dev.openapi` renders it.

Documentation only: the app never imports this module (the route table is `app.routes`; a unit test
checks both agree).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from chalicelib.http import IDEMPOTENCY_KEY
from chalicelib.schemas import answers as a
from chalicelib.schemas import bodies as b
from chalicelib.schemas import open311 as o
from chalicelib.schemas import queries as q


@dataclass(frozen=True)
class Answer:
    description: str
    model: type[BaseModel] | None = None
    schema: dict[str, Any] | None = None  # a body that is no model (CSV)
    media_type: str = "application/json"
    headers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Op:
    path: str
    method: str
    operation_id: str
    tags: tuple[str, ...]
    summary: str
    answer: Answer | str  # str: a components/responses entry
    errors: tuple[int, ...] = ()
    status: int = 200
    description: str | None = None
    security: Literal["none", "bearer", "optional"] = "none"
    parameters: tuple[str | dict[str, Any], ...] = ()  # str: a components/parameters entry
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_type: str = "application/json"
    other_bodies: tuple[tuple[str, type[BaseModel]], ...] = ()  # (content type, model): the same body otherwise sent
    not_modified: bool = False  # answers with an ETag, and 304 to a current If-None-Match


def path_param(name: str, schema: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    param: dict[str, Any] = {"name": name, "in": "path", "required": True}
    if description:
        param["description"] = description
    return {**param, "schema": schema}


def idempotency_key(what: str) -> dict[str, Any]:
    return {"name": "Idempotency-Key", "in": "header", "required": True,
            "description": f"The client's key for {what} (8–128 letters, digits, `- _ . :`)",
            "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY.pattern}}


IF_MATCH = {"name": "If-Match", "in": "header",
            "description": 'The report version seen ("7", "\\"7\\"" or W/"7"); `version` in the body wins',
            "schema": {"type": "string"}}
NON_EMPTY = {"type": "string", "minLength": 1}
DELETED = "Deleted"
STATS = "Staff of the unit (default the top unit) or above, or admin; the token is checked by the route."

OPERATIONS: tuple[Op, ...] = (
    # ------------------------------------------------------------------ public
    Op("/v1/health", "get", "health", ("public",), "Liveness and version",
       Answer("The API answers", a.Health)),
    Op("/v1/openapi.json", "get", "openapiDocument", ("public",), "This document, as JSON",
       Answer("The OpenAPI 3.1 document", a.OpenApiDocument)),
    Op("/v1/config", "get", "publicConfig", ("public",), "What clients need to sign in and to draw the map",
       Answer("Public client configuration", a.PublicConfig)),
    Op("/v1/categories", "get", "listCategories", ("public",), "The report categories (lĩnh vực)",
       Answer("Every category; `label` is the name in the requested language", a.CategoryList),
       parameters=("AcceptLanguage",)),
    Op("/v1/reports", "post", "submitReport", ("citizen",), "Submit a report",
       Answer("Created (or the replay of the first answer for this key)", a.SubmissionCreated,
              headers={"Location": {"description": "The report's URL", "required": True,
                                    "schema": {"type": "string"}}}),
       (400, 401, 409, 413, 422, 429), status=201, security="bearer",
       description=(
           "Creates the report in `submitted` and answers with one presigned S3 POST per declared media\n"
           "item. Retrying with the same `Idempotency-Key` and body answers the same report (freshly signed\n"
           "upload URLs); the same key with another body is refused (422). Past the account's quota (10 an\n"
           "hour, 30 a day by default) a new submission is refused with 429 and `Retry-After`; a retry of an\n"
           "accepted one is not counted.\n"),
       parameters=("AcceptLanguage", idempotency_key("this submission")), body=b.ReportSubmission),
    Op("/v1/reports", "get", "publicFeed", ("public",), "Public feed of reports in a map area, newest first",
       Answer("A page of public reports", a.ReportPage), (400, 429),
       parameters=("AcceptImage",), query=q.FeedQuery),
    Op("/v1/reports/nearby", "get", "nearbyReports", ("public",),
       "Open reports around a point, nearest first (at most 50)",
       Answer("Nearby open reports with their distance", a.NearbyPage), (400, 429),
       parameters=("AcceptImage",), query=q.NearbyQuery),
    Op("/v1/reports/{report_id}", "get", "getReport", ("public",), "One report",
       Answer("The report", a.ReportView), (401, 404, 429), security="optional",
       description=(
           "Anyone sees the public view; its author (signed in) sees the owner view: the exact place, the\n"
           "anonymity choice, every media item's state, a pending question. An invalid token is refused (401).\n"
           "Poll it cheaply with If-None-Match: 304 while the report is unchanged (the follower count and\n"
           "`following` are not part of the ETag).\n"),
       parameters=("ReportId", "AcceptImage", "IfNoneMatch"), not_modified=True),
    Op("/v1/track/{code}", "get", "trackReport", ("public",), "A report and its public history by tracking code",
       Answer("The public view with its public timeline", a.TrackedReport), (404, 429),
       description=(
           "Units are named (`unit_name`; `unit_name`, `to_unit_name`, `from_unit_name` in event data). Pages\n"
           "poll it with If-None-Match: 304 without a body while the report is unchanged.\n"),
       parameters=(path_param("code", NON_EMPTY, "The tracking code (case, spaces and a missing dash are forgiven)"),
                   "AcceptImage", "IfNoneMatch"), not_modified=True),
    Op("/v1/units/locate", "get", "locateUnit", ("public",),
       "Which unit would handle a report of this category here, now",
       Answer("The routing decision", a.Located), (400, 429, 503), query=q.LocateQuery),
    Op("/v1/areas", "get", "listAreas", ("public",),
       "The administrative units (wards, communes and above; no agencies): where people live and what they follow",
       Answer("Administrative units by parent and name", a.AreaList), (429,)),
    Op("/v1/boundaries", "get", "listBoundaries", ("public",),
       "The published administrative boundaries in a box, simplified, with names (the base map without tiles)",
       Answer("A GeoJSON FeatureCollection", a.Boundaries,
              headers={"Cache-Control": {"schema": {"type": "string"}, "description": "public, max-age=300"}}),
       (400, 429), query=q.BoundariesQuery),
    Op("/v1/units/{code}", "get", "getUnit", ("public",), "A unit, its parent chain and children, and its boundary",
       Answer("The unit", a.UnitView), (404, 429), parameters=("UnitCode",)),
    # ------------------------------------------------------------------ citizen
    Op("/v1/me", "get", "whoAmI", ("citizen",), "The signed-in user's role, groups and units",
       Answer("Who the token belongs to (never another user)", a.WhoAmI), (401,), security="bearer"),
    Op("/v1/me/reports", "get", "myReports", ("citizen",), "My reports, newest first",
       Answer("A page of my reports (owner views)", a.ReportPage), (400, 401), security="bearer",
       parameters=("AcceptImage",), query=q.PageQuery),
    Op("/v1/reports/{report_id}/follow", "post", "followReport", ("citizen",),
       "Follow someone else's report (to be notified like its author)", "FollowState", (401, 404, 409),
       security="bearer", parameters=("ReportId",)),
    Op("/v1/reports/{report_id}/follow", "delete", "unfollowReport", ("citizen",), "Stop following a report",
       "FollowState", (401, 404, 409), security="bearer", parameters=("ReportId",)),
    Op("/v1/reports/{report_id}/media/{media_id}/upload", "post", "uploadMediaAgain", ("citizen",),
       "A new upload slot for one of my photos that has not arrived",
       Answer("A fresh presigned POST for that item", a.UploadSlot), (401, 403, 404, 409), security="bearer",
       description=(
           "For the author only, while the item is still `pending`: the first upload was cut or its form\n"
           "expired (15 minutes). A file that arrived (`ready`) or was refused answers 409\n"
           "(`media_not_pending`); another account's report 403; an unknown item 404 (`media_not_found`).\n"),
       parameters=("ReportId", path_param("media_id", NON_EMPTY, "The media item's id (`media[].media_id`)"),
                   "AcceptLanguage")),
    Op("/v1/reports/{report_id}/reply", "post", "replyToUnit", ("citizen",),
       "The author answers the unit's request for information",
       Answer("The answer is recorded; the deadline clock runs again, pushed back by the wait", a.Replied),
       (400, 401, 404, 409), security="bearer", parameters=("ReportId", "AcceptLanguage"), body=b.Reply),
    Op("/v1/reports/{report_id}/rating", "post", "rateResult", ("citizen",),
       "The author rates the published result (closes the report; changeable for 7 days)",
       Answer("Rated", a.Rated), (400, 401, 404, 409), security="bearer",
       parameters=("ReportId", "AcceptLanguage"), body=b.RatingInput),
    Op("/v1/reports/{report_id}/flags", "post", "flagReport", ("citizen",),
       "Flag a public report as abusive (one flag per account)",
       Answer("Flagged", a.Flagged), (400, 401, 404, 409, 429), status=201, security="bearer",
       description=(
           "The first flag puts the report in the moderation queue; flags from `FLAG_THRESHOLD` (default 3)\n"
           "distinct accounts hide it from every public surface until a moderator decides. Who flagged is\n"
           "never public. A hidden or unpublished report answers 404; the author cannot flag their own (409).\n"),
       parameters=("ReportId", "AcceptLanguage"), body=b.FlagInput),
    # ------------------------------------------------------------------ staff
    Op("/v1/staff/inbox", "get", "staffInbox", ("staff",), "Open reports of my units, soonest deadline first",
       Answer("A page of the inbox", a.InboxPage), (400, 401, 403), security="bearer",
       description=(
           "Officers and leaders see their units; coordinators their units' subtrees and the triage queue.\n"
           "`queue=moderation` lists the reports a moderator must look at (flagged, or hidden pending review)\n"
           "in any status, within what the caller may see; moderators (province-wide) use only that queue.\n"),
       parameters=("AcceptLanguage",), query=q.InboxQuery),
    Op("/v1/staff/reports/{report_id}", "get", "staffReport", ("staff",),
       "The full record of a report (internal notes, the whole timeline, allowed actions)",
       Answer("The staff view", a.StaffReport), (401, 403, 404), security="bearer", parameters=("ReportId",)),
    Op("/v1/staff/reports/{report_id}/actions", "post", "staffAction", ("staff",),
       "Take one action on the version of the report the officer saw",
       Answer("The report after the action", a.StaffReport), (400, 401, 403, 404, 409), security="bearer",
       description=(
           "Actions and their fields: `accept`; `refuse` (reason, text?); `transfer` (to_unit or\n"
           "to=superior, reason); `assign` (to); `set_priority` (priority); `note` (text);\n"
           "`request_info` (question); `resolve` (answer ≥ 10 characters, evidence: ready evidence\n"
           "ids, required unless the category is `evidence_optional`); `approve`;\n"
           "`return` (reason); `reopen` (reason). The version comes from `version` or `If-Match`.\n"),
       parameters=("ReportId", "AcceptLanguage", IF_MATCH), body=b.StaffAction),
    Op("/v1/staff/reports/{report_id}/evidence", "post", "staffEvidence", ("staff",),
       "Presigned uploads for the evidence of a result",
       Answer("One upload slot per declared file", a.EvidenceSlots), (400, 401, 403, 404, 409, 413), status=201,
       description=(
           "Photos, videos or PDF documents. Each upload is checked by the media pipeline; a refused file\n"
           "(e.g. an encrypted PDF, or one with JavaScript or embedded files) keeps its reason on the\n"
           "media item of the staff view. A ready PDF is published without its metadata, with its page count.\n"),
       security="bearer", parameters=("ReportId", "AcceptLanguage"), body=b.EvidenceRequest),
    Op("/v1/staff/templates", "get", "answerTemplates", ("staff",),
       "Answer templates for results (of one category, or all)",
       Answer("Templates", a.TemplateList), (400, 401, 403), security="bearer", query=q.TemplatesQuery),
    # ------------------------------------------------------------------ operators
    Op("/v1/admin/units", "get", "adminListUnits", ("admin",), "Every unit",
       Answer("Units", a.UnitList), (401, 403), security="bearer"),
    Op("/v1/admin/staff", "get", "adminListStaff", ("admin",), "Everyone in a staff group, with units and state",
       Answer("Staff", a.StaffList), (401, 403), security="bearer"),
    Op("/v1/admin/staff", "post", "adminSetStaff", ("admin",), "Invite someone as staff, or change their role or units",
       Answer("Changed (201: a new person, invited with a temporary password)", a.StaffSaved), (400, 401, 403),
       security="bearer", body=b.StaffInput,
       description=("The Cognito group, the Users table and the notification index change together. A new person gets\n"
                    "a temporary password to change at the first sign-in (Cognito emails it; the local stack answers\n"
                    "it once, since it sends no email). People are named by email in the body, never in a URL.\n")),
    Op("/v1/admin/staff/disable", "post", "adminDisableStaff", ("admin",),
       "Disable someone: no sign-in, no notifications, not assignable; units and history stay",
       Answer("Disabled", a.StaffEnabled), (400, 401, 403, 404), security="bearer", body=b.StaffEmail),
    Op("/v1/admin/staff/enable", "post", "adminEnableStaff", ("admin",), "Enable someone again, with their role and units",
       Answer("Enabled", a.StaffEnabled), (400, 401, 403, 404), security="bearer", body=b.StaffEmail),
    Op("/v1/admin/units", "post", "adminCreateUnit", ("admin",), "Create a unit",
       Answer("Created", a.Unit), (400, 401, 403, 409), status=201, security="bearer",
       parameters=("AcceptLanguage",), body=b.UnitInput),
    Op("/v1/admin/units/{code}", "get", "adminGetUnit", ("admin",), "A unit (without its boundary)",
       Answer("The unit", a.UnitView), (401, 403, 404), security="bearer", parameters=("UnitCode",)),
    Op("/v1/admin/units/{code}", "put", "adminPutUnit", ("admin",), "Replace a unit (the body's code must be the path's)",
       Answer("Saved", a.Unit), (400, 401, 403, 404), security="bearer", parameters=("UnitCode",), body=b.UnitInput),
    Op("/v1/admin/units/{code}", "delete", "adminDeleteUnit", ("admin",),
       "Delete a unit that no child unit or rule refers to", DELETED, (401, 403, 404, 409), security="bearer",
       parameters=("UnitCode",)),
    Op("/v1/admin/rules", "get", "adminListRules", ("admin",), "Every routing rule",
       Answer("Rules", a.RuleList), (401, 403), security="bearer"),
    Op("/v1/admin/rules", "post", "adminCreateRule", ("admin",), "Create a routing rule",
       Answer("Created", a.Rule), (400, 401, 403, 409), status=201, security="bearer", body=b.RuleInput),
    Op("/v1/admin/rules/{rule_id}", "put", "adminPutRule", ("admin",),
       "Replace a routing rule (the body's id must be the path's)",
       Answer("Saved", a.Rule), (400, 401, 403, 404), security="bearer", parameters=("RuleId",), body=b.RuleInput),
    Op("/v1/admin/rules/{rule_id}", "delete", "adminDeleteRule", ("admin",), "Delete a routing rule", DELETED,
       (401, 403, 404), security="bearer", parameters=("RuleId",)),
    # ------------------------------------------------------------------ statistics
    Op("/v1/stats/summary", "get", "statsSummary", ("stats",), "Counts, rates, handling times and the satisfaction index",
       Answer("The summary", a.StatsSummary), (400, 401, 403, 404, 429), security="optional",
       description="Public without `unit`; with `unit`, staff of that unit or above, or admin.", query=q.StatsQuery),
    Op("/v1/stats/units", "get", "statsUnits", ("stats",), "The child units of a unit, best satisfaction first",
       Answer("Per child unit", a.StatsUnits), (400, 401, 403, 404, 429), security="optional", description=STATS,
       query=q.StatsScope),
    Op("/v1/stats/categories", "get", "statsCategories", ("stats",), "Reports received by category",
       Answer("Per category", a.StatsCategories), (400, 401, 403, 404, 429), security="optional",
       query=q.StatsScope),
    Op("/v1/stats/timeseries", "get", "statsTimeseries", ("stats",), "One metric per day, week or month",
       Answer("The series", a.Timeseries), (400, 401, 403, 404, 429), security="optional", query=q.TimeseriesQuery),
    Op("/v1/stats/heatmap", "get", "statsHeatmap", ("stats",),
       "Submissions by weekday × hour (Asia/Ho_Chi_Minh, Monday first)",
       Answer("7 rows of 24 counts", a.Heatmap), (400, 401, 403, 404, 429), security="optional", query=q.StatsQuery),
    Op("/v1/stats/map", "get", "statsMap", ("stats",),
       "The child units with their boundaries, coloured by handling status (GeoJSON)",
       Answer("A GeoJSON FeatureCollection", a.StatsMap), (400, 401, 403, 404, 429), security="optional",
       description=STATS, query=q.StatsScope),
    Op("/v1/stats/tree", "get", "statsTree", ("stats",), "The units whose figures the caller may see (the unit picker)",
       Answer("Depth first", a.UnitChoices), (400, 401, 403, 429), security="optional",
       description="A token is required (checked by the route). Staff: their units and every unit below them; admin: every unit."),
    Op("/v1/stats/points", "get", "statsPoints", ("stats",),
       "A unit's reports submitted in the period, as points with their status (GeoJSON)",
       Answer("A GeoJSON FeatureCollection", a.StatsPoints), (400, 401, 403, 404, 429), security="optional",
       description=STATS, query=q.StatsPointsQuery),
    Op("/v1/stats/figures", "get", "statsFigures", ("stats",), "What each figure means (label and definition)",
       Answer("By figure code", a.FigureDefinitions), (400, 429)),
    # ------------------------------------------------------------------ exports
    Op("/v1/exports", "get", "listExports", ("public",), "Published open-data exports, newest first",
       Answer("Exports", a.ExportList), (400, 429), query=q.ExportsQuery),
    Op("/v1/staff/inbox/export", "get", "staffInboxExport", ("staff",), "The inbox (same filters) as CSV",
       Answer("UTF-8 CSV with a BOM, as an attachment", schema={"type": "string"}, media_type="text/csv"),
       (400, 401, 403), security="bearer", query=q.InboxExportQuery),
    # ------------------------------------------------------------------ notifications
    Op("/v1/me/preferences", "get", "getPreferences", ("notifications",), "My notification preferences",
       Answer("Preferences (the email defaults to the signed-in address)", a.PreferencesView), (401,),
       security="bearer"),
    Op("/v1/me/preferences", "put", "putPreferences", ("notifications",),
       'Change my notification preferences (the fields given; null or "" removes one)',
       Answer("Saved", a.PreferencesView), (400, 401), security="bearer", body=b.PreferencesInput),
    Op("/v1/contacts/verify", "post", "verifyContactByLink", ("notifications",),
       "Confirm an email, phone or Zalo id with the token of the verification link (no sign-in; the token is the secret)",
       Answer("Confirmed; that contact receives notifications from now on", a.ContactVerified), (400,),
       description="A malformed, unknown, used or expired token is a 400 (`invalid_request`, `invalid_token`).\n",
       body=b.ContactToken),
    Op("/v1/me/contacts/verify", "post", "verifyMyContact", ("notifications",),
       "Confirm my email, phone or Zalo id with the code of its verification message",
       Answer("Confirmed", a.ContactVerified), (400, 401, 403), security="bearer",
       description=("400: nothing waiting for that contact (`no_pending_verification`) or a wrong code\n"
                    "(`wrong_code`, with the attempts left); 403: too many wrong codes (`too_many_attempts`).\n"),
       body=b.ContactCode),
    Op("/v1/me/devices", "post", "registerDevice", ("notifications",), "Register a device for push notifications",
       Answer("Registered (`new` is false when the token was known)", a.DeviceRegistered), (400, 401), status=201,
       security="bearer", body=b.DeviceInput),
    Op("/v1/me/devices/{token}", "delete", "removeDevice", ("notifications",),
       "Stop push notifications to this device (e.g. on sign-out); the token URL-encoded",
       Answer("Removed", a.DeviceRemoved), (401, 404), security="bearer", parameters=(path_param("token", NON_EMPTY),)),
    Op("/v1/me/notifications", "get", "myNotifications", ("notifications",), "My in-app notifications, newest first",
       Answer("A page of notifications", a.NotificationPage), (400, 401), security="bearer",
       query=q.NotificationsQuery),
    Op("/v1/me/notifications/{item_id}/read", "post", "markNotificationRead", ("notifications",),
       "Mark one of my notifications read", Answer("Marked read", a.NotificationRead), (401, 404), security="bearer",
       parameters=(path_param("item_id", NON_EMPTY, "The notification's `id` (URL-encoded)"),)),
    Op("/v1/alerts", "get", "listAlerts", ("public", "notifications"), "Current public alerts (near a point, or reaching a unit, if given)",
       Answer("Alerts", a.AlertList), (400, 429), query=q.AlertsQuery),
    Op("/v1/staff/alerts", "post", "publishAlert", ("staff", "notifications"),
       "Publish a public alert (coordinators and admins)",
       Answer("Published", a.Alert), (400, 401, 403, 409, 422), status=201, security="bearer",
       description=(
           "Retrying with the same `Idempotency-Key` and body answers the first alert; nobody is alerted\n"
           "twice. The same key with another body is a 422.\n"),
       parameters=(idempotency_key("this alert"),), body=b.AlertInput),
    # ------------------------------------------------------------------ Open311 GeoReport v2
    Op("/v1/admin/open311/clients", "get", "adminListOpen311Clients", ("admin", "open311"),
       "The Open311 clients (API keys are shown only when issued)",
       Answer("Clients", a.Open311ClientList), (401, 403), security="bearer"),
    Op("/v1/admin/open311/clients", "post", "adminCreateOpen311Client", ("admin", "open311"),
       "Issue an API key to an Open311 client",
       Answer("Issued; `api_key` is shown this once", a.Open311ClientIssued), (400, 401, 403), status=201,
       security="bearer", body=b.Open311ClientInput),
    Op("/v1/admin/open311/clients/{client_id}", "delete", "adminRevokeOpen311Client", ("admin", "open311"),
       "Revoke a client's API key", Answer("Revoked", a.Open311Client), (401, 403, 404), security="bearer",
       parameters=(path_param("client_id", NON_EMPTY),)),
    Op("/open311/v2/{resource}", "get", "open311Get", ("open311",),
       "GeoReport v2: discovery, services, requests (listing) and servicerequestupdates", "Open311Answer",
       (400, 404, 429),
       description=(
           "`resource` is `discovery`, `services`, `requests` or `servicerequestupdates` with the format as\n"
           "its extension (`.xml` or `.json`). Answers and errors follow the GeoReport v2 specification\n"
           "(errors: `[{code, description}]`); `extensions=true` adds FixMyStreet's detailed status and notes.\n"),
       parameters=(path_param("resource", {"type": "string",
                   "pattern": "^(discovery|services|requests|servicerequestupdates)\\.(xml|json)$"}),),
       query=q.Open311ListQuery),
    Op("/open311/v2/{resource}", "post", "open311PostRequest", ("open311",),
       "GeoReport v2: create a service request (POST requests.xml|json), or comment on one (POST servicerequestupdates)",
       "Open311Answer",
       (400, 403, 404, 409, 413, 415, 429), status=201,
       parameters=(path_param("resource", {"type": "string",
                                           "pattern": "^(requests|servicerequestupdates)\\.(xml|json)$"}),),
       description=("The form as `application/x-www-form-urlencoded`, or as `multipart/form-data` with the photo\n"
                    "itself in `media` (a JPEG, PNG, WebP or HEIC photo: it goes through the media pipeline).\n"
                    "Without an `Idempotency-Key` header every POST is a new request; with one, a retry answers\n"
                    "the first. A body of another type is a 415 in the errors format.\n"
                    "`servicerequestupdates` (mySociety's extension, as FixMyStreet sends it): `service_request_id`,\n"
                    "`update_id` and `description` make an internal comment the unit's staff are told of; `status` is\n"
                    "ignored; the same `update_id` again answers the same update.\n"),
       body=o.Open311RequestForm, body_type="application/x-www-form-urlencoded",
       other_bodies=(("multipart/form-data", o.Open311RequestMultipart),)),
    Op("/open311/v2/services/{service}", "get", "open311ServiceDefinition", ("open311",),
       "GeoReport v2: a service definition (the category's questions as attributes)", "Open311Answer", (404, 429),
       parameters=(path_param("service", {"type": "string", "pattern": "^[A-Za-z0-9_.\\-]+\\.(xml|json)$"},
                              "`<service_code>.xml` or `<service_code>.json`"),)),
    Op("/open311/v2/requests/{request_id}", "get", "open311Request", ("open311",),
       "GeoReport v2: one service request (an array of one)", "Open311Answer", (400, 404, 429),
       parameters=(path_param("request_id", {"type": "string", "pattern": "^[^/]+\\.(xml|json)$"},
                              "`<id>.xml` or `<id>.json`; a token (tracking code) works too"),),
       query=q.Open311OneQuery),
    Op("/open311/v2/tokens/{token}", "get", "open311Token", ("open311",),
       "GeoReport v2: the service request id of a token", "Open311Answer", (404, 429),
       parameters=(path_param("token", {"type": "string", "pattern": "^[^/]+\\.(xml|json)$"}),)),
)
