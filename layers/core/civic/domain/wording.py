"""How a report's history reads for people: each timeline event's label and each actor's role, as data
in one place (served in GET /v1/config as `events` and `roles`; never re-declared in JavaScript).

Public pages name units and roles, never codes: "Đã chuyển đến đơn vị xử lý" (sent to the handling unit)
for the first routing, "cán bộ" for an officer."""

from __future__ import annotations

from civic.i18n import Text, text

EVENTS: dict[str, Text] = {
    "submitted": text("Người dân gửi phản ánh", "Report submitted"),
    "routed": text("Đã chuyển đến đơn vị xử lý", "Sent to the handling unit"),
    "needs_triage": text("Chờ phân loại", "Waiting for triage"),
    "accept": text("Đơn vị tiếp nhận", "Accepted by the unit"),
    "refuse": text("Từ chối", "Refused"),
    "transfer": text("Chuyển sang đơn vị khác", "Passed to another unit"),
    "assign": text("Giao xử lý", "Assigned"),
    "set_priority": text("Đổi mức độ", "Priority changed"),
    "note": text("Ghi chú nội bộ", "Internal note"),
    "request_info": text("Đề nghị bổ sung thông tin", "More information requested"),
    "resolve": text("Có kết quả xử lý", "Result written"),
    "approve": text("Lãnh đạo phê duyệt kết quả", "Result approved"),
    "return": text("Trả lại để xử lý tiếp", "Returned for more work"),
    "reopen": text("Mở lại", "Reopened"),
    "citizen_reply": text("Người dân bổ sung thông tin", "Citizen replied"),
    "partner_update": text("Ý kiến qua ứng dụng đối tác (Open311)", "Comment through a partner app (Open311)"),
    "rated": text("Người dân đánh giá", "Rated by the citizen"),
    "rating_changed": text("Đánh giá được sửa", "Rating changed"),
    "evidence_requested": text("Chuẩn bị minh chứng", "Evidence upload started"),
    "media_added": text("Thêm ảnh, video, tài liệu", "Photo, video or document added"),
    "media_refused": text("Tệp bị từ chối", "File refused"),
    "due_soon": text("Sắp đến hạn", "Due soon"),
    "overdue": text("Quá hạn", "Overdue"),
    "escalate_parent": text("Báo cáo cấp trên", "Escalated to the parent unit"),
    "closed": text("Đóng phản ánh", "Closed"),
    "hide": text("Ẩn khỏi trang công khai", "Hidden from the public"),
    "unhide": text("Hiển thị lại", "Shown again"),
    "redact": text("Biên tập nội dung công khai", "Public text edited"),
    "hide_media": text("Ẩn một ảnh", "A photo hidden"),
    "show_media": text("Hiện lại một ảnh", "A photo shown again"),
    "flag": text("Người dân báo cáo vi phạm", "Flagged by a citizen"),
    "flag_hidden": text("Tạm ẩn do nhiều người báo cáo vi phạm", "Hidden after several flags"),
}

# Who acted (TimelineEvent.actor_role), as the page says it.
ROLES: dict[str, Text] = {
    "citizen": text("người dân", "citizen"),
    "officer": text("cán bộ", "officer"),
    "leader": text("lãnh đạo đơn vị", "unit leader"),
    "coordinator": text("điều phối viên", "coordinator"),
    "moderator": text("cán bộ kiểm duyệt", "moderator"),
    "admin": text("quản trị viên", "administrator"),
    "system": text("hệ thống", "system"),
    "partner": text("ứng dụng đối tác", "partner app"),
}


# The notification channels (civic.domain.notify.CHANNELS, in its order) as the settings page names them.
CHANNELS: dict[str, Text] = {
    "inbox": text("Hộp thông báo trong ứng dụng", "In-app notifications"),
    "email": text("Email", "Email"),
    "sms": text("Tin nhắn SMS", "SMS"),
    "push": text("Thông báo đẩy trên điện thoại", "Push notifications"),
    "zalo": text("Zalo", "Zalo"),
}


def as_config() -> dict[str, list[dict[str, object]]]:
    """The tables as GET /v1/config serves them."""
    from civic.domain.notify import CHANNELS as CHANNEL_ORDER

    return {
        "events": [{"code": code, "label": label.as_dict()} for code, label in EVENTS.items()],
        "roles": [{"code": code, "label": label.as_dict()} for code, label in ROLES.items()],
        "channels": [{"code": code, "label": CHANNELS[code].as_dict()} for code in CHANNEL_ORDER],
    }
