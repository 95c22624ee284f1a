"""POST requests: the form a client sends, read as a report submission plus the submitter's contact."""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from chalicelib.open311.catalog import notice, require_service
from chalicelib.open311.wire import Open311Error, bad, parse_w3c
from civic.clock import LOCAL_TZ
from civic.domain import questions
from civic.domain.categories import Category
from civic.domain.errors import Invalid
from civic.domain.reports import MAX_DESCRIPTION, Report
from civic.i18n import text

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


@dataclass
class Upload:
    """A photo sent inside the POST (multipart `media`), handed to the media pipeline after the report."""

    content_type: str
    data: bytes


MAX_PARTS = 200


def parse_multipart(raw: bytes | str | None, content_type: str) -> tuple[dict[str, list[str]], Upload | None]:
    """A multipart/form-data body (clients that send the photo itself as `media`): the fields, and the
    photo. Read with the standard library's MIME parser; anything malformed is a 400."""
    from email.parser import BytesParser
    from email.policy import HTTP

    from civic.domain.reports import PHOTO_TYPES

    data = raw.encode() if isinstance(raw, str) else (raw or b"")
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1", "replace")
                                                  + b"\r\n\r\n" + data)
    if not message.is_multipart():
        raise bad("Nội dung multipart không hợp lệ", "Malformed multipart/form-data body")
    form: dict[str, list[str]] = {}
    upload = None
    for index, part in enumerate(message.iter_parts()):
        if index >= MAX_PARTS:
            raise bad("Quá nhiều trường", "Too many fields")
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is not None or name == "media":
            if name != "media" or upload is not None:
                raise bad("Chỉ nhận một tệp ảnh, tên trường media", "Only one file, in the field media")
            kind = part.get_content_type()
            if kind not in PHOTO_TYPES:
                raise bad(f"media phải là ảnh ({', '.join(PHOTO_TYPES)})", f"media must be a photo ({', '.join(PHOTO_TYPES)})")
            upload = Upload(kind, payload)
            continue
        try:
            form.setdefault(name, []).append(payload.decode(part.get_content_charset() or "utf-8"))
        except (UnicodeDecodeError, LookupError):
            raise bad("Nội dung phải là UTF-8", "The body must be UTF-8") from None
    return form, upload


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


def parse_submission(form: Mapping[str, list[str]], client_id: str, lang: str,
                     locate_address: Callable[[str], tuple[float, float, str] | None] | None = None) -> Submission:
    """A POST requests form → our submission; every refusal is a 400 before anything is written.
    `locate_address(address_string)` → (lat, lon, unit code) of the ward it names, for clients that send
    an address without coordinates (the spec allows it)."""
    category = require_service(_one(form, "service_code", 64))
    lat_raw, long_raw = _one(form, "lat", 40), _one(form, "long", 40)
    address = _one(form, "address_string", 300)
    located = None
    if lat_raw is None or long_raw is None:
        located = locate_address(address) if address and locate_address else None
        if located is None and address:
            raise bad(
                "Không xác định được vị trí từ address_string: hãy ghi rõ tên phường/xã, hoặc gửi lat và long",
                "The address_string names no ward or commune this server knows: name one, or send lat and long",
            )
        if located is None:
            raise bad("Cần vị trí: lat và long (hoặc address_string có tên phường/xã)",
                      "A location is required: lat and long (or an address_string naming the ward)")
        lat, lon = located[0], located[1]
    else:
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
    if located is not None:  # staff see that the place is the ward's, not the citizen's exact spot
        event_data["located_from"] = {"address_string": True, "unit_code": located[2]}
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


@dataclass
class Update:
    """mySociety's POST servicerequestupdates: a partner system's comment on a request."""

    service_request_id: str
    update_id: str  # the client's own id of the update: the same one twice is one update
    text: str
    media_url: str | None


_UPDATE_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


def parse_update(form: Mapping[str, list[str]]) -> Update:
    """The update's form; `status` is read and ignored (only the handling unit changes a status)."""
    from civic.domain.reports import REPORT_ID

    request_id = _one(form, "service_request_id", 64) or ""
    if not REPORT_ID.match(request_id):
        raise bad("Cần service_request_id hợp lệ", "A valid service_request_id is required")
    update_id = _one(form, "update_id", 64) or ""
    if not _UPDATE_ID.match(update_id):
        raise bad("Cần update_id (1–64 ký tự chữ, số, - _ . :)", "update_id is required (1–64 letters, digits, - _ . :)")
    text = (_one(form, "description", MAX_DESCRIPTION) or "").strip()
    if not text:
        raise bad("Cần nội dung (description)", "A description is required")
    media_url = _one(form, "media_url", 500)
    if media_url and not _URL.match(media_url):
        raise bad("media_url phải là một địa chỉ http(s)", "media_url must be an http(s) URL")
    return Update(request_id, update_id, text, media_url)


def update_created(update_id: str) -> list[dict]:
    return [{"update_id": update_id}]


def created(report_id: str, tracking_code: str, lang: str) -> list[dict]:
    """POST requests' answer: the id at once (reports are created synchronously) and the token."""
    return [{"service_request_id": report_id, "token": tracking_code, "service_notice": notice(lang), "account_id": None}]


def token_answer(report: Report | None, token: str) -> list[dict]:
    if report is None:
        raise Open311Error(404, text("Không tìm thấy token", "Token not found"))
    return [{"service_request_id": report.id, "token": report.tracking_code}]


