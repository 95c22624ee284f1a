"""Open311 on moto: API clients with hashed keys, submitters' contacts in the Users table only, the
routes through the local gateway (in-process), and listings read through ByDay, never a scan."""

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlencode

import pytest
from moto import mock_aws

from civic.adapters.dynamo import models
from civic.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[2]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CANARY_EMAIL = "canary.open311@example.vn"
CANARY_PHONE = "0987 111 222"


@pytest.fixture(scope="module")
def env():
    from civic_dev.local.deploy import deploy_stack

    with mock_aws():
        deployed = deploy_stack(endpoint_url=None, region="ap-southeast-1")
        settings = Settings(**{k.lower(): v for k, v in deployed.env.items() if k.lower() in Settings.model_fields})
        models.bind(settings)
        models.UnitModel(code="CITY", kind="city", name_vi="Thành phố", name_en="City").save()
        models.UnitModel(code="W1", parent_code="CITY", kind="ward", name_vi="Phường Một", name_en="Ward One",
                         categories=["traffic"]).save()
        yield deployed, settings


@pytest.fixture(scope="module")
def store(env):
    from civic.adapters.dynamo.open311 import Open311Store

    return Open311Store()


@pytest.fixture(scope="module")
def gateway(env):
    import os

    deployed, _ = env
    saved = dict(os.environ)
    os.environ.update(deployed.env)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    get_settings.cache_clear()
    from civic_dev.local.gateway import LocalGateway
    from civic_dev.local.loader import load_chalice_app

    app = load_chalice_app(ROOT / "chalice_app")  # its adapters come from civic.bootstrap, anew for these settings
    yield LocalGateway(app, None, port=0)
    os.environ.clear()
    os.environ.update(saved)
    get_settings.cache_clear()


def call(gw, method, target, body=None, headers=None):
    status, head, raw = gw.dispatch(method, target, headers or {}, body)
    return status, dict(head), raw.decode()


def test_clients_keys_are_hashed_listed_and_revocable(store):
    created = store.create_client("Ứng dụng A", "ops@a.example", "2026-11-23T01:00:00.000Z")
    key = created["api_key"]
    assert key.startswith("o311_") and len(key) > 40
    assert store.client_for_key(key) == created["client_id"]
    assert store.client_for_key(key + "x") is None and store.client_for_key(None) is None
    listed = {c["client_id"]: c for c in store.clients()}[created["client_id"]]
    assert listed["name"] == "Ứng dụng A" and listed["active"] and listed["key_hint"] == key[:9]
    assert "api_key" not in listed and key not in json.dumps(store.clients())
    row = models.Open311ClientModel.get("open311-client#" + created["client_id"])
    assert row.key_hash != key and key not in json.dumps(row.attribute_values)
    revoked = store.revoke(created["client_id"], "2026-11-23T02:00:00.000Z")
    assert revoked["active"] is False and revoked["revoked_at"] == "2026-11-23T02:00:00.000Z"
    assert store.client_for_key(key) is None
    assert store.revoke(created["client_id"], "2026-11-23T03:00:00.000Z")["revoked_at"] == "2026-11-23T02:00:00.000Z"
    assert store.revoke("nope", "2026-11-23T03:00:00.000Z") is None


def test_contacts_are_upserted_without_erasing(store):
    models.UserModel(user_id="open311-x", role="citizen", language="en").save()
    store.save_contact("open311-x", {"email": "a@b.vn", "phone": None}, "An Nguyễn")
    store.save_contact("open311-x", {"email": None, "phone": "0912345678"}, None)
    user = models.UserModel.get("open311-x")
    assert (user.role, user.email, user.phone, user.display_name, user.language) == (
        "citizen", "a@b.vn", "0912345678", "An Nguyễn", "en")
    assert user.channels == ["inbox", "email"]  # the first contact's channels; later ones keep them
    store.save_contact("open311-new", {"phone": "0912345678"}, None)
    new = models.UserModel.get("open311-new")
    assert new.role == "citizen" and new.channels == ["inbox", "sms"]


def test_post_then_token_then_request_over_the_routes(gateway, store, monkeypatch):
    key = store.create_client("Ứng dụng B", None, "2026-11-23T01:00:00.000Z")["api_key"]
    form = {"api_key": key, "service_code": "traffic", "lat": "21.03", "long": "105.85",
            "description": "Ổ gà sâu", "email": CANARY_EMAIL, "phone": CANARY_PHONE, "first_name": "Canary",
            "media_url": "https://photos.example/p.jpg", "attribute[danger]": "high"}
    keyed = {**FORM, "Idempotency-Key": "client-retry-0001"}
    status, head, body = call(gateway, "POST", "/open311/v2/requests.json", urlencode(form).encode(), keyed)
    assert status == 201, body
    assert head["Content-Type"] == "application/json; charset=utf-8"
    (answer,) = json.loads(body)
    rid, token = answer["service_request_id"], answer["token"]

    # A retry with the client's own key (it timed out) gets the same request back; nothing is created twice.
    again = json.loads(call(gateway, "POST", "/open311/v2/requests.json", urlencode(form).encode(), keyed)[2])
    assert again[0]["service_request_id"] == rid
    # Without a key, the same words sent again are another citizen's report (an aggregator's two users),
    # never merged into the first.
    other = json.loads(call(gateway, "POST", "/open311/v2/requests.json", urlencode(form).encode(), FORM)[2])
    assert other[0]["service_request_id"] != rid

    from civic.adapters.dynamo.reports import DynamoReportStore

    reports = DynamoReportStore()
    report = reports.get(rid)
    assert report.citizen_id.startswith("open311-") and report.category == "traffic"
    stored = json.dumps(models.ReportModel.get(rid).attribute_values, ensure_ascii=False, default=str)
    for personal in (CANARY_EMAIL, "0987", "Canary"):
        assert personal not in stored
    user = models.UserModel.get(report.citizen_id)
    # Known by the email; the phone beside it is not kept (nobody proved it is theirs).
    assert (user.email, user.phone, user.display_name, user.role) == (CANARY_EMAIL, None, "Canary", "citizen")
    assert user.channels == ["inbox", "email"]  # notified where they can be reached
    (submitted,) = reports.timeline(rid)
    assert submitted.data["channel"] == "open311" and submitted.data["media_url"] == "https://photos.example/p.jpg"
    assert submitted.data["answers"] == {"danger": "high"}

    # Token → id, in XML.
    status, head, body = call(gateway, "GET", f"/open311/v2/tokens/{token}.xml")
    assert status == 200 and head["Content-Type"] == "text/xml; charset=utf-8"
    request = ET.fromstring(body).find("request")
    assert request.findtext("service_request_id") == rid and request.findtext("token") == token

    # Listing reads one ByDay query per day: never a scan.
    def no_scan(*args, **kwargs):
        raise AssertionError("Open311 listings must not scan the Reports table")

    monkeypatch.setattr(models.ReportModel, "scan", no_scan)
    listed = json.loads(call(gateway, "GET", "/open311/v2/requests.json?service_code=traffic&status=open")[2])
    assert rid in [r["service_request_id"] for r in listed]
    assert json.loads(call(gateway, "GET", "/open311/v2/requests.json?status=closed")[2]) == []
    one = json.loads(call(gateway, "GET", f"/open311/v2/requests/{rid}.json?extensions=true")[2])
    assert len(one) == 1 and one[0]["status"] == "open" and one[0]["extended_attributes"]["detailed_status"] == "OPEN"
    everything = call(gateway, "GET", "/open311/v2/requests.xml?extensions=true")[2] + json.dumps(one)
    for personal in (CANARY_EMAIL, "0987", "Canary", "photos.example", report.citizen_id):
        assert personal not in everything
    updates = json.loads(call(gateway, "GET", "/open311/v2/servicerequestupdates.json")[2])
    # The submission is its first public change (mySociety's updates: the status after each change).
    mine = [(u["service_request_id"], u["status"], u["external_status_code"]) for u in updates
            if u["service_request_id"] == rid]
    assert mine == [(rid, "OPEN", "submitted")] and len(updates) == 2  # and the second citizen's report
    root = ET.fromstring(call(gateway, "GET", "/open311/v2/servicerequestupdates.xml")[2])
    assert root.tag == "service_requests_updates"
    assert rid in [u.findtext("service_request_id") for u in root.findall("request_update")]


@pytest.mark.parametrize("target, form, status, needle", [
    ("/open311/v2/requests.json", {"service_code": "traffic", "lat": "21", "long": "105.8", "description": "x"}, 403, "api_key"),
    ("/open311/v2/requests.json", {"api_key": "o311_wrong", "service_code": "traffic", "lat": "21", "long": "105.8",
                                   "description": "x"}, 403, "api_key"),
    ("/open311/v2/requests.json", {"api_key": "KEY", "service_code": "traffic", "lat": "48.85", "long": "2.35",
                                   "description": "x"}, 400, "service area"),
    ("/open311/v2/requests.json", {"api_key": "KEY", "service_code": "traffic", "address_string": "Số 5",
                                   "description": "x"}, 400, "address_string"),
    ("/open311/v2/requests.json", {"api_key": "KEY", "service_code": "nope", "lat": "21", "long": "105.8"}, 404, "service_code"),
    ("/open311/v2/requests.html", {"api_key": "KEY"}, 404, "xml"),
])
def test_refusals_are_in_the_spec_error_format_and_write_nothing(gateway, store, target, form, status, needle):
    key = store.create_client("Ứng dụng C", None, "2026-11-23T01:00:00.000Z")["api_key"]
    form = {k: (key if v == "KEY" else v) for k, v in form.items()}
    before = models.ReportModel.count()
    got, head, body = call(gateway, "POST", target, urlencode(form).encode(), {**FORM, "Accept-Language": "en"})
    assert got == status, body
    if target.endswith(".json"):
        (error,) = json.loads(body)
        assert error["code"] == status and needle in error["description"]
    else:
        root = ET.fromstring(body)
        assert root.tag == "errors" and root.findtext("error/code") == str(status)
    assert models.ReportModel.count() == before


def test_public_reads_discovery_services_definition(gateway):
    status, head, body = call(gateway, "GET", "/open311/v2/discovery.json", headers={"Host": "api.city.example"})
    endpoint = json.loads(body)["endpoints"][0]
    assert status == 200 and endpoint["url"] == "http://api.city.example/open311/v2"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    root = ET.fromstring(call(gateway, "GET", "/open311/v2/services.xml")[2])
    assert root.tag == "services" and len(root.findall("service")) == 8
    root = ET.fromstring(call(gateway, "GET", "/open311/v2/services/electricity.xml")[2])
    assert root.tag == "service_definition" and len(root.findall("attributes/attribute")) == 2
    status, _, body = call(gateway, "GET", "/open311/v2/services/nope.json")
    assert status == 404 and json.loads(body)[0]["code"] == 404
    status, _, body = call(gateway, "GET", "/open311/v2/requests/" + "f" * 32 + ".json")
    assert status == 404
    status, _, body = call(gateway, "GET", "/open311/v2/requests.json?start_date=yesterday")
    assert status == 400 and "start_date" in json.loads(body)[0]["description"]


def test_listing_finds_each_latest_public_note_with_batched_reads(gateway, monkeypatch):
    """Without extensions a page reads the last 3 events of each request in batches; only a request
    whose recent events carry no public note has its whole timeline read."""
    from civic.adapters.dynamo.reports import DynamoReportStore
    from civic.domain.reports import TimelineEvent, change, new_report
    from civic.domain.submission import ReportSubmission

    store = DynamoReportStore()
    made = []
    for n, tail in enumerate(([("note", False, {"note": "gọi 0912"}), ("assign", False, {"assignee": "x"}),
                               ("note", False, {"note": "nội bộ"})],
                              [("refuse", True, {"reason": {"code": "duplicate", "vi": "Trùng", "en": "Duplicate"}})])):
        report, first = new_report(ReportSubmission(category="traffic", description=f"Bài {n}", lat=21.0, lon=105.8),
                                   citizen_id="c", tracking_code=f"HN-NOTE{n}2", now=f"2026-11-2{n}T01:00:00.000Z")
        store.create(report, first)
        steps = [("routed", True, {"unit_code": "W1"})] + tail
        for kind, public, data in steps:
            status = {"refuse": "refused", "assign": "in_progress"}.get(kind, report.status if kind == "note" else "routed")
            updated = change(report, at=report.updated_at, status=status, unit_code="W1")
            store.save(updated, report.version, TimelineEvent(report.id, updated.version, kind, updated.updated_at,
                                                              "officer", "o1", public, status, data))
            report = updated
        made.append(report)

    queries = []
    original = models.TimelineModel.query
    monkeypatch.setattr(models.TimelineModel, "query", lambda *a, **k: queries.append(a) or original(*a, **k))
    start = "2026-11-19T00:00:00Z"
    listed = json.loads(call(gateway, "GET", f"/open311/v2/requests.json?start_date={start}&end_date=2026-11-23T00:00:00Z",
                             headers={"Accept-Language": "en"})[2])
    notes = {r["service_request_id"]: r["status_notes"] for r in listed}
    assert notes[made[0].id] == "Sent to Ward One"  # four events back, behind internal notes
    assert notes[made[1].id] == "Duplicate"
    assert len(queries) == 1  # only the first report's whole timeline was read
    assert "0912" not in json.dumps(listed)


def _multipart(fields: dict, photo: bytes | None, content_type: str = "image/jpeg") -> tuple[bytes, str]:
    boundary = "civicbridge-test-boundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    if photo is not None:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="media"; filename="p.jpg"\r\n'
                     f"Content-Type: {content_type}\r\n\r\n".encode() + photo + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def test_a_photo_posted_as_multipart_media_goes_to_the_media_pipeline(gateway, store, env):
    """Clients that send the photo itself (FixMyStreet-style apps) get it processed like any upload."""
    import io

    import boto3
    from PIL import Image

    _, settings = env
    key = store.create_client("Ứng dụng ảnh", None, "2026-11-23T01:00:00.000Z")["api_key"]
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(buffer, "JPEG")
    fields = {"api_key": key, "service_code": "traffic", "lat": "21.03", "long": "105.85", "description": "Cột đèn đổ"}
    body, content_type = _multipart(fields, buffer.getvalue())
    status, _, answer = call(gateway, "POST", "/open311/v2/requests.json", body, {"Content-Type": content_type})
    assert status == 201, answer
    rid = json.loads(answer)[0]["service_request_id"]
    from civic.adapters.dynamo.reports import DynamoReportStore

    report = DynamoReportStore().get(rid)
    (item,) = report.media
    assert (item.kind, item.status, item.declared_size) == ("photo", "pending", len(buffer.getvalue()))
    head = boto3.client("s3", region_name="ap-southeast-1").head_object(
        Bucket=settings.uploads_bucket, Key=f"uploads/{rid}/{item.media_id}")
    assert head["Metadata"]["owner"] == report.citizen_id and head["ContentLength"] == len(buffer.getvalue())

    # Not a photo, or two files: a 400 in the specification's errors, and nothing written.
    body, content_type = _multipart(fields, b"%PDF-1.4", "application/pdf")
    status, _, answer = call(gateway, "POST", "/open311/v2/requests.json", body, {"Content-Type": content_type})
    assert status == 400 and json.loads(answer)[0]["code"] == 400


def test_a_body_type_no_route_takes_is_415_in_the_apis_shapes(gateway):
    status, head, body = call(gateway, "POST", "/open311/v2/requests.json", b"a,b", {"Content-Type": "text/csv"})
    assert status == 415 and head["Content-Type"].startswith("application/json")
    assert json.loads(body)[0]["code"] == 415
    status, head, body = call(gateway, "POST", "/open311/v2/requests.xml", b"a,b", {"Content-Type": "text/csv"})
    assert status == 415 and ET.fromstring(body).findtext("error/code") == "415"
    status, _, body = call(gateway, "POST", "/v1/contacts/verify", b"<x/>", {"Content-Type": "application/xml"})
    assert status == 415 and json.loads(body)["error"]["code"] == "unsupported_media_type"


def test_an_address_without_coordinates_is_placed_in_the_ward_it_names(gateway, store, env):
    """The specification allows address_string alone: the report is placed inside the ward it names
    (its boundary's representative point), and staff see it was located from the address."""
    import boto3

    from civic.adapters.s3.routing_index import publish_collection
    from civic.domain.units import Unit, UnitTree

    _, settings = env
    ring = [[105.80, 21.00], [105.86, 21.00], [105.86, 21.06], [105.80, 21.06], [105.80, 21.00]]
    wards = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"unit_code": "W1"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}]}
    tree = UnitTree([Unit("CITY", "Thành phố", "City", "city"), Unit("W1", "Phường Một", "Ward One", "ward", "CITY")])
    assert publish_collection(wards, tree, client=boto3.client("s3", region_name="ap-southeast-1"),
                              bucket=settings.config_bucket, source_key="test")["ok"]
    key = store.create_client("Ứng dụng địa chỉ", None, "2026-11-23T01:00:00.000Z")["api_key"]
    form = {"api_key": key, "service_code": "traffic", "description": "Ổ gà", "address_string": "Số 5, phuong Mot"}
    status, _, body = call(gateway, "POST", "/open311/v2/requests.json", urlencode(form).encode(), FORM)
    assert status == 201, body
    rid = json.loads(body)[0]["service_request_id"]
    from civic.adapters.dynamo.reports import DynamoReportStore

    report = DynamoReportStore().get(rid)
    assert 105.80 < report.lon < 105.86 and 21.00 < report.lat < 21.06 and report.address == "Số 5, phuong Mot"
    assert DynamoReportStore().timeline(rid)[0].data["located_from"] == {"address_string": True, "unit_code": "W1"}
    form["address_string"] = "Số 5 phố Không Có"
    status, _, body = call(gateway, "POST", "/open311/v2/requests.json", urlencode(form).encode(), FORM)
    assert status == 400 and "address_string" in json.loads(body)[0]["description"]


def test_a_partner_posts_an_update_once_and_staff_see_it_internally(gateway, store):
    """mySociety's POST servicerequestupdates (FixMyStreet sends citizens' comments this way)."""
    key = store.create_client("Đối tác FixMyStreet", None, "2026-11-23T01:00:00.000Z")["api_key"]
    form = {"api_key": key, "service_code": "traffic", "lat": "21.03", "long": "105.85", "description": "Cột đèn hỏng"}
    status, _, body = call(gateway, "POST", "/open311/v2/requests.json", urlencode(form).encode(), FORM)
    rid = json.loads(body)[0]["service_request_id"]
    update = {"api_key": key, "service_request_id": rid, "update_id": "fms-77", "status": "CLOSED",
              "description": "Đèn vẫn chưa sáng", "updated_datetime": "2026-11-23T09:00:00+07:00"}
    status, _, body = call(gateway, "POST", "/open311/v2/servicerequestupdates.json", urlencode(update).encode(), FORM)
    assert status == 201, body
    ours = json.loads(body)[0]["update_id"]
    again = json.loads(call(gateway, "POST", "/open311/v2/servicerequestupdates.json", urlencode(update).encode(), FORM)[2])
    assert again[0]["update_id"] == ours  # the same update_id: one comment
    xml = call(gateway, "POST", "/open311/v2/servicerequestupdates.xml", urlencode(update).encode(), FORM)[2]
    assert ET.fromstring(xml).findtext("request_update/update_id") == ours
    from civic.adapters.dynamo.reports import DynamoReportStore

    events = [e for e in DynamoReportStore().timeline(rid) if e.type == "partner_update"]
    assert len(events) == 1 and not events[0].public and events[0].data["text"] == "Đèn vẫn chưa sáng"
    assert DynamoReportStore().get(rid).status == "submitted"  # a partner's CLOSED changes nothing
    for bad, code in (({**update, "api_key": "nope"}, 403), ({**update, "service_request_id": "0" * 32}, 404),
                      ({**update, "description": ""}, 400), ({**update, "update_id": "x y"}, 400)):
        assert call(gateway, "POST", "/open311/v2/servicerequestupdates.json", urlencode(bad).encode(), FORM)[0] == code
