"""Moderation on the running local stack, over HTTP: an abusive report refused as inappropriate is gone
from every public surface in the same request (the report, track, the feed, Open311 JSON and XML) and
from the open data already written for its day; the audit stays internal and the author is told.
Three distinct accounts' flags hide a report until a moderator reviews it; redaction publishes
staff's text while the author and staff keep the original."""

import uuid

import pytest
import requests

from civic_dev.local import demo
from tests.e2e.test_exports import tick_export
from tests.e2e.test_notifications import outbox

pytestmark = pytest.mark.e2e

ABUSE = "Tổ trưởng dân phố Nguyễn Văn X là đồ ăn cắp, lừa đảo! Gọi 091 - 234 - 5679 mà chửi nó"


def auth(token, **extra):
    return {"Authorization": f"Bearer {token}", **extra}


def submit_routed(stack, citizen, description, ward_index=6):
    lat, lon = demo.wards()[ward_index]["center"]
    created = requests.post(
        stack.api + "/v1/reports",
        json={"category": "urban_order", "description": description, "lat": lat + 0.0007, "lon": lon,
              "address": "Ngõ 12, gọi 0912 / 345 / 678"},
        headers=auth(citizen, **{"Idempotency-Key": str(uuid.uuid4())}), timeout=10,
    )
    assert created.status_code == 201, created.text
    report_id = created.json()["id"]
    return stack.wait_for(lambda: requests.get(f"{stack.api}/v1/reports/{report_id}", timeout=5).json(),
                          lambda view: view.get("status") == "routed", poll=0.25)


def surfaces(stack, view):
    """Where each public route shows the report: {route: present}."""
    api, rid, code = stack.api, view["id"], view["tracking_code"]
    lat, lon = view["location"]["lat"], view["location"]["lon"]
    bbox = f"{lat - 0.01},{lon - 0.01},{lat + 0.01},{lon + 0.01}"
    feed = requests.get(f"{api}/v1/reports", params={"bbox": bbox, "limit": 100}, timeout=10).json()["items"]
    refused = requests.get(f"{api}/v1/reports", params={"bbox": bbox, "status": "refused", "limit": 100}, timeout=10).json()["items"]
    near = requests.get(f"{api}/v1/reports/nearby", params={"lat": lat, "lon": lon}, timeout=10).json()["items"]
    listing_json = requests.get(f"{api}/open311/v2/requests.json", params={"page_size": 100}, timeout=10).json()
    listing_xml = requests.get(f"{api}/open311/v2/requests.xml", params={"page_size": 100}, timeout=10).text
    return {
        "report": requests.get(f"{api}/v1/reports/{rid}", timeout=5).status_code == 200,
        "track": requests.get(f"{api}/v1/track/{code}", timeout=5).status_code == 200,
        "feed": rid in {i["id"] for i in feed + refused},
        "nearby": rid in {i["id"] for i in near},
        "open311.json": requests.get(f"{api}/open311/v2/requests/{rid}.json", timeout=5).status_code == 200,
        "open311.xml": requests.get(f"{api}/open311/v2/requests/{rid}.xml", timeout=5).status_code == 200,
        "open311 list json": rid in {r["service_request_id"] for r in listing_json},
        "open311 list xml": rid in listing_xml,
    }


def staff_detail(stack, token, report_id):
    return requests.get(f"{stack.api}/v1/staff/reports/{report_id}", headers=auth(token), timeout=5).json()


def act(stack, token, report_id, body):
    version = staff_detail(stack, token, report_id)["version"]
    answer = requests.post(f"{stack.api}/v1/staff/reports/{report_id}/actions", json={**body, "version": version},
                           headers=auth(token), timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def open_data_csv(stack, day):
    y, m, d = day.split("-")
    answer = requests.get(f"{stack.web}/open-data/daily/{y}/{m}/{d}/reports.csv", timeout=5)
    assert answer.status_code == 200 and answer.text.lstrip("\ufeff").startswith("id,tracking_code")
    return answer.text


def test_an_abusive_report_refused_as_inappropriate_is_gone_everywhere(stack):
    from civic.clock import local_day

    citizen = stack.login("citizen2@demo.civicbridge.vn")
    view = submit_routed(stack, citizen, ABUSE)
    assert "5679" not in view["description"] and "678" not in (view["address"] or "")  # masked while public
    assert all(surfaces(stack, view).values()), surfaces(stack, view)
    day = local_day(view["created_at"])
    code, _, err = tick_export(stack, "--day", day)
    assert code == 0, err
    assert view["id"] in open_data_csv(stack, day)

    officer = stack.login(f"officer{view['unit_code'][-2:]}@demo.civicbridge.vn")
    refused = act(stack, officer, view["id"], {"action": "refuse", "reason": "inappropriate",
                                                "text": "Nội dung xúc phạm cá nhân"})
    assert refused["moderation"]["hidden"]["code"] == "inappropriate" and refused["moderation"]["public"] is False
    # Gone from every public surface as soon as the refusal answered.
    assert not any(surfaces(stack, view).values()), surfaces(stack, view)
    track = requests.get(f"{stack.api}/v1/track/{view['tracking_code']}", timeout=5)
    assert track.status_code == 404 and track.json()["error"]["code"] == "not_public"
    # The audit is internal: staff see who and why; the event is not public.
    event = refused["timeline"][-1]
    assert (event["type"], event["public"], event["data"]["hidden"]) == ("refuse", False, "inappropriate")
    # The author still sees their report, and why it is hidden.
    mine = requests.get(f"{stack.api}/v1/reports/{view['id']}", headers=auth(citizen), timeout=5).json()
    assert mine["hidden"]["code"] == "inappropriate" and mine["description"] == ABUSE
    # The open data already written for that day is rewritten without it (the export function, from the stream).
    stack.wait_for(lambda: open_data_csv(stack, day), lambda csv: view["id"] not in csv, poll=0.5)
    # The author is told on their channels, with the reason.
    told = stack.wait_for(lambda: outbox(stack, view["tracking_code"]), lambda items: items, poll=0.5)
    assert any("không phù hợp" in (i["text"] or "") or "Inappropriate" in (i["text"] or "") for i in told)


def test_three_distinct_flags_hide_a_report_until_a_moderator_keeps_it(stack):
    author = stack.login("citizen1@demo.civicbridge.vn")
    view = submit_routed(stack, author, "Rác thải đổ trộm ở góc chợ, bốc mùi nhiều ngày", ward_index=7)
    rid = view["id"]
    flaggers = [stack.login(u) for u in ("citizen2@demo.civicbridge.vn", "officer01@demo.civicbridge.vn",
                                         "leader02@demo.civicbridge.vn")]

    def flag(token, body=None):
        return requests.post(f"{stack.api}/v1/reports/{rid}/flags", json=body or {"reason": "offensive"},
                             headers=auth(token), timeout=10)

    assert requests.post(f"{stack.api}/v1/reports/{rid}/flags", json={"reason": "spam"}, timeout=5).status_code == 401
    assert flag(flaggers[0], {"reason": "boring"}).status_code == 400
    assert flag(author).json()["error"]["code"] == "own_report"
    assert flag(flaggers[0]).status_code == 201
    again = flag(flaggers[0], {"reason": "spam"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_flagged"
    assert flag(flaggers[1], {"reason": "false", "text": "Không đúng sự thật"}).status_code == 201
    assert all(surfaces(stack, view).values())  # two flags: still public, queued for review
    assert flag(flaggers[2]).status_code == 201
    assert not any(surfaces(stack, view).values()), surfaces(stack, view)
    assert flag(stack.login("leader03@demo.civicbridge.vn")).status_code == 404  # hidden: nothing to flag

    moderator = stack.login("moderator@demo.civicbridge.vn")
    queue = requests.get(f"{stack.api}/v1/staff/inbox", params={"queue": "moderation"}, headers=auth(moderator),
                         timeout=10).json()
    queued = next(i for i in queue["items"] if i["id"] == rid)
    assert queued["status"] == "routed"
    detail = staff_detail(stack, moderator, rid)
    assert detail["moderation"] == {**detail["moderation"], "flag_count": 3, "review": "pending", "public": False}
    flags = [e for e in detail["timeline"] if e["type"] in ("flag", "flag_hidden")]
    assert len(flags) == 3 and not any(e["public"] for e in flags)
    # Who flagged is never public: the author's own view shows the reason, not the flaggers.
    mine = requests.get(f"{stack.api}/v1/reports/{rid}", headers=auth(author), timeout=5).json()
    assert mine["hidden"]["code"] == "flags"
    # A moderator cannot handle the report, only moderate it.
    refused = requests.post(f"{stack.api}/v1/staff/reports/{rid}/actions",
                            json={"action": "accept", "version": detail["version"]}, headers=auth(moderator), timeout=10)
    assert refused.status_code == 409
    act(stack, moderator, rid, {"action": "unhide", "reason": "Không vi phạm, giữ công khai"})
    assert all(surfaces(stack, view).values())
    # Redaction: the public reads staff's text; the author and staff keep the original.
    act(stack, moderator, rid, {"action": "redact", "description": "Rác thải tồn đọng ở góc chợ",
                                "reason": "Bỏ chi tiết không cần thiết"})
    public = requests.get(f"{stack.api}/v1/reports/{rid}", timeout=5).json()
    assert public["description"] == "Rác thải tồn đọng ở góc chợ"
    o311 = requests.get(f"{stack.api}/open311/v2/requests/{rid}.json", timeout=5).json()[0]
    assert o311["description"] == "Rác thải tồn đọng ở góc chợ"
    mine = requests.get(f"{stack.api}/v1/reports/{rid}", headers=auth(author), timeout=5).json()
    assert mine["description"].startswith("Rác thải đổ trộm") and mine["public_description"] == public["description"]
    # The author heard about the take-down and the edit.
    told = stack.wait_for(lambda: outbox(stack, view["tracking_code"]), lambda items: len({i["title"] for i in items}) >= 2,
                          poll=0.5)
    assert any("ẩn" in (i["title"] or "") or "hidden" in (i["title"] or "") for i in told)
