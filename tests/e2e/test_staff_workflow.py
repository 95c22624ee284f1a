"""The staff side on the running local stack: inbox, accept, assign, evidence, resolve, approval,
other wards, concurrent officers, and deadlines escalating when the SLA schedule runs."""

import io
import json
import subprocess
import sys
import threading
import uuid

import pytest
import requests
from PIL import Image

from civic_dev.local import demo
from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e


def auth(token, **extra):
    return {"Authorization": f"Bearer {token}", **extra}


def wait_for(stack, fetch, done):
    return stack.wait_for(fetch, done, poll=0.25)


def new_routed_report(stack, ward_index=0, category="traffic"):
    citizen = stack.login("citizen1@demo.civicbridge.vn")
    lat, lon = demo.wards()[ward_index]["center"]
    created = requests.post(
        stack.api + "/v1/reports",
        json={"category": category, "description": "Biển báo bị đổ giữa ngã tư", "lat": lat + 0.001, "lon": lon},
        headers=auth(citizen, **{"Idempotency-Key": str(uuid.uuid4())}), timeout=10,
    ).json()
    view = wait_for(stack, lambda: requests.get(f"{stack.api}/v1/reports/{created['id']}").json(),
                    lambda v: v["status"] != "submitted")
    return view


def _sub(token: str) -> str:
    """The user id (Cognito `sub`) in an id token."""
    import base64

    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"]


def act(stack, token, report_id, body):
    return requests.post(f"{stack.api}/v1/staff/reports/{report_id}/actions", json=body, headers=auth(token), timeout=10)


def ward_of(view):
    return view["unit_code"]


def test_officer_to_leader_to_citizen(stack):
    view = new_routed_report(stack, ward_index=0)
    unit = ward_of(view)
    n = unit[-2:]
    officer = stack.login(f"officer{n}@demo.civicbridge.vn")
    leader = stack.login(f"leader{n}@demo.civicbridge.vn")
    other = stack.login(f"officer{'02' if n != '02' else '03'}@demo.civicbridge.vn")
    citizen = stack.login("citizen1@demo.civicbridge.vn")

    inbox = requests.get(stack.api + "/v1/staff/inbox", headers=auth(officer), timeout=5).json()
    assert view["id"] in [i["id"] for i in inbox["items"]]
    # Another ward's officer cannot see or touch it: 404, as if it did not exist.
    assert requests.get(f"{stack.api}/v1/staff/reports/{view['id']}", headers=auth(other), timeout=5).status_code == 404
    assert act(stack, other, view["id"], {"action": "accept", "version": 2}).status_code == 404
    assert view["id"] not in [i["id"] for i in requests.get(stack.api + "/v1/staff/inbox", headers=auth(other), timeout=5).json()["items"]]
    # Citizens never reach staff routes.
    assert requests.get(stack.api + "/v1/staff/inbox", headers=auth(citizen), timeout=5).status_code == 403

    detail = requests.get(f"{stack.api}/v1/staff/reports/{view['id']}", headers=auth(officer), timeout=5).json()
    assert "accept" in detail["allowed_actions"]
    accepted = act(stack, officer, view["id"], {"action": "accept", "version": detail["version"]})
    assert accepted.status_code == 200, accepted.text
    # Assigned only to staff of the ward: a stranger, a citizen's id or markup is refused with a reason.
    version = accepted.json()["version"]
    for whom in ("nonexistent-user", _sub(citizen), "<script>alert(1)</script>", _sub(other)):
        refused = act(stack, officer, view["id"], {"action": "assign", "to": whom, "version": version})
        assert refused.status_code == 400 and "to" in refused.json()["error"]["fields"], refused.text
    assigned = act(stack, officer, view["id"], {"action": "assign", "to": _sub(officer), "version": version}).json()

    # Evidence photo through the same media pipeline, uploaded by the officer.
    buf = io.BytesIO()
    Image.new("RGB", (1200, 900), (30, 160, 60)).save(buf, "JPEG")
    photo = buf.getvalue()
    slots = requests.post(f"{stack.api}/v1/staff/reports/{view['id']}/evidence",
                          json={"media": [{"content_type": "image/jpeg", "size": len(photo)}]},
                          headers=auth(officer), timeout=5)
    assert slots.status_code == 201, slots.text
    upload = slots.json()["uploads"][0]
    assert requests.post(upload["url"], data=upload["fields"], files={"file": ("e.jpg", photo, "image/jpeg")}, timeout=10).status_code in (200, 204)
    ready = wait_for(stack, 
        lambda: requests.get(f"{stack.api}/v1/staff/reports/{view['id']}", headers=auth(officer), timeout=5).json(),
        lambda d: any(m["media_id"] == upload["media_id"] and m["status"] == "ready" for m in d["media"]),
    )
    version = ready["version"]

    # A resolution without an answer is refused and changes nothing.
    empty = act(stack, officer, view["id"], {"action": "resolve", "answer": "", "evidence": [upload["media_id"]], "version": version})
    assert empty.status_code == 400 and "answer" in empty.json()["error"]["fields"]
    resolved = act(stack, officer, view["id"], {
        "action": "resolve", "version": version, "evidence": [upload["media_id"]],
        "answer": "Đã dựng lại biển báo và kiểm tra an toàn giao thông tại ngã tư.",
    })
    assert resolved.status_code == 200 and resolved.json()["status"] == "pending_approval"
    public = requests.get(f"{stack.api}/v1/track/{view['tracking_code']}", timeout=5).json()
    assert public["result"] is None  # not public before the leader approves

    assert act(stack, officer, view["id"], {"action": "approve", "version": resolved.json()["version"]}).status_code == 409
    approved = act(stack, leader, view["id"], {"action": "approve", "version": resolved.json()["version"]})
    assert approved.status_code == 200 and approved.json()["status"] == "resolved"

    tracked = requests.get(f"{stack.api}/v1/track/{view['tracking_code']}", timeout=5).json()
    assert tracked["status"] == "resolved" and tracked["result"]["answer"].startswith("Đã dựng lại")
    assert [m["media_id"] for m in tracked["media"]] == [upload["media_id"]]
    assert requests.get(tracked["media"][0]["renditions"]["thumb"], timeout=5).status_code == 200
    types = [e["type"] for e in tracked["timeline"]]
    assert types[-1] == "approve" and "assign" not in types and "note" not in types
    for e in tracked["timeline"]:
        assert "actor_id" not in e  # who acted stays internal
    del assigned

    # The citizen rates the result: the report closes, and the rating is public (the comment is not).
    rated = requests.post(f"{stack.api}/v1/reports/{view['id']}/rating",
                          json={"satisfied": True, "stars": 5, "comment": "Cảm ơn phường"}, headers=auth(citizen), timeout=5)
    assert rated.status_code == 200 and rated.json()["status"] == "closed"
    closed = requests.get(f"{stack.api}/v1/track/{view['tracking_code']}", timeout=5)
    assert closed.json()["rating"] == {"satisfied": True, "stars": 5} and "Cảm ơn phường" not in closed.text


def test_two_officers_on_the_same_version_one_409(stack):
    view = new_routed_report(stack, ward_index=1)
    n = ward_of(view)[-2:]
    tokens = [stack.login(f"officer{n}@demo.civicbridge.vn"), stack.login(f"leader{n}@demo.civicbridge.vn")]
    version = requests.get(f"{stack.api}/v1/staff/reports/{view['id']}", headers=auth(tokens[0]), timeout=5).json()["version"]
    codes = []
    barrier = threading.Barrier(2)

    def go(token):
        barrier.wait()
        codes.append(act(stack, token, view["id"], {"action": "accept", "version": version}).status_code)

    threads = [threading.Thread(target=go, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [200, 409]
    timeline = requests.get(f"{stack.api}/v1/staff/reports/{view['id']}", headers=auth(tokens[0]), timeout=5).json()["timeline"]
    assert [e["type"] for e in timeline].count("accept") == 1


def test_left_alone_past_its_deadline_it_turns_overdue_and_escalates(stack):
    view = new_routed_report(stack, ward_index=2)
    officer = stack.login(f"officer{ward_of(view)[-2:]}@demo.civicbridge.vn")

    def tick(at):
        done = subprocess.run(
            [sys.executable, "-m", "civic_dev.cli", "local", "tick", "sla", "--at", at, "--state-dir", str(stack.state_dir)],
            capture_output=True, text=True, timeout=120, cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    from datetime import UTC, datetime, timedelta

    due = datetime.fromisoformat(view["accept_due_at"].replace("Z", "+00:00"))
    after = (due + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")  # nobody accepted it in time
    first = tick(after)["outcomes"]  # a run after the deadline warns and marks overdue at once
    assert first.get("due_soon", 0) >= 1 and first.get("overdue", 0) >= 1
    assert "overdue" not in tick(after)["outcomes"]  # and only once
    assert tick((due + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ"))["outcomes"].get("escalate_parent", 0) >= 1
    detail = requests.get(f"{stack.api}/v1/staff/reports/{view['id']}", headers=auth(officer), timeout=5).json()
    types = [e["type"] for e in detail["timeline"]]
    assert ["due_soon", "overdue", "escalate_parent"] == [t for t in types if t in ("due_soon", "overdue", "escalate_parent")]
    assert {"overdue", "escalated"} <= set(detail["flags"])
    inbox = requests.get(stack.api + "/v1/staff/inbox", params={"due": "overdue"}, headers=auth(officer), timeout=5).json()
    assert view["id"] in [i["id"] for i in inbox["items"]]
    public = requests.get(f"{stack.api}/v1/track/{view['tracking_code']}", timeout=5).json()
    assert "overdue" in [e["type"] for e in public["timeline"]]  # whether deadlines were met is public
    # Simulated time stays simulated: the ticks ran days ahead, yet nothing is dated after the real clock.
    real_now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.999Z")
    assert all(e["at"] <= real_now for e in detail["timeline"]), [e["at"] for e in detail["timeline"]]
    assert detail["updated_at"] <= real_now
