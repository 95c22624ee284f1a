"""Quotas against spam: the policy table, fixed windows aligned to Vietnam's clock, and the use case
over an in-memory counter (all of an action's counters or none; TooMany with the seconds to wait)."""

from datetime import datetime

import pytest

from civic.clock import LOCAL_TZ
from civic.domain import quotas
from civic.domain.errors import TooMany
from civic.services.quotas import Quotas
from civic.settings import Settings
from civic_dev.fakes import InMemoryQuotaCounters


def at(text: str) -> float:
    """Epoch seconds of a local (Asia/Ho_Chi_Minh) time."""
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ).timestamp()


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_every_quota_has_a_setting_with_its_default_and_a_message():
    settings = Settings()
    for quota in quotas.TABLE:
        assert getattr(settings, quota.setting) == quota.default, quota.name
        assert quota.action in quotas.MESSAGES
        assert quota.subject in {"account", "open311_client", "source_ip"}
    assert quotas.limits_from(settings) == {
        "reports_per_hour": 10, "reports_per_day": 30, "open311_per_hour": 60,
        "anonymous_reads_per_minute": 300, "flags_per_day": 20}
    assert set(quotas.ACTIONS) == {"report", "open311_post", "anonymous_read", "flag"}


def test_settings_read_limits_from_the_environment(monkeypatch):
    monkeypatch.setenv("QUOTA_REPORTS_PER_HOUR", "3")
    monkeypatch.setenv("QUOTA_ANONYMOUS_READS_PER_MINUTE", "0")
    limits = quotas.limits_from(Settings())
    assert limits["reports_per_hour"] == 3 and limits["anonymous_reads_per_minute"] == 0
    monkeypatch.setenv("QUOTA_FLAGS_PER_DAY", "-1")
    with pytest.raises(ValueError):
        Settings()


def test_windows_are_fixed_and_a_day_is_a_local_day():
    assert quotas.window(at("2026-12-07T10:20:30"), 3600) == (at("2026-12-07T10:00:00"), at("2026-12-07T11:00:00"))
    assert quotas.window(at("2026-12-07T00:00:00"), 86400) == (at("2026-12-07T00:00:00"), at("2026-12-08T00:00:00"))
    assert quotas.window(at("2026-12-07T23:59:59"), 86400)[1] == at("2026-12-08T00:00:00")
    assert quotas.window(at("2026-12-07T06:59:00"), 60) == (at("2026-12-07T06:59:00"), at("2026-12-07T07:00:00"))


def test_counters_of_an_action_and_switched_off_quotas():
    limits = quotas.limits_from(Settings())
    now = at("2026-12-07T10:20:30")
    hour, day = quotas.counters("report", "citizen-1", limits, now)
    assert hour.key == f"reports_per_hour#citizen-1#{int(at('2026-12-07T10:00:00'))}"
    assert (hour.limit, day.limit) == (10, 30)
    assert day.window_end == at("2026-12-08T00:00:00")
    assert hour.expires_at > hour.window_end  # the counter outlives its window, never the reverse
    assert quotas.counters("report", "citizen-1", dict(limits, reports_per_hour=0), now) == [
        quotas.Counter(day.key, 30, day.window_end)]
    with pytest.raises(ValueError):
        quotas.counters("vote", "citizen-1", limits, now)


def test_hourly_quota_then_too_many_with_seconds_to_the_end_of_the_hour():
    counters = InMemoryQuotaCounters()
    clock = Clock(at("2026-12-07T10:59:15"))
    q = Quotas(counters, quotas.limits_from(Settings(quota_reports_per_hour=3)), clock)
    for _ in range(3):
        q.report("citizen-1")
    with pytest.raises(TooMany) as refused:
        q.report("citizen-1")
    assert refused.value.retry_after == 45
    assert refused.value.code == "too_many_requests" and refused.value.kind == "too_many"
    body = refused.value.body("vi")["error"]
    assert body["message"].startswith("Bạn đã gửi quá nhiều phản ánh") and body["fields"] == {}
    assert body["retry_after"] == 45
    assert refused.value.body("en")["error"]["message"].startswith("You have sent too many reports")
    # A refused use counts nothing: the day still holds 3.
    assert sorted(counters.uses.values()) == [3, 3]
    q.report("citizen-2")  # per account
    clock.now = at("2026-12-07T11:00:00")  # a new hour
    q.report("citizen-1")


def test_the_daily_quota_says_to_come_back_tomorrow():
    clock = Clock(at("2026-12-07T09:00:00"))
    q = Quotas(InMemoryQuotaCounters(), {"reports_per_hour": 2, "reports_per_day": 3}, clock)
    q.report("c")
    q.report("c")
    clock.now = at("2026-12-07T10:00:00")
    q.report("c")
    with pytest.raises(TooMany) as refused:
        q.report("c")
    assert refused.value.retry_after == 14 * 3600  # until local midnight


def test_open311_reads_and_flags_have_their_own_quotas():
    clock = Clock(at("2026-12-07T09:00:30"))
    q = Quotas(InMemoryQuotaCounters(), {"open311_per_hour": 1, "anonymous_reads_per_minute": 2,
                                         "flags_per_day": 1}, clock)
    q.open311_post("client-a")
    q.open311_post("client-b")
    with pytest.raises(TooMany) as refused:
        q.open311_post("client-a")
    assert "client" in refused.value.message.en
    q.anonymous_read("10.0.0.1")
    q.anonymous_read("10.0.0.1")
    with pytest.raises(TooMany) as refused:
        q.anonymous_read("10.0.0.1")
    assert refused.value.retry_after == 30
    q.anonymous_read("10.0.0.2")
    q.flag("citizen-1")
    with pytest.raises(TooMany):
        q.flag("citizen-1")


def test_a_quota_of_zero_is_off_and_costs_no_call():
    class Unreachable:
        def take(self, counters):
            raise AssertionError("no counter call when the quota is off")

    q = Quotas(Unreachable(), {"anonymous_reads_per_minute": 0})
    assert not q.enabled("anonymous_read") and q.enabled("report")
    for _ in range(1000):
        q.anonymous_read("10.0.0.1")
