"""Documents as evidence (#19) on the running local stack: a ward's officer uploads a PDF and an encrypted
PDF through the presigned POST, the media function publishes the first (page count, no metadata) and
refuses the second with its reason; the result is published with the document, shown in Chromium as a
link with its page count. A category flagged evidence_optional is resolved with the answer alone; a
default one is not."""

from __future__ import annotations

import io

import pytest
import requests
from pypdf import PdfReader, PdfWriter

from tests.e2e.test_staff_workflow import act, auth, new_routed_report, wait_for
from tests.e2e.test_web_app import PASSWORD, Person, browser  # noqa: F401 (browser: the module's Chromium)

pytestmark = pytest.mark.e2e


def _pdf(pages: int, password: str | None = None) -> bytes:
    w = PdfWriter()
    for _ in range(pages):
        w.add_blank_page(595, 842)
    w.add_metadata({"/Author": "Can bo phuong 01", "/Title": "Bien ban nghiem thu"})
    if password is not None:
        w.encrypt(password, algorithm="RC4-128")
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def _staff_view(stack, token, report_id):
    return requests.get(f"{stack.api}/v1/staff/reports/{report_id}", headers=auth(token), timeout=5).json()


@pytest.fixture(scope="module")
def with_pdf(stack):
    """A traffic report in a ward, resolved with a 3-page PDF and approved; an encrypted PDF refused on the way."""
    view = new_routed_report(stack, ward_index=1)
    n = view["unit_code"][-2:]
    officer = stack.login(f"officer{n}@demo.civicbridge.vn")
    leader = stack.login(f"leader{n}@demo.civicbridge.vn")
    accepted = act(stack, officer, view["id"], {"action": "accept", "version": _staff_view(stack, officer, view["id"])["version"]})
    assert accepted.status_code == 200, accepted.text
    # A default category: a result without evidence is refused and changes nothing.
    bare = act(stack, officer, view["id"], {"action": "resolve", "version": accepted.json()["version"],
                                            "answer": "Đã dựng lại biển báo tại ngã tư."})
    assert bare.status_code == 400 and "evidence" in bare.json()["error"]["fields"], bare.text
    assert _staff_view(stack, officer, view["id"])["version"] == accepted.json()["version"]

    plain, locked = _pdf(3), _pdf(1, password="secret")
    slots = requests.post(f"{stack.api}/v1/staff/reports/{view['id']}/evidence", headers=auth(officer), timeout=5,
                          json={"media": [{"content_type": "application/pdf", "size": len(plain)},
                                          {"content_type": "application/pdf", "size": len(locked)}]})
    assert slots.status_code == 201, slots.text
    good, bad = slots.json()["uploads"]
    assert good["fields"]["Content-Type"] == "application/pdf"  # the type the policy pins
    for slot, data in ((good, plain), (bad, locked)):
        sent = requests.post(slot["url"], data=slot["fields"], files={"file": ("e.pdf", data, "application/pdf")}, timeout=10)
        assert sent.status_code in (200, 204), sent.text
    detail = wait_for(stack, lambda: _staff_view(stack, officer, view["id"]),
                      lambda d: all(m["status"] != "pending" for m in d["media"] if m["role"] == "evidence"))
    resolved = act(stack, officer, view["id"], {"action": "resolve", "version": detail["version"], "evidence": [good["media_id"]],
                                                "answer": "Đã dựng lại biển báo; biên bản nghiệm thu kèm theo."})
    assert resolved.status_code == 200 and resolved.json()["status"] == "pending_approval", resolved.text
    approved = act(stack, leader, view["id"], {"action": "approve", "version": resolved.json()["version"]})
    assert approved.status_code == 200 and approved.json()["status"] == "resolved", approved.text
    return {"view": view, "detail": detail, "good": good["media_id"], "bad": bad["media_id"], "unit": n}


def test_a_pdf_is_published_as_evidence_and_an_encrypted_one_is_refused_with_its_reason(stack, with_pdf):
    media = {m["media_id"]: m for m in with_pdf["detail"]["media"]}
    good, bad = media[with_pdf["good"]], media[with_pdf["bad"]]
    assert good["status"] == "ready" and good["kind"] == "document" and good["pages"] == 3
    # The uploader reads why the other was refused, in both languages.
    assert bad["status"] == "refused" and bad["reason"]["code"] == "pdf_encrypted"
    assert "mật khẩu" in bad["reason"]["vi"] and "encrypted" in bad["reason"]["en"]
    assert "renditions" not in bad

    tracked = requests.get(f"{stack.api}/v1/track/{with_pdf['view']['tracking_code']}", timeout=5).json()
    assert [(m["media_id"], m["kind"], m["pages"]) for m in tracked["media"]] == [(with_pdf["good"], "document", 3)]
    url = tracked["media"][0]["renditions"]["document"]
    published = requests.get(url, timeout=5)
    assert url.endswith(".pdf") and published.status_code == 200 and published.content.startswith(b"%PDF-")
    reread = PdfReader(io.BytesIO(published.content))
    assert len(reread.pages) == 3 and reread.metadata is None and b"Can bo phuong" not in published.content


def test_a_citizen_cannot_declare_a_pdf(stack):
    citizen = stack.login("citizen1@demo.civicbridge.vn")
    refused = requests.post(f"{stack.api}/v1/reports", headers=auth(citizen, **{"Idempotency-Key": "pdf-by-a-citizen"}),
                            json={"category": "traffic", "description": "Ổ gà", "lat": 20.99, "lon": 105.80,
                                  "media": [{"content_type": "application/pdf", "size": 1000}]}, timeout=5)
    assert refused.status_code == 400 and "media.0.content_type" in refused.json()["error"]["fields"], refused.text


def test_a_flagged_category_is_resolved_with_the_answer_alone(stack):
    cats = {c["code"]: c for c in requests.get(f"{stack.api}/v1/categories", timeout=5).json()["items"]}
    assert cats["culture_tourism"]["evidence_optional"] is True and cats["traffic"]["evidence_optional"] is False
    # A complaint about ticket inspectors' conduct at a heritage site: the department answers, no photo.
    view = new_routed_report(stack, ward_index=0, category="culture_tourism")
    officer = stack.login("officer.svhdl@demo.civicbridge.vn")
    version = _staff_view(stack, officer, view["id"])["version"]
    accepted = act(stack, officer, view["id"], {"action": "accept", "version": version})
    assert accepted.status_code == 200, accepted.text
    answer = "Ban quản lý di tích đã nhắc nhở nhân viên soát vé và hướng dẫn viên về thái độ phục vụ."
    resolved = act(stack, officer, view["id"], {"action": "resolve", "version": accepted.json()["version"], "answer": answer})
    assert resolved.status_code == 200 and resolved.json()["status"] in ("resolved", "pending_approval"), resolved.text
    assert resolved.json()["answer"] == answer and resolved.json()["evidence"] == []


def test_the_pdf_shows_as_a_link_with_its_page_count(browser, stack, with_pdf):  # noqa: F811
    person = Person(browser, stack)
    try:
        page = person.open(f"/track/{with_pdf['view']['tracking_code']}")
        link = page.locator("#result .gallery a.document")
        link.wait_for()
        assert link.inner_text() == "Tài liệu PDF, 3 trang"
        assert link.get_attribute("href").endswith(f"/{with_pdf['good']}/document.pdf")
        assert page.locator("#result .gallery img").count() == 0  # a link, never a picture
        person.shot("track-pdf-evidence")
        # The staff page shows it the same way, and the refused one with its reason.
        person.sign_in(f"officer{with_pdf['unit']}@demo.civicbridge.vn")
        page = person.open(f"/staff/report/{with_pdf['view']['id']}")
        page.locator("a.document").wait_for()
        assert page.locator("a.document").inner_text() == "Tài liệu PDF, 3 trang"
        assert "mật khẩu" in page.locator("main").inner_text()
        person.shot("staff-pdf-evidence")
        assert person.errors == []
    finally:
        person.close()
