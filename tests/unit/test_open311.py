"""Open311 GeoReport v2 mapping: services, definitions, submissions, requests, statuses, XML and dates."""

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from chalicelib import open311
from civic.domain.categories import all_categories
from civic.domain.privacy import HIDDEN, mask_contacts
from civic.domain.reports import MediaItem, Report, TimelineEvent
from civic.i18n import text

NOW = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)


def report(**kw) -> Report:
    base = dict(
        id="a" * 32, tracking_code="HN-4K7Q2M", status="routed", category="traffic",
        description="Ổ gà lớn", lat=21.0285, lon=105.8542, citizen_id="open311-abc",
        created_at="2026-11-20T01:00:00.000Z", updated_at="2026-11-20T02:00:00.000Z",
        unit_code="DEMO-W01", due_at="2026-12-04T10:00:00.000Z", address="Số 12 phố Mẫu",
    )
    base.update(kw)
    return Report(**base)


def ev(seq, kind, status, public=True, at="2026-11-20T02:00:00.000Z", **data):
    return TimelineEvent("a" * 32, seq, kind, at, "officer", "officer-1", public, status, data)


def unit_name(code):
    return {"DEMO-W01": "Phường Mẫu 1"}.get(code, code)


def form(**fields):
    return {k: v if isinstance(v, list) else [v] for k, v in fields.items()}


# ---------------------------------------------------------------- services


def test_services_carry_every_spec_field_for_each_category():
    items = open311.services("vi")
    assert [s["service_code"] for s in items] == list(all_categories())
    traffic = next(s for s in items if s["service_code"] == "traffic")
    assert list(traffic) == ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
    assert traffic["service_name"] == "Giao thông" and traffic["type"] == "realtime"
    assert traffic["metadata"] is True and traffic["keywords"] == "ổ gà, đường, đèn tín hiệu"
    assert traffic["group"] == "Hạ tầng đô thị"
    assert next(s for s in items if s["service_code"] == "other")["metadata"] is False
    assert open311.services("en")[1]["service_name"] == "Traffic"


def test_service_definition_lists_questions_with_spec_datatypes():
    definition = open311.service_definition("electricity", "en")
    assert definition["service_code"] == "electricity"
    pole, wire = definition["attributes"]
    assert pole == {"variable": True, "code": "pole_number", "datatype": "string", "required": False,
                    "datatype_description": None, "order": 1, "description": "The pole or lamp number (if visible)"}
    assert wire["datatype"] == "singlevaluelist" and wire["required"] is True and wire["order"] == 2
    assert wire["values"] == [{"key": "yes", "name": "Yes"}, {"key": "no", "name": "No"}]
    for attribute in definition["attributes"]:
        assert attribute["datatype"] in ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
    with pytest.raises(open311.Open311Error) as err:
        open311.service_definition("nope", "en")
    assert err.value.status == 404


# ---------------------------------------------------------------- XML and JSON


def test_xml_uses_the_spec_element_names_and_nests_lists():
    body, content_type = open311.render("services", open311.services("en")[:2], "xml")
    assert content_type == "text/xml; charset=utf-8"
    root = ET.fromstring(body)
    assert root.tag == "services" and [c.tag for c in root] == ["service", "service"]
    assert [c.tag for c in root[0]] == ["service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
    assert root[1].findtext("metadata") == "true" and root[0].findtext("metadata") == "false"

    body, _ = open311.render("service_definition", open311.service_definition("traffic", "vi"), "xml")
    root = ET.fromstring(body)
    assert root.tag == "service_definition" and root.findtext("service_code") == "traffic"
    attribute = root.find("attributes/attribute")
    assert attribute.findtext("code") == "danger" and attribute.findtext("variable") == "true"
    assert [v.findtext("key") for v in attribute.findall("values/value")] == ["low", "medium", "high"]
    assert attribute.find("datatype_description").text is None  # an empty element, as in the spec


def test_json_is_the_payload_and_errors_have_code_and_description():
    body, content_type = open311.render("services", open311.services("en"), "json")
    assert content_type == "application/json; charset=utf-8"
    assert json.loads(body)[0]["service_code"] == "urban_order"
    status, body, _ = open311.render_error(open311.Open311Error(403, text("Khóa sai", "Bad key")), "json", "en")
    assert status == 403 and json.loads(body) == [{"code": 403, "description": "Bad key"}]
    status, body, _ = open311.render_error(open311.Open311Error(404, text("Không có", "None")), "xml", "vi")
    root = ET.fromstring(body)
    assert status == 404 and root.tag == "errors" and root.find("error/code").text == "404"
    assert root.find("error/description").text == "Không có"


@pytest.mark.parametrize("segment, expected", [("services.json", ("services", "json")), ("requests.xml", ("requests", "xml")),
                                                ("HN-4K7Q2M.json", ("HN-4K7Q2M", "json"))])
def test_split_format(segment, expected):
    assert open311.split_format(segment) == expected


@pytest.mark.parametrize("segment", ["services", "services.html", ".json", "services.JSON", ""])
def test_split_format_refuses_unknown_formats_with_404(segment):
    with pytest.raises(open311.Open311Error) as err:
        open311.split_format(segment)
    assert err.value.status == 404


# ---------------------------------------------------------------- dates


def test_dates_are_w3c_with_the_local_offset():
    assert open311.w3c("2026-11-20T01:00:00.000Z") == "2026-11-20T08:00:00+07:00"
    assert open311.w3c(None) is None
    assert open311.parse_w3c("2026-11-20T08:00:00+07:00", "start_date") == datetime(2026, 11, 20, 1, tzinfo=UTC)
    assert open311.parse_w3c("2026-11-20T01:00:00Z", "start_date") == datetime(2026, 11, 20, 1, tzinfo=UTC)
    # A date is a whole local day.
    assert open311.parse_w3c("2026-11-20", "start_date") == datetime(2026, 11, 19, 17, tzinfo=UTC)
    assert open311.parse_w3c("2026-11-20", "end_date", end_of_day=True).isoformat().startswith("2026-11-20T16:59:59")


def test_a_time_without_a_zone_is_vietnam_time():
    assert open311.parse_w3c("2026-11-20T08:00:00", "start_date") == datetime(2026, 11, 20, 1, tzinfo=UTC)
    assert open311.parse_w3c("2026-11-20T08:00", "start_date") == datetime(2026, 11, 20, 1, tzinfo=UTC)


@pytest.mark.parametrize("raw", ["yesterday", "2026-13-01", "2026-02-30T00:00:00Z", "1e9", "2026-11-20T25:00:00"])
def test_invalid_dates_are_400(raw):
    with pytest.raises(open311.Open311Error) as err:
        open311.parse_w3c(raw, "start_date")
    assert err.value.status == 400 and "start_date" in err.value.description.en


def test_query_defaults_to_90_days_and_1000_rows_and_refuses_wider_windows():
    q = open311.parse_request_query({}, NOW)
    assert (q.end - q.start).days == 90 and q.end == NOW and q.page == 1 and q.page_size == 1000 and not q.extensions
    q = open311.parse_request_query({"service_code": ["traffic,electricity"], "status": ["open", "CLOSED"],
                                     "service_request_id": ["a,b"], "extensions": ["true"], "page": ["2"],
                                     "page_size": ["10"], "jurisdiction_id": ["demo"]}, NOW)
    assert q.service_codes == ["traffic", "electricity"] and q.statuses == ["open", "closed"] and q.ids == ["a", "b"]
    assert q.extensions and q.page == 2 and q.page_size == 10
    # Parameters other servers take (bbox, lat/long, agency_responsible…) are ignored, not refused.
    assert open311.parse_request_query({"bbox": ["1,2,3,4"], "agency_responsible": ["x"]}, NOW).page == 1
    bad = [{"start_date": ["2026-01-01T00:00:00Z"], "end_date": ["2026-11-01T00:00:00Z"]}, {"status": ["fixed"]},
           {"page_size": ["1001"]}, {"page": ["0"]}, {"service_code": ["nope"]},
           {"start_date": ["2026-11-20T00:00:00Z"], "end_date": ["2026-11-01T00:00:00Z"]}]
    for params in bad:
        with pytest.raises(open311.Open311Error) as err:
            open311.parse_request_query(params, NOW)
        assert err.value.status == 400, params


def test_local_days_newest_first():
    start = datetime(2026, 11, 20, 16, 30, tzinfo=UTC)  # 23:30 on the 20th in Hà Nội
    end = datetime(2026, 11, 22, 17, 30, tzinfo=UTC)  # 00:30 on the 23rd
    assert open311.local_days(start, end) == ["2026-11-23", "2026-11-22", "2026-11-21", "2026-11-20"]


# ---------------------------------------------------------------- submissions


def test_submission_maps_the_form_and_keeps_contacts_out_of_the_report():
    sub = open311.parse_submission(form(
        service_code="electricity", lat="21.03", long="105.85", address_string="Số 5 phố Mẫu",
        description="Cột điện nghiêng", email="An@Example.vn", phone="0912 345 678", first_name="An", last_name="Nguyễn",
        media_url="https://photos.example/1.jpg", **{"attribute[live_wire]": "yes", "attribute[pole_number]": "C-12"},
    ), "client1", "vi")
    assert sub.body["category"] == "electricity" and sub.body["lat"] == 21.03 and sub.body["lon"] == 105.85
    assert sub.body["address"] == "Số 5 phố Mẫu"
    assert sub.body["description"].startswith("Cột điện nghiêng\n\n")
    assert "Có dây điện bị đứt hoặc rơi xuống không? / Is there a broken or fallen wire?: Có / Yes" in sub.body["description"]
    # A free-text answer is for staff (in `answers`), never appended to the public description.
    assert "C-12" not in sub.body["description"]
    flat = json.dumps(sub.body, ensure_ascii=False)
    for personal in ("An@Example.vn", "0912", "Nguyễn", "photos.example"):
        assert personal not in flat
    # Known by the email: the phone given beside it is not kept (nobody proved it is theirs).
    assert sub.contact == {"email": "An@Example.vn", "phone": None, "first_name": "An", "last_name": "Nguyễn"}
    assert sub.identity == "email:an@example.vn"
    # The answers travel in the submission, checked by the domain like those of POST /v1/reports.
    assert sub.body["answers"] == {"pole_number": "C-12", "live_wire": "yes"}
    assert sub.event_data == {"channel": "open311", "open311_client": "client1",
                              "media_url": "https://photos.example/1.jpg"}


def test_the_same_person_is_the_same_pseudo_citizen_per_client():
    a = open311.parse_submission(form(service_code="other", lat="21", long="105.8", description="x", phone="0912345678"), "c1", "vi")
    b = open311.parse_submission(form(service_code="other", lat="21", long="105.8", description="y", phone="+84 912 345 678"), "c1", "vi")
    assert a.identity == b.identity == "phone:84912345678"
    assert open311.citizen_id("c1", a.identity) == open311.citizen_id("c1", b.identity)
    assert open311.citizen_id("c1", a.identity) != open311.citizen_id("c2", a.identity)
    assert "84912345678" not in open311.citizen_id("c1", a.identity)
    anon = open311.parse_submission(form(service_code="other", lat="21", long="105.8", description="x"), "c1", "vi")
    assert anon.identity == "anonymous" and open311.display_name(anon.contact) is None


@pytest.mark.parametrize("fields, needle", [
    ({"service_code": "nope"}, "service_code"),
    ({"lat": None, "long": None, "address_string": "Số 5 phố Mẫu"}, "address_string"),
    ({"lat": None}, "lat"),
    ({"lat": "abc"}, "lat"),
    ({"long": "200"}, "long"),
    ({"lat": "nan"}, "lat"),
    ({"description": None}, "description"),
    ({"email": "not-an-email"}, "email"),
    ({"phone": "call me"}, "phone"),
    ({"media_url": "javascript:alert(1)"}, "media_url"),
    ({"media_url": "file:///etc/passwd"}, "media_url"),
    ({"attribute[danger]": "extreme"}, "danger"),
    ({"attribute[unknown]": "1"}, "unknown"),
    ({"attribute[danger]": ["low", "high"]}, "danger"),
    ({"description": "a\x00b"}, "description"),
])
def test_bad_submissions_are_400_with_a_reason(fields, needle):
    base = {"service_code": "traffic", "lat": "21.03", "long": "105.85", "description": "Ổ gà"}
    base.update(fields)
    with pytest.raises(open311.Open311Error) as err:
        open311.parse_submission(form(**{k: v for k, v in base.items() if v is not None}), "c1", "en")
    assert err.value.status in (400, 404) and needle in err.value.description.en


def test_required_attribute_missing_is_400():
    with pytest.raises(open311.Open311Error) as err:
        open311.parse_submission(form(service_code="electricity", lat="21", long="105.8", description="x"), "c1", "en")
    assert "live_wire" in err.value.description.en


def test_parse_form_keeps_repeated_names():
    assert open311.parse_form(b"a=1&a=2&attribute%5Bx%5D=%C3%B4") == {"a": ["1", "2"], "attribute[x]": ["ô"]}
    with pytest.raises(open311.Open311Error):
        open311.parse_form(b"\xff\xfe")


def test_post_answer_has_the_id_and_the_token():
    (item,) = open311.created("a" * 32, "HN-4K7Q2M", "en")
    assert item["service_request_id"] == "a" * 32 and item["token"] == "HN-4K7Q2M"
    assert "10 working days" in item["service_notice"] and item["account_id"] is None
    body, _ = open311.render("service_requests", [item], "xml")
    assert [c.tag for c in ET.fromstring(body)[0]] == ["service_request_id", "token", "service_notice", "account_id"]


# ---------------------------------------------------------------- requests and statuses


@pytest.mark.parametrize("status, expected", [
    ("submitted", "open"), ("needs_triage", "open"), ("routed", "open"), ("accepted", "open"), ("in_progress", "open"),
    ("pending_approval", "open"), ("resolved", "closed"), ("closed", "closed"), ("refused", "closed"),
])
def test_open_or_closed(status, expected):
    assert open311.open_or_closed(status) == expected


def test_detailed_statuses_follow_fixmystreet():
    routed = [ev(1, "submitted", "submitted"), ev(2, "routed", "routed", unit_code="DEMO-W01")]
    assert open311.detailed_status(report(), routed) == "OPEN"
    transferred = routed + [ev(3, "transfer", "routed", to_unit="DEMO-W02")]
    assert open311.detailed_status(report(), transferred) == "INTERNAL_REFERRAL"
    assert open311.detailed_status(report(status="accepted"), routed) == "ACTION_SCHEDULED"
    assert open311.detailed_status(report(status="in_progress"), routed) == "IN_PROGRESS"
    assert open311.detailed_status(report(status="accepted", awaiting_info_since="2026-11-21T00:00:00.000Z"), routed) == "INVESTIGATING"
    assert open311.detailed_status(report(status="resolved", answer="Đã sửa"), routed) == "FIXED"
    assert open311.detailed_status(report(status="closed"), routed) == "CLOSED"
    for reason, expected in open311.REFUSAL_STATUS.items():
        refused = routed + [ev(3, "refuse", "refused", reason={"code": reason, "vi": "Lý do", "en": "Reason"})]
        assert open311.detailed_status(report(status="refused"), refused) == expected
    assert set(open311.REFUSAL_STATUS.values()) <= set(open311.DETAILED_STATUSES)


def test_service_request_maps_fields_and_hides_people():
    events = [
        ev(1, "submitted", "submitted"),
        ev(2, "routed", "routed", unit_code="DEMO-W01"),
        ev(3, "note", "routed", public=False, note="gọi cho chị An 0912345678"),
        ev(4, "resolve", "resolved", at="2026-11-21T03:00:00.000Z", answer={"text": "Đã vá ổ gà"}),
    ]
    r = report(status="resolved", answer="Đã vá ổ gà", media=[
        MediaItem("m1", "photo", "image/jpeg", 10, status="ready", renditions={"large": "r/aaa/m1/large", "thumb": "r/aaa/m1/thumb"},
                  formats=["jpeg", "webp"]),
    ])
    out = open311.service_request(r, events, "vi", "https://cdn.test/media", unit_name)
    assert list(out)[:3] == ["service_request_id", "status", "status_notes"]
    assert out["status"] == "closed" and out["status_notes"] == "Đã vá ổ gà"
    assert out["agency_responsible"] == "Phường Mẫu 1" and out["service_name"] == "Giao thông"
    assert out["requested_datetime"] == "2026-11-20T08:00:00+07:00"
    assert out["expected_datetime"] == "2026-12-04T17:00:00+07:00"
    assert out["media_url"] == "https://cdn.test/media/r/aaa/m1/large.jpg"
    assert out["lat"] == 21.0285 and out["long"] == 105.8542 and out["address"] == "Số 12 phố Mẫu"
    assert "extended_attributes" not in out
    flat = json.dumps(out, ensure_ascii=False)
    assert "open311-abc" not in flat and "0912345678" not in flat and "officer-1" not in flat

    extended = open311.service_request(r, events, "en", "https://cdn.test/media", unit_name, extensions=True)
    attrs = extended["extended_attributes"]
    assert attrs["detailed_status"] == "FIXED" and attrs["tracking_code"] == "HN-4K7Q2M"
    assert [n["type"] for n in attrs["notes"]] == ["routed", "resolve"]
    assert attrs["notes"][0]["summary"] == "Sent to Phường Mẫu 1"
    body, _ = open311.render("service_requests", [extended], "xml")
    request = ET.fromstring(body).find("request")
    assert [c.tag for c in request][:17] == [
        "service_request_id", "status", "status_notes", "service_name", "service_code", "description",
        "agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime",
        "address", "address_id", "zipcode", "lat", "long", "media_url"]
    assert [n.findtext("type") for n in request.findall("extended_attributes/notes/note")] == ["routed", "resolve"]


def test_private_categories_publish_a_rounded_place_and_no_address():
    out = open311.service_request(report(category="security", lat=21.02851, lon=105.85423), [], "vi", "", unit_name)
    assert (out["lat"], out["long"]) == (21.03, 105.85) and out["address"] is None and out["status_notes"] is None


def test_refusal_note_and_updates_since_a_date():
    events = [
        ev(1, "submitted", "submitted", at="2026-11-20T01:00:00.000Z"),
        ev(2, "routed", "routed", at="2026-11-20T02:00:00.000Z", unit_code="DEMO-W01"),
        ev(3, "assign", "in_progress", public=False, at="2026-11-21T02:00:00.000Z", assignee="x"),
        ev(4, "refuse", "refused", at="2026-11-22T02:00:00.000Z",
           reason={"code": "duplicate", "vi": "Trùng lặp", "en": "Duplicate", "text": "Xem HN-ABCDEF"}),
    ]
    r = report(status="refused")
    out = open311.service_request(r, events, "en", "", unit_name)
    assert out["status"] == "closed" and out["status_notes"] == "Duplicate: Xem HN-ABCDEF"
    updates = open311.request_updates(r, events, datetime(2026, 11, 20, 1, 30, tzinfo=UTC),
                                      datetime(2026, 11, 23, tzinfo=UTC), "en", unit_name)
    assert [(u["update_id"], u["status"]) for u in updates] == [("a" * 32 + ":2", "OPEN"), ("a" * 32 + ":4", "DUPLICATE")]
    assert updates[1]["updated_datetime"] == "2026-11-22T09:00:00+07:00"
    body, _ = open311.render("service_requests_updates", updates, "xml")
    root = ET.fromstring(body)
    assert root.tag == "service_requests_updates"  # mySociety's element names, as FixMyStreet reads them
    assert [c.tag for c in root] == ["request_update", "request_update"]
    assert [c.tag for c in root[0]] == ["update_id", "service_request_id", "status", "updated_datetime", "description",
                                        "media_url", "external_status_code"]


def test_matches_filters_by_code_and_open_closed():
    q = open311.parse_request_query({"service_code": ["traffic"], "status": ["closed"]}, NOW)
    assert open311.matches(report(status="resolved"), q)
    assert not open311.matches(report(status="routed"), q)
    assert not open311.matches(replace(report(status="resolved"), category="other"), q)


@pytest.mark.parametrize("raw, expected", [
    ("Gọi tôi 0903 111 222 nhé", f"Gọi tôi {HIDDEN} nhé"),
    ("liên hệ +84 912.345.678", f"liên hệ {HIDDEN}"),
    ("email an.nguyen@example.vn, cảm ơn", f"email {HIDDEN}, cảm ơn"),
    ("(0912345678)", f"({HIDDEN})"),
    ("Số 12 ngõ 3, ngày 2026-11-20, mã HN-4K7Q2M, 120 m", "Số 12 ngõ 3, ngày 2026-11-20, mã HN-4K7Q2M, 120 m"),
    (None, None),
])
def test_contact_details_typed_into_text_are_masked(raw, expected):
    assert mask_contacts(raw) == expected


def test_requests_mask_contacts_in_description_and_address():
    r = report(description="Ổ gà, gọi 0987654321 hoặc a@b.vn", address="Số 9, liên hệ 0903 111 222")
    out = open311.service_request(r, [], "vi", "", unit_name)
    assert "0987654321" not in out["description"] and "a@b.vn" not in out["description"]
    assert out["description"].startswith(f"Ổ gà, gọi {HIDDEN}")
    assert out["address"] == f"Số 9, liên hệ {HIDDEN}"


def test_a_request_cannot_point_someone_elses_messages_at_another_phone():
    form = {"service_code": ["traffic"], "lat": ["21.0285"], "long": ["105.8542"],
            "description": ["Ổ gà lớn giữa đường"], "email": ["victim@example.vn"], "phone": ["0999 888 777"]}
    sub = open311.parse_submission(form, "client1", "vi")
    assert sub.identity == "email:victim@example.vn" and sub.contact["phone"] is None
    by_phone = open311.parse_submission({k: v for k, v in form.items() if k != "email"}, "client1", "vi")
    assert by_phone.identity.startswith("phone:") and by_phone.contact["phone"] == "0999 888 777"
    assert by_phone.contact["email"] is None
