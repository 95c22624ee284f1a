"""Request bodies. Limits and kinds come from the domain (never repeated here).

`ReportSubmission`, `MediaDeclaration` and `EvidenceDeclaration` are the domain's own models
(civic.domain.submission), and so are the small bodies the services take as typed inputs (civic.domain.inputs).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chalicelib.schemas.common import ActionName, AlertKind, AlertSeverity, CategoryCode, Code, Priority, Text, UnitKind
from civic.domain import submission
from civic.domain.inputs import (
    ContactCode,
    ContactToken,
    DeviceInput,
    EvidenceRequest,
    FlagInput,
    PreferencesInput,
    RatingInput,
    Reply,
)
from civic.domain.reports import MAX_ADDRESS, MAX_DESCRIPTION
from civic.domain.submission import EvidenceDeclaration, MediaDeclaration
from civic.domain.units import SCOPES
from civic.domain.workflow import FIELDS as ACTION_FIELDS
from civic.domain.workflow import MAX_TEXT, MIN_ANSWER
from civic.services.staff_admin import EMAIL as STAFF_EMAIL
from civic.services.staff_admin import ROLES as STAFF_ROLES

__all__ = ["ContactCode", "ContactToken", "DeviceInput", "EvidenceDeclaration", "EvidenceRequest", "FlagInput",
           "MediaDeclaration", "PreferencesInput", "RatingInput", "Reply", "ReportSubmission"]

MAX_COMMENT = 1000
MAX_NAME = 200
MAX_CONTACT = 300
MAX_RULE_PRIORITY = 1000
MAX_NOTE = 500
MAX_ALERT_UNITS = 200


def _submission_document(schema: dict[str, Any]) -> None:
    props = schema["properties"]
    props["category"] = {"$ref": "#/components/schemas/CategoryCode"}
    props["description"]["minLength"] = 1  # blank text is refused by the model's validator
    props["answers"]["description"] = (
        "Answers to the category's questions, {question code: answer}: text (string), number, single and yes_no "
        "(an option key), multiple (a list of option keys), date (YYYY-MM-DD). Required questions must be answered.")
    schema["examples"] = [{
        "category": "traffic", "description": "Ổ gà lớn trước số 12, xe máy dễ ngã", "lat": 21.0285, "lon": 105.8542,
        "address": "12 Tràng Tiền, Hoàn Kiếm, Hà Nội", "media": [{"content_type": "image/jpeg", "size": 2400000}],
    }]


class ReportSubmission(submission.ReportSubmission):
    """The domain's submission model (civic.domain.submission), validated the same way; the document
    names the category codes (the service checks them against the shipped categories)."""

    model_config = ConfigDict(json_schema_extra=_submission_document)


class Closed(BaseModel):
    """A body of exactly these fields, types as sent (the admin routes validate with these)."""

    model_config = ConfigDict(extra="forbid", strict=True)








def _action_document(schema: dict[str, Any]) -> None:
    takes = "; ".join(f"{action}: {', '.join(fields) or '(nothing)'}" for action, fields in ACTION_FIELDS.items())
    schema["description"] = ("One staff action. Each action takes only its own fields (besides `action` and "
                             f"`version`); any other field is a 400 naming it. {takes}.")


class StaffAction(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_action_document)

    action: ActionName
    version: int = Field(None, description="The version seen (or If-Match)")
    reason: str = Field(
        None, max_length=MAX_TEXT,
        description="refuse: a reason code; transfer, return, reopen, hide, unhide, redact, hide_media: text (internal)",
    )
    description: str = Field(None, max_length=MAX_DESCRIPTION, description="redact: the public description")
    address: str | None = Field(None, max_length=MAX_ADDRESS, description="redact: the public address (null: none)")
    media_id: str = Field(None, description="hide_media, show_media: which photo")
    text: str = Field(None, max_length=MAX_TEXT, description="note: required; refuse: optional detail")
    to_unit: Code = None
    to: str = Field(None, max_length=128, description="assign: an officer's id or a department code; transfer: `superior`")
    due_at: str = Field(
        None, max_length=40,
        description="transfer: the resolution deadline the receiver must meet, ISO-8601 with a zone (e.g. "
                    "2026-12-01T17:00:00+07:00), counted in office time; not in the past, not before the "
                    "receiver's acceptance deadline. Default: the receiver's own rules",
    )
    priority: Priority = None
    question: str = Field(None, max_length=MAX_TEXT)
    answer: str = Field(None, min_length=MIN_ANSWER, max_length=MAX_TEXT)
    evidence: list[str] = None




class UnitContact(Closed):
    phone: str = Field(None, max_length=MAX_CONTACT)
    email: str = Field(None, max_length=MAX_CONTACT)
    address: str = Field(None, max_length=MAX_CONTACT)
    website: str = Field(None, max_length=MAX_CONTACT)


class StaffInput(Closed):
    """Invite someone as staff, or change their role or units (the whole set)."""

    email: str = Field(max_length=254, pattern=STAFF_EMAIL.pattern)
    role: Literal[STAFF_ROLES]  # type: ignore[valid-type]
    units: list[Code] = Field(default_factory=list, description="Required except for admin and moderator")
    name: str = Field(None, max_length=200)


class StaffEmail(Closed):
    email: str = Field(max_length=254, pattern=STAFF_EMAIL.pattern)


class UnitInput(Closed):
    code: Code
    name_vi: str = Field(min_length=1, max_length=MAX_NAME)
    name_en: str = Field(min_length=1, max_length=MAX_NAME)
    kind: UnitKind
    parent_code: Code | None = None
    categories: list[CategoryCode] = None
    contact: UnitContact = None
    synthetic: bool = None
    requires_approval: bool = None


class RuleInput(Closed):
    id: Code
    category: CategoryCode
    scope: Literal[SCOPES]  # type: ignore[valid-type]
    target: Code
    where: Code | None = Field(
        None, description="The administrative unit (unit and ancestor scopes); null for boundary rules"
    )
    priority: int = Field(None, ge=-MAX_RULE_PRIORITY, le=MAX_RULE_PRIORITY)
    enabled: bool = None
    note: str = Field(None, max_length=MAX_NOTE)








class AlertAreaUnits(BaseModel):
    units: list[str] = Field(min_length=1, max_length=MAX_ALERT_UNITS)


class AlertAreaPolygon(BaseModel):
    polygon: dict[str, Any]


class AlertInput(BaseModel):
    kind: AlertKind
    severity: AlertSeverity = None
    title: Text
    body: Text
    area: AlertAreaUnits | AlertAreaPolygon = Field(
        description="Unit codes (they and every unit below them) or a drawn GeoJSON Polygon"
    )
    starts_at: str = Field(None, description="ISO-8601 with a zone (default: now)")
    expires_at: str = Field(description="ISO-8601 with a zone, in the future")


class Open311ClientInput(Closed):
    """POST /v1/admin/open311/clients, validated at the edge (civic.domain.submission's messages)."""

    name: str = Field(min_length=1, max_length=100)
    contact: str | None = Field(None, max_length=MAX_NAME)

    @field_validator("name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be empty")
        return value
