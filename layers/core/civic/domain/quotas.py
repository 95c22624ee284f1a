"""Quotas against spam, as data: which actions are counted, per whom, over which window, and the settings
field that gives each limit (0 switches a quota off). Everything else (the API, the counters, the README)
reads this table.

Windows are fixed and aligned to Vietnam's clock (a day window is a local day, 00:00–24:00 UTC+7), so a
counter is one DynamoDB item per (quota, subject, window) and "retry after" is simply the window's end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from civic.domain.errors import TooMany
from civic.i18n import Text, text

# Asia/Ho_Chi_Minh is UTC+7 all year (civic.clock.LOCAL_TZ): day windows start at local midnight.
LOCAL_OFFSET_SECONDS = 7 * 3600
# Counters outlive their window a little (TTL deletion is lazy anyway); nothing reads an old window.
TTL_SLACK_SECONDS = 3600


@dataclass(frozen=True)
class Quota:
    name: str  # also the settings field `quota_<name>` and the env variable QUOTA_<NAME>
    action: str  # what is counted (ACTIONS)
    subject: str  # whose uses are counted: account, open311_client or source_ip
    window_seconds: int
    default: int  # the limit when the deployment sets none
    about: Text  # for the README and operators

    @property
    def setting(self) -> str:
        return f"quota_{self.name}"


TABLE: tuple[Quota, ...] = (
    Quota("reports_per_hour", "report", "account", 3600, 10,
          text("Phản ánh mỗi tài khoản trong một giờ", "Reports per signed-in account per hour")),
    Quota("reports_per_day", "report", "account", 86400, 30,
          text("Phản ánh mỗi tài khoản trong một ngày", "Reports per signed-in account per day")),
    Quota("open311_per_hour", "open311_post", "open311_client", 3600, 60,
          text("Yêu cầu Open311 mỗi api_key trong một giờ", "Open311 POST requests per api_key per hour")),
    Quota("anonymous_reads_per_minute", "anonymous_read", "source_ip", 60, 300,
          text("Lượt đọc không đăng nhập mỗi địa chỉ IP trong một phút",
               "Reads without a sign-in per source address per minute")),
    Quota("flags_per_day", "flag", "account", 86400, 20,
          text("Lượt báo cáo vi phạm mỗi tài khoản trong một ngày", "Abuse flags per signed-in account per day")),
)
BY_NAME = {q.name: q for q in TABLE}

# What the citizen is told when an action's quota is used up.
MESSAGES: dict[str, Text] = {
    "report": text("Bạn đã gửi quá nhiều phản ánh trong thời gian ngắn, vui lòng thử lại sau",
                   "You have sent too many reports in a short time; please try again later"),
    "open311_post": text("Ứng dụng này đã gửi quá nhiều yêu cầu, vui lòng thử lại sau",
                         "This client has sent too many requests; please try again later"),
    "anonymous_read": text("Quá nhiều yêu cầu từ địa chỉ này, vui lòng thử lại sau hoặc đăng nhập",
                           "Too many requests from this address; please try again later, or sign in"),
    "flag": text("Bạn đã báo cáo quá nhiều phản ánh hôm nay, vui lòng thử lại sau",
                 "You have flagged too many reports today; please try again later"),
}
ACTIONS = tuple(MESSAGES)


@dataclass(frozen=True)
class Counter:
    """One use to count: the item `key`, allowed while its count is below `limit`, until `window_end`."""

    key: str
    limit: int
    window_end: int  # epoch seconds

    @property
    def expires_at(self) -> int:
        return self.window_end + TTL_SLACK_SECONDS


def window(now: float, seconds: int) -> tuple[int, int]:
    """The fixed window holding `now` (epoch seconds): its start and end, aligned to local time."""
    local = int(now) + LOCAL_OFFSET_SECONDS
    start = local - local % seconds - LOCAL_OFFSET_SECONDS
    return start, start + seconds


def limits_from(settings: object) -> dict[str, int]:
    """Each quota's limit from the settings (`quota_<name>`), its default when the field is missing."""
    return {q.name: int(getattr(settings, q.setting, q.default)) for q in TABLE}


def counters(action: str, subject: str, limits: Mapping[str, int], now: float) -> list[Counter]:
    """The counters one use of `action` by `subject` counts against (switched-off quotas left out)."""
    if action not in MESSAGES:
        raise ValueError(f"unknown quota action {action!r}")
    out = []
    for quota in TABLE:
        limit = limits.get(quota.name, quota.default)
        if quota.action != action or limit <= 0:
            continue
        start, end = window(now, quota.window_seconds)
        out.append(Counter(f"{quota.name}#{subject}#{start}", limit, end))
    return out


def refusal(action: str, full: Sequence[Counter], now: float) -> TooMany:
    """The error for a use refused by the `full` counters: retry when the last of them has reset."""
    wait = max(c.window_end for c in full) - int(now)
    return TooMany(MESSAGES[action], retry_after=wait)
