"""Notifications on the running local stack (issue #6 "Done means"): submitting, accepting and
resolving a report puts the right messages in the right inboxes (`civic local outbox --json`);
replaying the stream sends nothing twice; a failing channel lands in the DLQ and a redrive delivers
it; an alert for one ward reaches the citizens there and no one else."""

import io
import json
import subprocess
import sys
import time
import uuid

import jwt
import pytest
import requests
from PIL import Image

from civic_dev.local import demo
from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e

C1, C2 = "citizen1@demo.civicbridge.vn", "citizen2@demo.civicbridge.vn"


def auth(token, **extra):
    return {"Authorization": f"Bearer {token}", **extra}


def sub(token):
    return jwt.decode(token, options={"verify_signature": False})["sub"]


def civic(stack, *args):
    done = subprocess.run([sys.executable, "-m", "civic_dev.cli", *args, "--state-dir", str(stack.state_dir)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def outbox(stack, code=None):
    items = json.loads(civic(stack, "local", "outbox", "--json"))["items"]
    return [i for i in items if code is None or code in (i["text"] or "") + (i["title"] or "")]


def wait_for(stack, fetch, done):
    return stack.wait_for(fetch, done, poll=0.5)


def act(stack, token, report_id, body):
    answer = requests.post(f"{stack.api}/v1/staff/reports/{report_id}/actions", json=body, headers=auth(token), timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def submit_and_route(stack, citizen, ward_index=0):
    lat, lon = demo.wards()[ward_index]["center"]
    created = requests.post(
        stack.api + "/v1/reports",
        json={"category": "traffic", "description": "Nắp cống bị vỡ giữa đường", "lat": lat + 0.001, "lon": lon},
        headers=auth(citizen, **{"Idempotency-Key": str(uuid.uuid4())}), timeout=10,
    ).json()
    return wait_for(stack, lambda: requests.get(f"{stack.api}/v1/reports/{created['id']}").json(),
                    lambda v: v["status"] == "routed")


def resolve_with_evidence(stack, officer, leader, report_id, version):
    buf = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 160, 60)).save(buf, "JPEG")
    photo = buf.getvalue()
    upload = requests.post(f"{stack.api}/v1/staff/reports/{report_id}/evidence",
                           json={"media": [{"content_type": "image/jpeg", "size": len(photo)}]},
                           headers=auth(officer), timeout=5).json()["uploads"][0]
    requests.post(upload["url"], data=upload["fields"], files={"file": ("e.jpg", photo, "image/jpeg")}, timeout=10)
    ready = wait_for(stack, 
        lambda: requests.get(f"{stack.api}/v1/staff/reports/{report_id}", headers=auth(officer), timeout=5).json(),
        lambda d: any(m["media_id"] == upload["media_id"] and m["status"] == "ready" for m in d["media"]))
    pending = act(stack, officer, report_id, {"action": "resolve", "version": ready["version"],
                                              "answer": "Đã thay nắp cống mới, đảm bảo an toàn.",
                                              "evidence": [upload["media_id"]]})
    return act(stack, leader, report_id, {"action": "approve", "version": pending["version"]})


def replay_timeline(stack, report_id):
    """Give the report's stream records to the notify function once more (a replay after an outage)."""
    import os

    import boto3

    from civic_dev.local.lambda_runtime import LambdaContext
    from civic_dev.local.lambda_runtime import jsonable as _jsonable
    from civic_dev.local.loader import load_module

    info = stack.info
    env = dict(info["env"], AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", POWERTOOLS_TRACE_DISABLED="true")
    saved = dict(os.environ)
    os.environ.update(env)
    try:
        from civic.settings import get_settings

        get_settings.cache_clear()
        ddb = boto3.client("dynamodb", endpoint_url=info["aws_endpoint_url"], region_name=info["region"])
        streams = boto3.client("dynamodbstreams", endpoint_url=info["aws_endpoint_url"], region_name=info["region"])
        arn = ddb.describe_table(TableName=env["TIMELINE_TABLE"])["Table"]["LatestStreamArn"]
        records = []
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while it:
                got = streams.get_records(ShardIterator=it, Limit=1000)
                records += [r for r in got["Records"] if r["dynamodb"]["NewImage"]["report_id"]["S"] == report_id]
                it = got.get("NextShardIterator") if got["Records"] else None
        event = {"Records": [dict(_jsonable(r), eventSource="aws:dynamodb", eventSourceARN=arn) for r in records]}
        handler = load_module("_replay_notify", ROOT / "functions" / "notify" / "handler.py").handler
        result = handler(event, LambdaContext("NotifyFunction-replay", "arn:aws:lambda:local:0:function:notify", 256, 30))
        assert result == {"batchItemFailures": []}
        return len(records)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()


def test_report_lifecycle_reaches_the_right_people_once(stack):
    c1, c2 = stack.login(C1), stack.login(C2)
    officer, leader = stack.login("officer01@demo.civicbridge.vn"), stack.login("leader01@demo.civicbridge.vn")
    view = submit_and_route(stack, c1)
    code = view["tracking_code"]
    assert requests.post(f"{stack.api}/v1/reports/{view['id']}/follow", headers=auth(c2), timeout=5).status_code in (200, 201)
    detail = requests.get(f"{stack.api}/v1/staff/reports/{view['id']}", headers=auth(officer), timeout=5).json()
    accepted = act(stack, officer, view["id"], {"action": "accept", "version": detail["version"]})
    resolve_with_evidence(stack, officer, leader, view["id"], accepted["version"])

    expected = {
        # the author on every channel, for the routing, the acceptance and the result
        ("email", C1): 3, ("sms", "+84900000001"): 3, ("zalo", "zalo-citizen1"): 3, ("inbox", sub(c1)): 3,
        ("push", "demo-fcm-citizen1"): 3,
        # the follower, the same two events
        ("email", C2): 2, ("sms", "+84900000002"): 2, ("zalo", "zalo-citizen2"): 2, ("inbox", sub(c2)): 2,
        ("push", "demo-fcm-citizen2"): 2,
        # the ward's staff: the new report; the leader also the result awaiting approval
        ("email", "officer01@demo.civicbridge.vn"): 1, ("inbox", sub(officer)): 1,
        ("email", "leader01@demo.civicbridge.vn"): 2, ("inbox", sub(leader)): 2,
    }
    total = sum(expected.values())
    got = wait_for(stack, lambda: outbox(stack, code), lambda items: len(items) >= total)
    counts = {}
    for item in got:
        counts[(item["channel"], item["recipient"])] = counts.get((item["channel"], item["recipient"]), 0) + 1
    assert counts == expected
    assert [i["at"] for i in got] == sorted((i["at"] for i in got), reverse=True)  # newest first
    sms = [i["text"] for i in got if i["channel"] == "sms"]
    assert all(len(t) <= 160 and t.isascii() and f"{stack.web}/track/{code}" in t for t in sms)
    result = [i for i in got if i["channel"] == "email" and i["recipient"] == C1 and "kết quả" in i["title"]]
    assert result and "Đã thay nắp cống mới" in result[0]["text"]
    # The follower's messages never carry the author's contact details.
    assert not any("+84900000001" in (i["text"] or "") or C1 in (i["text"] or "") for i in got)

    # The in-app inbox over the API, newest first; marking one read.
    inbox = requests.get(f"{stack.api}/v1/me/notifications", headers=auth(c1), timeout=5).json()
    mine = [i for i in inbox["items"] if i["tracking_code"] == code]
    assert [i["event_type"] for i in mine] == ["approve", "accept", "routed"] and inbox["unread"] >= 3
    read = requests.post(f"{stack.api}/v1/me/notifications/{mine[0]['id']}/read", headers=auth(c1), timeout=5)
    assert read.status_code == 200 and read.json()["read"] is True
    assert requests.get(f"{stack.api}/v1/me/notifications", headers=auth(c1), timeout=5).json()["unread"] == inbox["unread"] - 1
    assert requests.post(f"{stack.api}/v1/me/notifications/{mine[0]['id']}/read", headers=auth(c2), timeout=5).status_code == 404

    # Replaying the stream sends nothing twice.
    assert replay_timeline(stack, view["id"]) >= 6
    time.sleep(5)
    assert len(outbox(stack, code)) == total

    # Everyone told (#19): an unsatisfied rating reaches the leader and is confirmed to its author; the
    # leader's reopen reaches the author and the follower (read through their in-app inbox).
    rated = requests.post(f"{stack.api}/v1/reports/{view['id']}/rating", json={"satisfied": False, "stars": 2},
                          headers=auth(c1), timeout=5)
    assert rated.status_code == 200, rated.text
    version = requests.get(f"{stack.api}/v1/staff/reports/{view['id']}", headers=auth(leader), timeout=5).json()["version"]
    act(stack, leader, view["id"], {"action": "reopen", "version": version, "reason": "Người dân chưa hài lòng"})

    def told(token):
        items = requests.get(f"{stack.api}/v1/me/notifications", headers=auth(token), timeout=5).json()["items"]
        return [i for i in items if i["tracking_code"] == code]

    author = wait_for(stack, lambda: told(c1), lambda items: items and items[0]["event_type"] == "reopen")
    assert [i["event_type"] for i in author][:2] == ["reopen", "rated"]
    assert "mở lại" in author[0]["title"] and "chưa hài lòng" in author[1]["title"]
    follower = wait_for(stack, lambda: told(c2), lambda items: items and items[0]["event_type"] == "reopen")
    assert "mở lại" in follower[0]["title"] and "rated" in [i["event_type"] for i in follower]
    by_leader = [i["event_type"] for i in told(leader)]
    assert "rated" in by_leader and "reopen" not in by_leader  # told of the rating, not of their own reopen


def test_a_failing_channel_lands_in_the_dlq_and_a_redrive_delivers(stack):
    c1, officer = stack.login(C1), stack.login("officer02@demo.civicbridge.vn")
    assert requests.post(f"{stack.web}/_local/zalo/fail", json={"fail": True}, timeout=5).json() == {"fail": True}
    try:
        view = submit_and_route(stack, c1, ward_index=1)
        code = view["tracking_code"]
        detail = requests.get(f"{stack.api}/v1/staff/reports/{view['id']}", headers=auth(officer), timeout=5).json()
        act(stack, officer, view["id"], {"action": "accept", "version": detail["version"]})

        def dead():
            return [i for i in json.loads(civic(stack, "dlq", "list", "--json"))["items"] if i.get("tracking_code") == code]

        letters = wait_for(stack, dead, lambda items: len(items) >= 2)
        assert sorted((i["channel"], i["kind"]) for i in letters) == [("zalo", "accepted"), ("zalo", "routed")]
        assert "zalo-citizen1" not in json.dumps(letters)  # the listing shows no addresses
        # The other channels were delivered meanwhile; the Zalo one is not lost, it waits in the DLQ.
        assert {i["channel"] for i in outbox(stack, code)} == {"email", "sms", "push", "inbox"}
    finally:
        requests.post(f"{stack.web}/_local/zalo/fail", json={"fail": False}, timeout=5)
    assert json.loads(civic(stack, "dlq", "redrive"))["redriven"] >= 1
    zalo = wait_for(stack, lambda: [i for i in outbox(stack, code) if i["channel"] == "zalo"], lambda z: len(z) >= 2)
    assert sorted((i["recipient"], i["title"]) for i in zalo) == [
        ("zalo-citizen1", f"Phản ánh {code} đã được gửi đến đơn vị xử lý"),
        ("zalo-citizen1", f"Phản ánh {code} đã được tiếp nhận")]
    assert not [i for i in json.loads(civic(stack, "dlq", "list", "--json"))["items"] if i.get("tracking_code") == code]


def test_an_alert_for_one_ward_reaches_its_citizens_only(stack):
    coordinator, c1, c2 = stack.login("coordinator@demo.civicbridge.vn"), stack.login(C1), stack.login(C2)
    body = {"kind": "flood", "severity": "warning",
            "title": {"vi": "Cảnh báo ngập Phường Mẫu 5", "en": "Flood warning Sample Ward 5"},
            "body": {"vi": "Nước dâng cao, hạn chế ra đường.", "en": "High water; stay indoors."},
            "area": {"units": ["DEMO-W05"]}, "expires_at": "2099-01-01T00:00:00Z"}
    key = {"Idempotency-Key": f"alert-{uuid.uuid4()}"}
    assert requests.post(f"{stack.api}/v1/staff/alerts", json=body, headers=auth(c1, **key), timeout=5).status_code == 403
    assert requests.post(f"{stack.api}/v1/staff/alerts", json=body, headers=auth(coordinator), timeout=5).status_code == 400
    bad = requests.post(f"{stack.api}/v1/staff/alerts", json={**body, "area": {"units": ["NOPE"]}},
                        headers=auth(coordinator, **key), timeout=5)
    assert bad.status_code == 400 and "area" in bad.json()["error"]["fields"]
    created = requests.post(f"{stack.api}/v1/staff/alerts", json=body, headers=auth(coordinator, **key), timeout=5)
    assert created.status_code == 201, created.text
    assert created.json()["areas"] == ["DEMO-W05"]
    # A retry (the answer was lost on a weak connection) is the same alert, not a second one.
    again = requests.post(f"{stack.api}/v1/staff/alerts", json=body, headers=auth(coordinator, **key), timeout=5)
    assert again.status_code == 201 and again.json()["id"] == created.json()["id"]
    reused = requests.post(f"{stack.api}/v1/staff/alerts", json={**body, "kind": "storm"},
                           headers=auth(coordinator, **key), timeout=5)
    assert reused.status_code == 422 and reused.json()["error"]["code"] == "idempotency_key_reused"

    got = wait_for(stack, lambda: outbox(stack, "Phường Mẫu 5"), lambda items: len(items) >= 4)
    assert got
    time.sleep(2)
    # In each reader's language (someone following the ward may read English), SMS without diacritics.
    got = [i for i in outbox(stack) if any(words in (i["text"] or "") + (i["title"] or "")
                                           for words in ("Phường Mẫu 5", "Sample Ward 5", "Phuong Mau 5"))]
    recipients = {(i["channel"], i["recipient"]) for i in got}
    # Exactly the people of ward 5's area index, on their channels: citizen2 lives there (home_unit).
    # citizen1 lives in ward 1 and hears it only if one of their reports was routed to ward 5 (other
    # tests sharing this stack may have done that). Staff and everyone else: nothing.
    people = {(channel, address) for n in ("1", "2") for channel, address in (
        ("email", f"citizen{n}@demo.civicbridge.vn"), ("sms", f"+8490000000{n}"), ("zalo", f"zalo-citizen{n}"),
        ("push", f"demo-fcm-citizen{n}"), ("inbox", sub(c1 if n == "1" else c2)))}
    citizen2 = {r for r in people if r[1] in (C2, "+84900000002", "zalo-citizen2", "demo-fcm-citizen2", sub(c2))}
    citizen1 = people - citizen2
    # Everyone else in the ward's index (e.g. a citizen of another test whose report was routed
    # there, without saved preferences) gets the in-app copy at least, and nobody outside it anything.
    members = area_members(stack, "DEMO-W05")
    indexed = {("inbox", member) for member in members}
    assert citizen2 <= recipients and indexed <= recipients and recipients <= people | indexed
    assert (recipients & citizen1) == (citizen1 if sub(c1) in members else set())

    lat, lon = demo.wards()[4]["center"]
    here = requests.get(f"{stack.api}/v1/alerts", params={"lat": lat, "lon": lon}, timeout=5).json()["items"]
    assert [a["id"] for a in here] == [created.json()["id"]] and here[0]["title"]["vi"].startswith("Cảnh báo ngập")
    lat, lon = demo.wards()[0]["center"]
    assert requests.get(f"{stack.api}/v1/alerts", params={"lat": lat, "lon": lon}, timeout=5).json()["items"] == []


def area_members(stack, unit):
    import boto3

    info = stack.info
    ddb = boto3.client("dynamodb", endpoint_url=info["aws_endpoint_url"], region_name=info["region"],
                       aws_access_key_id="local", aws_secret_access_key="local")
    items = ddb.query(TableName=info["env"]["NOTIFICATIONS_TABLE"], KeyConditionExpression="pk = :p",
                      ExpressionAttributeValues={":p": {"S": f"area#{unit}"}})["Items"]
    return {i["sk"]["S"] for i in items}


def test_preferences_and_devices(stack):
    token = stack.login("citizen2@demo.civicbridge.vn")
    prefs = requests.get(f"{stack.api}/v1/me/preferences", headers=auth(token), timeout=5).json()
    assert prefs["channels"] == ["inbox", "email", "sms", "push", "zalo"] and prefs["home_unit"] == "DEMO-W05"
    bad = requests.put(f"{stack.api}/v1/me/preferences", json={"channels": ["fax"], "quiet_hours": {"start": "25:00"}},
                       headers=auth(token), timeout=5)
    assert bad.status_code == 400 and {"channels", "quiet_hours"} <= set(bad.json()["error"]["fields"])
    assert requests.get(f"{stack.api}/v1/me/preferences", headers=auth(token), timeout=5).json() == prefs  # unchanged
    device = requests.post(f"{stack.api}/v1/me/devices", json={"platform": "android", "token": "fcm-token-e2e-123"},
                           headers=auth(token), timeout=5)
    assert device.status_code == 201 and device.json()["registered"] is True
    assert requests.post(f"{stack.api}/v1/me/devices", json={"platform": "pager", "token": "x"},
                         headers=auth(token), timeout=5).status_code == 400
    assert requests.get(f"{stack.api}/v1/me/preferences", timeout=5).status_code == 401


def test_a_device_belongs_to_one_person_and_its_owner_can_release_it(stack):
    from urllib.parse import quote

    c1, c2 = stack.login(C1), stack.login(C2)
    token = f"fcm:e2e/{uuid.uuid4()}"  # FCM tokens hold ':' and the like: the path carries it encoded

    def devices(who):
        return requests.get(f"{stack.api}/v1/me/preferences", headers=auth(who), timeout=5).json()["devices"]

    start1, start2 = devices(c1), devices(c2)
    assert requests.post(f"{stack.api}/v1/me/devices", json={"platform": "android", "token": token},
                         headers=auth(c1), timeout=5).status_code == 201
    assert devices(c1) == start1 + 1
    # Someone else signs in on that phone: the device is theirs now, and citizen1 no longer gets its pushes.
    assert requests.post(f"{stack.api}/v1/me/devices", json={"platform": "android", "token": token},
                         headers=auth(c2), timeout=5).status_code == 201
    assert devices(c1) == start1 and devices(c2) == start2 + 1
    url = f"{stack.api}/v1/me/devices/{quote(token, safe='')}"
    assert requests.delete(url, headers=auth(c1), timeout=5).status_code == 404  # not theirs any more
    gone = requests.delete(url, headers=auth(c2), timeout=5)
    assert gone.status_code == 200 and gone.json() == {"token_removed": True}
    assert devices(c2) == start2
    assert requests.delete(url, headers=auth(c2), timeout=5).status_code == 404
