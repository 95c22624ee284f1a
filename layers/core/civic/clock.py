"""Time, in one place: data is UTC ISO-8601 with a Z; people's days and hours are Asia/Ho_Chi_Minh's."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

# UTC+7 all year (Vietnam has no daylight saving). A fixed offset rather than ZoneInfo: it needs no tz
# database, which a Lambda image may lack.
LOCAL_TZ = timezone(timedelta(hours=7), "Asia/Ho_Chi_Minh")


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    """UTC ISO-8601 with a Z and milliseconds, as stored in data."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso_utc(utc_now())


def parse_utc(iso: str) -> datetime:
    """A stored ISO-8601 time; one without a zone is UTC."""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def local_date(moment: datetime | None = None) -> date:
    """The Asia/Ho_Chi_Minh date of a moment (now by default)."""
    return (moment or utc_now()).astimezone(LOCAL_TZ).date()


def local_day(iso: str) -> str:
    """The Asia/Ho_Chi_Minh day (YYYY-MM-DD) of a UTC ISO-8601 time: the day statistics count an event
    on, and the day open data and the ByDay index file a report under."""
    return local_date(parse_utc(iso)).isoformat()
