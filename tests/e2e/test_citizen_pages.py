"""The citizen's pages of issue #19 on the local stack: the tracking page names units (never codes) and
refreshes itself when staff act (ETag polling, checked over HTTP too); the notifications inbox, the
notification settings (read back after saving) and the alerts for the citizen's ward; file inputs with a
button in the page's language. One new citizen walks them all in one browser context."""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from civic_dev.local import demo
from tests.e2e.test_moderation import submit_routed
from tests.e2e.test_web_app import PASSWORD, Person, _photo, browser  # noqa: F401  (browser: the fixture)

pytestmark = pytest.mark.e2e

WARD_INDEX = 3  # DEMO-W04
FOLLOWED = "DEMO-W05"


def auth(token, **extra):
    return {"Authorization": f"Bearer {token}", **extra}


def new_citizen(stack) -> tuple[str, str]:
    email = f"pages-{uuid.uuid4().hex[:8]}@example.com"
    pool = stack.info["user_pool_id"]
    stack.cognito.admin_create_user(UserPoolId=pool, Username=email, MessageAction="SUPPRESS",
                                    UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}])
    stack.cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password=PASSWORD, Permanent=True)
    return email, stack.login(email, PASSWORD)


@pytest.fixture(scope="module")
def routed(stack):
    email, token = new_citizen(stack)
    view = submit_routed(stack, token, "Biển báo giao thông bị đổ sau cơn gió lớn", ward_index=WARD_INDEX)
    ward = demo.wards()[WARD_INDEX]
    assert view["unit_code"] == ward["code"]
    return {"email": email, "token": token, "view": view, "ward": ward,
            "officer": stack.login(f"officer{ward['code'][-2:]}@demo.civicbridge.vn")}


def test_tracking_answers_304_while_unchanged_and_exposes_its_etag(stack, routed):
    view = routed["view"]
    url = f"{stack.api}/v1/track/{view['tracking_code']}"
    first = requests.get(url, headers={"Origin": stack.web}, timeout=10)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and re.fullmatch(r'W/"2-[0-9a-f]{16}"', etag)  # version 2: submitted, routed
    assert "ETag" in first.headers["Access-Control-Expose-Headers"]
    assert first.json()["unit_name"]["vi"] == routed["ward"]["name_vi"]
    same = requests.get(url, headers={"If-None-Match": etag}, timeout=10)
    assert same.status_code == 304 and same.content == b"" and same.headers["ETag"] == etag
    # A browser may send it from another origin: the preflight allows the header.
    preflight = requests.options(url, headers={"Origin": stack.web, "Access-Control-Request-Method": "GET",
                                               "Access-Control-Request-Headers": "if-none-match"}, timeout=10)
    assert "if-none-match" in preflight.headers["Access-Control-Allow-Headers"].lower()
    # The report by id: the public and the author's views have their own tags.
    by_id = f"{stack.api}/v1/reports/{view['id']}"
    public = requests.get(by_id, timeout=10).headers["ETag"]
    assert requests.get(by_id, headers={"If-None-Match": public}, timeout=10).status_code == 304
    assert requests.get(by_id, headers=auth(routed["token"], **{"If-None-Match": public}), timeout=10).status_code == 200
    # Anything but the current tag (a list, a stale one, junk) gets the whole answer.
    assert requests.get(url, headers={"If-None-Match": 'W/"1-0", "x'}, timeout=10).status_code == 200


def test_citizen_pages_walk(browser, stack, routed):  # noqa: F811
    view, ward = routed["view"], routed["ward"]
    code = view["tracking_code"]
    person = Person(browser, stack)
    person.context.add_init_script("window.CIVIC_POLL_MS = 700")  # the page's 30 s, shortened for the test
    page = person.sign_in(routed["email"])

    # 1. The tracking page names the unit and the routing, never the ward's code.
    page = person.open(f"/track/{code}")
    page.wait_for_selector("#track-result .timeline")
    assert page.locator("#unit-name").inner_text() == ward["name_vi"]
    result = page.locator("#track-result").inner_text()
    assert "DEMO-W" not in result
    assert "Đã chuyển đến đơn vị xử lý" in result and ward["name_vi"] in page.locator(".timeline").inner_text()

    # 2. The officer accepts over the API: the open page shows it without a reload.
    page.evaluate("window.__notReloaded = true")
    version = requests.get(f"{stack.api}/v1/staff/reports/{view['id']}", headers=auth(routed["officer"]),
                           timeout=10).json()["version"]
    accepted = requests.post(f"{stack.api}/v1/staff/reports/{view['id']}/actions",
                             json={"action": "accept", "version": version}, headers=auth(routed["officer"]), timeout=10)
    assert accepted.status_code == 200, accepted.text
    page.wait_for_selector("#track-result h2 .st-accepted", timeout=15_000)
    assert "Đơn vị tiếp nhận" in page.locator(".timeline").inner_text()
    assert page.locator(".updated-note").count() == 1
    assert page.evaluate("window.__notReloaded") is True, "refreshed in place, not reloaded"
    person.shot("citizen-track-refreshed")

    # 3. Settings: channels, quiet hours, language, home ward and a followed area; saved and read back.
    page = person.open("/preferences")
    form = page.locator("#preferences-form")
    form.wait_for()
    form.get_by_label("Tin nhắn SMS").uncheck()
    form.get_by_label("Zalo").check()
    form.get_by_label("Zalo").uncheck()
    form.get_by_label("Bật giờ yên lặng").check()
    form.locator("input[name=quiet_start]").fill("21:30")
    form.locator("input[name=quiet_end]").fill("06:00")
    form.locator("select[name=language]").select_option("en")
    form.locator("select[name=home_unit]").select_option(ward["code"])
    form.locator("select[name=follow_units]").select_option([FOLLOWED])
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#preferences-status .alert.ok")
    saved = requests.get(f"{stack.api}/v1/me/preferences", headers=auth(routed["token"]), timeout=10).json()
    assert saved["quiet_hours"] == {"start": "21:30", "end": "06:00"} and saved["language"] == "en"
    assert saved["home_unit"] == ward["code"] and saved["follow_units"] == [FOLLOWED]
    assert "sms" not in saved["channels"] and "zalo" not in saved["channels"] and "inbox" in saved["channels"]
    page.reload()
    page.wait_for_selector("#preferences-form")
    assert page.locator("select[name=home_unit]").input_value() == ward["code"]
    assert page.locator("input[name=quiet_start]").input_value() == "21:30"
    assert page.locator("select[name=follow_units] option:checked").evaluate_all("os => os.map(o => o.value)") == [FOLLOWED]

    # 4. An alert for the citizen's ward, published by the city's coordinator, is on the alerts page.
    title = f"Ngập úng cục bộ {uuid.uuid4().hex[:4]}"
    expires = (datetime.now(UTC) + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    published = requests.post(f"{stack.api}/v1/staff/alerts", headers=auth(stack.login("coordinator@demo.civicbridge.vn"),
                                                                           **{"Idempotency-Key": uuid.uuid4().hex}),
                              json={"kind": "flood", "severity": "warning", "title": {"vi": title, "en": "Local flooding"},
                                    "body": {"vi": "Tránh đi qua khu vực trũng.", "en": "Avoid low streets."},
                                    "area": {"units": [ward["code"]]}, "expires_at": expires}, timeout=10)
    assert published.status_code == 201, published.text
    page = person.open("/alerts")
    section = page.locator(f"section.area-alerts[data-unit='{ward['code']}']")
    section.locator(".alert-item", has_text=title).wait_for()
    assert ward["name_vi"] in section.locator("h2").inner_text()
    assert page.locator(f"section.area-alerts[data-unit='{FOLLOWED}']").count() == 1

    # 5. The inbox: the acceptance (and the alert) arrived; mark one read; its link opens the report.
    stack.wait_for(lambda: requests.get(f"{stack.api}/v1/me/notifications", headers=auth(routed["token"]), timeout=10).json(),
                   lambda box: any(i["tracking_code"] == code for i in box["items"]))
    page = person.open("/inbox")
    item = page.locator("#notifications li.unread", has_text=code).first
    item.wait_for()
    before = page.locator("#unread").inner_text()
    item.get_by_role("button", name="Đánh dấu đã đọc").click()
    page.locator("#notifications li", has_text=code).first.locator(".badge.read").wait_for()
    assert page.locator("#unread").inner_text() != before
    page.locator("#notifications li", has_text=code).first.get_by_role("link", name=f"Xem phản ánh {code}").click()
    page.wait_for_selector("#track-result h2")
    assert page.url.endswith(f"#/track/{code}")

    # 6. The file input: our button and status in the page's language; the native input kept focusable.
    page = person.open("/submit")
    picker = page.locator(".file-picker")
    picker.wait_for()
    assert picker.locator(".file-button").inner_text() == "Chọn tệp…"
    assert picker.locator(".file-status").inner_text() == "Chưa chọn tệp nào"
    native = page.locator("input[name=media]")
    assert native.bounding_box()["width"] <= 1, "the browser's own button is not shown"
    native.focus()
    assert page.evaluate("document.activeElement.name") == "media"
    native.set_input_files(str(_photo(stack.state_dir / f"pages-{int(time.time())}.jpg")))
    assert picker.locator(".file-status").inner_text().endswith(".jpg")
    page.get_by_role("button", name="Switch to English").click()
    page.wait_for_selector(".file-picker .file-button:text('Choose files…')")
    assert page.locator(".file-picker .file-status").inner_text() == "No file chosen"
    assert person.errors == []
    person.close()
