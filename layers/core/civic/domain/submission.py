"""The submission contract (POST /v1/reports), validated with pydantic.

Kept apart from civic.domain.reports so that reading reports never pays for pydantic's import.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from civic.domain.errors import Invalid
from civic.domain.reports import MAX_ADDRESS, MAX_DESCRIPTION, MAX_MEDIA
from civic.i18n import Text, text

# Text a person typed: control characters refused, trimmed, not blank.
FilledText = Annotated[str, AfterValidator(lambda value: not_blank(value))]


class MediaDeclaration(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    content_type: Literal["image/jpeg", "image/png", "image/webp", "image/heic", "video/mp4", "video/quicktime"]
    size: int = Field(gt=0)
    # Where the photo was taken, read on the phone from its EXIF before it was shrunk (a shrunk photo
    # carries no EXIF): the media function uses it when the file has no position of its own.
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)

    @field_validator("lat", "lon", mode="before")
    @classmethod
    def _coordinate(cls, value: Any) -> Any:
        return _finite(value)

    @model_validator(mode="after")
    def _both(self) -> MediaDeclaration:
        if (self.lat is None) != (self.lon is None) or (
            self.lat is not None and not self.content_type.startswith("image/")
        ):
            raise PydanticCustomError("media_position", "a photo's lat and lon go together, for photos only")
        return self


class EvidenceDeclaration(BaseModel):
    """A file of a result's evidence (POST /v1/staff/reports/{id}/evidence): media, or a PDF document."""

    model_config = ConfigDict(extra="forbid", strict=True)

    content_type: Literal[
        "image/jpeg", "image/png", "image/webp", "image/heic", "video/mp4", "video/quicktime", "application/pdf"
    ]
    size: int = Field(gt=0)


class ReportSubmission(BaseModel):
    """The body of POST /v1/reports: mobile, web, Open311 and chat clients all send this."""

    model_config = ConfigDict(extra="forbid", strict=True)

    category: str = Field(min_length=1, max_length=64)
    description: FilledText = Field(max_length=MAX_DESCRIPTION)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    address: str | None = Field(None, max_length=MAX_ADDRESS)
    anonymous: bool = False
    media: list[MediaDeclaration] = Field(default_factory=list, max_length=MAX_MEDIA)
    # Answers to the category's questions ({question code: answer}), checked by civic.domain.questions.
    answers: dict[str, Any] | None = None

    @field_validator("lat", "lon", mode="before")
    @classmethod
    def _number(cls, value: Any) -> Any:
        return _finite(value)

    @field_validator("address")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        return printable(value).strip() or None if value is not None else None


def _finite(value: Any) -> Any:
    # JSON integers are fine for coordinates; booleans are not numbers here.
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            return float(value)
        except OverflowError:
            raise ValueError("must be a number within range") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def not_blank(value: str) -> str:
    value = printable(value).strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def printable(value: str) -> str:
    """Text without control characters (NUL, escapes), which no person types; newlines and tabs stay."""
    if any(ord(ch) < 32 and ch not in "\n\t\r" or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
    return value


_FIELD_MESSAGES: dict[str, Text] = {
    "missing": text("Thiếu trường bắt buộc", "This field is required"),
    "extra_forbidden": text("Trường không được hỗ trợ", "Unknown field"),
    "string_too_long": text("Nội dung quá dài", "Too long"),
    "string_too_short": text("Không được để trống", "Must not be empty"),
    "value_error": text("Giá trị không hợp lệ (trống hoặc có ký tự điều khiển)", "Invalid value (empty, or control characters)"),
    "too_long": text("Quá nhiều mục (tối đa 5 tệp ảnh/video)", "Too many items (at most 5 photos/videos)"),
    "greater_than_equal": text("Giá trị nằm ngoài phạm vi cho phép", "Value out of range"),
    "less_than_equal": text("Giá trị nằm ngoài phạm vi cho phép", "Value out of range"),
    "greater_than": text("Giá trị phải lớn hơn 0", "Must be greater than 0"),
    "media_position": text(
        "Vị trí chụp ảnh cần cả vĩ độ và kinh độ, và chỉ dành cho ảnh",
        "A photo's position needs both lat and lon, and is for photos only",
    ),
    "literal_error": text(
        "Định dạng không được hỗ trợ (JPEG, PNG, WebP, HEIC, MP4, MOV)",
        "Unsupported type (JPEG, PNG, WebP, HEIC, MP4, MOV)",
    ),
}


def _field_name(loc: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


# The evidence form also takes PDF documents.
EVIDENCE_MESSAGES: dict[str, Text] = {
    "literal_error": text(
        "Định dạng không được hỗ trợ (JPEG, PNG, WebP, HEIC, MP4, MOV, PDF)",
        "Unsupported type (JPEG, PNG, WebP, HEIC, MP4, MOV, PDF)",
    ),
    "too_long": text("Quá nhiều tệp (tối đa 5 tệp mỗi lần)", "Too many files (at most 5 at a time)"),
}


def validation_error(exc: ValidationError, messages: dict[str, Text] | None = None) -> Invalid:
    table = {**_FIELD_MESSAGES, **(messages or {})}
    fields: dict[str, Text] = {}
    for err in exc.errors():
        name = _field_name(err["loc"])
        if name in fields:
            continue
        kind = err["type"]
        if kind in table:
            fields[name] = table[kind]
        elif kind.endswith("_type") or kind.endswith("_parsing"):
            fields[name] = text("Sai kiểu dữ liệu", f"Wrong type: {err['msg']}")
        else:
            fields[name] = text("Giá trị không hợp lệ", err["msg"])
    return Invalid(
        "invalid_request", text("Dữ liệu gửi lên không hợp lệ", "The request is not valid"), fields
    )
