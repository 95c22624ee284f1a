"""Open311 on the running local stack, with the published `georeport` client package: an Open311 client
that has never seen CivicBridge lists services and requests, posts a request, and follows it to closed
while staff handle it through the staff API."""

import io
import re
import time
import xml.etree.ElementTree as ET

import pytest
import requests
from georeport import GeoReport
from PIL import Image

from civic.domain.privacy import HIDDEN
from civic_dev.local import demo
from tests.e2e.test_staff_workflow import act, auth, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def root(stack):
    return stack.api + "/open311/v2"


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_georeport_client_reads_services_definitions_and_requests(stack, root, fmt):
    client = GeoReport(root, output_format=fmt)
    services = client.get_service_list()
    codes = [s["service_code"] for s in services]
    assert "traffic" in codes and "electricity" in codes and len(codes) == 8
    definition = client.get_service_definition("electricity")
    attributes = definition["attributes"] if fmt == "json" else definition["attributes"]["attribute"]
    assert [a["code"] for a in attributes] == ["pole_number", "live_wire"]
    listed = client.get_service_requests()
    listed = listed if isinstance(listed, list) else [listed]
    assert len(listed) >= 20  # the demo reports of the last 40 days, within the default 90-day window
    assert {r["status"] for r in listed} == {"open", "closed"}
    closed = client.get_service_requests(status="closed")
    assert closed and all(r["status"] == "closed" for r in (closed if isinstance(closed, list) else [closed]))
    one = client.get_service_request(listed[0]["service_request_id"])
    assert one["service_request_id"] == listed[0]["service_request_id"]
    assert one["requested_datetime"].endswith("+07:00")
    for request in listed:  # contact details typed into the text are masked (another test's canaries)
        text = f"{request.get('description')} {request.get('address')}"
        assert "@" not in str(request) and not re.search(r"(?<!\d)0\d{2,3}[ .]?\d{3}[ .]?\d{3,4}(?!\d)", text)


def test_xml_answers_follow_the_spec_element_names(stack, root):
    r = requests.get(root + "/requests.xml?page_size=3&extensions=true", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/xml; charset=utf-8"
    tree = ET.fromstring(r.content)
    assert tree.tag == "service_requests" and len(tree.findall("request")) == 3
    names = [c.tag for c in tree.find("request")]
    for name in ("service_request_id", "status", "status_notes", "service_name", "service_code", "description",
                 "agency_responsible", "service_notice", "requested_datetime", "updated_datetime",
                 "expected_datetime", "address", "address_id", "zipcode", "lat", "long", "media_url"):
        assert name in names
    assert tree.find("request/extended_attributes/detailed_status").text in (
        "OPEN", "INVESTIGATING", "ACTION_SCHEDULED", "IN_PROGRESS", "INTERNAL_REFERRAL", "FIXED", "CLOSED",
        "DUPLICATE", "NOT_COUNCILS_RESPONSIBILITY", "NO_FURTHER_ACTION")
    discovery = ET.fromstring(requests.get(root + "/discovery.xml", timeout=5).content)
    assert discovery.tag == "discovery" and discovery.findtext("endpoints/endpoint/specification").endswith("GeoReport_v2")
    assert [f.text for f in discovery.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]


def test_post_token_id_round_trip_then_followed_to_closed(stack, root):
    key = stack.info["open311_api_key"]
    assert key
    lat, lon = demo.wards()[4]["center"]
    form = {"api_key": key, "service_code": "traffic", "lat": f"{lat + 0.002:.6f}", "long": f"{lon:.6f}",
            "description": "Nắp cống bị vỡ trên vỉa hè, gọi tôi 0903 111 222", "email": "open311.e2e@example.vn", "first_name": "Lan",
            "attribute[danger]": "high"}
    # Without a valid key: 403 in the specification's error format, and nothing is created.
    refused = requests.post(root + "/requests.json", data={**form, "api_key": "o311_nope"}, timeout=10)
    assert refused.status_code == 403 and refused.json()[0]["code"] == 403

    posted = requests.post(root + "/requests.xml", data=form, timeout=10)
    assert posted.status_code == 201 and posted.headers["Content-Type"] == "text/xml; charset=utf-8"
    answer = ET.fromstring(posted.content).find("request")
    token, request_id = answer.findtext("token"), answer.findtext("service_request_id")
    by_token = requests.get(f"{root}/tokens/{token}.json", timeout=5).json()
    assert by_token == [{"service_request_id": request_id, "token": token}]

    client = GeoReport(root)

    def open311_view():
        return requests.get(f"{root}/requests/{request_id}.json?extensions=true", timeout=5).json()[0]

    routed = wait_for(stack, open311_view, lambda v: v["agency_responsible"])
    assert routed["status"] == "open" and routed["agency_responsible"] == "Phường Mẫu 5 (tổng hợp)"
    assert "open311.e2e" not in str(routed) and "Lan" not in str(routed)
    assert routed["description"].startswith(f"Nắp cống bị vỡ trên vỉa hè, gọi tôi {HIDDEN}")

    # Staff of that ward handle it through the staff API: accept, evidence, resolve, leader approves.
    officer = stack.login("officer05@demo.civicbridge.vn")
    leader = stack.login("leader05@demo.civicbridge.vn")
    detail = requests.get(f"{stack.api}/v1/staff/reports/{request_id}", headers=auth(officer), timeout=5).json()
    accepted = act(stack, officer, request_id, {"action": "accept", "version": detail["version"]})
    assert accepted.status_code == 200, accepted.text
    assert client.get_service_request(request_id)["status"] == "open"
    assert open311_view()["extended_attributes"]["detailed_status"] == "ACTION_SCHEDULED"

    buf = io.BytesIO()
    Image.new("RGB", (800, 600), (90, 90, 200)).save(buf, "JPEG")
    slots = requests.post(f"{stack.api}/v1/staff/reports/{request_id}/evidence",
                          json={"media": [{"content_type": "image/jpeg", "size": len(buf.getvalue())}]},
                          headers=auth(officer), timeout=5)
    upload = slots.json()["uploads"][0]
    requests.post(upload["url"], data=upload["fields"], files={"file": ("e.jpg", buf.getvalue(), "image/jpeg")}, timeout=10)
    ready = wait_for(
        stack,
        lambda: requests.get(f"{stack.api}/v1/staff/reports/{request_id}", headers=auth(officer), timeout=5).json(),
        lambda d: any(m["media_id"] == upload["media_id"] and m["status"] == "ready" for m in d["media"]),
    )
    # Staff see the Open311 details on the submission event; the public never does.
    submitted = ready["timeline"][0]
    assert submitted["data"]["channel"] == "open311" and submitted["data"]["answers"] == {"danger": "high"}
    resolved = act(stack, officer, request_id, {"action": "resolve", "version": ready["version"],
                                                "evidence": [upload["media_id"]],
                                                "answer": "Đã thay nắp cống mới và kiểm tra an toàn."})
    assert resolved.status_code == 200 and resolved.json()["status"] == "pending_approval"
    assert client.get_service_request(request_id)["status"] == "open"  # not published before approval
    approved = act(stack, leader, request_id, {"action": "approve", "version": resolved.json()["version"]})
    assert approved.status_code == 200, approved.text

    closed = client.get_service_request(request_id)
    assert closed["status"] == "closed" and closed["status_notes"] == "Đã thay nắp cống mới và kiểm tra an toàn."
    assert open311_view()["extended_attributes"]["detailed_status"] == "FIXED"
    listed = client.get_service_requests(service_request_id=request_id)
    assert [r["status"] for r in listed] == ["closed"]
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
    updates = requests.get(f"{root}/servicerequestupdates.json?start_date={since}", timeout=10).json()
    mine = [u["status"] for u in updates if u["service_request_id"] == request_id]
    assert mine[0] == "OPEN" and mine[-1] == "FIXED" and "ACTION_SCHEDULED" in mine


def test_admins_issue_and_revoke_keys(stack, root):
    admin = stack.login("admin@demo.civicbridge.vn")
    citizen = stack.login("citizen1@demo.civicbridge.vn")
    url = stack.api + "/v1/admin/open311/clients"
    assert requests.post(url, json={"name": "x"}, headers=auth(citizen), timeout=5).status_code == 403
    assert requests.post(url, json={"name": ""}, headers=auth(admin), timeout=5).status_code == 400
    created = requests.post(url, json={"name": "Ứng dụng phường"}, headers=auth(admin), timeout=5)
    assert created.status_code == 201
    key, client_id = created.json()["api_key"], created.json()["client_id"]
    listed = requests.get(url, headers=auth(admin), timeout=5)
    assert client_id in [c["client_id"] for c in listed.json()["items"]] and key not in listed.text
    lat, lon = demo.wards()[0]["center"]
    form = {"api_key": key, "service_code": "other", "lat": str(lat), "long": str(lon), "description": "Thanh sắt nhọn"}
    assert requests.post(root + "/requests.json", data=form, timeout=10).status_code == 201
    assert requests.delete(f"{url}/{client_id}", headers=auth(admin), timeout=5).json()["active"] is False
    again = requests.post(root + "/requests.json", data={**form, "description": "Lần nữa"}, timeout=10)
    assert again.status_code == 403
