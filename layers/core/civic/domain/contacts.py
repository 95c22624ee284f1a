"""Contact verification rules: an email, phone or Zalo id reaches nothing but its one verification
message until its owner confirms it (issue #17).

Pure. A contact is known by a *contact key*, `<channel>:<hash of the normalised address>`, so the
verified set on a person's row, the per-address daily limit and the pending items never hold an
address in the clear, and a changed address is unverified by construction.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from civic.domain.errors import Forbidden, Invalid
from civic.i18n import text

# Channel → the preference field holding its address. Inbox and push need no proof: the inbox is the
# account's own, and a push token is registered by the signed-in device itself.
VERIFIABLE = {"email": "email", "sms": "phone", "zalo": "zalo_user_id"}
TOKEN_TTL_SECONDS = 24 * 3600  # a link or code is good for a day; then a new one may be requested
MAX_ATTEMPTS = 5  # wrong codes per pending verification: 6 digits give 1 chance in 200,000
PER_ACCOUNT_DAY = 5  # verification messages an account may cause per local day
CODE_DIGITS = 6
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{20,100}$")
CODE_PATTERN = re.compile(r"^[0-9]{6}$")


def normalize(channel: str, address: str) -> str:
    address = address.strip()
    if channel == "email":
        return address.lower()
    if channel == "sms":  # 0912…, +84 912…, 0084912… are one number
        digits = re.sub(r"\D", "", address)
        if digits.startswith("00"):
            digits = digits[2:]
        return "84" + digits[1:] if digits.startswith("0") else digits
    return address


def contact_key(channel: str, address: str) -> str:
    digest = hashlib.sha256(f"{channel}:{normalize(channel, address)}".encode()).hexdigest()[:32]
    return f"{channel}:{digest}"


def secret_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def code_hash(user_id: str, channel: str, code: str) -> str:
    return secret_hash(f"{user_id}|{channel}|{code}")


@dataclass(frozen=True)
class Pending:
    """A verification in flight: one per (person, channel); a newer one replaces it."""

    user_id: str
    channel: str
    contact_key: str
    token_hash: str
    code_hash: str
    expires: int  # epoch seconds
    attempts: int = 0

    def live(self, now_epoch: int) -> bool:
        return now_epoch < self.expires


def status(channel: str, address: str | None, verified: frozenset[str], pending: Pending | None,
           now_epoch: int) -> str | None:
    """verified | pending (a live code was sent) | unverified (none sent: limited or expired); None
    when there is no address."""
    if not address:
        return None
    key = contact_key(channel, address)
    if key in verified:
        return "verified"
    if pending is not None and pending.contact_key == key and pending.live(now_epoch):
        return "pending"
    return "unverified"


def check_code(pending: Pending | None, contact: str | None, code: str, now_epoch: int) -> bool:
    """True when the code confirms the pending verification of the person's current address; raises
    when there is nothing to confirm or too many wrong codes were tried; False for a wrong code."""
    if pending is None or not pending.live(now_epoch) or contact is None or pending.contact_key != contact:
        raise Invalid("no_pending_verification",
                      text("Không có mã xác nhận nào đang chờ cho liên hệ này; hãy lưu lại liên hệ để nhận mã mới",
                           "No confirmation is waiting for this contact; save it again to get a new code"))
    if pending.attempts >= MAX_ATTEMPTS:
        raise Forbidden(text("Đã nhập sai quá nhiều lần; hãy đợi mã mới vào ngày mai",
                             "Too many wrong codes; wait for a new code tomorrow"), code="too_many_attempts")
    return hmac.compare_digest(pending.code_hash, code_hash(pending.user_id, pending.channel, code))


def wrong_code(attempts_left: int) -> Invalid:
    return Invalid("wrong_code", text(f"Mã không đúng; còn {attempts_left} lần thử",
                                      f"Wrong code; {attempts_left} attempts left"),
                   {"code": text("Mã không đúng", "Wrong code")})


def invalid_token() -> Invalid:
    return Invalid("invalid_token", text("Liên kết xác nhận không hợp lệ hoặc đã hết hạn",
                                         "The confirmation link is invalid or has expired"),
                   {"token": text("Không hợp lệ hoặc đã hết hạn", "Invalid or expired")})


def verify_link(web_base: str, token: str) -> str:
    return f"{web_base.rstrip('/')}/#/verify/{token}"


def message(channel: str, code: str, link: str) -> tuple[str, str]:
    """(title, text) of the verification message: Vietnamese first, then English; SMS without
    diacritics and within one 160-character segment."""
    if channel == "sms":
        return "CivicBridge", f"CivicBridge: ma xac nhan {code}. Xac nhan: {link} (Your code: {code})"
    title = "CivicBridge: xác nhận liên hệ / confirm your contact"
    body = (f"Mã xác nhận của bạn: {code}\nMở liên kết để xác nhận: {link}\n"
            "Nếu bạn không yêu cầu, hãy bỏ qua tin này: bạn sẽ không nhận thêm tin nào.\n\n"
            f"Your confirmation code: {code}\nOpen the link to confirm: {link}\n"
            "If you did not ask for this, ignore it: nothing more will be sent to you.")
    return title, body


def cognito_verified(claims: dict[str, Any]) -> dict[str, str]:
    """The contacts the ID token says Cognito verified: {channel: address}. API Gateway passes claims
    as strings ("true"); a decoded JWT has booleans."""
    def yes(value: object) -> bool:
        return value is True or str(value).lower() == "true"

    out = {}
    if claims.get("email") and yes(claims.get("email_verified")):
        out["email"] = str(claims["email"])
    if claims.get("phone_number") and yes(claims.get("phone_number_verified")):
        out["sms"] = str(claims["phone_number"])
    return out
