"""Open311 GeoReport v2 on the wire: the specification's errors, XML and JSON rendering, W3C dates.

Element names, order and content types follow the GeoReport v2 specification.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, time
from typing import Any

from civic.clock import LOCAL_TZ
from civic.domain.errors import DomainError
from civic.i18n import Text, text

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
# XML element of each item of a list-valued field (JSON keeps plain arrays).
_ITEM_TAGS = {
    "services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
    "values": "value", "endpoints": "endpoint", "formats": "format", "notes": "note",
    "service_requests_updates": "request_update",
    "service_request_updates": "request_update",  # the answer to POST servicerequestupdates  # mySociety's root, as FixMyStreet reads it
}


class Open311Error(Exception):
    """An answer in the specification's error format: `[{code, description}]` with that HTTP status."""

    def __init__(self, status: int, description: Text):
        super().__init__(description.en)
        self.status = status
        self.description = description


def bad(description_vi: str, description_en: str) -> Open311Error:
    return Open311Error(400, text(description_vi, description_en))


def from_domain_error(error: DomainError, status: int) -> Open311Error:
    """Our API's refusals (unknown category, outside the service area, ...) in Open311's shape; the edge
    gives the HTTP status of the error's kind."""
    def described(lang: str) -> str:
        message = error.message.get(lang)
        details = "; ".join(f"{name}: {msg.get(lang)}" for name, msg in error.fields.items())
        return f"{message} ({details})" if details else message

    return Open311Error(status, text(described("vi"), described("en")))


def error_body(error: Open311Error, lang: str) -> list[dict]:
    return [{"code": error.status, "description": error.description.get(lang)}]


# ---------------------------------------------------------------- formats and rendering


def split_format(segment: str, name: str | None = None) -> tuple[str, str]:
    """`services.json` → ("services", "json"); a missing or unknown extension is a 404 in XML
    (the specification's default format)."""
    stem, dot, fmt = (segment or "").rpartition(".")
    if not dot or fmt not in FORMATS or not stem or (name is not None and stem != name):
        raise Open311Error(404, text("Không có tài nguyên này (dùng .xml hoặc .json)",
                                     "No such resource (use .xml or .json)"))
    return stem, fmt


def _xml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _to_xml(parent: ET.Element, tag: str, value: Any) -> None:
    node = ET.SubElement(parent, tag)
    if value is None:
        return
    if isinstance(value, dict):
        for key, inner in value.items():
            _to_xml(node, key, inner)
    elif isinstance(value, list):
        item_tag = _ITEM_TAGS.get(tag, "item")
        for inner in value:
            _to_xml(node, item_tag, inner)
    else:
        node.text = _xml_value(value)


def render(root: str, payload: Any, fmt: str) -> tuple[str, str]:
    """(body, content type). `payload` is a list (rendered as `<root><item/>…</root>` in XML) or a
    dict (`<root>…fields…</root>`); JSON is the payload itself."""
    if fmt == "json":
        import json

        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")), FORMATS["json"]
    element = ET.Element(root)
    if isinstance(payload, list):
        item_tag = _ITEM_TAGS[root]
        for item in payload:
            _to_xml(element, item_tag, item)
    else:
        for key, value in payload.items():
            _to_xml(element, key, value)
    body = ET.tostring(element, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>' + body, FORMATS["xml"]


def render_error(error: Open311Error, fmt: str, lang: str) -> tuple[int, str, str]:
    status, items = error.status, error_body(error, lang)
    body, content_type = render("errors", items, fmt)
    return status, body, content_type


# ---------------------------------------------------------------- dates (W3C, with a zone)


def w3c(iso: str | None) -> str | None:
    """A stored UTC time as W3C date-time in Asia/Ho_Chi_Minh with its offset (2026-05-04T09:30:00+07:00)."""
    if not iso:
        return None
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(LOCAL_TZ).isoformat(timespec="seconds")


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_W3C = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?$")


def parse_w3c(raw: str, name: str, *, end_of_day: bool = False) -> datetime:
    """A W3C date-time (`2026-05-04T00:00:00Z`, `…+07:00`), or a date (a whole day in Asia/Ho_Chi_Minh).
    A time without a zone, which many clients send, is read as Vietnam's time (the jurisdiction's)."""
    raw = (raw or "").strip()
    if _DATE_ONLY.match(raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise bad(f"{name}: ngày không hợp lệ", f"{name}: not a valid date") from None
        moment = datetime.combine(day, time.max if end_of_day else time.min, LOCAL_TZ)
        return moment.astimezone(UTC)
    if not _W3C.match(raw):
        raise bad(f"{name}: cần thời điểm W3C, ví dụ 2026-05-04T00:00:00Z",
                  f"{name}: a W3C date-time is required, e.g. 2026-05-04T00:00:00Z")
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=LOCAL_TZ)).astimezone(UTC)
    except ValueError:
        raise bad(f"{name}: thời điểm không hợp lệ", f"{name}: not a valid date-time") from None


