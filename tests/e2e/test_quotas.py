"""Quotas against spam over HTTP, on a local stack of their own with low limits (the shared stack's are
out of reach): a burst of submissions from one account, an Open311 key, anonymous reads."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import boto3
import pytest
import requests
from boto3.dynamodb.conditions import Key

from tests.e2e.conftest import running_stack

pytestmark = pytest.mark.e2e

LIMITS = {"QuotaReportsPerHour": 10, "QuotaReportsPerDay": 30, "QuotaOpen311PerHour": 5,
          "QuotaAnonymousReadsPerMinute": 30}
REPORT = {"category": "traffic", "description": "Ổ gà sâu trước cổng trường", "lat": 21.0285, "lon": 105.8542}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    args = [arg for name, value in LIMITS.items() for arg in ("--param", f"{name}={value}")]
    with running_stack(tmp_path_factory.mktemp("quota-stack"), *args) as started:
        yield started


def fresh_citizen(stack) -> str:
    """A new account (sign-up), so no earlier test has used its quota."""
    username, password = f"quota.{uuid.uuid4().hex[:8]}@example.test", "Quota@2026!x"
    stack.cognito.sign_up(ClientId=stack.info["user_pool_client_id"], Username=username, Password=password,
                          UserAttributes=[{"Name": "email", "Value": username}])
    stack.cognito.admin_confirm_sign_up(UserPoolId=stack.info["user_pool_id"], Username=username)
    return stack.login(username, password)


def away_from_window_end(seconds: int, margin: float) -> None:
    """A burst must fall in one fixed window (windows are aligned to the clock): wait for the next one
    when this one ends within `margin` seconds."""
    left = seconds - time.time() % seconds
    if left < margin:
        time.sleep(left + 0.5)


def burst(n: int, send) -> list[requests.Response]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(send, range(n)))


def assert_too_many(answer: requests.Response, window: int) -> None:
    assert answer.status_code == 429, answer.text
    assert 1 <= int(answer.headers["Retry-After"]) <= window


def test_a_burst_of_submissions_stops_at_the_hourly_quota_and_writes_nothing_past_it(stack):
    token = fresh_citizen(stack)
    me = requests.get(stack.api + "/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    keys = [f"quota-{uuid.uuid4()}" for _ in range(40)]

    def submit(i: int, key: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": key or keys[i]}
        return requests.post(stack.api + "/v1/reports", json=dict(REPORT, description=f"{REPORT['description']} #{i}"),
                             headers=headers, timeout=60)

    away_from_window_end(3600, margin=60)
    answers = burst(40, submit)
    created = [a for a in answers if a.status_code == 201]
    refused = [a for a in answers if a.status_code != 201]
    assert len(created) == LIMITS["QuotaReportsPerHour"], [a.status_code for a in answers]
    for answer in refused:
        assert_too_many(answer, 3600)
        error = answer.json()["error"]
        assert error["code"] == "too_many_requests" and error["fields"] == {}
        assert error["message"].startswith("Bạn đã gửi quá nhiều phản ánh")  # Vietnamese by default
        assert error["retry_after"] == int(answer.headers["Retry-After"])
    english = requests.post(stack.api + "/v1/reports", json=REPORT, timeout=60, headers={
        "Authorization": f"Bearer {token}", "Idempotency-Key": f"quota-{uuid.uuid4()}", "Accept-Language": "en"})
    assert_too_many(english, 3600)
    assert english.json()["error"]["message"].startswith("You have sent too many reports")

    # The store holds exactly the quota's number of this account's reports: nothing was written past it.
    mine = requests.get(stack.api + "/v1/me/reports?limit=100", headers={"Authorization": f"Bearer {token}"},
                        timeout=30).json()["items"]
    assert sorted(r["id"] for r in mine) == sorted(a.json()["id"] for a in created)
    env = stack.info["env"]
    table = boto3.resource("dynamodb", endpoint_url=stack.info["aws_endpoint_url"],
                           region_name=stack.info["region"]).Table(env["REPORTS_TABLE"])
    stored = table.query(IndexName="ByCitizen", KeyConditionExpression=Key("citizen_id").eq(me["user_id"]))["Items"]
    assert len(stored) == LIMITS["QuotaReportsPerHour"]

    # A retry of an accepted submission (same Idempotency-Key) still gets its first answer.
    first = next(i for i, a in enumerate(answers) if a.status_code == 201)
    replay = submit(first)
    assert replay.status_code == 201, replay.text
    assert replay.json()["id"] == answers[first].json()["id"]
    assert replay.json()["tracking_code"] == answers[first].json()["tracking_code"]
    # A refused key was never stored as "in progress": it is refused by the quota again, not a 409.
    refused_index = next(i for i, a in enumerate(answers) if a.status_code == 429)
    assert_too_many(submit(refused_index), 3600)


def test_an_open311_key_is_limited_in_open311_format(stack):
    api_key = stack.info["open311_api_key"]

    def post(i: int, fmt: str = "json") -> requests.Response:
        form = {"api_key": api_key, "service_code": "traffic", "lat": "21.03", "long": "105.85",
                "description": f"Đèn đường hỏng số {i} ({uuid.uuid4().hex[:6]})"}
        return requests.post(f"{stack.api}/open311/v2/requests.{fmt}", data=urlencode(form),
                             headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=60)

    away_from_window_end(3600, margin=60)
    answers = burst(8, post)
    assert sorted(a.status_code for a in answers) == [201] * 5 + [429] * 3
    for answer in (a for a in answers if a.status_code == 429):
        assert_too_many(answer, 3600)
        (error,) = answer.json()
        assert error["code"] == 429 and error["description"]
    xml = post(99, "xml")
    assert_too_many(xml, 3600)
    assert xml.headers["Content-Type"].startswith("text/xml") and "<code>429</code>" in xml.text


def test_anonymous_reads_are_limited_per_address_and_signed_in_reads_are_not(stack):
    nearby = stack.api + "/v1/reports/nearby?lat=21.0285&lon=105.8542&radius=500"
    away_from_window_end(60, margin=20)
    answers = burst(40, lambda _: requests.get(nearby, timeout=30))
    assert sorted(a.status_code for a in answers) == [200] * 30 + [429] * 10
    for answer in (a for a in answers if a.status_code == 429):
        assert_too_many(answer, 60)
        assert answer.json()["error"]["code"] == "too_many_requests"
    token = fresh_citizen(stack)
    signed_in = requests.get(nearby, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert signed_in.status_code == 200
    assert requests.get(stack.api + "/v1/health", timeout=10).status_code == 200  # never counted
