"""Contact verification rules (civic.domain.contacts, civic.services.contacts) with in-memory stand-ins:
unconfirmed contacts hear nothing but their one verification message; the limits; confirming by token
and by code; Cognito-verified claims."""

import re
from collections import Counter
from dataclasses import replace

import pytest

from civic.domain import contacts as rules
from civic.domain import notify as core
from civic.domain.contacts import contact_key
from civic.domain.errors import DomainError
from civic.domain.inputs import ContactCode, ContactToken, PreferencesInput
from civic.domain.notify import Alert, Event, Preferences, ReportFacts
from civic.services import contacts

NOW = "2026-11-23T03:00:00.000Z"  # 10:00 in Hà Nội
NIGHT = "2026-11-23T17:00:00.000Z"  # 00:00 in Hà Nội
TOMORROW = "2026-11-24T04:00:00.000Z"
WEB = "https://civic.example.vn"


class ContactStore:
    """The DynamoContactStore's contract in memory (limits claimed all or nothing)."""

    def __init__(self, users=None):
        self.users = users if users is not None else {}
        self.pendings, self.tokens, self.sent, self.budget = {}, {}, set(), Counter()

    def pending(self, user_id, channel):
        return self.pendings.get((user_id, channel))

    def pending_by_token(self, token_hash):
        where = self.tokens.get(token_hash)
        found = self.pendings.get(where) if where else None
        return found if found and found.token_hash == token_hash else None

    def start(self, pending, *, day, account, cap, now_epoch):
        if (pending.contact_key, day) in self.sent or self.budget[(account, day)] >= cap:
            return False
        self.sent.add((pending.contact_key, day))
        self.budget[(account, day)] += 1
        self.pendings[(pending.user_id, pending.channel)] = pending
        self.tokens[pending.token_hash] = (pending.user_id, pending.channel)
        return True

    def abandon(self, pending, day):
        self.sent.discard((pending.contact_key, day))
        self.pendings.pop((pending.user_id, pending.channel), None)

    def wrong_attempt(self, pending, limit):
        current = self.pendings[(pending.user_id, pending.channel)]
        if current.attempts >= limit:
            return limit
        self.pendings[(pending.user_id, pending.channel)] = replace(current, attempts=current.attempts + 1)
        return current.attempts + 1

    def confirm(self, pending):
        self.mark_verified(pending.user_id, {pending.contact_key})
        self.pendings.pop((pending.user_id, pending.channel))
        self.tokens.pop(pending.token_hash)

    def mark_verified(self, user_id, keys):
        prefs = self.users[user_id]
        self.users[user_id] = replace(prefs, verified=prefs.verified | frozenset(keys))

    # the notify store's side, for confirm_code
    def get_preferences(self, user_id):
        return self.users.get(user_id)


class Queue:
    def __init__(self):
        self.messages = []

    def send_messages(self, messages, now):
        self.messages += messages


def setup(**people):
    store, queue = ContactStore({uid: p for uid, p in people.items()}), Queue()
    return store, queue, contacts.Verification(store=store, queue=queue, web_base=WEB, account_cap=3, open311_cap=4)


def secrets_of(message):
    token = re.search(r"#/verify/([A-Za-z0-9_-]+)", message.text).group(1)
    code = re.search(r"\b([0-9]{6})\b", message.text).group(1)
    return token, code


def test_unconfirmed_contacts_get_nothing_and_are_counted():
    prefs = Preferences("u1", channels=("inbox", "email", "sms", "zalo", "push"), email="a@x.vn", phone="+84901234567",
                        zalo_user_id="z1", devices=(core.Device("android", "tok-12345678"),), quiet_start=None,
                        quiet_end=None, verified=frozenset({contact_key("sms", "+84901234567")}))
    report = ReportFacts(id="r1", tracking_code="HN-4K7Q2M", citizen_id="u1")
    event = Event(report_id="r1", seq=2, type="accept", at=NOW, status="accepted", actor_id="off1")
    withheld = Counter()
    messages = core.compose(event, report, [core.Target("u1", "accepted")], {"u1": prefs}, WEB, NOW, withheld)
    assert sorted(m.channel for m in messages) == ["inbox", "push", "sms"]
    assert withheld == Counter({"email": 1, "zalo": 1})
    alert = Alert("a1", "flood", "warning", {"vi": "Ngập", "en": "Flood"}, {"vi": "Nước", "en": "Water"}, NOW,
                  TOMORROW, ("W01",))
    withheld = Counter()
    assert sorted(m.channel for m in core.alert_messages(alert, [prefs], NOW, withheld)) == ["inbox", "push", "sms"]
    assert sum(withheld.values()) == 2
    # A verified address that changes is unverified again; the same address written otherwise is not.
    assert not replace(prefs, phone="+84909999999").is_verified("sms")
    assert replace(prefs, phone="0901 234 567").is_verified("sms")


def test_one_message_per_new_contact_bilingual_with_link_and_code():
    store, queue, verification = setup(u1=Preferences("u1", email="A@X.vn", phone="+84901234567", zalo_user_id="z1"))
    asked = verification.for_user(store.users["u1"], ["email", "sms", "zalo"], NOW)
    assert asked == {"email": "sent", "sms": "sent", "zalo": "sent"}
    by = {m.channel: m for m in queue.messages}
    email = by["email"]
    assert email.kind == "verify" and email.address == "A@X.vn" and email.not_before is None
    assert email.text.index("Mã xác nhận") < email.text.index("Your confirmation code")  # Vietnamese first
    token, code = secrets_of(email)
    assert f"{WEB}/#/verify/{token}" in email.text
    # Only hashes are kept.
    pending = store.pending("u1", "email")
    assert pending.token_hash == rules.secret_hash(token) and code not in repr(pending) and token not in repr(pending)
    sms = by["sms"].text
    assert len(sms) <= 160 and sms.isascii() and "#/verify/" in sms
    # Saving again the same day (or the next, while the code lives) sends nothing more.
    assert verification.for_user(store.users["u1"], ["email"], NOW) == {"email": "pending"}
    assert len(queue.messages) == 3
    assert contacts.statuses(store.users["u1"], store=store, now=NOW) == {
        "email": "pending", "phone": "pending", "zalo_user_id": "pending"}


def test_limits_per_address_per_day_and_per_account():
    store, queue, verification = setup(**{f"u{i}": Preferences(f"u{i}", email=f"p{i}@x.vn") for i in range(6)},
                                       twin=Preferences("twin", email="P0@x.vn"))
    assert verification.for_user(store.users["u0"], ["email"], NOW) == {"email": "sent"}
    # Another account naming the same address that day: no second message to that person.
    assert verification.for_user(store.users["twin"], ["email"], NOW) == {"email": "limited"}
    assert contacts.statuses(store.users["twin"], store=store, now=NOW) == {"email": "unverified"}
    # An Open311 client's daily cap (4 here) across the different people it reports for.
    outcomes = [verification.for_open311(replace(store.users[f"u{i}"], channels=("inbox", "email")), "client", NOW)
                for i in range(1, 6)]
    assert [o["email"] for o in outcomes] == ["sent"] * 4 + ["limited"]
    assert len(queue.messages) == 5
    # A signed-in account's cap (3 here): a person changing their email over and over.
    person = Preferences("me", email="m0@x.vn")
    store.users["me"] = person
    asked = [verification.for_user(replace(person, email=f"m{i}@x.vn"), ["email"], NOW)["email"] for i in range(4)]
    assert asked == ["sent", "sent", "sent", "limited"]


def test_open311_sms_verification_waits_for_the_morning():
    store, queue, verification = setup(o=Preferences("o", channels=("inbox", "sms"), phone="0901234567"))
    assert verification.for_open311(store.users["o"], "client", NIGHT) == {"sms": "sent"}
    assert queue.messages[0].not_before == "2026-11-23T23:30:00.000Z"  # 06:30 in Hà Nội


def test_confirm_by_token_then_notifications_flow():
    store, queue, verification = setup(u1=Preferences("u1", channels=("inbox", "email"), email="a@x.vn"))
    verification.for_user(store.users["u1"], ["email"], NOW)
    token, _ = secrets_of(queue.messages[0])
    with pytest.raises(DomainError) as bad:
        contacts.confirm_token(ContactToken.parse({"token": "x" * 32}), store=store, now=NOW)
    assert bad.value.code == "invalid_token" and bad.value.kind == "invalid"
    with pytest.raises(DomainError) as expired:
        contacts.confirm_token(ContactToken.parse({"token": token}), store=store, now="2026-11-24T03:00:01.000Z")
    assert expired.value.code == "invalid_token"
    assert contacts.confirm_token(ContactToken.parse({"token": token}), store=store, now=NOW) == {"verified": True, "channel": "email"}
    assert store.users["u1"].is_verified("email")
    assert contacts.statuses(store.users["u1"], store=store, now=NOW) == {"email": "verified"}
    with pytest.raises(DomainError):  # a token is spent once
        contacts.confirm_token(ContactToken.parse({"token": token}), store=store, now=NOW)
    for body in (None, {}, {"token": 5}, {"token": "short"}):
        with pytest.raises(DomainError) as malformed:
            contacts.confirm_token(ContactToken.parse(body), store=store, now=NOW)
        assert malformed.value.kind == "invalid"


def test_confirm_by_code_with_limited_attempts():
    store, queue, verification = setup(u1=Preferences("u1", phone="+84901234567"))
    verification.for_user(store.users["u1"], ["sms"], NOW)
    _, code = secrets_of(queue.messages[0])
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(DomainError) as first:
        contacts.confirm_code("u1", ContactCode.parse({"channel": "sms", "code": wrong}), store=store, notify_store=store, now=NOW)
    assert first.value.code == "wrong_code" and first.value.kind == "invalid" and "4" in first.value.message.en
    assert "4" in first.value.message.vi
    for _ in range(4):
        with pytest.raises(DomainError):
            contacts.confirm_code("u1", ContactCode.parse({"channel": "sms", "code": wrong}), store=store, notify_store=store, now=NOW)
    with pytest.raises(DomainError) as refused:  # too many: even the right code is refused now
        contacts.confirm_code("u1", ContactCode.parse({"channel": "sms", "code": code}), store=store, notify_store=store, now=NOW)
    assert refused.value.kind == "forbidden" and refused.value.code == "too_many_attempts"


def test_confirm_by_code_and_what_it_needs():
    store, queue, verification = setup(u1=Preferences("u1", email="a@x.vn", zalo_user_id="z1"))
    verification.for_user(store.users["u1"], ["email", "zalo"], NOW)
    codes = {m.channel: secrets_of(m)[1] for m in queue.messages}
    with pytest.raises(DomainError) as nothing:
        contacts.confirm_code("u1", ContactCode.parse({"channel": "sms", "code": "123456"}), store=store, notify_store=store, now=NOW)
    assert nothing.value.code == "no_pending_verification"
    with pytest.raises(DomainError) as malformed:
        contacts.confirm_code("u1", ContactCode.parse({"channel": "fax", "code": "12"}), store=store, notify_store=store, now=NOW)
    assert set(malformed.value.fields) == {"channel", "code"}
    for body in (None, [], {"channel": {}, "code": "000000"}, {"channel": ["sms"], "code": 123456}):  # fuzz finding
        with pytest.raises(DomainError) as odd:
            contacts.confirm_code("u1", ContactCode.parse(body), store=store, notify_store=store, now=NOW)
        assert odd.value.kind == "invalid"
    # The address changed since the code was sent: that code no longer confirms the new one.
    store.users["u1"] = replace(store.users["u1"], zalo_user_id="z2")
    with pytest.raises(DomainError) as moved:
        contacts.confirm_code("u1", ContactCode.parse({"channel": "zalo", "code": codes["zalo"]}), store=store, notify_store=store, now=NOW)
    assert moved.value.code == "no_pending_verification"
    done = contacts.confirm_code("u1", ContactCode.parse({"channel": "email", "code": codes["email"]}), store=store, notify_store=store,
                                 now=NOW)
    assert done == {"verified": True, "channel": "email"} and store.users["u1"].is_verified("email")


def test_cognito_verified_claims_count_without_a_message():
    store, queue, verification = setup(u1=Preferences("u1", email="me@x.vn", phone="+84901234567"))
    claims = {"sub": "u1", "email": "ME@x.vn", "email_verified": "true", "phone_number": "+84901234567",
              "phone_number_verified": False}
    prefs = contacts.with_cognito(store.users["u1"], claims, store=store)
    assert prefs.is_verified("email") and not prefs.is_verified("sms")
    assert store.users["u1"].is_verified("email")  # recorded for the notify function
    assert verification.for_user(prefs, ["email", "sms"], NOW) == {"email": "verified", "sms": "sent"}
    assert [m.channel for m in queue.messages] == ["sms"]
    assert rules.cognito_verified({"email": "a@b.vn", "email_verified": True}) == {"email": "a@b.vn"}
    assert rules.cognito_verified({"email": "a@b.vn", "email_verified": "false"}) == {}


def test_preferences_put_asks_once_and_shows_status():
    from civic.services import notify

    class NotifyStore:
        def __init__(self, users):
            self.users = users

        def get_preferences(self, user_id):
            return self.users.get(user_id)

        def save_preferences(self, user_id, changes):
            prefs = self.users.get(user_id) or Preferences(user_id)
            fields = {k: v for k, v in changes.items() if k in Preferences.__dataclass_fields__}
            self.users[user_id] = replace(prefs, **fields)
            return self.users[user_id]

    store, queue, verification = setup()
    people = NotifyStore(store.users)
    claims = {"sub": "u1", "email": "me@x.vn", "email_verified": "true"}

    def put(body):
        return notify.save_preferences("u1", PreferencesInput.parse(body), store=people, unit_exists=lambda c: False, now=NOW,
                                       claims_email="me@x.vn", claims=claims, verification=verification)

    first = put({"channels": ["inbox", "email", "sms"], "phone": "+84901234567"})
    assert first["verification"] == {"email": "verified", "phone": "pending"}
    assert [m.channel for m in queue.messages] == ["sms"]
    again = put({"phone": "+84901234567"})
    assert again["verification"]["phone"] == "pending" and len(queue.messages) == 1
    view = notify.my_preferences("u1", claims, store=people, verification=verification, now=NOW)
    assert view["verification"] == {"email": "verified", "phone": "pending"}
    assert "+84901234567" not in str(queue.messages[0].text)  # the message never repeats the address
