"""The citizen story over HTTP, exactly as a mobile client drives it, against the local stack."""

import io
import json
import subprocess
import sys
import uuid

import pytest
import requests
from PIL import Image

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e

CANARY_EMAIL = "canary.q7x2@example.test"
CANARY_PHONE = "+84912000777"
CANARY_NAME = "Canary Lê Thị Kiểm"
REPORT = {
    "category": "traffic",
    "description": "Ổ gà sâu trước cổng trường, nhiều xe máy suýt ngã.",
    "lat": 21.0285,
    "lon": 105.8542,
    "address": "Trước số 8, phố Mẫu",
    "media": [{"content_type": "image/jpeg", "size": 0}],
}


def photo_with_gps() -> bytes:
    """A JPEG carrying EXIF (GPS, camera owner) that the pipeline must strip."""
    img = Image.new("RGB", (1200, 800), (200, 40, 40))
    exif = Image.Exif()
    exif[0x013B] = CANARY_NAME  # Artist
    exif[0x8825] = {1: "N", 2: (21.0, 1.0, 42.0), 3: "E", 4: (105.0, 51.0, 15.0)}  # GPS IFD
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


def wait_for(stack, fetch, done):
    value = stack.wait_for(fetch, done)
    assert done(value), f"not reached once the stack settled; last value: {json.dumps(value, ensure_ascii=False)[:2000]}"
    return value


@pytest.fixture(scope="module")
def canary_citizen(stack):
    """A citizen who signs up with a canary email and phone (which must never leak)."""
    username = CANARY_EMAIL  # the pool signs people in by email or phone
    password = "Canary@2026!x"
    stack.cognito.sign_up(
        ClientId=stack.info["user_pool_client_id"],
        Username=username,
        Password=password,
        UserAttributes=[
            {"Name": "email", "Value": CANARY_EMAIL},
            {"Name": "phone_number", "Value": CANARY_PHONE},
            {"Name": "name", "Value": CANARY_NAME},
        ],
    )
    stack.cognito.admin_confirm_sign_up(UserPoolId=stack.info["user_pool_id"], Username=username)
    return stack.login(username, password)


def auth(token, **extra):
    return {"Authorization": f"Bearer {token}", **extra}


def test_health_and_config(stack):
    health = requests.get(stack.api + "/v1/health", timeout=5)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    config = requests.get(stack.api + "/v1/config", timeout=5).json()
    assert config["user_pool_id"] == stack.info["user_pool_id"]
    assert config["user_pool_client_id"] == stack.info["user_pool_client_id"]
    assert config["cognito_endpoint_url"] == stack.api + "/_aws/cognito-idp/"
    cats = requests.get(stack.api + "/v1/categories", headers={"Accept-Language": "en"}, timeout=5).json()["items"]
    assert {c["code"] for c in cats} >= {"traffic", "electricity", "culture_tourism", "other"}
    assert next(c for c in cats if c["code"] == "traffic")["label"] == "Traffic"


def test_citizen_story(stack, canary_citizen):
    token = canary_citizen
    photo = photo_with_gps()
    body = {**REPORT, "media": [{"content_type": "image/jpeg", "size": len(photo)}]}
    key = str(uuid.uuid4())

    # Submit twice with the same Idempotency-Key: one report.
    first = requests.post(stack.api + "/v1/reports", json=body, headers=auth(token, **{"Idempotency-Key": key}), timeout=10)
    assert first.status_code == 201, first.text
    again = requests.post(stack.api + "/v1/reports", json=body, headers=auth(token, **{"Idempotency-Key": key}), timeout=10)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    created = first.json()
    assert created["status"] == "submitted"
    assert created["tracking_code"].startswith("HN-")

    # The same key with another body is refused, and creates nothing.
    other = requests.post(
        stack.api + "/v1/reports", json={**body, "description": "khác"}, headers=auth(token, **{"Idempotency-Key": key}), timeout=10
    )
    assert other.status_code == 422 and other.json()["error"]["code"] == "idempotency_key_reused"

    # Upload the photo through the presigned POST, as a phone would.
    upload = created["uploads"][0]
    posted = requests.post(upload["url"], data=upload["fields"], files={"file": ("p.jpg", photo, "image/jpeg")}, timeout=10)
    assert posted.status_code in (200, 201, 204), posted.text

    # The media function makes renditions; the route function routes it to the ward.
    def owner_view():
        return requests.get(f"{stack.api}/v1/reports/{created['id']}", headers=auth(token), timeout=5).json()

    mine = wait_for(stack, owner_view, lambda v: v["media"][0]["status"] != "pending" and v["status"] != "submitted")
    assert mine["is_owner"] is True
    assert mine["media"][0]["status"] == "ready", mine["media"]
    assert mine["status"] == "routed" and mine["unit_code"].startswith("DEMO-W")
    thumb = requests.get(mine["media"][0]["renditions"]["thumb"], timeout=5)
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/jpeg"
    image = Image.open(io.BytesIO(thumb.content))
    assert max(image.size) == 200
    assert not image.getexif(), "metadata must be stripped from renditions"
    assert CANARY_NAME.encode() not in thumb.content

    # Track by code: the public timeline.
    tracked = requests.get(f"{stack.api}/v1/track/{created['tracking_code']}", timeout=5).json()
    assert tracked["id"] == created["id"]
    types = [e["type"] for e in tracked["timeline"]]
    assert types[0] == "submitted" and "routed" in types and "media_added" in types

    # The public view, anonymous or by another citizen, carries no personal data.
    other_token = stack.login("citizen2@demo.civicbridge.vn")
    for headers in ({}, auth(other_token)):
        public = requests.get(f"{stack.api}/v1/reports/{created['id']}", headers=headers, timeout=5)
        assert public.status_code == 200
        text = public.text
        assert "is_owner" not in public.json()
        for secret in (CANARY_EMAIL, CANARY_PHONE, CANARY_NAME, "citizen_id"):
            assert secret not in text

    # My reports lists it; the public feed shows it.
    listing = requests.get(stack.api + "/v1/me/reports", headers=auth(token), timeout=5).json()
    assert [r["id"] for r in listing["items"]] == [created["id"]]
    feed = requests.get(stack.api + "/v1/reports", params={"bbox": "21.0,105.8,21.05,105.9", "limit": "100"}, timeout=5)
    assert created["id"] in [r["id"] for r in feed.json()["items"]]
    assert CANARY_EMAIL not in feed.text


def test_demo_data_is_there(stack):
    feed = requests.get(stack.api + "/v1/reports", params={"limit": "100"}, timeout=5).json()
    statuses = {r["status"] for r in feed["items"]}
    assert {"routed", "accepted", "in_progress", "resolved", "closed", "refused"} <= statuses
    units = {r["unit_code"] for r in feed["items"] if r["unit_code"]}
    assert units == {f"DEMO-W{n:02d}" for n in range(1, 10)} | {"DEMO-EVN", "DEMO-SVHDL"}
    for report in feed["items"]:  # the demo rules: electricity → power company, culture → department
        if report["unit_code"] and report["category"] == "electricity":
            assert report["unit_code"] == "DEMO-EVN"


@pytest.mark.parametrize(
    "token_kind, expected",
    [("none", 401), ("garbage", 401), ("forged", 401), ("valid", 400)],
)
def test_auth_on_submit(stack, token_kind, expected):
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    if token_kind == "garbage":
        headers["Authorization"] = "Bearer not-a-jwt"
    elif token_kind == "forged":
        header, payload, _sig = stack.login("citizen1@demo.civicbridge.vn").split(".")
        headers["Authorization"] = f"Bearer {header}.{payload}.AAAA"
    elif token_kind == "valid":
        headers["Authorization"] = f"Bearer {stack.login('citizen1@demo.civicbridge.vn')}"
    # A body that is wrong on purpose: with a valid token the answer is 400, never a write.
    res = requests.post(stack.api + "/v1/reports", data="{not json", headers=headers, timeout=5)
    assert res.status_code == expected
    assert res.json()["error"]["code"] in ("unauthorized", "invalid_json")


BAD_BODIES = [
    ("{not json", "invalid_json", 400),
    (json.dumps([1, 2]), "invalid_request", 400),
    (json.dumps({**REPORT, "media": [], "category": "nope"}), "unknown_category", 400),
    (json.dumps({**REPORT, "media": [], "lat": 200}), "invalid_request", 400),
    (json.dumps({**REPORT, "media": [], "lat": 48.8, "lon": 2.3}), "outside_service_area", 400),
    (json.dumps({**REPORT, "media": [], "description": "x" * 4001}), "invalid_request", 400),
    (json.dumps({**REPORT, "media": [], "surprise": True}), "invalid_request", 400),
    (json.dumps({**REPORT, "media": [{"content_type": "image/jpeg", "size": 10}] * 6}), "invalid_request", 400),
    (json.dumps({**REPORT, "media": [{"content_type": "image/jpeg", "size": 10**10}]}), "media_too_large", 413),
]


@pytest.mark.parametrize("raw, code, status", BAD_BODIES)
def test_bad_input_is_refused_and_writes_nothing(stack, raw, code, status):
    token = stack.login("citizen2@demo.civicbridge.vn")
    before = requests.get(stack.api + "/v1/me/reports", headers=auth(token), params={"limit": "100"}, timeout=5).json()
    res = requests.post(
        stack.api + "/v1/reports",
        data=raw,
        headers=auth(token, **{"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json", "Accept-Language": "en"}),
        timeout=5,
    )
    assert res.status_code == status, res.text
    error = res.json()["error"]
    assert error["code"] == code and error["message"]
    assert "Traceback" not in res.text
    after = requests.get(stack.api + "/v1/me/reports", headers=auth(token), params={"limit": "100"}, timeout=5).json()
    assert after == before


def test_missing_idempotency_key(stack):
    res = requests.post(
        stack.api + "/v1/reports", json={**REPORT, "media": []}, headers=auth(stack.login("citizen2@demo.civicbridge.vn")), timeout=5
    )
    assert res.status_code == 400 and res.json()["error"]["code"] == "idempotency_key_required"


@pytest.mark.parametrize(
    "path, status",
    [
        ("/v1/reports/../../etc/passwd", 404),
        ("/v1/reports/" + "0" * 32, 404),
        ("/v1/track/HN-ZZZZZZ", 404),
        ("/v1/reports?bbox=1,2", 400),
        ("/v1/reports?limit=-1", 400),
        ("/v1/nowhere", 404),
    ],
)
def test_no_500_on_odd_requests(stack, path, status):
    res = requests.get(stack.api + path, timeout=5)
    assert res.status_code == status
    assert "error" in res.json()


def test_messages_follow_accept_language(stack):
    vi = requests.get(stack.api + "/v1/track/HN-ZZZZZZ", timeout=5).json()["error"]["message"]
    en = requests.get(stack.api + "/v1/track/HN-ZZZZZZ", headers={"Accept-Language": "en"}, timeout=5).json()
    assert vi == "Không tìm thấy mã theo dõi" and en["error"]["message"] == "Tracking code not found"


def test_no_personal_data_in_logs(stack, canary_citizen):
    # Exercise the paths that see the canary's token, then read everything the stack logged.
    requests.get(stack.api + "/v1/me/reports", headers=auth(canary_citizen), timeout=5)
    requests.post(stack.api + "/v1/reports", data="{", headers=auth(canary_citizen, **{"Idempotency-Key": "k" * 10}), timeout=5)
    logs = stack.logs()
    assert "refused" in logs  # the stack does log requests...
    for secret in (CANARY_EMAIL, CANARY_PHONE, CANARY_NAME):
        assert secret not in logs  # ...but never personal data


def test_second_start_says_already_running(stack):
    cmd = [
        sys.executable, "-m", "civic_dev.cli", "local", "--state-dir", str(stack.state_dir),
        "--api-port", str(stack.ports["api"]), "--web-port", str(stack.ports["web"]), "--aws-port", str(stack.ports["aws"]),
        "--root", str(ROOT),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 2
    assert "already running" in done.stderr


def test_civic_token_signs_in_a_demo_user(stack):
    done = subprocess.run(
        [sys.executable, "-m", "civic_dev.cli", "token", "--state-dir", str(stack.state_dir), "--user", "citizen1@demo.civicbridge.vn"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    mine = requests.get(stack.api + "/v1/me/reports", headers=auth(done.stdout.strip()), timeout=5)
    assert mine.status_code == 200 and mine.json()["items"], "the demo citizen has demo reports"
