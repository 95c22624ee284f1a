"""Domain errors: what went wrong, in the domain's words. The core raises these and knows no HTTP; the
edge (chalicelib/http.py) turns each kind into a status and a `{"error": {"code", "message", "fields"}}`
body. Messages are bilingual (Vietnamese first); `fields` name the inputs at fault."""

from __future__ import annotations

from typing import Any, ClassVar

from civic.i18n import Text, text


class DomainError(Exception):
    kind: ClassVar[str] = "invalid"

    def __init__(self, code: str, message: Text, fields: dict[str, Text] | None = None) -> None:
        super().__init__(message.en)
        self.code = code
        self.message = message
        self.fields = dict(fields or {})

    def body(self, lang: str) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message.get(lang),
                          "fields": {name: msg.get(lang) for name, msg in self.fields.items()}}}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message.en!r})"


class Invalid(DomainError):
    """The input breaks a rule; `fields` say which input and why."""

    kind = "invalid"


class Unauthenticated(DomainError):
    """Who is asking must be known first (sign in)."""

    kind = "unauthenticated"


class Forbidden(DomainError):
    """Known, but not allowed to do this."""

    kind = "forbidden"

    def __init__(self, message: Text, code: str = "forbidden") -> None:
        super().__init__(code, message)


class NotFound(DomainError):
    """Nothing by that name, or nothing this person may know exists."""

    kind = "not_found"

    def __init__(self, what_vi: str = "Không tìm thấy", what_en: str = "Not found", code: str = "not_found") -> None:
        super().__init__(code, text(what_vi, what_en))


class Conflict(DomainError):
    """Not in this state (the allowed actions may be named), or changed by someone else meanwhile."""

    kind = "conflict"


class TooLarge(DomainError):
    kind = "too_large"


class TooMany(DomainError):
    """A quota is used up (civic.domain.quotas); `retry_after` is how many seconds until its window ends."""

    kind = "too_many"

    def __init__(self, message: Text, retry_after: int) -> None:
        super().__init__("too_many_requests", message)
        self.retry_after = max(1, int(retry_after))

    def body(self, lang: str) -> dict[str, Any]:
        answer = super().body(lang)
        answer["error"]["retry_after"] = self.retry_after
        return answer


class NotReady(DomainError):
    """Something this needs does not exist yet (e.g. no boundaries published); retrying later may work."""

    kind = "not_ready"


def unauthenticated(message: Text | None = None) -> Unauthenticated:
    return Unauthenticated("unauthorized", message or text("Cần đăng nhập để thực hiện thao tác này", "Sign-in required"))
