"""The web app in a real browser (Playwright driving Debian's Chromium) against the local stack.

The whole story by clicking: a citizen signs in and submits a report with a photo and gets a code; the
ward's officer (in English) accepts it and resolves it with an evidence photo; the leader approves it (demo
wards require approval); the citizen sees the result with its evidence and rates it; the leaders'
dashboard shows the figures. Then the same pages in English, and every main page at 360 px wide.
A screenshot of each main page is kept under tests/e2e/artifacts/ (git-ignored).
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "Demo@2026!"
CITIZEN = "citizen1@demo.civicbridge.vn"
LEADER = "leader01@demo.civicbridge.vn"
COORDINATOR = "coordinator@demo.civicbridge.vn"
# Inside the synthetic ward DEMO-W01 (20.98–21.01 N, 105.78–105.82 E) of the demo boundaries; the story
# asks the API which ward handles it and signs in as that ward's officer and leader.
LAT, LON = "20.9953", "105.7987"
STEP_MS = 30_000


def _ensure_built() -> None:
    """`make test` builds web/dist first; a bare pytest run builds it here when it is missing."""
    if (ROOT / "web" / "dist" / "app.js").exists():
        return
    if not shutil.which("npm"):
        pytest.skip("npm is missing: run `make test` (it installs and builds the web app)")
    web = ROOT / "web"
    if not (web / "node_modules").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=web, check=True)
    subprocess.run(["node", "build.mjs"], cwd=web, check=True)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is missing: run `make test` (it installs it)")
    _ensure_built()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


class Person:
    """One signed-in person in their own browser context (session storage is per context)."""

    def __init__(self, browser, stack, width=412, height=900, lang=None):
        self.stack = stack
        self.context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
        if lang:
            self.context.add_init_script(f"localStorage.setItem('civic.lang', '{lang}')")
        self.context.set_default_timeout(STEP_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def open(self, route: str):
        self.page.goto(f"{self.stack.web}/#{route}")
        self.page.wait_for_selector("main h1")
        return self.page

    def sign_in(self, email: str):
        page = self.open("/signin")
        page.get_by_label("Email", exact=True).fill(email)
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("form button[type=submit]").click()
        page.wait_for_function("() => !location.hash.startsWith('#/signin')")
        return page

    def shot(self, name: str) -> None:
        self.page.wait_for_timeout(300)  # let maps and charts settle
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)

    def close(self):
        self.context.close()


def _photo(path: Path, colour=(200, 40, 40)) -> Path:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (640, 480), colour).save(buf, "JPEG", quality=85)
    path.write_bytes(buf.getvalue())
    return path


def _wait_status(stack, code: str, statuses: set[str]) -> dict:
    return stack.wait_for(lambda: requests.get(f"{stack.api}/v1/track/{code}", timeout=10).json(),
                          lambda view: view.get("status") in statuses, poll=0.5)


def _received(stack) -> int | None:
    """The city's `received` figure from the statistics API (None where that API is not there)."""
    token = stack.login(COORDINATOR)
    answer = requests.get(f"{stack.api}/v1/stats/summary", params={"unit": "DEMO"},
                          headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return answer.json()["received"] if answer.status_code == 200 else None


@pytest.fixture(scope="module")
def story(browser, stack, tmp_path_factory):
    """The whole story once, by clicking; the tests below check its steps and what it left behind."""
    tmp = tmp_path_factory.mktemp("web")
    out: dict = {"received_before": _received(stack)}
    # The ward that handles this place now (other tests may have re-imported the boundaries), and its staff.
    ward = requests.get(f"{stack.api}/v1/units/locate", params={"lat": LAT, "lon": LON, "category": "traffic"},
                        timeout=10).json()["handler"]
    out["ward"] = ward["code"]
    officer_email, leader_email = (f"{role}{ward['code'][-2:]}@demo.civicbridge.vn" for role in ("officer", "leader"))

    # 1. The citizen signs in, fills the form with a photo, sees the upload and gets a tracking code.
    citizen = Person(browser, stack)
    page = citizen.sign_in(CITIZEN)
    page.wait_for_selector("select[name=category] option[value=traffic]", state="attached")
    page.select_option("select[name=category]", "traffic")
    page.get_by_label("Cao", exact=True).check()  # the category's question: how dangerous it is
    page.fill("textarea[name=description]", "Ổ gà sâu trước cổng trường, xe máy dễ ngã khi trời mưa.")
    page.fill("input[name=lat]", LAT)
    page.fill("input[name=lon]", LON)
    page.locator("input[name=lon]").dispatch_event("change")
    page.wait_for_selector(f"#unit-hint:has-text('{ward['name_vi']}')")  # the unit that will receive it, shown first
    page.set_input_files("input[name=media]", str(_photo(tmp / "pothole.jpg")))
    citizen.shot("citizen-submit")
    # Leave the longitude field first, as a person does: Playwright scrolls to the button while that field
    # still has the focus, and Chromium scrolls back to the field as it loses it, between the press and
    # the release, so the click would land elsewhere.
    page.locator("input[name=lon]").blur()
    page.get_by_role("button", name="Gửi phản ánh").click()
    code = page.locator("#tracking-code").inner_text(timeout=STEP_MS).strip()
    citizen.shot("citizen-submitted")
    out["code"] = code
    out["routed"] = _wait_status(stack, code, {"routed"})

    # 1b. Another citizen about to report the same thing sees it nearby and follows it instead.
    neighbour = Person(browser, stack)
    page = neighbour.sign_in("citizen2@demo.civicbridge.vn")
    page.wait_for_selector("select[name=category] option[value=traffic]", state="attached")
    page.select_option("select[name=category]", "traffic")
    page.fill("input[name=lat]", LAT)
    page.fill("input[name=lon]", LON)
    page.locator("input[name=lon]").dispatch_event("change")
    card = page.locator(".nearby li", has_text=code)
    card.get_by_role("button", name="Theo dõi").click()
    card.get_by_role("button", name="Đang theo dõi").wait_for()
    neighbour.shot("citizen-nearby-follow")
    out["followers"] = requests.get(f"{stack.api}/v1/reports/{out['routed']['id']}", timeout=10).json()["followers"]
    neighbour.close()

    # 2. The ward's officer finds it in the inbox, accepts it, and resolves it with an evidence photo.
    officer = Person(browser, stack, width=1280, lang="en")  # the officer works in English
    page = officer.sign_in(officer_email)
    page.wait_for_selector("#inbox .card")
    citizen_photo_ready = _wait_media_ready(stack, code)
    officer.open("/staff")
    page.get_by_label("Search (text or code)").fill(code)
    page.locator(".filters button[type=submit]").click()
    page.get_by_role("link", name=code).click()
    page.wait_for_selector("#actions")
    out["report_id"] = page.url.rsplit("/", 1)[-1]
    out["answer"] = page.locator("dd.answer").first.inner_text()  # the citizen's answer, in the officer's language
    officer.shot("staff-inbox-report")
    page.locator("form.action[data-action=accept] button[type=submit]").click()
    page.wait_for_selector("h1 .st-accepted")
    page.locator("details.action-box summary", has_text="Resolve").click()
    resolve = page.locator("form.action[data-action=resolve]")
    resolve.locator("textarea[name=answer]").fill("Đơn vị đã vá ổ gà và hoàn trả mặt đường trong ngày.")
    resolve.locator("input[name=evidence]").set_input_files(str(_photo(tmp / "fixed.jpg", (40, 160, 60))))
    resolve.locator("button[type=submit]").click()
    page.wait_for_selector("h1 .st-pending_approval", timeout=90_000)
    out["officer_page"] = page.locator("main").inner_text()
    officer.shot("staff-report-resolved")
    out["officer_errors"] = officer.errors
    officer.close()

    # 3. The ward's leader approves the result: it is published.
    leader = Person(browser, stack, width=1280)
    page = leader.sign_in(leader_email)
    leader.open(f"/staff/report/{out['report_id']}")
    page.locator("form.action[data-action=approve] button[type=submit]").click()
    page.wait_for_selector("h1 .st-resolved")
    out["leader"] = leader

    # 4. The citizen sees the result with its evidence photo and rates it.
    page = citizen.open(f"/track/{code}")
    page.wait_for_selector("#result .gallery img")
    out["result_text"] = page.locator("#result").inner_text()
    citizen.shot("citizen-track-result")
    form = page.locator("#rate-form")
    # Nothing is chosen for the citizen: a rating is only what they picked.
    assert form.locator("input:checked").count() == 0
    form.get_by_label("Hài lòng", exact=True).check()
    form.locator("input[name=stars][value='4']").check()
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#my-rating")
    out["rating_text"] = page.locator("#my-rating").inner_text()
    out["track_text"] = page.locator("#track-result").inner_text()
    out["citizen_errors"] = citizen.errors
    out["citizen_photo_ready"] = citizen_photo_ready
    citizen.close()
    yield out
    leader.close()


def _wait_media_ready(stack, code: str, timeout=60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = requests.get(f"{stack.api}/v1/track/{code}", timeout=10).json()
        if any(m.get("status") == "ready" for m in view.get("media", [])):
            return True
        time.sleep(0.5)
    return False


def test_citizen_submits_a_report_with_a_photo_and_gets_a_code(story, stack):
    prefix = stack.info["env"]["TRACKING_PREFIX"]
    assert re.fullmatch(rf"{prefix}-[23456789A-HJKMNP-TW-Z]{{6}}", story["code"])
    assert story["routed"]["status"] == "routed"
    assert story["routed"]["unit_code"] == story["ward"]
    assert story["citizen_photo_ready"], "the photo uploaded from the browser became a public rendition"
    assert story["followers"] == 1, "a neighbour followed it from the nearby list instead of sending another"


def test_sign_in_with_the_keyboard_only(browser, stack):
    person = Person(browser, stack)
    page = person.open("/signin")
    page.focus("input[name=email]")
    page.keyboard.type(CITIZEN)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Đã đăng nhập")
    assert page.url.endswith("#/submit")
    assert page.evaluate("document.activeElement.id") == "main", "focus moves to the new page"
    # On a fresh load the skip link is the first stop of the tab order and moves focus to the content.
    page.reload()
    page.wait_for_selector("main h1")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    person.close()


def test_officer_resolves_leader_approves_citizen_sees_result_and_rates(story, stack):
    assert "vá ổ gà" in story["result_text"]
    assert "★★★★" in story["rating_text"]
    assert "Hài lòng" in story["rating_text"]
    view = requests.get(f"{stack.api}/v1/track/{story['code']}", timeout=10).json()
    assert view["status"] == "closed"
    assert view["rating"] == {"satisfied": True, "stars": 4}
    types = [e["type"] for e in view["timeline"]]
    assert types[0] == "submitted" and "routed" in types and "approve" in types and types[-1] == "rated"
    evidence = {i for e in view["timeline"] for i in (e["data"].get("evidence") or [])}
    assert evidence and evidence <= {m["media_id"] for m in view["media"] if m["status"] == "ready"}
    assert story["officer_errors"] == [] and story["citizen_errors"] == []
    # The officer's portal was in English, timeline included.
    assert "Awaiting approval" in story["officer_page"] and "Result written" in story["officer_page"]
    # The citizen's answer to the category's question reached the officer, labelled in English.
    assert story["answer"] == "High"


def test_dashboard_shows_the_figures(browser, story, stack):
    # The city's coordinator looks at the whole city (unit DEMO, their own unit from /v1/me) and its wards.
    leader = Person(browser, stack, width=1280)
    page = leader.sign_in(COORDINATOR)
    page = leader.open("/dashboard")
    from playwright.sync_api import expect

    expect(page.locator("select[name=unit]")).to_have_value("DEMO")
    page.wait_for_selector("#summary #stat-received .value")
    # The stats function counts from the Timeline stream: the new report shows up in the figures.
    before = story["received_before"]
    # (The demo data may still be being counted too: wait until the page and the API agree.)
    deadline = time.monotonic() + 45
    shown = expected = None
    while time.monotonic() < deadline:
        shown = int(re.sub(r"\D", "", page.locator("#stat-received .value").inner_text()) or 0)
        expected = _received(stack)
        if shown == expected and shown >= before + 1:
            break
        page.wait_for_timeout(1500)
        page.locator("form.filters button[type=submit]").click()
        page.wait_for_selector("#summary #stat-received .value")
        page.wait_for_timeout(500)
    assert shown == expected and shown >= before + 1
    page.wait_for_selector("#ranking tbody tr")
    assert page.locator("#ranking tbody tr").count() >= 1
    page.wait_for_selector("#heatmap tbody tr")
    assert page.locator("#heatmap tbody tr").count() == 7
    page.wait_for_selector("path.leaflet-interactive")  # the child units drawn on the map
    assert page.locator("path.leaflet-interactive").count() >= 9
    assert page.locator("canvas").count() >= 2, "charts drawn"
    leader.shot("leader-dashboard")
    # CSV export: fetched with the token and saved as a file.
    with page.expect_download() as download:
        page.locator("#dashboard-export").click()
    csv = Path(download.value.path()).read_bytes()
    assert csv.startswith(b"\xef\xbb\xbf") and story["code"].encode() not in csv  # closed: not in the open inbox
    assert len(csv.splitlines()) >= 2
    page.goto(f"{stack.web}/#/stats")
    page.wait_for_selector("#summary #stat-received")
    page.wait_for_selector("table.data tbody tr")
    leader.shot("public-stats")
    assert leader.errors == []
    leader.close()


def test_the_pages_in_english(browser, stack, story):
    person = Person(browser, stack, lang="en")
    page = person.open("/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", level=1).inner_text() == "On-site feedback"
    assert page.get_by_role("link", name="Report a problem").count() >= 1
    # A link as messages send it (WEB_BASE_URL/track/<code>) opens the same page.
    page.goto(f"{stack.web}/track/{story['code']}")
    page.wait_for_selector("#result")
    assert page.url.endswith(f"/#/track/{story['code']}")
    text = page.locator("main").inner_text()
    assert "Closed" in text and "Result" in text and "Timeline" in text and "Report submitted" in text
    person.shot("track-english")
    person.page.get_by_role("button", name="Chuyển sang tiếng Việt").click()
    page.wait_for_selector("text=Lịch sử xử lý")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert person.errors == []
    person.close()


@pytest.mark.parametrize("route", ["/", "/submit", "/track", "/reports", "/stats", "/signin", "/staff", "/dashboard"])
def test_each_page_fits_360px(browser, stack, story, route):
    person = Person(browser, stack, width=360, height=740)
    if route in ("/submit", "/staff", "/dashboard"):
        person.sign_in(CITIZEN if route == "/submit" else LEADER)
    page = person.open(route)
    page.wait_for_timeout(500)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{route} is wider than 360 px by {overflow} px"
    # Every form control has an accessible name (a label, aria-label or title).
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('main input:not([type=hidden]), main select, main textarea')]
              .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.title)
              .map(el => el.name || el.type)"""
    )
    assert unnamed == []
    if route in ("/", "/submit", "/track", "/reports", "/stats", "/staff"):
        person.shot("phone-" + (route.strip("/") or "home"))
    assert person.errors == []
    person.close()


def test_sign_up_confirm_and_sign_in(browser, stack):
    """Sign-up through Cognito's API from the browser. The local Cognito (moto) sends no email and takes
    any confirmation code; in AWS the code comes by email."""
    person = Person(browser, stack)
    page = person.open("/signup")
    email = f"web-{int(time.time() * 1000)}@example.com"
    page.get_by_label("Email", exact=True).fill(email)
    page.locator("input[name=password]").fill("Web@2026!x")
    page.get_by_role("button", name="Đăng ký").click()
    page.get_by_label("Mã xác nhận (gửi qua email)").fill("123456")
    page.get_by_role("button", name="Xác nhận").click()
    page.wait_for_selector("text=Đã đăng nhập")
    assert email in page.locator("header").inner_text()
    assert page.url.endswith("#/submit")
    assert person.errors == []
    person.close()


def test_a_wrong_password_is_told_in_the_page_language(browser, stack):
    person = Person(browser, stack)
    page = person.open("/signin")
    page.get_by_label("Email", exact=True).fill(CITIZEN)
    page.locator("input[name=password]").fill("not-the-password")
    page.locator("form button[type=submit]").click()
    assert "Email hoặc mật khẩu không đúng" in page.get_by_role("alert").inner_text()
    assert page.url.endswith("#/signin") and "Đăng xuất" not in page.locator("header").inner_text()
    person.close()


def test_citizens_flag_in_the_page_and_a_moderator_hides_from_the_queue(browser, stack):
    """Three citizens flag a report from its tracking page; it drops out of public view; the moderator
    finds it in the moderation queue and shows it again; the author saw why it was hidden."""
    from tests.e2e.test_moderation import submit_routed

    author = stack.login("citizen1@demo.civicbridge.vn")
    view = submit_routed(stack, author, "Cây đổ chắn ngang đường sau mưa lớn", ward_index=5)
    code = view["tracking_code"]
    for email in ("citizen2@demo.civicbridge.vn", "officer04@demo.civicbridge.vn", "leader04@demo.civicbridge.vn"):
        person = Person(browser, stack)
        person.sign_in(email)
        page = person.open(f"/track/{code}")
        page.wait_for_selector("#flag-form", state="attached")
        page.locator("#flag-form").locator("xpath=..").locator("summary").click()
        page.locator("#flag-form select[name=reason]").select_option("offensive")
        page.locator("#flag-form button[type=submit]").click()
        page.wait_for_selector("text=Cán bộ kiểm duyệt sẽ xem xét")
        assert person.errors == []
        person.close()
    assert requests.get(f"{stack.api}/v1/track/{code}", timeout=5).status_code == 404

    author_page = Person(browser, stack)
    author_page.sign_in("citizen1@demo.civicbridge.vn")
    page = author_page.open(f"/track/{code}")
    notice = page.wait_for_selector("#hidden-notice")
    assert "báo cáo vi phạm" in notice.inner_text()
    author_page.close()

    moderator = Person(browser, stack, width=1280)
    moderator.sign_in("moderator@demo.civicbridge.vn")
    page = moderator.open("/staff")
    page.wait_for_selector(f"a.code-link:text('{code}')").click()
    page.wait_for_selector("#moderation")
    assert "Không công khai" in page.locator("#moderation").inner_text()
    box = page.locator("details.action-box", has=page.locator("form[data-action=unhide]"))
    box.locator("summary").click()
    box.locator("textarea[name=reason]").fill("Không vi phạm")
    box.locator("button[type=submit]").click()
    page.wait_for_selector("#moderation .ok")
    moderator.shot("moderation-report")
    assert moderator.errors == []
    moderator.close()
    assert requests.get(f"{stack.api}/v1/track/{code}", timeout=5).status_code == 200


def test_a_new_contact_waits_for_confirmation_and_its_link_confirms_it(browser, stack):
    import re
    import uuid

    import requests

    email, phone = f"web-contact-{uuid.uuid4().hex[:8]}@example.com", f"+8497{int(time.time()) % 10 ** 7:07d}"
    pool = stack.info["user_pool_id"]
    stack.cognito.admin_create_user(UserPoolId=pool, Username=email, MessageAction="SUPPRESS",
                                    UserAttributes=[{"Name": "email", "Value": email}])
    stack.cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password=PASSWORD, Permanent=True)
    person = Person(browser, stack)
    person.sign_in(email)
    page = person.open("/contacts")
    page.get_by_label("Số điện thoại (+84…)").fill(phone)
    page.locator("form:has(input[name=phone]) button[type=submit]").click()
    assert "chờ xác nhận" in page.wait_for_selector(".badge.contact-pending").inner_text()
    assert page.get_by_label("Mã xác nhận (6 chữ số)").count() >= 1

    def sms():
        items = requests.get(stack.web + "/_local/outbox", timeout=30).json()["items"]
        return [i["text"] for i in items if i["recipient"] == phone]

    text = stack.wait_for(sms, lambda found: len(found) == 1)[0]
    token = re.search(r"#/verify/([A-Za-z0-9_-]+)", text).group(1)
    page = person.open(f"/verify/{token}")
    assert page.wait_for_selector(".alert.ok").inner_text().startswith("Đã xác nhận")
    page = person.open("/contacts")
    assert page.wait_for_selector(".badge.contact-verified").inner_text() == "đã xác nhận"
    assert person.errors == []
    person.close()


def test_an_invited_officer_signs_in_with_the_temporary_password_and_chooses_their_own(browser, stack, tmp_path):
    """`civic staff import` on the local stack prints each new person's temporary password; at the first
    sign-in the page asks for a new one, and the officer lands in their unit's inbox."""
    import subprocess
    import sys

    sheet = tmp_path / "staff.csv"
    sheet.write_text("email,role,units,name\ninvited.officer@demo.civicbridge.vn,officer,DEMO-W06,Cán bộ Được mời\n"
                     "bad row,officer,NOPE,\n", encoding="utf-8")
    run = [sys.executable, "-m", "civic_dev.cli", "staff", "import", str(sheet), "--state-dir", str(stack.state_dir)]
    refused = subprocess.run(run, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert refused.returncode == 2 and "line 3" in refused.stdout and "NOPE" in refused.stdout
    sheet.write_text("email,role,units,name\ninvited.officer@demo.civicbridge.vn,officer,DEMO-W06,Cán bộ Được mời\n",
                     encoding="utf-8")
    done = subprocess.run(run, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    temporary = done.stdout.split("temporary password: ")[1].split()[0]

    person = Person(browser, stack)
    page = person.open("/signin")
    page.get_by_label("Email", exact=True).fill("invited.officer@demo.civicbridge.vn")
    page.locator("input[name=password]").fill(temporary)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_selector("#new-password-form")
    page.locator("input[name=new_password]").fill("MyOwnPassw0rd")
    page.locator("#new-password-form button[type=submit]").click()
    page.wait_for_function("() => location.hash.startsWith('#/staff')")
    page.wait_for_selector("#inbox")
    assert person.errors == []
    person.close()
    # The new password is theirs now; the temporary one no longer works.
    assert stack.login("invited.officer@demo.civicbridge.vn", "MyOwnPassw0rd")


def test_an_admin_invites_moves_and_disables_staff_in_the_page(browser, stack):
    """Operators without a terminal: invite an officer (the local stack shows the temporary password once),
    move them to another ward, disable them (they can no longer sign in, nor be assigned), enable them."""
    import uuid

    email = f"moi.{uuid.uuid4().hex[:6]}@demo.civicbridge.vn"
    admin = Person(browser, stack, width=1280)
    admin.sign_in("admin@demo.civicbridge.vn")
    page = admin.open("/admin")
    page.locator("#invite-form input[name=email]").fill(email)
    page.locator("#invite-form select[name=role]").select_option("officer")
    page.locator("#invite-form input[name=units]").fill("DEMO-W03")
    page.locator("#invite-form button[type=submit]").click()
    temporary = page.wait_for_selector("#temporary-password").inner_text()
    row = page.locator(f"tr[data-email='{email}']")
    row.wait_for()
    row.locator("input[name=units]").fill("DEMO-W04")
    row.locator("button.secondary").click()
    page.wait_for_function(f"() => document.querySelector(\"tr[data-email='{email}'] input\").value === 'DEMO-W04'")
    staff = requests.get(stack.api + "/v1/admin/staff", headers={"Authorization": f"Bearer {stack.login('admin@demo.civicbridge.vn')}"},
                         timeout=10).json()["items"]
    assert next(m for m in staff if m["email"] == email)["units"] == ["DEMO-W04"]

    page.locator(f"tr[data-email='{email}'] button.danger").click()
    page.wait_for_selector(f"tr[data-email='{email}'] strong.bad")
    admin.shot("admin-staff")
    assert admin.errors == []
    admin.close()
    import boto3

    idp = boto3.client("cognito-idp", endpoint_url=stack.info["aws_endpoint_url"], region_name=stack.info["region"],
                       aws_access_key_id="local", aws_secret_access_key="local")
    with pytest.raises(idp.exceptions.NotAuthorizedException):
        idp.initiate_auth(ClientId=stack.info["user_pool_client_id"], AuthFlow="USER_PASSWORD_AUTH",
                          AuthParameters={"USERNAME": email, "PASSWORD": temporary})
    enabled = requests.post(stack.api + "/v1/admin/staff/enable", json={"email": email},
                            headers={"Authorization": f"Bearer {stack.login('admin@demo.civicbridge.vn')}"}, timeout=10)
    assert enabled.status_code == 200 and enabled.json()["units"] == ["DEMO-W04"]
    citizen = requests.post(stack.api + "/v1/admin/staff/disable", json={"email": email},
                            headers={"Authorization": f"Bearer {stack.login('citizen1@demo.civicbridge.vn')}"}, timeout=10)
    assert citizen.status_code == 403


def test_the_web_app_is_served_with_its_security_headers(stack):
    """The same policy as CloudFront's WebSecurityHeaders (every browser test above runs under it)."""
    headers = requests.get(stack.web + "/", timeout=10).headers
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self'" in policy and stack.api in policy
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"


def test_a_transfer_with_a_deadline_then_the_sender_follows_it_in_its_transferred_view(browser, stack):
    """#19: the unit above a ward transfers a citizen's report with a time for processing, keeps reading it
    and finds it under "Đơn vị đã chuyển". (The demo city has no districts: its Sở VHDL, a city-level unit
    that receives every culture report, is the sender.)"""
    from datetime import datetime, timedelta

    from playwright.sync_api import expect

    from civic_dev.local import demo

    lat, lon = demo.wards()[3]["center"]
    citizen = stack.login(CITIZEN)
    created = requests.post(f"{stack.api}/v1/reports", timeout=10,
                            json={"category": "culture_tourism", "lat": lat, "lon": lon,
                                  "description": "Biển chỉ dẫn di tích bị che khuất bởi bảng quảng cáo"},
                            headers={"Authorization": f"Bearer {citizen}", "Idempotency-Key": f"xfer-{time.time_ns()}"}).json()
    routed = stack.wait_for(lambda: requests.get(f"{stack.api}/v1/reports/{created['id']}", timeout=10).json(),
                            lambda v: v["status"] == "routed")
    assert routed["unit_code"] == "DEMO-SVHDL"
    ward = requests.get(f"{stack.api}/v1/units/locate", params={"lat": lat, "lon": lon, "category": "traffic"},
                        timeout=10).json()["handler"]["code"]

    officer = Person(browser, stack, width=1280)
    officer.sign_in("officer.svhdl@demo.civicbridge.vn")
    page = officer.open(f"/staff/report/{created['id']}")
    page.locator("details.action-box summary", has_text="Chuyển đơn vị").click()
    form = page.locator("form.action[data-action=transfer]")
    form.locator("input[name=to_unit]").fill(ward)
    form.locator("textarea[name=reason]").fill("Biển chỉ dẫn thuộc phường quản lý")
    # A deadline already past is refused with its reason, in the page's language, and nothing changes.
    form.locator("input[name=due_at]").fill("2020-01-06T10:00")
    form.locator("button[type=submit]").click()
    expect(form).to_contain_text("Hạn xử lý đã qua")
    # Two weeks ahead, 10:00 Vietnam time, read as Vietnam time whatever the browser's zone.
    day = (datetime.now() + timedelta(days=14)).strftime("%Y-%m-%d")
    form.locator("input[name=due_at]").fill(f"{day}T10:00")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#transferred-notice")  # the answer already shows the sender read-only
    expect(page.locator("#actions")).to_contain_text("Không có thao tác nào")
    sender = stack.login("officer.svhdl@demo.civicbridge.vn")
    detail = requests.get(f"{stack.api}/v1/staff/reports/{created['id']}",
                          headers={"Authorization": f"Bearer {sender}"}, timeout=10).json()
    assert (detail["unit_code"], detail["access"], detail["allowed_actions"]) == (ward, "transferred", [])
    due = datetime.fromisoformat(detail["due_at"].replace("Z", "+00:00"))
    assert due >= datetime.fromisoformat(f"{day}T03:00:00+00:00")  # 10:00 +07:00, or the next office instant
    assert [e for e in detail["timeline"] if e["type"] == "transfer"][0]["data"]["due_at"] == detail["due_at"]

    # The "transferred by us" view of the inbox lists it, and where it is now.
    page = officer.open("/staff")
    page.select_option("select[name=queue]", "transferred")
    item = page.locator("#inbox li", has=page.locator(f"a:has-text('{routed['tracking_code']}')"))
    expect(item).to_contain_text(f"Nay tại {ward}")
    officer.shot("staff-transferred-1280")
    assert officer.errors == []
    officer.close()
    # The receiving ward's officer has it to accept; the sending unit's leader was told where it went.
    receiver = stack.login(f"officer{ward[-2:]}@demo.civicbridge.vn")
    inbox = requests.get(f"{stack.api}/v1/staff/inbox", headers={"Authorization": f"Bearer {receiver}"}, timeout=10).json()
    assert created["id"] in [i["id"] for i in inbox["items"]]
    leader = stack.login("leader.svhdl@demo.civicbridge.vn")
    told = stack.wait_for(
        lambda: requests.get(f"{stack.api}/v1/me/notifications", headers={"Authorization": f"Bearer {leader}"},
                             timeout=10).json()["items"],
        lambda items: any(i["event_type"] == "transfer" and i["tracking_code"] == routed["tracking_code"] for i in items))
    # Messages name the unit (in the reader's language), never its code.
    name = requests.get(f"{stack.api}/v1/units/{ward}", timeout=10).json()["name_vi"]
    assert any(i["event_type"] == "transfer" and name in i["title"] and ward not in i["title"] for i in told)
