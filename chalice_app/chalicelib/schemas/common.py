"""Named scalars and shapes shared by bodies and answers; each becomes one `components/schemas` entry."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, WithJsonSchema
from typing_extensions import TypeAliasType

from civic.domain.categories import all_categories
from civic.domain.notify import ALERT_KINDS, ALERT_SEVERITIES
from civic.domain.reports import PRIORITIES, REPORT_ID
from civic.domain.statuses import STATUSES
from civic.domain.units import CODE, KINDS
from civic.domain.workflow import ACTIONS

Code = TypeAliasType("Code", Annotated[str, Field(pattern=CODE.pattern)])
ReportIdValue = TypeAliasType("ReportIdValue", Annotated[str, Field(pattern=REPORT_ID.pattern)])
Time = TypeAliasType("Time", Annotated[str, WithJsonSchema({"type": "string", "description": "UTC ISO-8601"})])
NullableTime = TypeAliasType(
    "NullableTime",
    Annotated[str | None, WithJsonSchema({"type": ["string", "null"], "description": "UTC ISO-8601, or null"})],
)
NullableRate = TypeAliasType(
    "NullableRate", Annotated[float | None, WithJsonSchema({"type": ["number", "null"], "minimum": 0, "maximum": 1})]
)
NullableIndex = TypeAliasType(
    "NullableIndex", Annotated[float | None, WithJsonSchema({"type": ["number", "null"], "minimum": 0, "maximum": 100})]
)
Status = TypeAliasType("Status", Literal[STATUSES])  # type: ignore[valid-type]
Priority = TypeAliasType("Priority", Literal[PRIORITIES])  # type: ignore[valid-type]
CategoryCode = TypeAliasType(
    "CategoryCode",
    Annotated[Literal[tuple(all_categories())], Field(description="A code from /v1/categories")],  # type: ignore[valid-type]
)
ActionName = TypeAliasType("ActionName", Literal[ACTIONS])  # type: ignore[valid-type]
UnitKind = TypeAliasType("UnitKind", Literal[KINDS])  # type: ignore[valid-type]
AlertKind = TypeAliasType("AlertKind", Literal[ALERT_KINDS])  # type: ignore[valid-type]
AlertSeverity = TypeAliasType("AlertSeverity", Literal[ALERT_SEVERITIES])  # type: ignore[valid-type]
BBox = TypeAliasType(
    "BBox",
    Annotated[list[float], Field(min_length=4, max_length=4, description="south, west, north, east (degrees)")],
)
# The In-staff-inbox statuses (a report leaves `submitted` as soon as it is routed).
InboxStatus = Literal[tuple(s for s in STATUSES if s != "submitted")]  # type: ignore[valid-type]
DueState = Literal["on_time", "due_soon", "overdue", "none"]


class Text(BaseModel):
    """A text in Vietnamese and English."""

    vi: str
    en: str


class ErrorBody(BaseModel):
    code: str = Field(description="A stable machine-readable code, e.g. invalid_request, not_found")
    message: str
    fields: dict[str, str] = Field(description="Field name → what is wrong with it")
    request_id: str = Field(None, description="On 500 answers, to quote to support")
    retry_after: int = Field(None, ge=1, description="On 429 answers: seconds to wait, as Retry-After")


class Error(BaseModel):
    """Every /v1 error answer."""

    error: ErrorBody


class CodedText(BaseModel):
    """A reason code with its text in both languages."""

    code: str = None
    vi: str = None
    en: str = None


class Deleted(BaseModel):
    deleted: str
