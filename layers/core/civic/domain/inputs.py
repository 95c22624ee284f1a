"""What the core takes from outside, as typed inputs: the bodies of the citizen's and staff's small
requests. The edge validates a body with one of these models (chalicelib.http.parsed_body) and the
service receives the model; a refusal is the domain's bilingual `Invalid` with one message per field.

Each model may name a hint per field (`HINTS`): the message a person reads, in place of pydantic's
generic one. Kept apart from civic.domain.reports so reading reports never pays for pydantic's import.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from civic.domain.contacts import CODE_PATTERN, TOKEN_PATTERN, VERIFIABLE
from civic.domain.errors import Invalid
from civic.domain.moderation import FLAG_REASONS
from civic.domain.notify import CHANNELS, DEVICE_PLATFORMS, HHMM, LANGUAGES, MAX_FOLLOW_UNITS
from civic.domain.submission import (
    EVIDENCE_MESSAGES,
    EvidenceDeclaration,
    FilledText,
    MediaDeclaration,
    validation_error,
)
from civic.i18n import Text
from civic.i18n import text as vi_en  # `text` is also a field name below

MAX_REPLY = 4000
MAX_COMMENT = 1000
MAX_FLAG_TEXT = 500
MAX_EVIDENCE = 5  # evidence files per request


class Input(BaseModel):
    """A request body: a JSON object of exactly these fields, types as sent (no "5" for 5)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    HINTS: ClassVar[dict[str, Text]] = {}
    MESSAGES: ClassVar[dict[str, Text]] = {}  # by pydantic error type, over civic.domain.submission's
    TITLE: ClassVar[Text] = vi_en("Dữ liệu gửi lên không hợp lệ", "The request is not valid")

    @classmethod
    def parse(cls, body: Any) -> Any:
        """The model from a decoded JSON body; `Invalid` with the fields at fault otherwise."""
        try:
            return cls.model_validate(body)
        except ValidationError as exc:
            refused = validation_error(exc, cls.MESSAGES)
            fields: dict[str, Text] = {}
            for name, message in refused.fields.items():
                top = name.split(".")[0]  # a hinted field answers once, under its own name
                fields.setdefault(top, cls.HINTS[top]) if top in cls.HINTS else fields.setdefault(name, message)
            if "body" in fields:  # not an object at all
                fields["body"] = vi_en("Cần một đối tượng JSON", "A JSON object is required")
            raise Invalid("invalid_request", cls.TITLE, fields) from None


class Reply(Input):
    """The author's answer to the unit's request for information."""

    text: FilledText = Field(min_length=1, max_length=MAX_REPLY)
    HINTS = {"text": vi_en(f"1–{MAX_REPLY} ký tự", f"1–{MAX_REPLY} characters")}
    TITLE = vi_en("Cần nội dung trả lời", "An answer is required")


class RatingInput(Input):
    """The author's rating of the published result."""

    satisfied: bool
    stars: int = Field(ge=1, le=5)
    comment: str | None = Field(None, max_length=MAX_COMMENT)
    HINTS = {
        "satisfied": vi_en("true hoặc false", "true or false"),
        "stars": vi_en("Số nguyên từ 1 đến 5", "An integer from 1 to 5"),
        "comment": vi_en(f"Tối đa {MAX_COMMENT} ký tự", f"At most {MAX_COMMENT} characters"),
    }
    TITLE = vi_en("Đánh giá không hợp lệ", "Invalid rating")


class FlagInput(Input):
    """A citizen's flag of abuse on a public report."""

    reason: Literal[tuple(FLAG_REASONS)]  # type: ignore[valid-type]
    text: str | None = Field(None, max_length=MAX_FLAG_TEXT)
    HINTS = {
        "reason": vi_en(", ".join(FLAG_REASONS), ", ".join(FLAG_REASONS)),
        "text": vi_en(f"Tối đa {MAX_FLAG_TEXT} ký tự", f"At most {MAX_FLAG_TEXT} characters"),
    }
    TITLE = vi_en("Báo cáo vi phạm không hợp lệ", "Invalid flag")


class EvidenceRequest(Input):
    """Staff declare the evidence files they are about to upload: photos, videos or PDF documents."""

    media: list[EvidenceDeclaration] = Field(
        min_length=1, max_length=MAX_EVIDENCE, description="Photos, videos or PDF documents (evidence only)")
    MESSAGES = EVIDENCE_MESSAGES


class DeviceInput(Input):
    """A phone's or browser's push token."""

    platform: Literal[DEVICE_PLATFORMS]  # type: ignore[valid-type]
    token: str = Field(min_length=8, max_length=4096)
    HINTS = {
        "platform": vi_en("android, ios hoặc web", "android, ios or web"),
        "token": vi_en("Mã thiết bị (8–4096 ký tự)", "The push token (8–4096 characters)"),
    }
    TITLE = vi_en("Thiết bị không hợp lệ", "Invalid device")


class ContactToken(Input):
    """The token of a verification link (the secret: no sign-in needed)."""

    token: str = Field(pattern=TOKEN_PATTERN.pattern)
    HINTS = {"token": vi_en("Mã trong liên kết xác nhận", "The token in the confirmation link")}
    TITLE = vi_en("Cần mã xác nhận trong liên kết", "The token from the link is required")


class ContactCode(Input):
    """The code of a verification message, for one of my contacts."""

    channel: Literal[tuple(VERIFIABLE)]  # type: ignore[valid-type]
    code: str = Field(pattern=CODE_PATTERN.pattern)
    HINTS = {
        "channel": vi_en("email, sms hoặc zalo", "email, sms or zalo"),
        "code": vi_en("Mã gồm 6 chữ số", "A 6-digit code"),
    }
    TITLE = vi_en("Yêu cầu xác nhận không hợp lệ", "Invalid confirmation request")


PHONE = re.compile(r"^\+[1-9][0-9]{7,14}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,}$")
ZALO_USER = re.compile(r"^[0-9A-Za-z_-]{1,64}$")
CONTACT_PATTERNS = {"email": EMAIL, "phone": PHONE, "zalo_user_id": ZALO_USER}


class QuietHours(Input):
    start: str = Field(pattern=HHMM.pattern)
    end: str = Field(pattern=HHMM.pattern)


class PreferencesInput(Input):
    """PUT /v1/me/preferences: only the fields sent change; null (or "") removes a contact or area."""

    # A field left out stays as it was; an explicit null is refused for channels and language.
    channels: list[Literal[CHANNELS]] = Field(None, json_schema_extra={"uniqueItems": True})  # type: ignore[valid-type,arg-type]
    language: Literal[LANGUAGES] = None  # type: ignore[valid-type]
    quiet_hours: QuietHours | None = None
    email: str | None = None
    phone: str | None = Field(None, description="E.164, e.g. +84912345678")
    zalo_user_id: str | None = None
    home_unit: str | None = Field(None, max_length=64, description="An administrative unit's code")
    follow_units: list[str] | None = Field(
        None, max_length=MAX_FOLLOW_UNITS, json_schema_extra={"uniqueItems": True},
        description="Administrative units followed beyond the home one: their alerts reach me ([] or null: none)")
    HINTS = {
        "channels": vi_en(f"Danh sách các kênh: {', '.join(CHANNELS)}", f"A list of: {', '.join(CHANNELS)}"),
        "language": vi_en("vi hoặc en", "vi or en"),
        "quiet_hours": vi_en('{"start":"HH:MM","end":"HH:MM"} hoặc null', '{"start":"HH:MM","end":"HH:MM"} or null'),
        "email": vi_en("Địa chỉ email", "An email address"),
        "phone": vi_en("Số điện thoại dạng +84…", "A phone number like +84…"),
        "zalo_user_id": vi_en("Mã người dùng Zalo", "A Zalo user id"),
        "home_unit": vi_en("Mã một đơn vị hành chính", "The code of an administrative unit"),
        "follow_units": vi_en(f"Tối đa {MAX_FOLLOW_UNITS} mã đơn vị hành chính khác nhau",
                              f"At most {MAX_FOLLOW_UNITS} distinct administrative unit codes"),
    }
    TITLE = vi_en("Tùy chọn thông báo không hợp lệ", "Invalid notification preferences")


    @field_validator("channels", "follow_units")
    @classmethod
    def _distinct(cls, values: list[str] | None) -> list[str] | None:
        if values is not None and len(set(values)) != len(values):
            raise ValueError("items must be distinct")
        return values

    @field_validator("email", "phone", "zalo_user_id")
    @classmethod
    def _contact(cls, value: str | None, info: ValidationInfo) -> str | None:
        """"" or null removes the contact; otherwise it must look like one."""
        if not value:
            return None
        if not CONTACT_PATTERNS[str(info.field_name)].match(value):
            raise ValueError("not a valid address")
        return value


__all__ = ["ContactCode", "ContactToken", "DeviceInput", "EvidenceRequest", "FlagInput", "Input", "MediaDeclaration",
           "PreferencesInput", "QuietHours", "RatingInput", "Reply"]
