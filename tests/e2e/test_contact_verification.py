"""Contacts are verified before use (issue #17 item 5), on the running local stack: an Open311 client naming
100 strangers' emails makes 100 reports and, in the outbox, only verification messages, at most one per
address; a confirmed address then hears the next status change. A new contact in the preferences is
pending, gets one message a day, and the code confirms it."""

import re
import uuid

import pytest
import requests

from civic_dev.local import demo
from tests.e2e.test_staff_workflow import act, auth, wait_for

pytestmark = pytest.mark.e2e

VERIFY_TITLE = "CivicBridge: xác nhận liên hệ / confirm your contact"


def outbox(stack):
    return requests.get(stack.web + "/_local/outbox", timeout=30).json()["items"]


def secrets_in(text):
    return re.search(r"#/verify/([A-Za-z0-9_-]+)", text).group(1), re.search(r"\b([0-9]{6})\b", text).group(1)


def test_open311_strangers_get_only_one_verification_until_they_confirm(stack):
    run = uuid.uuid4().hex[:8]
    key = stack.info["open311_api_key"]
    # Ward 8: no other test alerts it, so these 105 reporters join no other test's audience.
    ward = demo.wards()[7]
    lat, lon = ward["center"]
    strangers = [f"stranger-{run}-{i}@example.vn" for i in range(100)]
    # 100 different strangers, then five of them named again (another report each).
    named = strangers + strangers[:5]
    ids = {}
    for i, email in enumerate(named):
        posted = requests.post(stack.api + "/open311/v2/requests.json", timeout=10, data={
            "api_key": key, "service_code": "traffic", "lat": f"{lat + 0.0001 * (i % 20):.6f}",
            "long": f"{lon + 0.0001 * (i // 20):.6f}", "description": f"Đèn đường hỏng số {i} ({run})", "email": email})
        assert posted.status_code == 201, posted.text  # the report is in whether or not the contact is confirmed
        ids[i] = posted.json()[0]["service_request_id"]
    assert len(set(ids.values())) == len(named)
    stack.settle()

    sent = [m for m in outbox(stack) if m["recipient"] in strangers]
    assert sent, "no verification message went out"
    assert all(m["title"] == VERIFY_TITLE and m["channel"] == "email" for m in sent)  # nothing else
    per_address = {}
    for m in sent:
        per_address[m["recipient"]] = per_address.get(m["recipient"], 0) + 1
    assert max(per_address.values()) == 1
    assert len(sent) <= 100  # VERIFY_OPEN311_CLIENT_DAY_CAP: the client's daily budget
    assert "stranger-" not in stack.logs()  # no address in any log line

    # One stranger confirms through the link's token (no account needed) ...
    confirmed = next(s for s in strangers[5:] if s in per_address)
    token, _ = secrets_in(next(m["text"] for m in sent if m["recipient"] == confirmed))
    assert requests.post(f"{stack.api}/v1/contacts/verify", json={"token": "x" * 32}, timeout=5).status_code == 400
    answer = requests.post(f"{stack.api}/v1/contacts/verify", json={"token": token}, timeout=5)
    assert answer.status_code == 200 and answer.json() == {"verified": True, "channel": "email"}
    again = requests.post(f"{stack.api}/v1/contacts/verify", json={"token": token}, timeout=5,
                          headers={"Accept-Language": "en"})
    assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_token"
    assert "expired" in again.json()["error"]["message"]

    # ... and hears the next status change; a stranger who did not confirm hears nothing.
    silent = next(s for s in strangers[5:] if s != confirmed)
    officer = stack.login(f"officer{ward['code'][-2:]}@demo.civicbridge.vn")
    for email in (confirmed, silent):
        report_id = ids[named.index(email)]
        detail = wait_for(stack, lambda rid=report_id: requests.get(
            f"{stack.api}/v1/staff/reports/{rid}", headers=auth(officer), timeout=5).json(),
            lambda d: d.get("status") == "routed")
        assert act(stack, officer, report_id, {"action": "accept", "version": detail["version"]}).status_code == 200
    stack.settle()
    later = outbox(stack)
    to_confirmed = [m for m in later if m["recipient"] == confirmed]
    titles = [m["title"] for m in to_confirmed]
    assert len(titles) == 2 and VERIFY_TITLE in titles and any(t.endswith("đã được tiếp nhận") for t in titles)
    assert [m["title"] for m in later if m["recipient"] == silent] == [VERIFY_TITLE] * per_address.get(silent, 0)


def test_a_new_contact_in_preferences_is_pending_until_its_code_confirms_it(stack):
    run = uuid.uuid4().hex[:8]
    email, password, phone = f"new-{run}@example.vn", "Demo@2026!x", f"+849{int(run, 16) % 10 ** 8:08d}"
    pool = stack.info["user_pool_id"]
    stack.cognito.admin_create_user(UserPoolId=pool, Username=email, MessageAction="SUPPRESS",
                                    UserAttributes=[{"Name": "email", "Value": email},
                                                    {"Name": "email_verified", "Value": "false"}])
    stack.cognito.admin_set_user_password(UserPoolId=pool, Username=email, Password=password, Permanent=True)
    token = stack.login(email, password)
    url = f"{stack.api}/v1/me/preferences"

    saved = requests.put(url, json={"channels": ["inbox", "email", "sms"], "phone": phone}, headers=auth(token), timeout=10)
    assert saved.status_code == 200, saved.text
    assert saved.json()["verification"] == {"email": "pending", "phone": "pending"}
    stack.settle()
    mine = [m for m in outbox(stack) if m["recipient"] in (email, phone)]
    assert sorted(m["channel"] for m in mine) == ["email", "sms"]
    sms = next(m["text"] for m in mine if m["channel"] == "sms")
    assert len(sms) <= 160 and sms.isascii()

    # Saving again the same day sends nothing more.
    assert requests.put(url, json={"phone": phone}, headers=auth(token), timeout=10).json()["verification"]["phone"] == "pending"
    stack.settle()
    assert len([m for m in outbox(stack) if m["recipient"] in (email, phone)]) == 2

    _, code = secrets_in(sms)
    wrong = "000000" if code != "000000" else "111111"
    confirm = f"{stack.api}/v1/me/contacts/verify"
    bad = requests.post(confirm, json={"channel": "sms", "code": wrong}, headers=auth(token), timeout=5)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "wrong_code"
    assert "Mã không đúng" in bad.json()["error"]["message"]
    assert requests.post(confirm, json={"channel": "sms", "code": code}, timeout=5).status_code == 401
    done = requests.post(confirm, json={"channel": "sms", "code": code}, headers=auth(token), timeout=5)
    assert done.status_code == 200 and done.json() == {"verified": True, "channel": "sms"}
    view = requests.get(url, headers=auth(token), timeout=5).json()
    assert view["verification"] == {"email": "pending", "phone": "verified"}
    assert email not in stack.logs() and phone not in stack.logs()
