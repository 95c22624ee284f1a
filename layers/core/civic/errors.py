"""Errors the API turns into `{"error": {"code", "message", "fields"}}` answers.

Messages are bilingual: the handler picks Vietnamese or English by Accept-Language.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from civic.i18n import Text, text


@dataclass
class ApiError(Exception):
    status: int
    code: str
    message: Text
    fields: dict[str, Text] = field(default_factory=dict)

    def body(self, lang: str) -> dict:
        return {
            "error": {
                "code": self.code,
                "message": self.message.get(lang),
                "fields": {name: msg.get(lang) for name, msg in self.fields.items()},
            }
        }


def bad_request(code: str, message: Text, fields: dict[str, Text] | None = None) -> ApiError:
    return ApiError(400, code, message, fields or {})


def not_found(what_vi: str = "Không tìm thấy", what_en: str = "Not found") -> ApiError:
    return ApiError(404, "not_found", text(what_vi, what_en))


def unauthorized() -> ApiError:
    return ApiError(
        401, "unauthorized", text("Cần đăng nhập để thực hiện thao tác này", "Sign-in required")
    )
