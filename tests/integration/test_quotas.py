"""Quota counters on moto (tables from infra/template.yaml): racing threads never get past a limit, a
refused use writes nothing, a replayed Idempotency-Key counts nothing, and the routes answer 429 with
Retry-After in the API's and Open311's formats (the app through the local gateway, in-process)."""

import json
import os
import threading
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlencode

import pytest
from moto import mock_aws

from civic.adapters.dynamo import models
from civic.domain import quotas
from civic.domain.errors import TooMany
from civic.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
LIMITS = {"QUOTA_REPORTS_PER_HOUR": "3", "QUOTA_REPORTS_PER_DAY": "5", "QUOTA_OPEN311_PER_HOUR": "2",
          "QUOTA_ANONYMOUS_READS_PER_MINUTE": "4"}
REPORT = {"category": "traffic", "description": "Ổ gà sâu", "lat": 21.03, "lon": 105.85}


@pytest.fixture(scope="module")
def env():
    """The template deployed into in-process moto; the process environment set to its settings with
    low limits (restored afterwards), so `services()` is what a Lambda container would build."""
    from civic_dev.local.deploy import deploy_stack
    from civic_dev.local.moto_fixes import serialise_dynamodb_writes

    serialise_dynamodb_writes()  # as on the local stack: moto alone is not atomic under threads
    saved = dict(os.environ)
    with mock_aws():
        deployed = deploy_stack(endpoint_url=None, region="ap-southeast-1")
        os.environ.update(deployed.env)
        os.environ.update(LIMITS)
        os.environ.pop("AWS_ENDPOINT_URL", None)
        get_settings.cache_clear()
        models.bind(get_settings())
        yield deployed
    os.environ.clear()
    os.environ.update(saved)
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def counters(env):
    from civic.adapters.dynamo.quotas import DynamoQuotaCounters

    return DynamoQuotaCounters()


def race(n: int, work) -> list:
    """`work()` on n threads released together; what each returned (or raised)."""
    start = threading.Barrier(n)
    results: list = [None] * n

    def run(i):
        start.wait()
        try:
            results[i] = work()
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_one_counter_lets_exactly_its_limit_through_under_a_race(counters):
    counter = quotas.Counter("race-one#subject#0", 10, 4_000_000_000)
    results = race(40, lambda: counters.take([counter]))
    assert sum(r == [] for r in results) == 10
    assert all(r == [counter] for r in results if r != [])
    assert counters.used(counter.key) == 10
    item = models.QuotaModel.get(counter.key)
    assert item.expires_at == counter.window_end + quotas.TTL_SLACK_SECONDS  # the TTL attribute


def test_hour_and_day_are_taken_together_or_not_at_all(counters):
    hour = quotas.Counter("race-hour#s#0", 10, 4_000_000_000)
    day = quotas.Counter("race-day#s#0", 30, 4_000_000_000)
    results = race(40, lambda: counters.take([hour, day]))
    assert sum(r == [] for r in results) == 10
    assert [r for r in results if isinstance(r, Exception)] == []
    assert (counters.used(hour.key), counters.used(day.key)) == (10, 10)  # refusals counted nothing
    # A full day refuses even with room in the hour, and names the day.
    fresh_hour = quotas.Counter("race-hour#s#3600", 10, 4_000_000_000)
    full_day = quotas.Counter("race-day#s#0", 10, 4_000_000_000)
    assert counters.take([fresh_hour, full_day]) == [full_day]
    assert counters.used(fresh_hour.key) == 0


def test_report_quota_inside_idempotency_replays_and_writes_nothing_past_it(env):
    from civic.bootstrap import services

    create = services().idempotent_create
    citizen = "citizen-quota"

    def submit(key: str) -> dict:
        return create(request={"key": f"{citizen}:{key}", "citizen_id": citizen, "body": REPORT})

    first = submit("key-00001")
    assert submit("key-00002")["id"] != first["id"]
    submit("key-00003")
    events = models.TimelineModel.count()
    with pytest.raises(TooMany) as refused:
        submit("key-00004")
    assert 0 < refused.value.retry_after <= 3600
    # Replaying an earlier key answers its report and counts nothing; the refused key is no "in progress"
    # record (Powertools deleted it), so it is refused again by the quota, not by idempotency.
    assert submit("key-00001") == first
    with pytest.raises(TooMany):
        submit("key-00004")
    assert len(services().store.by_citizen(citizen, 100, None)) == 3
    assert models.TimelineModel.count() == events  # no event, so no fan-out


def test_the_quota_is_shared_across_containers(env):
    """Two `Services` (two Lambda containers) count in the same table."""
    from civic.bootstrap import Services

    a, b = Services(get_settings()).quotas, Services(get_settings()).quotas
    a.flag("flagger")
    for _ in range(19):
        b.flag("flagger")
    with pytest.raises(TooMany):
        a.flag("flagger")


@pytest.fixture(scope="module")
def gateway(env):
    from civic_dev.local.gateway import LocalGateway
    from civic_dev.local.loader import load_chalice_app

    return LocalGateway(load_chalice_app(ROOT / "chalice_app"), None, port=0)


def call(gw, method, target, body=None, headers=None, source_ip="127.0.0.1"):
    status, head, raw = gw.dispatch(method, target, headers or {}, body, source_ip=source_ip)
    return status, dict(head), raw.decode()


def test_anonymous_reads_per_source_address(gateway):
    ip = "203.0.113.7"
    track = "/v1/track/VN-ZZZZZZ"  # an unknown code: a 404, counted like any read
    for _ in range(4):
        assert call(gateway, "GET", track, source_ip=ip)[0] == 404
    status, head, body = call(gateway, "GET", track, source_ip=ip)
    assert status == 429
    assert 1 <= int(head["Retry-After"]) <= 60
    error = json.loads(body)["error"]
    assert error["code"] == "too_many_requests" and error["fields"] == {}
    assert error["message"].startswith("Quá nhiều yêu cầu") and error["retry_after"] == int(head["Retry-After"])
    english = json.loads(call(gateway, "GET", track, headers={"Accept-Language": "en"}, source_ip=ip)[2])
    assert english["error"]["message"].startswith("Too many requests")
    # Open311 reads count too, and answer in Open311's format.
    status, head, body = call(gateway, "GET", "/open311/v2/services.xml", source_ip=ip)
    assert status == 429 and "Retry-After" in head
    assert ET.fromstring(body).findtext("error/code") == "429"
    # Another address is not affected; reads with no AWS call are never counted; a made-up token is no
    # way round.
    assert call(gateway, "GET", track, source_ip="203.0.113.8")[0] == 404
    for path in ("/v1/health", "/v1/categories", "/v1/config"):
        assert call(gateway, "GET", path, source_ip=ip)[0] == 200
    assert call(gateway, "GET", track, headers={"Authorization": "Bearer made.up.token"}, source_ip=ip)[0] == 429


def test_open311_key_quota_in_its_format_with_nothing_written(gateway):
    from civic.adapters.dynamo.open311 import Open311Store

    key = Open311Store().create_client("Ứng dụng Q", None, "2026-12-07T01:00:00.000Z")["api_key"]

    def post(n: int, fmt: str = "json"):
        form = {"api_key": key, "service_code": "traffic", "lat": "21.03", "long": "105.85",
                "description": f"Đèn hỏng số {n}", "email": f"quota{n}@example.vn"}
        # The client's own Idempotency-Key: its retry is replayed (without one, every POST is new).
        return call(gateway, "POST", f"/open311/v2/requests.{fmt}", urlencode(form).encode(),
                    {**FORM, "Idempotency-Key": f"quota-request-{n}"}, source_ip=f"198.51.100.{n}")

    first = post(1)
    assert first[0] == 201 and post(2)[0] == 201
    reports, users = models.ReportModel.count(), models.UserModel.count()
    status, head, body = post(3)
    assert status == 429 and 1 <= int(head["Retry-After"]) <= 3600
    (error,) = json.loads(body)
    assert error["code"] == 429 and "vui lòng thử lại sau" in error["description"]
    status, head, body = post(4, "xml")
    assert status == 429 and ET.fromstring(body).findtext("error/code") == "429"
    assert (models.ReportModel.count(), models.UserModel.count()) == (reports, users)  # no report, no contact
    # A retry of an accepted request still answers it (replayed, not counted).
    again = post(1)
    assert again[0] == 201 and again[2] == first[2]
