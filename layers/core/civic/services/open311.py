"""Open311 GeoReport v2: our categories as services, reports as service requests, in XML and JSON.

Pure: no AWS. The Chalice routes (chalicelib/open311_routes.py) parse the request, call these
functions with the stores, and send what `render` returns. Element names, order and content types
follow the GeoReport v2 specification; `extensions=true` adds Chicago-style `extended_attributes`
carrying FixMyStreet's detailed statuses, and `servicerequestupdates` is mySociety's extension.
"""

from __future__ import annotations

import hashlib
import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import parse_qsl

from civic.clock import LOCAL_TZ, iso_utc
from civic.domain import questions, statuses
from civic.domain.categories import Category, all_categories
from civic.domain.errors import DomainError, Invalid
from civic.domain.moderation import is_public, public_media, public_text
from civic.domain.reports import MAX_DESCRIPTION, REPORT_ID, Report, TimelineEvent
from civic.i18n import Text, text

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
DEFAULT_WINDOW_DAYS = 90
MAX_WINDOW_DAYS = 90
MAX_ROWS = 1000
MAX_IDS = 100  # service_request_id values in one GET requests
# Statuses of our lifecycle that Open311 calls closed (DESIGN.md); the others are open.
CLOSED_STATUSES = statuses.OPEN311_CLOSED
# FixMyStreet's extended statuses for a refusal, by our refusal reason.
REFUSAL_STATUS = {
    "duplicate": "DUPLICATE",
    "not_competent": "NOT_COUNCILS_RESPONSIBILITY",
    "not_public_matter": "NO_FURTHER_ACTION",
    "incomplete": "NO_FURTHER_ACTION",
    "inappropriate": "NO_FURTHER_ACTION",
}
DETAILED_STATUSES = (
    "OPEN", "INVESTIGATING", "ACTION_SCHEDULED", "IN_PROGRESS", "INTERNAL_REFERRAL", "FIXED", "CLOSED",
    "DUPLICATE", "NOT_COUNCILS_RESPONSIBILITY", "NO_FURTHER_ACTION",
)
# XML element of each item of a list-valued field (JSON keeps plain arrays).
_ITEM_TAGS = {
    "services": "service", "service_requests": "request", "errors": "error", "attributes": "attribute",
    "values": "value", "endpoints": "endpoint", "formats": "format", "notes": "note",
    "service_request_updates": "request_update",
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
_W3C = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")


def parse_w3c(raw: str, name: str, *, end_of_day: bool = False) -> datetime:
    """A W3C date-time with a zone (`2026-05-04T00:00:00Z`, `…+07:00`), or a date (a whole day in
    Asia/Ho_Chi_Minh). A time without a zone is ambiguous and refused."""
    raw = (raw or "").strip()
    if _DATE_ONLY.match(raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            raise bad(f"{name}: ngày không hợp lệ", f"{name}: not a valid date") from None
        moment = datetime.combine(day, time.max if end_of_day else time.min, LOCAL_TZ)
        return moment.astimezone(UTC)
    if not _W3C.match(raw):
        raise bad(f"{name}: cần thời điểm W3C có múi giờ, ví dụ 2026-05-04T00:00:00Z",
                  f"{name}: a W3C date-time with a time zone is required, e.g. 2026-05-04T00:00:00Z")
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise bad(f"{name}: thời điểm không hợp lệ", f"{name}: not a valid date-time") from None


# ---------------------------------------------------------------- services


def _keywords(category: Category) -> str:
    return ", ".join(category.keywords)


def notice(lang: str) -> str:
    """What a citizen can expect: the default working-time deadlines (civic.domain.sla)."""
    from civic.domain.sla import DEFAULT_POLICY

    normal = DEFAULT_POLICY["normal"]
    acc, res = normal.accept, normal.resolve
    unit_vi = {"hours": "giờ làm việc", "days": "ngày làm việc"}
    unit_en = {"hours": "working hours", "days": "working days"}
    return text(
        f"Phản ánh được đơn vị tiếp nhận trong {acc.amount:g} {unit_vi[acc.unit]} và xử lý trong "
        f"{res.amount:g} {unit_vi[res.unit]}; theo dõi bằng mã theo dõi (token).",
        f"A unit takes the report on within {acc.amount:g} {unit_en[acc.unit]} and resolves it within "
        f"{res.amount:g} {unit_en[res.unit]}; follow it with its tracking code (token).",
    ).get(lang)


def service(category: Category, lang: str) -> dict:
    return {
        "service_code": category.code,
        "service_name": category.name.get(lang),
        "description": category.description.get(lang),
        "metadata": bool(category.questions),
        "type": "realtime",
        "keywords": _keywords(category),
        "group": (category.group or category.name).get(lang),
    }


def services(lang: str) -> list[dict]:
    return [service(c, lang) for c in all_categories().values()]


def _category(code: str | None) -> Category:
    category = all_categories().get(code or "")
    if category is None:
        raise Open311Error(404, text("Không có dịch vụ (service_code) này", "No service with this service_code"))
    return category


def service_definition(code: str, lang: str) -> dict:
    """The category's typed questions as GeoReport v2 attributes (civic.domain.questions.TYPES maps them)."""
    category = _category(code)
    attributes = []
    for order, q in enumerate(category.questions, start=1):
        attribute = {
            "variable": True,
            "code": q.code,
            "datatype": questions.TYPES[q.type],
            "required": q.required,
            "datatype_description": "YYYY-MM-DD" if q.type == "date" else None,
            "order": order,
            "description": q.label.get(lang),
        }
        if q.choices:
            attribute["values"] = [{"key": o.key, "name": o.label.get(lang)} for o in q.choices]
        attributes.append(attribute)
    return {"service_code": category.code, "attributes": attributes}


def discovery(api_url: str, changeset: str, lang: str) -> dict:
    return {
        "changeset": changeset,
        "contact": text("Quản trị CivicBridge qua cổng hành chính của tỉnh/thành phố",
                        "CivicBridge operators, through the province or city's service desk").get(lang),
        "key_service": text("Khóa API do quản trị viên cấp cho từng ứng dụng (POST /v1/admin/open311/clients)",
                            "API keys are issued per client by administrators (POST /v1/admin/open311/clients)").get(lang),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": api_url.rstrip("/") + "/open311/v2",
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


# ---------------------------------------------------------------- submissions (POST requests)

MAX_FIELD = 200
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}$")
_PHONE = re.compile(r"^\+?[0-9 ().\-]{6,24}$")
_URL = re.compile(r"^https?://[^\s<>\"']{1,490}$", re.IGNORECASE)


@dataclass
class Submission:
    """A POST requests form, checked: what becomes the report, and who sent it."""

    body: dict  # the POST /v1/reports body (civic.domain.submission.ReportSubmission)
    contact: dict  # email, phone, first_name, last_name: for the Users table only
    identity: str  # what makes this person the same person next time (per client)
    event_data: dict = field(default_factory=dict)  # internal data on the `submitted` event


def parse_form(raw: bytes | str | None) -> dict[str, list[str]]:
    """An application/x-www-form-urlencoded body, every value of every name."""
    if raw is None:
        return {}
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise bad("Nội dung phải là UTF-8", "The body must be UTF-8") from None
    out: dict[str, list[str]] = {}
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=False, max_num_fields=200)
    except ValueError:
        raise bad("Quá nhiều trường", "Too many fields") from None
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out


def _one(form: Mapping[str, list[str]], name: str, limit: int = MAX_FIELD) -> str | None:
    values = form.get(name) or []
    value = values[-1].strip() if values else ""
    if len(value) > limit:
        raise bad(f"{name}: quá dài (tối đa {limit} ký tự)", f"{name}: too long (at most {limit} characters)")
    if any(ord(ch) < 32 and ch not in "\n\t\r" for ch in value):
        raise bad(f"{name}: có ký tự điều khiển", f"{name}: contains control characters")
    return value or None


def _coordinate(raw: str | None, name: str, low: float, high: float) -> float:
    try:
        value = float(raw or "")
    except ValueError:
        raise bad(f"{name}: cần một số", f"{name}: a number is required") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise bad(f"{name}: nằm ngoài phạm vi", f"{name}: out of range")
    return value


_ATTRIBUTE = re.compile(r"^attribute\[([A-Za-z0-9_.\-]{1,64})\](\[\])?$")


def _attribute_answers(form: Mapping[str, list[str]], category: Category, lang: str) -> tuple[dict, list[str]]:
    """`attribute[code]` form values → typed answers, checked by the domain against the category's
    questions (the same check as POST /v1/reports): (answers, lines for the description)."""
    given: dict[str, list[str]] = {}
    for name, values in form.items():
        m = _ATTRIBUTE.match(name)
        if m:
            given.setdefault(m.group(1), []).extend(v.strip() for v in values if v.strip())
        elif name.startswith("attribute"):
            raise bad(f"Trường không hợp lệ: {name[:40]}", f"Malformed field: {name[:40]}")
    by_code = {q.code: q for q in category.questions}
    typed: dict[str, object] = {}
    for code, values in given.items():
        q = by_code.get(code)
        if q is None or not values:
            typed[code] = values[-1] if values else None
        elif q.type == "multiple":
            typed[code] = values
        elif len(values) > 1:
            raise bad(f"attribute[{code}]: chỉ một giá trị", f"attribute[{code}]: one value only")
        elif q.type == "number":
            try:
                typed[code] = float(values[0])
            except ValueError:
                typed[code] = values[0]  # the domain says what is wrong
        elif q.type == "date":  # a W3C date or date-time: its Asia/Ho_Chi_Minh day
            raw = values[0]
            typed[code] = raw if len(raw) == 10 else parse_w3c(raw, f"attribute[{code}]").astimezone(LOCAL_TZ).date().isoformat()
        else:
            typed[code] = values[0]
    try:
        answers = questions.check_answers(category.questions, typed)
    except Invalid as exc:
        vi = "; ".join(f"attribute[{k.split('.', 1)[1]}]: {m.vi}" for k, m in exc.fields.items())
        en = "; ".join(f"attribute[{k.split('.', 1)[1]}]: {m.en}" for k, m in exc.fields.items())
        raise bad(vi, en) from None
    lines = []
    for q in category.questions:
        # Only the choices go into the (public) description; free text, numbers and dates stay with
        # staff, as the answers of POST /v1/reports do.
        if q.code not in answers or not q.choices:
            continue
        value = answers[q.code]
        names = {o.key: o.label for o in q.choices}
        chosen = value if isinstance(value, list) else [value]
        shown_vi = ", ".join(names[v].vi if v in names else str(v) for v in chosen)
        shown_en = ", ".join(names[v].en if v in names else str(v) for v in chosen)
        lines.append(f"{q.label.vi} / {q.label.en}: {shown_vi}" + (f" / {shown_en}" if shown_en != shown_vi else ""))
    return answers, lines


def _phone_key(phone: str) -> str:
    digits = re.sub(r"\D", "", phone)
    return "84" + digits[1:] if digits.startswith("0") else digits


def parse_submission(form: Mapping[str, list[str]], client_id: str, lang: str) -> Submission:
    """A POST requests form → our submission; every refusal is a 400 before anything is written."""
    category = _category(_one(form, "service_code", 64))
    lat_raw, long_raw = _one(form, "lat", 40), _one(form, "long", 40)
    address = _one(form, "address_string", 300)
    if lat_raw is None or long_raw is None:
        if address or _one(form, "address_id"):
            raise bad(
                "Cần vĩ độ lat và kinh độ long: máy chủ này không tra địa chỉ ra tọa độ "
                "(address_string được lưu làm địa chỉ khi có kèm lat/long)",
                "lat and long are required: this server does not geocode addresses "
                "(address_string is kept as the address when lat/long come with it)",
            )
        raise bad("Cần vị trí: lat và long", "A location is required: lat and long")
    lat = _coordinate(lat_raw, "lat", -90, 90)
    lon = _coordinate(long_raw, "long", -180, 180)
    answers, lines = _attribute_answers(form, category, lang)
    description = _one(form, "description", MAX_DESCRIPTION) or ""
    if lines:
        description = (description + "\n\n" if description else "") + "\n".join(lines)
    if not description:
        raise bad("Cần mô tả (description)", "A description is required")
    if len(description) > MAX_DESCRIPTION:
        raise bad(f"Mô tả quá dài (tối đa {MAX_DESCRIPTION} ký tự)", f"The description is too long (at most {MAX_DESCRIPTION})")
    email = _one(form, "email", 254)
    if email and not _EMAIL.match(email):
        raise bad("email không hợp lệ", "email is not valid")
    phone = _one(form, "phone", 32)
    if phone and not _PHONE.match(phone):
        raise bad("phone không hợp lệ", "phone is not valid")
    media_url = _one(form, "media_url", 500)
    if media_url and not _URL.match(media_url):
        raise bad("media_url phải là một địa chỉ http(s)", "media_url must be an http(s) URL")
    device_id, account_id = _one(form, "device_id", 128), _one(form, "account_id", 128)
    first, last = _one(form, "first_name", 100), _one(form, "last_name", 100)
    if email:
        identity = "email:" + email.lower()
    elif phone:
        identity = "phone:" + _phone_key(phone)
    elif account_id:
        identity = "account:" + account_id
    elif device_id:
        identity = "device:" + device_id
    else:
        identity = "anonymous"
    body: dict[str, Any] = {"category": category.code, "description": description, "lat": lat, "lon": lon}
    if address:
        body["address"] = address
    if answers:
        body["answers"] = answers
    event_data: dict[str, Any] = {"channel": "open311", "open311_client": client_id}
    if media_url:
        event_data["media_url"] = media_url  # kept for staff, never fetched by the server
    # Only the detail the submitter is known by is kept: nobody proves they own an email or a phone
    # here, so a request naming someone's email with another phone must not send their messages there.
    contact = {"email": email if identity.startswith("email:") else None,
               "phone": phone if identity.startswith("phone:") else None, "first_name": first, "last_name": last}
    return Submission(body=body, contact=contact, identity=identity, event_data=event_data)


def citizen_id(client_id: str, identity: str) -> str:
    """A stable pseudo-citizen id per (client, person): never reveals the email or phone it came from."""
    digest = hashlib.sha256(f"{client_id}\x1f{identity}".encode()).hexdigest()[:32]
    return f"open311-{digest}"


def display_name(contact: Mapping[str, str | None]) -> str | None:
    name = " ".join(p for p in (contact.get("first_name"), contact.get("last_name")) if p)
    return name or None


def created(report_id: str, tracking_code: str, lang: str) -> list[dict]:
    """POST requests' answer: the id at once (reports are created synchronously) and the token."""
    return [{"service_request_id": report_id, "token": tracking_code, "service_notice": notice(lang), "account_id": None}]


def token_answer(report: Report | None, token: str) -> list[dict]:
    if report is None:
        raise Open311Error(404, text("Không tìm thấy token", "Token not found"))
    return [{"service_request_id": report.id, "token": report.tracking_code}]


# ---------------------------------------------------------------- service requests (GET)


def open_or_closed(status: str) -> str:
    return "closed" if status in CLOSED_STATUSES else "open"


def _refusal_code(events: Iterable[TimelineEvent]) -> str | None:
    for event in reversed(list(events)):
        if event.type == "refuse":
            reason = event.data.get("reason")
            return reason.get("code") if isinstance(reason, dict) else None
    return None


def detailed_status(report: Report, events: list[TimelineEvent]) -> str:
    """FixMyStreet's extended status for our lifecycle."""
    status = report.status
    if status == "refused":
        return REFUSAL_STATUS.get(_refusal_code(events) or "", "NO_FURTHER_ACTION")
    if status in ("resolved",):
        return "FIXED"
    if status == "closed":
        return "FIXED" if report.answer else "CLOSED"
    if report.awaiting_info_since:
        return "INVESTIGATING"
    if status == "routed":
        last = next((e for e in reversed(events) if e.status and e.type != "note"), None)
        return "INTERNAL_REFERRAL" if last is not None and last.type == "transfer" else "OPEN"
    if status == "accepted":
        return "ACTION_SCHEDULED"
    if status in ("in_progress", "pending_approval"):
        return "IN_PROGRESS"
    return "OPEN"


def _answer_text(data: Mapping) -> str | None:
    answer = data.get("answer")
    if isinstance(answer, dict):
        answer = answer.get("text")
    return answer if isinstance(answer, str) and answer else None


def note_of(event: TimelineEvent, lang: str, unit_name) -> str | None:
    """The public text of one public timeline event (never who did it; internal notes never)."""
    if not event.public:
        return None
    data = event.data
    kind = event.type
    if kind in ("resolve", "approve"):
        return _answer_text(data)
    if kind == "refuse":
        raw = data.get("reason")
        reason: dict[str, Any] = raw if isinstance(raw, dict) else {}
        label = reason.get("en" if lang == "en" else "vi") or reason.get("code") or ""
        return f"{label}: {reason['text']}" if reason.get("text") else label or None
    if kind in ("routed", "transfer"):
        unit = data.get("to_unit") or data.get("unit_code")
        return text(f"Chuyển đến {unit_name(unit)}", f"Sent to {unit_name(unit)}").get(lang) if unit else None
    if kind == "needs_triage":
        return text("Đang chờ phân loại, chọn đơn vị xử lý", "Awaiting triage to a handling unit").get(lang)
    if kind == "accept":
        return text("Đơn vị đã tiếp nhận", "The unit has taken it on").get(lang)
    if kind == "request_info":
        return text("Đơn vị đề nghị người phản ánh bổ sung thông tin",
                    "The unit asked the reporter for more information").get(lang)
    if kind == "reopen":
        return text("Phản ánh được mở lại để xử lý tiếp", "Reopened for further work").get(lang)
    if kind == "closed":
        return text("Đã đóng", "Closed").get(lang)
    return None


def public_notes(events: list[TimelineEvent], lang: str, unit_name) -> list[dict]:
    notes = []
    for event in events:
        note = note_of(event, lang, unit_name)
        if note:
            notes.append({"datetime": w3c(event.at), "type": event.type, "summary": note})
    return notes


def media_url(report: Report, media_base_url: str) -> str | None:
    """The large JPEG rendition of the first public photo (never an original, never a client's URL)."""
    from civic.domain.reports import EXTENSIONS

    base = media_base_url.rstrip("/")
    for item in report.media:
        if item.role == "report" and public_media(item) and item.kind == "photo" and "large" in item.renditions:
            fmt = "jpeg" if "jpeg" in item.formats else (item.formats[0] if item.formats else "jpeg")
            return f"{base}/{item.renditions['large']}.{EXTENSIONS[fmt]}"
    return None


def service_request(
    report: Report, events: list[TimelineEvent], lang: str, media_base_url: str, unit_name, extensions: bool = False
) -> dict:
    """One report as a GeoReport v2 request: the published location only, never who reported it."""
    category = all_categories().get(report.category)
    lat, lon = report.published_location
    notes = public_notes(events, lang, unit_name)
    description, address = public_text(report)
    out = {
        "service_request_id": report.id,
        "status": open_or_closed(report.status),
        "status_notes": notes[-1]["summary"] if notes else None,
        "service_name": category.name.get(lang) if category else report.category,
        "service_code": report.category,
        "description": description,
        "agency_responsible": unit_name(report.unit_code) if report.unit_code else None,
        "service_notice": notice(lang),
        "requested_datetime": w3c(report.created_at),
        "updated_datetime": w3c(report.updated_at),
        "expected_datetime": w3c(report.due_at),
        "address": None if category and category.private_location else address,
        "address_id": None,
        "zipcode": None,
        "lat": lat,
        "long": lon,
        "media_url": media_url(report, media_base_url),
    }
    if extensions:
        out["extended_attributes"] = {
            "detailed_status": detailed_status(report, events),
            "tracking_code": report.tracking_code,
            "agency_code": report.unit_code,
            "duplicate": report.duplicate_of,
            "notes": notes,
        }
    return out


@dataclass
class RequestQuery:
    ids: list[str]
    service_codes: list[str]
    statuses: list[str]
    start: datetime
    end: datetime
    page: int
    page_size: int
    extensions: bool


_ALLOWED = {
    "service_request_id", "service_code", "start_date", "end_date", "status", "page", "page_size",
    "extensions", "jurisdiction_id", "api_key", "format",
}


def _list(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        out.extend(v.strip() for v in value.split(",") if v.strip())
    return out


def _int(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,6}", raw) or not low <= int(raw) <= high:
        raise bad(f"{name}: số nguyên từ {low} đến {high}", f"{name}: an integer from {low} to {high}")
    return int(raw)


def _flag(raw: str | None) -> bool:
    return (raw or "").strip().lower() in ("true", "1", "yes")


def parse_request_query(params: Mapping[str, list[str]], now: datetime) -> RequestQuery:
    """GET requests' parameters: lists comma-delimited or repeated; a window of at most 90 days
    (default: the 90 days up to now); page/page_size with at most 1000 rows a page."""
    unknown = sorted(set(params) - _ALLOWED)
    if unknown:
        raise bad(f"Tham số không được hỗ trợ: {', '.join(unknown)[:100]}", f"Unknown parameters: {', '.join(unknown)[:100]}")

    def last(name: str) -> str | None:
        values = params.get(name) or []
        return values[-1] if values else None

    ids = _list(params.get("service_request_id") or [])
    if len(ids) > MAX_IDS:
        raise bad(f"Tối đa {MAX_IDS} service_request_id", f"At most {MAX_IDS} service_request_id values")
    codes = _list(params.get("service_code") or [])
    for code in codes:
        if code not in all_categories():
            raise bad(f"service_code không tồn tại: {code[:64]}", f"Unknown service_code: {code[:64]}")
    statuses = [s.lower() for s in _list(params.get("status") or [])]
    if any(s not in ("open", "closed") for s in statuses):
        raise bad("status: open hoặc closed", "status: open or closed")
    end_raw, start_raw = last("end_date"), last("start_date")
    end = parse_w3c(end_raw, "end_date", end_of_day=True) if end_raw else None
    start = parse_w3c(start_raw, "start_date") if start_raw else None
    if end is None:
        end = now if start is None else min(now, start + timedelta(days=MAX_WINDOW_DAYS))
    if start is None:
        start = end - timedelta(days=DEFAULT_WINDOW_DAYS)
    if start > end:
        raise bad("start_date phải trước end_date", "start_date must be before end_date")
    if end - start > timedelta(days=MAX_WINDOW_DAYS, seconds=1):
        raise bad(f"Khoảng thời gian tối đa {MAX_WINDOW_DAYS} ngày", f"The date range may span at most {MAX_WINDOW_DAYS} days")
    return RequestQuery(
        ids=ids,
        service_codes=codes,
        statuses=statuses,
        start=start,
        end=end,
        page=_int(last("page"), "page", 1, 1, 100000),
        page_size=_int(last("page_size"), "page_size", MAX_ROWS, 1, MAX_ROWS),
        extensions=_flag(last("extensions")),
    )


def matches(report: Report, query: RequestQuery) -> bool:
    if query.service_codes and report.category not in query.service_codes:
        return False
    if query.statuses and open_or_closed(report.status) not in query.statuses:
        return False
    return True


def published(report: Report | None) -> bool:
    """Whether Open311 may list or show the report (moderation and the category's publish policy)."""
    return report is not None and is_public(report, all_categories().get(report.category))


def valid_request_id(raw: str) -> bool:
    return bool(REPORT_ID.match(raw or ""))


# ---------------------------------------------------------------- updates (mySociety's extension)


def request_updates(
    report: Report, events: list[TimelineEvent], start: datetime, end: datetime, lang: str, unit_name
) -> list[dict]:
    """Public changes of one report within [start, end], as `request_update`s."""
    out = []
    lo, hi = iso_utc(start), iso_utc(end)
    seen: list[TimelineEvent] = []
    for event in events:
        seen.append(event)
        if not event.public or not (lo <= event.at <= hi) or event.status is None:
            continue
        state = replace(report, status=event.status, awaiting_info_since=None)
        out.append({
            "update_id": event.event_id,
            "service_request_id": report.id,
            "status": detailed_status(state, seen) if event.status not in ("resolved", "closed") else
            ("FIXED" if _answer_text(event.data) or report.answer else "CLOSED"),
            "updated_datetime": w3c(event.at),
            "description": note_of(event, lang, unit_name) or "",
            "media_url": None,
            "external_status_code": event.type,
        })
    return out


def local_days(start: datetime, end: datetime) -> list[str]:
    """The Asia/Ho_Chi_Minh days from `end` back to `start`, newest first (the ByDay partitions)."""
    first: date = start.astimezone(LOCAL_TZ).date()
    day: date = end.astimezone(LOCAL_TZ).date()
    out = []
    while day >= first:
        out.append(day.isoformat())
        day -= timedelta(days=1)
    return out


def now_utc() -> datetime:
    return datetime.now(UTC)
