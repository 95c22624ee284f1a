"""Who hears what, templates, quiet hours and message ids (civic.domain.notify; no AWS)."""

import pytest

from civic.domain import notify as core
from civic.domain.contacts import contact_key
from civic.domain.notify import Alert, Device, Event, ReportFacts
from civic.domain.notify import Preferences as _Preferences


def Preferences(*args, **kw):  # noqa: N802  (stands in for the class)
    """Preferences whose email, phone and Zalo id their owner confirmed (the rules below are about
    who hears what; tests/unit/test_contacts.py covers unconfirmed contacts)."""
    keys = {contact_key(c, kw[f]) for c, f in (("email", "email"), ("sms", "phone"), ("zalo", "zalo_user_id"))
            if kw.get(f)}
    return _Preferences(*args, **kw, verified=frozenset(keys))

WEB = "https://civic.example.vn"
REPORT = ReportFacts(id="r1", tracking_code="HN-4K7Q2M", citizen_id="author", unit_code="W01",
                     assignee=None, due_at="2026-11-25T10:00:00.000Z", accept_due_at="2026-11-24T10:00:00.000Z")
STAFF = {"W01": [("off1", "officer"), ("lead1", "leader")], "W02": [("off2", "officer"), ("lead2", "leader")],
         "CITY": [("lead-city", "leader")]}
DAY = "2026-11-23T03:00:00.000Z"  # 10:00 in Hà Nội


def staff_of(unit):
    return STAFF.get(unit, [])


def ev(type_, status=None, actor="off1", **data):
    return Event(report_id="r1", seq=5, type=type_, at=DAY, status=status, actor_id=actor, data=data)


def who(event, followers=()):
    return [(t.user_id, t.kind) for t in core.audience(event, REPORT, list(followers), staff_of)]


def test_citizens_hear_about_decisions_and_results():
    assert who(ev("accept", "accepted"), ["f1"]) == [("author", "accepted"), ("f1", "accepted")]
    assert who(ev("refuse", "refused", reason={"code": "incomplete"}), ["f1"])[0] == ("author", "refused")
    assert who(ev("resolve", "resolved"), ["f1", "author"]) == [("author", "resolved"), ("f1", "resolved")]
    assert who(ev("closed", "closed", actor=None)) == [("author", "closed")]


def test_the_question_goes_to_the_author_only():
    event = ev("request_info", "accepted", question="Số nhà?")
    assert who(event, ["f1"]) == [("author", "info_requested"), ("f1", "waiting_info")]
    targets = core.audience(event, REPORT, ["f1"], staff_of)
    texts = {m.user_id: m.text for m in core.compose(event, REPORT, targets, {}, WEB, DAY)}
    assert "Số nhà?" in texts["author"] and "Số nhà?" not in texts["f1"]  # followers only learn that it waits


def test_a_result_awaiting_approval_goes_to_leaders_not_citizens():
    assert who(ev("resolve", "pending_approval"), ["f1"]) == [("lead1", "awaiting_approval")]
    # the approved result is published: citizens hear it, the approving leader does not hear himself
    assert who(ev("approve", "resolved", actor="lead1"), ["f1"]) == [("author", "resolved"), ("f1", "resolved")]


def test_staff_events():
    assert who(ev("routed", "routed", actor=None, unit_code="W01")) == [
        ("author", "routed"), ("off1", "new_report"), ("lead1", "new_report")]
    assert who(ev("transfer", "routed", to_unit="W02", from_unit="W01")) == [
        ("author", "transferred"), ("off2", "new_report"), ("lead2", "new_report"), ("lead1", "transferred_out")]
    assert who(ev("assign", "in_progress", actor="lead1", assignee="off1")) == [("off1", "assigned")]
    assert who(ev("assign", "in_progress", actor="lead1", assignee="team-a")) == []  # a department, not a person
    assert who(ev("due_soon", actor=None, notify="unit", unit_code="W01")) == [("off1", "due_soon"), ("lead1", "due_soon")]
    assert who(ev("overdue", actor=None, unit_code="W01")) == [("lead1", "overdue"), ("author", "overdue_public")]
    assert who(ev("escalate_parent", actor=None, escalated_to="CITY")) == [("lead-city", "escalated")]
    assert who(ev("citizen_reply", actor="author")) == [("off1", "citizen_reply")]


def test_nobody_hears_their_own_action_or_unrelated_events():
    assert who(ev("note", "accepted")) == []
    assert [u for u, _ in who(ev("transfer", "routed", actor="off2", to_unit="W02"))] == ["author", "lead2"]
    assert who(ev("rated", "closed", actor="author", satisfied=True), ["f1"]) == [("f1", "rated")]
    assert who(ev("accept", "accepted", actor="author")) == []  # (an author never accepts, but the rule holds)


def test_message_ids_are_deterministic_and_distinct():
    a = core.message_id("r1:5", "author", "email")
    assert a == core.message_id("r1:5", "author", "email")
    assert len({a, core.message_id("r1:5", "author", "sms"), core.message_id("r1:6", "author", "email"),
                core.message_id("r1:5", "f1", "email")}) == 4


def compose(event, people, followers=(), now=DAY):
    targets = core.audience(event, REPORT, list(followers), staff_of)
    return core.compose(event, REPORT, targets, people, WEB, now)


def test_one_message_per_recipient_and_channel_in_their_language():
    people = {
        "author": Preferences("author", channels=("inbox", "email", "sms"), language="vi", email="a@x.vn", phone="+84901234567"),
        "f1": Preferences("f1", channels=("email",), language="en", email="f@x.vn"),
    }
    msgs = compose(ev("accept", "accepted"), people, ["f1"])
    assert sorted((m.user_id, m.channel) for m in msgs) == [
        ("author", "email"), ("author", "inbox"), ("author", "sms"), ("f1", "email"), ("f1", "inbox")]
    by = {(m.user_id, m.channel): m for m in msgs}
    assert by[("author", "email")].title == "Phản ánh HN-4K7Q2M đã được tiếp nhận"
    assert f"{WEB}/track/HN-4K7Q2M" in by[("author", "email")].text
    assert by[("f1", "email")].title == "Report HN-4K7Q2M accepted"
    # each message carries its own recipient's address only
    assert by[("author", "email")].address == "a@x.vn" and by[("f1", "email")].address == "f@x.vn"
    assert by[("author", "sms")].address == "+84901234567"
    assert len({m.id for m in msgs}) == len(msgs)


def test_sms_is_short_and_without_diacritics():
    people = {"author": Preferences("author", channels=("sms",), phone="+84901234567", quiet_start=None, quiet_end=None)}
    long_reason = {"code": "incomplete", "vi": "Nội dung chưa đủ thông tin để xử lý " * 5, "en": "x"}
    for event in (ev("accept", "accepted"), ev("refuse", "refused", reason=long_reason),
                  ev("resolve", "resolved", answer={"text": "Đã sửa xong đèn đường. " * 30})):
        sms = next(m for m in compose(event, people) if m.channel == "sms")
        assert len(sms.text) <= core.SMS_LIMIT, sms.text
        assert sms.text.isascii(), sms.text
        assert "HN-4K7Q2M" in sms.text and "/track/HN-4K7Q2M" in sms.text


def test_result_text_carries_the_answer_and_the_rating_link():
    people = {"author": Preferences("author", channels=("email",), email="a@x.vn")}
    email = next(m for m in compose(ev("resolve", "resolved", answer={"text": "Đã thay bóng đèn."}), people)
                 if m.channel == "email")
    assert "Đã thay bóng đèn." in email.text and "đánh giá" in email.text


def test_followers_never_get_the_authors_contact_details():
    people = {"author": Preferences("author", channels=("email", "sms"), email="a@x.vn", phone="+84901111111"),
              "f1": Preferences("f1", channels=("email",), email="f@x.vn")}
    for m in compose(ev("accept", "accepted"), people, ["f1"]):
        if m.user_id == "f1":
            assert "a@x.vn" not in m.text + m.title and "+84901111111" not in m.text + m.title


@pytest.mark.parametrize("now, expected", [
    ("2026-11-23T16:00:00.000Z", "2026-11-23T23:30:00.000Z"),  # 23:00 local → 06:30 next morning local
    ("2026-11-23T22:00:00.000Z", "2026-11-23T23:30:00.000Z"),  # 05:00 local → 06:30 the same morning
    ("2026-11-23T03:00:00.000Z", None),                        # 10:00 local: not quiet
    ("2026-11-23T23:30:00.000Z", None),                        # 06:30 local: quiet hours just ended
])
def test_quiet_hours_span_midnight_in_hanoi_time(now, expected):
    assert core.quiet_until(now, "22:00", "06:30") == expected


def test_quiet_hours_defer_waking_channels_only():
    people = {"author": Preferences("author", channels=("inbox", "email", "sms", "push"), email="a@x.vn",
                                    phone="+84901234567", devices=(Device("android", "tok-123456789"),))}
    night = "2026-11-23T16:00:00.000Z"  # 23:00 in Hà Nội
    msgs = {m.channel: m for m in compose(ev("accept", "accepted"), people, now=night)}
    assert msgs["inbox"].not_before is None and msgs["email"].not_before is None
    assert msgs["sms"].not_before == msgs["push"].not_before == "2026-11-23T23:30:00.000Z"
    assert core.delay_seconds(night, msgs["sms"].not_before) == core.SQS_MAX_DELAY  # hops of 15 minutes
    assert core.delay_seconds("2026-11-23T23:25:00.000Z", msgs["sms"].not_before) == 300


def test_the_inbox_always_keeps_a_copy_and_unreachable_channels_are_skipped():
    people = {"author": Preferences("author", channels=("sms", "zalo"), phone=None, zalo_user_id=None)}
    assert [m.channel for m in compose(ev("accept", "accepted"), people)] == ["inbox"]


def test_message_json_round_trip():
    people = {"author": Preferences("author", channels=("push",), devices=(Device("ios", "tok-abcdefgh"),))}
    msg = compose(ev("accept", "accepted"), people)[0]
    assert core.Message.from_json(msg.to_json()) == msg


def alert(**kw):
    base = dict(id="a1", kind="flood", severity="warning", title={"vi": "Ngập lụt", "en": "Flooding"},
                body={"vi": "Nước dâng cao ở phố Mẫu, tránh đi qua.", "en": "High water; avoid the street."},
                starts_at="2026-11-23T00:00:00.000Z", expires_at="2026-11-24T00:00:00.000Z", units=("W01",))
    base.update(kw)
    return Alert(**base)


def test_alert_messages_per_person_and_channel_and_urgency_beats_quiet_hours():
    people = [Preferences("u1", channels=("sms", "inbox"), phone="+84900000001", language="en"),
              Preferences("u2", channels=("push",), devices=(Device("android", "tok-1234567"),))]
    night = "2026-11-23T16:00:00.000Z"
    msgs = core.alert_messages(alert(), people, night)
    assert sorted((m.user_id, m.channel) for m in msgs) == [("u1", "inbox"), ("u1", "sms"), ("u2", "inbox"), ("u2", "push")]
    sms = next(m for m in msgs if m.channel == "sms")
    assert sms.text.startswith("[ALERT] Flooding") and sms.not_before is not None
    severe = core.alert_messages(alert(severity="severe"), people, night)
    assert all(m.not_before is None for m in severe)
    assert {m.id for m in msgs} == {m.id for m in core.alert_messages(alert(), people, night)}


def test_alert_active_window():
    a = alert()
    assert a.active("2026-11-23T12:00:00.000Z")
    assert not a.active("2026-11-24T00:00:00.000Z") and not a.active("2026-11-22T23:59:59.000Z")


def test_every_channel_of_the_domain_has_a_delivery_module_and_no_more():
    import importlib

    from civic.adapters.channels import REGISTRY

    assert set(REGISTRY) == set(core.CHANNELS)
    for name, module in REGISTRY.items():
        assert callable(importlib.import_module(module).deliver), name


# ---------------------------------------------------------------- the whole table (#19 "everyone told")

# A report the district W00 transferred to ward W01, assigned to off1, whose result off1 wrote.
FOLLOWED = ReportFacts(id="r1", tracking_code="HN-4K7Q2M", citizen_id="author", unit_code="W01", assignee="off1",
                       due_at="2026-11-25T10:00:00.000Z", accept_due_at="2026-11-24T10:00:00.000Z",
                       resolved_by="off1", senders=("W00",))
WORLD = {**STAFF, "W00": [("off0", "officer"), ("lead0", "leader")]}
CITIZENS = [("author", None), ("f1", None)]


def told(type_, status=None, actor="actor", public=True, **data):
    event = Event(report_id="r1", seq=5, type=type_, at=DAY, status=status, actor_id=actor, data=data, public=public)
    return [(t.user_id, t.kind) for t in core.audience(event, FOLLOWED, ["f1"], lambda u: WORLD.get(u, []))]


def public(template):  # the author and followers, then the sending district's staff
    return [("author", template), ("f1", template), ("off0", "progress"), ("lead0", "progress")]


# Every line of civic.domain.notify.RULES, as (event, its facts) → exactly who hears it, in order.
EXPECTED = {
    ("routed", "routed", None, True, ()): public("routed") + [("off1", "new_report"), ("lead1", "new_report")],
    ("needs_triage", "needs_triage", None, True, ()): public("triage"),
    ("accept", "accepted", "off1", True, ()): public("accepted") + [],
    ("refuse", "refused", "off1", True, ()): public("refused"),
    ("refuse", "refused", "off1", False, ()): [("author", "refused")],  # refused for its content: internal
    ("transfer", "routed", "off1", True, (("from_unit", "W01"), ("to_unit", "W02"))):
        public("transferred") + [("off2", "new_report"), ("lead2", "new_report"), ("lead1", "transferred_out")],
    ("request_info", "accepted", "off1", True, (("question", "Số nhà?"),)):
        [("author", "info_requested"), ("f1", "waiting_info"), ("off0", "progress"), ("lead0", "progress")],
    ("set_priority", "accepted", "lead1", True, ()): public("priority_changed"),
    ("resolve", "resolved", "off1", True, ()): public("resolved"),
    ("resolve", "pending_approval", "off1", False, ()): [("lead1", "awaiting_approval")],
    ("approve", "resolved", "lead1", True, ()): public("resolved"),
    ("return", "in_progress", "lead1", False, ()): [("off1", "returned")],
    ("reopen", "in_progress", "lead1", True, ()): public("reopened") + [("off1", "reopened_staff")],
    ("reopen", "in_progress", "lead-city", True, ()): public("reopened") + [("off1", "reopened_staff"),
                                                                              ("lead1", "reopened_staff")],
    ("assign", "in_progress", "lead1", False, (("assignee", "off1"),)): [("off1", "assigned")],
    ("citizen_reply", "accepted", "author", False, ()): [("off1", "citizen_reply")],
    ("partner_update", "accepted", None, False, ()): [("off1", "citizen_reply")],
    ("due_soon", "accepted", None, False, (("notify", "unit"),)): [("off1", "due_soon"), ("lead1", "due_soon")],
    ("overdue", "accepted", None, True, ()): [("lead1", "overdue"), ("author", "overdue_public"),
                                              ("f1", "overdue_public"), ("off0", "progress"), ("lead0", "progress")],
    ("escalate_parent", "accepted", None, False, (("escalated_to", "CITY"),)): [("lead-city", "escalated")],
    ("question_expired", "accepted", None, False, ()): [("off1", "question_expired")],
    ("closed", "closed", None, True, ()): public("closed"),
    ("rated", "closed", "author", True, (("satisfied", True),)): [("f1", "rated"), ("off0", "progress"),
                                                                  ("lead0", "progress")],
    ("rated", "closed", "author", True, (("satisfied", False),)): [
        ("author", "unsatisfied_recorded"), ("lead1", "unsatisfied"), ("f1", "rated"), ("off0", "progress"),
        ("lead0", "progress")],
    ("rating_changed", "closed", "author", True, (("satisfied", False),)): [
        ("author", "unsatisfied_recorded"), ("lead1", "unsatisfied"), ("f1", "rated"), ("off0", "progress"),
        ("lead0", "progress")],
    ("rating_changed", "closed", "author", True, (("satisfied", True),)): [("f1", "rated"), ("off0", "progress"),
                                                                           ("lead0", "progress")],
    ("hide", "accepted", "mod", False, ()): [("author", "hidden")],
    ("flag_hidden", "accepted", "f1", False, ()): [("author", "hidden")],
    ("redact", "accepted", "mod", False, ()): [("author", "redacted")],
}


@pytest.mark.parametrize("case", list(EXPECTED), ids=lambda c: f"{c[0]}-{c[1]}-{'public' if c[3] else 'internal'}")
def test_each_line_of_the_table_reaches_exactly_its_people(case):
    type_, status, actor, is_public, data = case
    assert told(type_, status, actor, is_public, **dict(data)) == EXPECTED[case]


def test_the_cases_cover_every_line_and_every_template_renders_in_both_languages():
    assert {r.event for r in core.RULES} == {c[0] for c in EXPECTED}
    values = {k: "x" for k in ("code", "link", "reason", "answer", "to_unit", "due", "resolve_due", "question",
                               "from_unit", "unit", "status", "rating")}
    for template in {r.template for r in core.RULES}:
        for lang in ("vi", "en"):
            for channel in ("inbox", "sms"):
                title, body = core.render(template, lang, channel, {**values, "code": "HN-4K7Q2M",
                                                                      "link": "https://civic.example.vn/track/HN-4K7Q2M"})
                assert title and "HN-4K7Q2M" in title + body and "{" not in body
                assert channel != "sms" or (len(body) <= core.SMS_LIMIT and body.isascii())
        vi, en = core.templates()[template]["vi"], core.templates()[template]["en"]
        assert vi["text"] != en["text"]  # written in each language, not copied


def _planned_events():
    """What the workflow writes for each staff action (civic.domain.workflow), as the notify function sees it."""
    from dataclasses import replace

    from civic.domain.reports import MediaItem, Report
    from civic.domain.workflow import ACTIONS, RULES, Actor, Context, plan

    base = Report(id="r1", tracking_code="HN-4K7Q2M", status="routed", category="traffic", description="Ổ gà",
                  lat=21.0, lon=105.8, citizen_id="author", created_at=DAY, updated_at=DAY, unit_code="W01",
                  media=[MediaItem("m1", "photo", "image/jpeg", 10, status="ready")])
    ctx = Context(now=DAY, unit_exists=lambda c: c in WORLD, may_be_assigned=lambda whom, unit: True,
                  evidence_optional=lambda category: True)
    samples = {
        "accept": ("routed", {}), "refuse": ("routed", {"reason": "incomplete"}),
        "transfer": ("routed", {"to_unit": "W02", "reason": "Thuộc phường 2"}), "assign": ("accepted", {"to": "off1"}),
        "set_priority": ("accepted", {"priority": "urgent"}), "note": ("accepted", {"text": "ghi chú"}),
        "request_info": ("accepted", {"question": "Số nhà?"}),
        "resolve": ("accepted", {"answer": "Đã xử lý xong hoàn toàn."}), "approve": ("pending_approval", {}),
        "return": ("pending_approval", {"reason": "Thiếu ảnh"}), "reopen": ("closed", {"reason": "Chưa xong"}),
        "hide": ("accepted", {"reason": "Lăng mạ"}), "unhide": ("accepted", {"reason": "Đã xem lại"}),
        "redact": ("accepted", {"description": "Nội dung đã biên tập", "reason": "Số điện thoại"}),
        "hide_media": ("accepted", {"media_id": "m1", "reason": "Biển số xe"}), "show_media": ("accepted", {"media_id": "m1"}),
    }
    assert set(samples) == set(ACTIONS)
    for action, (status, body) in samples.items():
        report = replace(base, status=status, resolved_by="someone" if status == "pending_approval" else None,
                         hidden="moderation" if action == "unhide" else None,
                         media=[replace(base.media[0], hidden=True)] if action == "show_media" else base.media)
        _, event = plan(report, {"action": action, **body}, Actor("actor", RULES[action][1][0], ("W01",)), ctx)
        yield Event(report_id="r1", seq=event.seq, type=event.type, at=event.at, status=event.status,
                    actor_id=event.actor_id, data=event.data, public=event.public)


# Events written outside the workflow: (type, public) as intake, routing, media and the SLA schedule write them.
OTHER_EVENTS = [("submitted", True), ("routed", True), ("needs_triage", True), ("media_added", True),
                ("media_refused", False), ("citizen_reply", False), ("partner_update", False), ("flag", False),
                ("flag_hidden", False), ("rated", True), ("rating_changed", True), ("evidence_requested", False),
                ("due_soon", False), ("overdue", True), ("escalate_parent", False), ("question_expired", False),
                ("closed", True)]


def test_every_event_the_system_writes_is_in_the_table_and_every_public_one_reaches_citizens_and_senders():
    from civic.domain import sla_watch

    events = list(_planned_events()) + [Event("r1", 5, t, DAY, "accepted", "actor", {}, p) for t, p in OTHER_EVENTS]
    assert {e.type for e in events} >= {"due_soon", "overdue", "escalate_parent", "question_expired", "closed"}
    assert "question_expired" in sla_watch.__doc__  # the schedule's stages are the ones listed above
    for event in events:
        ruled = {r.event for r in core.RULES}
        assert (event.type in ruled) != (event.type in core.QUIET), f"{event.type}: in the table or quiet, once"
        if event.public and event.type not in core.QUIET:
            people = [t.user_id for t in core.audience(event, FOLLOWED, ["f1"], lambda u: WORLD.get(u, []))]
            assert {"f1", "off0", "lead0"} <= set(people), f"public {event.type} must reach followers and senders"
            assert "author" in people or event.actor_id == "author", f"public {event.type} must reach its author"


def test_the_readme_shows_the_table_the_code_uses():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- notify-table:start -->\n", "<!-- notify-table:end -->"
    assert start in readme and end in readme
    shown = readme[readme.index(start) + len(start):readme.index(end)]
    assert shown == core.recipient_table(), "README's notification table is stale: run `make docs`"


def test_messages_name_units_in_the_readers_language_never_by_code():
    from civic.domain.units import Unit, UnitTree
    from civic.services.notify import unit_name

    tree = UnitTree([Unit("W01", "UBND phường Mường Thanh", "Muong Thanh Ward", "ward"),
                     Unit("W02", "UBND phường Tân Thanh", "Tan Thanh Ward", "ward")])
    people = {"author": Preferences(user_id="author", channels=["email"], email="a@example.vn", language="vi"),
              "f1": Preferences(user_id="f1", channels=["email"], email="f@example.vn", language="en")}
    event = ev("transfer", "routed", to_unit="W02", from_unit="W01")
    targets = core.audience(event, REPORT, ["f1"], staff_of)
    msgs = core.compose(event, REPORT, targets, people, WEB, DAY,
                        unit_name=lambda code, lang: unit_name(tree, code, lang))
    texts = {(m.user_id, m.channel): m.text for m in msgs}
    assert "UBND phường Tân Thanh" in texts[("author", "email")] and "W02" not in texts[("author", "email")]
    assert "Tan Thanh Ward" in texts[("f1", "email")] and "W02" not in texts[("f1", "email")]
    assert unit_name(tree, "GONE", "vi") == "GONE"  # a unit since removed: its code, rather than nothing
