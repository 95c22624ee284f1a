"""Issue 19 in Chromium, on the session's local stack: the staff report page shows its flags in words with
what they point at (the other report of a probable duplicate and of a reused photo, the distance of a photo
taken far away); a ward leader's dashboard picks units from the tree, writes dates dd/mm/yyyy, says "not
enough ratings (n = …)" instead of an index, shows each figure's definition on hover, and draws the ward's
outline with its reports as points coloured by status; every map has a base layer (the published
boundaries, as the local stack has no tile server) and a legend. Screenshots at 390 and 1280 px wide of the
staff report page, the dashboard and the public map go to tests/e2e/artifacts/."""

from __future__ import annotations

import io
import re
import uuid

import pytest
import requests
from PIL import Image

from civic_dev.local import demo
from tests.e2e.test_web_app import ARTIFACTS, Person, browser  # noqa: F401  (the module's browser fixture)

pytestmark = pytest.mark.e2e
WARD_INDEX = 7  # DEMO-W08: no other browser test submits there


def _jpeg(colour, gps=None) -> bytes:
    img = Image.new("RGB", (320, 240), colour)
    exif = Image.Exif()
    if gps:
        exif[0x8825] = gps
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80, exif=exif.tobytes())
    return buf.getvalue()


def _submit(stack, token, lat, lon, photos, description):
    created = requests.post(
        stack.api + "/v1/reports",
        json={"category": "traffic", "description": description, "lat": lat, "lon": lon,
              "media": [{"content_type": "image/jpeg", "size": len(p)} for p in photos]},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}, timeout=10,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    for upload, data in zip(body["uploads"], photos):
        sent = requests.post(upload["url"], data=upload["fields"], files={"file": ("p.jpg", data, "image/jpeg")}, timeout=10)
        assert sent.status_code in (200, 204)
    return body["id"]


def _shots(person, name):
    """The page at 1280 px, then at 390 px (a phone), full length."""
    for width in (1280, 390):
        person.page.set_viewport_size({"width": width, "height": 900})
        person.page.wait_for_timeout(400)  # maps re-fit, charts resize
        person.page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
    person.page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture(scope="module")
def flagged(stack):
    """Report A with a photo, then report B at the same place (a probable duplicate) with A's photo again
    (reused) and a photo whose GPS puts it tens of kilometres away."""
    ward = demo.wards()[WARD_INDEX]
    # A corner of the ward no other test reports from: the duplicate found must be report A.
    lat, lon = ward["center"][0] + 0.0021, ward["center"][1] - 0.0023
    first = _jpeg((10, 120, 200))
    a = _submit(stack, stack.login("citizen1@demo.civicbridge.vn"), lat, lon, [first], "Đèn tín hiệu giao thông hỏng ở ngã tư")
    stack.settle()
    far = {1: "N", 2: (float(int(lat)), float(int((lat % 1) * 60)), 0.0), 3: "E", 4: (float(int(lon) + 0), 0.0, 0.0)}
    b = _submit(stack, stack.login("citizen2@demo.civicbridge.vn"), lat + 0.0002, lon, [first, _jpeg((200, 30, 30), far)],
                "Đèn giao thông ở ngã tư không sáng")
    stack.settle()
    # The unit the place is routed to now (tests/e2e/test_routing.py re-codes the demo wards on this shared
    # stack), so its leader is the one who sees the report.
    citizen2 = stack.login("citizen2@demo.civicbridge.vn")
    routed = requests.get(f"{stack.api}/v1/reports/{b}", headers={"Authorization": f"Bearer {citizen2}"}, timeout=10)
    ward = {**ward, "code": routed.json()["unit_code"]}
    leader = stack.login(f"leader{ward['code'][-2:]}@demo.civicbridge.vn")
    answer = requests.get(f"{stack.api}/v1/staff/reports/{b}", headers={"Authorization": f"Bearer {leader}"}, timeout=10)
    assert answer.status_code == 200, answer.text
    view = answer.json()
    codes = {k: requests.get(f"{stack.api}/v1/reports/{r}", timeout=10).json()["tracking_code"] for k, r in (("a", a), ("b", b))}
    return {"ward": ward, "a": a, "b": b, "codes": codes, "view": view}


def test_staff_flags_are_readable_and_link_the_other_report(browser, stack, flagged):  # noqa: F811
    view = flagged["view"]
    assert {"probable_duplicate", "reused_photo", "photo_far_from_location"} <= set(view["flags"]), view["flags"]
    far = next(f for f in view["flag_details"] if f["flag"] == "photo_far_from_location")
    assert far["distance_m"] > far["threshold_m"] == 1000
    assert next(m for m in view["media"] if m["media_id"] == far["media_id"])["gps_distance_m"] == far["distance_m"]

    leader = Person(browser, stack, width=1280)
    leader.sign_in(f"leader{flagged['ward']['code'][-2:]}@demo.civicbridge.vn")
    page = leader.open(f"/staff/report/{flagged['b']}")
    flags = page.wait_for_selector("#flags")
    text = flags.inner_text()
    assert "Có thể trùng" in text and "Ảnh đã được dùng" in text and "chụp cách vị trí phản ánh" in text
    assert re.search(r"chụp cách vị trí phản ánh [\d.,]+ km \(ngưỡng 1 km\)", text), text
    duplicate = page.locator("li[data-flag=probable_duplicate] a.flag-report")
    assert duplicate.inner_text() == flagged["codes"]["a"]
    assert page.locator("li[data-flag=reused_photo] a.flag-report").inner_text() == flagged["codes"]["a"]
    # The report page's map: a base layer of boundaries and a legend.
    page.wait_for_selector(".map[data-outlines]:not([data-outlines='0'])")
    assert page.locator(".map .map-legend li").count() >= 2
    _shots(leader, "staff-report")
    duplicate.click()  # the same ward: it opens in the portal
    page.wait_for_function(f"() => location.hash === '#/staff/report/{flagged['a']}'")
    page.wait_for_selector("#actions")
    assert leader.errors == []
    leader.close()


def test_ward_leader_dashboard_tells_the_truth_and_maps_the_ward(browser, stack, flagged):  # noqa: F811
    ward = flagged["ward"]["code"]
    email = f"leader{ward[-2:]}@demo.civicbridge.vn"
    token = stack.login(email)
    summary = requests.get(f"{stack.api}/v1/stats/summary", params={"unit": ward},
                           headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
    assert summary["rated"] < summary["min_ratings"] == 5, "the demo ward should have few ratings"
    assert summary["satisfaction_index"] is None and summary["satisfied_rate"] is None

    person = Person(browser, stack, width=1280)
    person.sign_in(email)
    page = person.open("/dashboard")
    from playwright.sync_api import expect

    # The unit picker is the tree of my units (a ward leader: their ward), chosen for me.
    expect(page.locator("select[name=unit]")).to_have_value(ward)
    assert page.locator("select[name=unit] option").count() == 2  # the whole system, and my ward
    # Dates as Vietnamese write them.
    assert re.fullmatch(r"\d{2}/\d{2}/\d{4}", page.locator("input[name=from]").input_value())
    page.wait_for_selector("#summary #stat-index")
    expected = f"chưa đủ đánh giá (n = {summary['rated']})"
    assert page.locator("#stat-index .value").inner_text() == expected
    assert page.locator("#stat-satisfied .value").inner_text() == expected
    # Each figure's definition on hover, from the API.
    on_time = page.locator("#stat-on-time [data-figure=on_time_rate]")
    assert "quá hạn" in on_time.get_attribute("title")
    assert page.locator("#stat-overdue-open .value").inner_text().isdigit()
    # The ward itself on the map: its outline and its reports as points, a legend, the boundary base.
    page.wait_for_selector("#dashboard-map path.unit-outline")
    page.wait_for_selector("#dashboard-map[data-points]")
    assert int(page.locator("#dashboard-map").get_attribute("data-points")) >= 2
    assert page.locator("#dashboard-map .leaflet-marker-icon").count() >= 1  # points or their cluster
    assert page.locator("#dashboard-map").get_attribute("data-base") == "boundaries"
    legend = page.locator("#dashboard-map .map-legend").inner_text()
    assert "Địa bàn đơn vị" in legend and "Ranh giới" in legend
    # A wrong date is refused in words, and nothing is asked of the API.
    page.locator("input[name=from]").fill("31/02/2026")
    page.locator("form.filters button[type=submit]").click()
    assert "dd/mm/yyyy" in page.get_by_role("alert").first.inner_text()
    page.locator("input[name=from]").fill(page.locator("input[name=to]").input_value())
    page.locator("form.filters button[type=submit]").click()
    page.wait_for_selector("#dashboard-map path.unit-outline")
    _shots(person, "dashboard")

    # The public map: boundaries as the base, clustered points, the statuses' legend.
    page = person.open("/reports")
    page.wait_for_selector(".map[data-outlines]:not([data-outlines='0'])")
    page.wait_for_selector(".map .leaflet-marker-icon")
    statuses = requests.get(f"{stack.api}/v1/config", timeout=10).json()["statuses"]
    assert page.locator(".map .map-legend li").count() == 1 + len(statuses)  # the boundary line, every status
    _shots(person, "public-map")
    assert person.errors == []
    person.close()
