"""Query strings: one model per route family; each field is one `in: query` parameter of the document."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.open311.requests import MAX_ROWS
from chalicelib.schemas.common import CategoryCode, Code, DueState, InboxStatus, Priority, Status
from civic.domain.opendata import FORMATS
from civic.domain.opendata import KINDS as EXPORT_KINDS
from civic.services.intake import MAX_PAGE
from civic.services.units import MAX_NEARBY_RADIUS_M

OFFSET = r"^[0-9]{1,9}$"


class Query(BaseModel):
    model_config = ConfigDict(populate_by_name=True)


class PageQuery(Query):
    limit: int = Field(None, ge=1, le=MAX_PAGE, description="Page size (default 20)")
    cursor: str = Field(None, max_length=256, description="The previous page's next_cursor")


class FeedQuery(PageQuery):
    bbox: str = Field(None, description="south,west,north,east in degrees (default: the configured feed area)")
    category: CategoryCode = None
    status: Status = None


class NearbyQuery(Query):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius: float = Field(None, ge=1, le=MAX_NEARBY_RADIUS_M, description="Metres (default 200)")
    category: CategoryCode = None


class LocateQuery(Query):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    category: CategoryCode = Field(None, description="Default: other")


class InboxFilters(Query):
    status: InboxStatus = None
    priority: Priority = None
    category: CategoryCode = None
    due: DueState = None
    q: str = Field(None, description="Words of the description or address, or a tracking code")


class InboxQuery(InboxFilters):
    queue: Literal["units", "transferred", "moderation"] = Field(
        None, description="units (default): my units' reports; transferred: reports my units sent to another "
                          "unit, in any status (read-only, followed); moderation: reports a moderator must look at")
    limit: int = Field(None, ge=1, le=MAX_PAGE)
    cursor: str = Field(None, pattern=OFFSET, description="The previous page's next_cursor (an offset)")


class InboxExportQuery(InboxFilters):
    limit: int = Field(
        None, ge=1, le=MAX_PAGE,
        description="Accepted (the portal passes its inbox query) but the file holds every match up to the cap",
    )
    cursor: str = Field(None, pattern=OFFSET, description="Accepted and ignored, like limit")


class TemplatesQuery(Query):
    category: CategoryCode = None


class StatsScope(Query):
    unit: Code = Field(None, description="A unit code (default: the whole system); staff of the unit or above, or admin")
    from_: str = Field(
        None, alias="from", json_schema_extra={"format": "date"},
        description="First day (YYYY-MM-DD, Asia/Ho_Chi_Minh, years 2000–2100); default 30 days before `to`",
    )
    to: str = Field(
        None, json_schema_extra={"format": "date"},
        description="Last day, inclusive (YYYY-MM-DD, Asia/Ho_Chi_Minh, years 2000–2100); default today",
    )


class StatsPointsQuery(StatsScope):
    unit: Code = Field(description="The unit: its reports and those of every unit below it")  # type: ignore[assignment]


class BoundariesQuery(Query):
    bbox: str = Field(description="south,west,north,east in degrees (at most 400 units inside)")


class StatsQuery(StatsScope):
    category: CategoryCode = None


class TimeseriesQuery(StatsQuery):
    metric: Literal["received", "resolved", "on_time", "overdue", "satisfied"] = Field(None, description="Default: received")
    interval: Literal["day", "week", "month"] = Field(None, description="Default: day")


class ExportsQuery(Query):
    kind: Literal[EXPORT_KINDS] = None  # type: ignore[valid-type]
    format: Literal[tuple(FORMATS)] = None  # type: ignore[valid-type]


class NotificationsQuery(Query):
    limit: int = Field(None, ge=1, le=MAX_PAGE, description="Page size (default 20)")
    cursor: str = Field(None, max_length=200, description="The previous page's next_cursor")


class AlertsQuery(Query):
    lat: float = Field(None, ge=-90, le=90)
    lon: float = Field(None, ge=-180, le=180)
    unit: str = Field(None, description="An administrative unit's code (not with lat, lon): the alerts that reach it")


class Open311OneQuery(Query):
    extensions: bool = None
    jurisdiction_id: str = None


class Open311ListQuery(Query):
    service_request_id: str = Field(None, description="Comma-separated ids (at most 100)")
    service_code: str = Field(None, description="Comma-separated service codes")
    start_date: str = Field(None, description="W3C date-time with a timezone")
    end_date: str = Field(None, description="W3C date-time with a timezone")
    status: str = Field(None, description="open, closed or both (comma-separated)")
    page: int = Field(None, ge=1)
    page_size: int = Field(None, ge=1, le=MAX_ROWS)
    extensions: bool = None
    jurisdiction_id: str = None
