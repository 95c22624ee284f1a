"""Moderation: what of a report the public may see, and the kinds that decide it, as data in one place.

A report is public unless it is hidden (by a moderator, by a refusal as inappropriate, or by citizens'
flags pending review) or its category publishes only after a unit accepted it. Staff may publish a
redacted text in place of the citizen's (the original stays for staff and the author) and hide single
photos. Every public surface (the report, feed, nearby, track, Open311, open data) asks `is_public`
and takes its text from `public_text`, so one rule decides them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from civic.domain.privacy import mask_contacts
from civic.i18n import Text, text

if TYPE_CHECKING:
    from civic.domain.categories import Category
    from civic.domain.reports import MediaItem, Report

# Why a report is hidden (Report.hidden), told to its author.
HIDE_REASONS: dict[str, Text] = {
    "moderation": text("Nội dung bị ẩn theo quy định kiểm duyệt", "Hidden by a moderator"),
    "inappropriate": text("Nội dung không phù hợp", "Inappropriate content"),
    "flags": text("Tạm ẩn để xem xét sau khi bị báo cáo vi phạm", "Hidden for review after reports of abuse"),
}
# What a citizen may flag a report for (POST /v1/reports/{id}/flags).
FLAG_REASONS: dict[str, Text] = {
    "personal_data": text("Lộ thông tin cá nhân", "Reveals personal data"),
    "offensive": text("Xúc phạm, thô tục", "Offensive or abusive"),
    "false": text("Sai sự thật", "False information"),
    "spam": text("Quảng cáo, tin rác", "Spam or advertising"),
}
# As written into a flag's timeline event.
FLAG_REASONS_DATA = {code: {"code": code, **label.as_dict()} for code, label in FLAG_REASONS.items()}
# When a category's reports become public: at once, or once a unit accepted them (security and order).
PublishPolicy = Literal["immediate", "after_acceptance"]
PUBLISH_POLICIES: dict[str, Text] = {
    "immediate": text("Phản ánh được công khai ngay khi gửi", "Reports are public as soon as they are sent"),
    "after_acceptance": text("Phản ánh chỉ được công khai sau khi đơn vị tiếp nhận",
                             "Reports are public only once a unit has accepted them"),
}
# Accepted by a unit at some point: where an after_acceptance category becomes public.
_ACCEPTED = ("accepted", "in_progress", "pending_approval", "resolved", "closed")
# The staff roles that moderate (leaders within their units; coordinators and moderators everywhere).
MODERATOR_ROLES = ("leader", "coordinator", "moderator")
# Timeline events after which the open data already published must be rewritten (the export function's
# stream filter in infra/template.yaml lists the same; a test holds them equal).
REPUBLISHING_EVENTS = ("hide", "unhide", "redact", "hide_media", "show_media", "refuse", "flag_hidden")
REVIEW_PENDING = "pending"  # Report.review while a moderator must look at it (the moderation queue)


def is_public(report: Report, category: Category | None) -> bool:
    if report.hidden:
        return False
    if category is not None and category.publish == "after_acceptance":
        return report.status in _ACCEPTED
    return True


def public_text(report: Report) -> tuple[str, str | None]:
    """(description, address) as the public reads them: staff's redaction, else the citizen's text, with
    contact details masked either way (a redaction may start from the citizen's words)."""
    redacted = report.redacted or {}
    description = mask_contacts(redacted.get("description") or report.description) or ""
    address = mask_contacts(redacted["address"] if "address" in redacted else report.address)
    return description, address


def public_media(item: MediaItem) -> bool:
    return item.status == "ready" and not item.hidden


def hide_reason(code: str | None) -> dict[str, str] | None:
    return {"code": code, **HIDE_REASONS[code].as_dict()} if code in HIDE_REASONS else None
