"""The staff workflow over in-memory fakes: state machine, roles, visibility, versions, evidence."""

import threading
from dataclasses import replace

import pytest

from civic.domain.errors import DomainError
from civic.domain.inputs import EvidenceRequest, RatingInput, Reply
from civic.domain.reports import new_report
from civic.domain.submission import ReportSubmission
from civic.domain.units import Unit, UnitTree
from civic.domain.workflow import Actor, Context, WorkflowError, allowed_actions, plan
from civic.services import staff
from civic.settings import Settings
from civic_dev.fakes import FakeUploadSigner, InMemoryReportStore

SETTINGS = Settings(media_base_url="https://cdn.test")
TREE = UnitTree([
    Unit("CITY", "Thành phố", "City", "city"),
    Unit("W1", "Phường 1", "Ward 1", "ward", "CITY", requires_approval=True),
    Unit("W2", "Phường 2", "Ward 2", "ward", "CITY"),
])
OFFICER_W1 = staff.StaffMember("officer-1", "officer", ("W1",))
OFFICER_W2 = staff.StaffMember("officer-2", "officer", ("W2",))
LEADER_W1 = staff.StaffMember("leader-1", "leader", ("W1",))
COORDINATOR = staff.StaffMember("coord", "coordinator", ("CITY",))


def ctx(now="2026-11-20T03:00:00.000Z"):
    return Context(
        now=now,
        unit_exists=lambda c: c in TREE,
        parent_of=lambda c: TREE.get(c).parent_code if TREE.get(c) else None,
        requires_approval=lambda c: bool(TREE.get(c) and TREE.get(c).requires_approval),
        may_be_assigned=lambda whom, unit: (whom, unit) in {("officer-1", "W1"), ("officer-2", "W2")},
        deadlines=lambda report, priority, start: ("2026-11-21T03:00:00.000Z", "2026-12-01T03:00:00.000Z"),
    )


def routed(store, unit="W1", status="routed"):
    sub = ReportSubmission(category="traffic", description="Ổ gà", lat=21.0, lon=105.8)
    report, event = new_report(sub, citizen_id="citizen", tracking_code=f"HN-{len(store.reports):06d}", now="2026-11-20T01:00:00.000Z")
    store.create(report, event)
    store.reports[report.id] = replace(report, status=status, unit_code=unit if status != "needs_triage" else None)
    return report.id


def act(store, member, report_id, body, tree=TREE, now="2026-11-20T03:00:00.000Z"):
    version = body.pop("version", None)
    if version is None:
        version = store.get(report_id).version
    return staff.act(store, member, report_id, {**body, "version": version}, None, tree, ctx(now), SETTINGS)


def test_the_whole_path_with_approval_and_evidence():
    store = InMemoryReportStore()
    rid = routed(store)
    act(store, OFFICER_W1, rid, {"action": "accept"})
    act(store, OFFICER_W1, rid, {"action": "assign", "to": "officer-1"})
    # Evidence: presigned uploads for staff, then (as the media function would) marked ready.
    slots = staff.request_evidence(store, FakeUploadSigner(), OFFICER_W1, rid,
                                   EvidenceRequest.parse({"media": [{"content_type": "image/jpeg", "size": 1000}]}), TREE, SETTINGS, "t")
    media_id = slots["uploads"][0]["media_id"]
    assert slots["uploads"][0]["fields"]["x-amz-meta-owner"] == "officer-1"
    report = store.get(rid)
    store.reports[rid] = replace(report, media=[replace(m, status="ready", renditions={"thumb": "media/x/thumb"}, formats=["jpeg"]) for m in report.media])
    with pytest.raises(DomainError) as err:
        act(store, OFFICER_W1, rid, {"action": "resolve", "answer": "", "evidence": [media_id]})
    assert err.value.kind == "invalid" and "answer" in err.value.fields
    with pytest.raises(DomainError) as err:
        act(store, OFFICER_W1, rid, {"action": "resolve", "answer": "Đã vá ổ gà, mặt đường an toàn."})
    assert err.value.kind == "invalid" and "evidence" in err.value.fields
    done = act(store, OFFICER_W1, rid, {"action": "resolve", "answer": "Đã vá ổ gà, mặt đường an toàn.", "evidence": [media_id]})
    assert done["status"] == "pending_approval"  # ward 1 requires the leader's approval
    with pytest.raises(DomainError) as err:
        act(store, OFFICER_W1, rid, {"action": "approve"})
    assert err.value.kind == "conflict" and err.value.code == "illegal_action"
    approved = act(store, LEADER_W1, rid, {"action": "approve"})
    assert approved["status"] == "resolved"
    from civic.services import intake
    public = intake.track(store, store.get(rid).tracking_code, SETTINGS)
    assert public["result"]["answer"].startswith("Đã vá") and [m["media_id"] for m in public["media"]] == [media_id]
    types = [e["type"] for e in public["timeline"]]
    assert types == ["submitted", "accept", "approve"]  # assign, evidence and the unapproved resolve stay internal


def test_illegal_transition_is_409_with_the_allowed_actions():
    store = InMemoryReportStore()
    rid = routed(store)
    with pytest.raises(DomainError) as err:
        act(store, OFFICER_W1, rid, {"action": "resolve", "answer": "x" * 20})
    assert err.value.kind == "conflict" and err.value.code == "illegal_action"
    assert "accept" in err.value.fields["allowed_actions"].en


def test_stale_version_is_409_and_changes_nothing():
    store = InMemoryReportStore()
    rid = routed(store)
    act(store, OFFICER_W1, rid, {"action": "note", "text": "gọi lại người dân"})
    with pytest.raises(DomainError) as err:
        act(store, OFFICER_W1, rid, {"action": "accept", "version": 1})
    assert err.value.code == "version_conflict" and store.get(rid).status == "routed"


def test_two_officers_at_once_one_wins():
    store = InMemoryReportStore()
    rid = routed(store)
    version = store.get(rid).version
    results = []

    def go(member):
        try:
            act(store, member, rid, {"action": "accept", "version": version})
            results.append("ok")
        except DomainError as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=go, args=(m,)) for m in (OFFICER_W1, LEADER_W1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok", "version_conflict"]
    assert [e.type for e in store.timeline(rid)] == ["submitted", "accept"]


@pytest.mark.parametrize("member, unit, visible", [
    (OFFICER_W1, "W1", True), (OFFICER_W1, "W2", False), (OFFICER_W2, "W1", False),
    (LEADER_W1, "W1", True), (LEADER_W1, "W2", False), (COORDINATOR, "W1", True), (COORDINATOR, "W2", True),
])
def test_visibility_matrix_is_404_outside_my_units(member, unit, visible):
    store = InMemoryReportStore()
    rid = routed(store, unit)
    calls = [
        lambda: staff.detail(store, member, rid, TREE, SETTINGS),
        lambda: act(store, member, rid, {"action": "note", "text": "ghi chú"}),
        lambda: staff.request_evidence(store, FakeUploadSigner(), member, rid,
                                       EvidenceRequest.parse({"media": [{"content_type": "image/jpeg", "size": 10}]}), TREE, SETTINGS, "t"),
    ]
    for call in calls:
        if visible:
            try:
                call()
            except DomainError as exc:
                assert exc.kind != "not_found"  # e.g. evidence on a routed report is 409, but never hidden
        else:
            with pytest.raises(DomainError) as err:
                call()
            assert err.value.kind == "not_found"
    listed = [i["id"] for i in staff.inbox(store, member, {}, TREE, SETTINGS, lambda due: "none")["items"]]
    assert (rid in listed) == visible


def test_coordinator_triages_to_a_unit():
    store = InMemoryReportStore()
    rid = routed(store, status="needs_triage")
    assert [i["id"] for i in staff.inbox(store, COORDINATOR, {}, TREE, SETTINGS, lambda d: "none")["items"]] == [rid]
    with pytest.raises(DomainError):
        staff.detail(store, OFFICER_W1, rid, TREE, SETTINGS)
    moved = act(store, COORDINATOR, rid, {"action": "transfer", "to_unit": "W2", "reason": "Thuộc địa bàn phường 2"})
    assert moved["status"] == "routed" and moved["unit_code"] == "W2" and moved["accept_due_at"] == "2026-11-21T03:00:00.000Z"
    assert staff.detail(store, OFFICER_W2, rid, TREE, SETTINGS)["id"] == rid


def test_refuse_needs_a_listed_reason_and_the_citizen_sees_it():
    store = InMemoryReportStore()
    rid = routed(store)
    with pytest.raises(DomainError):
        act(store, OFFICER_W1, rid, {"action": "refuse", "reason": "because"})
    act(store, OFFICER_W1, rid, {"action": "refuse", "reason": "incomplete", "text": "Thiếu địa chỉ cụ thể"})
    event = store.timeline(rid)[-1]
    assert event.public and event.data["reason"]["code"] == "incomplete" and event.data["reason"]["vi"]


def test_roles_for_priority_and_reopen():
    store = InMemoryReportStore()
    rid = routed(store)
    with pytest.raises(DomainError) as err:
        act(store, OFFICER_W1, rid, {"action": "set_priority", "priority": "urgent"})
    assert err.value.code == "illegal_action"
    changed = act(store, LEADER_W1, rid, {"action": "set_priority", "priority": "urgent"})
    assert changed["priority"] == "urgent"


def test_plan_refuses_unknown_actions_and_lists_allowed_ones():
    store = InMemoryReportStore()
    report = store.get(routed(store))
    with pytest.raises(WorkflowError) as err:
        plan(report, {"action": "teleport"}, Actor("x", "officer"), ctx())
    assert err.value.kind == "invalid"
    assert set(allowed_actions(report, Actor("x", "officer"))) == {"accept", "refuse", "transfer", "note", "request_info"}


def test_citizens_and_admins_are_not_staff():
    assert staff.member_from("u", {"citizen"}, []) is None
    assert staff.member_from("u", {"admin"}, ["CITY"]) is None
    assert staff.member_from("u", {"officer", "leader"}, ["W1"]).role == "leader"


def test_templates():
    items = staff.templates("traffic")["items"]
    assert items[0]["id"] == "traffic-fixed" and items[0]["vi"] and items[0]["en"]
    with pytest.raises(DomainError):
        staff.templates("nope")


def test_request_info_pauses_the_clock_until_the_citizen_replies():
    from civic.services import intake
    store = InMemoryReportStore()
    rid = routed(store)
    store.reports[rid] = replace(store.get(rid), accept_due_at="2026-11-25T03:00:00.000Z", flags=["due_soon"])
    act(store, OFFICER_W1, rid, {"action": "request_info", "question": "Xin cho biết số nhà cụ thể?"}, now="2026-11-20T03:00:00.000Z")
    with pytest.raises(DomainError) as err:  # one question at a time
        act(store, OFFICER_W1, rid, {"action": "request_info", "question": "Và số điện thoại?"})
    assert err.value.code == "illegal_action"
    from civic.domain.reports import owner_view, public_event

    assert owner_view(store.get(rid), None, "")["question"]["text"] == "Xin cho biết số nhà cụ thể?"
    assert "question" not in public_event(store.timeline(rid)[-1])["data"]  # the public sees that, not what
    assert store.get(rid).awaiting_info_since == "2026-11-20T03:00:00.000Z"
    with pytest.raises(DomainError) as err:
        intake.reply(store, rid, "someone-else", Reply.parse({"text": "số 8"}), "2026-11-21T03:00:00.000Z")
    assert err.value.kind == "not_found"
    extended = intake.reply(store, rid, "citizen", Reply.parse({"text": "Số 8 ngõ 12"}), "2026-11-21T03:00:00.000Z",
                            extend=lambda due, since, now: "2026-11-26T03:00:00.000Z")
    # Still waiting to be accepted: the acceptance deadline moves, and its warnings start over.
    assert extended["accept_due_at"] == "2026-11-26T03:00:00.000Z" and store.get(rid).awaiting_info_since is None
    assert "due_soon" not in store.get(rid).flags
    event = store.timeline(rid)[-1]
    assert event.type == "citizen_reply" and not event.public
    with pytest.raises(DomainError) as err:
        intake.reply(store, rid, "citizen", Reply.parse({"text": "lần nữa"}), "2026-11-21T04:00:00.000Z")
    assert err.value.code == "no_question"


def test_public_view_says_whether_deadlines_were_met():
    from civic.domain.reports import public_view

    store = InMemoryReportStore()
    rid = routed(store)
    store.reports[rid] = replace(store.get(rid), accept_due_at="2026-11-20T02:00:00.000Z")
    act(store, OFFICER_W1, rid, {"action": "accept"}, now="2026-11-20T03:00:00.000Z")  # an hour late
    view = public_view(store.get(rid), None, "")
    assert view["accepted_on_time"] is False and view["resolved_on_time"] is None


def test_the_author_of_a_result_cannot_approve_it():
    store = InMemoryReportStore()
    rid = routed(store)
    act(store, LEADER_W1, rid, {"action": "accept"})
    report = store.get(rid)
    store.reports[rid] = replace(report, media=[], status="in_progress")
    ctx_no_evidence = ctx()
    ctx_no_evidence.evidence_optional = lambda category: True
    body = {"action": "resolve", "answer": "Đã xử lý xong theo quy định.", "version": store.get(rid).version}
    staff.act(store, LEADER_W1, rid, body, None, TREE, ctx_no_evidence, SETTINGS)
    with pytest.raises(DomainError) as err:
        act(store, LEADER_W1, rid, {"action": "approve"})
    assert err.value.code == "illegal_action"


@pytest.mark.parametrize("body", [
    {"action": ["accept"]}, {"action": {"x": 1}}, {"action": "refuse", "reason": ["incomplete"]},
    {"action": "set_priority", "priority": {"a": 1}}, {"action": "transfer", "to_unit": ["W2"], "reason": "x"},
])
def test_odd_action_bodies_are_400_not_500(body):
    store = InMemoryReportStore()
    rid = routed(store)
    with pytest.raises(DomainError) as err:
        act(store, LEADER_W1, rid, dict(body))
    assert err.value.kind in ("invalid", "conflict")


def test_evidence_slots_are_only_for_the_requester():
    store = InMemoryReportStore()
    rid = routed(store)
    act(store, OFFICER_W1, rid, {"action": "accept"})
    first = staff.request_evidence(store, FakeUploadSigner(), OFFICER_W1, rid, EvidenceRequest.parse({"media": [{"content_type": "image/jpeg", "size": 9}]}), TREE, SETTINGS, "t")
    other = staff.StaffMember("officer-3", "officer", ("W1",))
    second = staff.request_evidence(store, FakeUploadSigner(), other, rid, EvidenceRequest.parse({"media": [{"content_type": "image/jpeg", "size": 9}]}), TREE, SETTINGS, "t")
    assert [s["fields"]["x-amz-meta-owner"] for s in second["uploads"]] == ["officer-3"]
    assert first["uploads"][0]["media_id"] != second["uploads"][0]["media_id"]


def test_rating_closes_flags_unsatisfied_and_can_be_changed_within_the_window():
    from civic.domain.reports import public_event, public_view
    from civic.services import intake

    store = InMemoryReportStore()
    rid = routed(store)
    store.reports[rid] = replace(store.get(rid), status="resolved", answer="Đã xử lý xong.", resolved_at="2026-11-20T03:00:00.000Z")
    with pytest.raises(DomainError) as err:
        intake.rate(store, rid, "someone-else", RatingInput.parse({"satisfied": True, "stars": 5}), "2026-11-21T00:00:00.000Z")
    assert err.value.kind == "not_found"
    for bad in ({"satisfied": "yes", "stars": 5}, {"satisfied": True, "stars": 9}, {"satisfied": True, "stars": 3, "x": 1}):
        with pytest.raises(DomainError):
            intake.rate(store, rid, "citizen", RatingInput.parse(bad), "2026-11-21T00:00:00.000Z")
    rated = intake.rate(store, rid, "citizen", RatingInput.parse({"satisfied": False, "stars": 2, "comment": "Vẫn còn ổ gà, số 0912 000 777"}),
                        "2026-11-21T00:00:00.000Z")
    report = store.get(rid)
    assert rated["status"] == "closed" and "unsatisfied" in report.flags
    assert public_view(report, None, "")["rating"] == {"satisfied": False, "stars": 2}
    assert "comment" not in public_event(store.timeline(rid)[-1])["data"]  # the comment is for staff
    intake.rate(store, rid, "citizen", RatingInput.parse({"satisfied": True, "stars": 4}), "2026-11-22T00:00:00.000Z")  # changed in time
    assert "unsatisfied" not in store.get(rid).flags and store.timeline(rid)[-1].type == "rating_changed"
    with pytest.raises(DomainError) as err:  # the window closed
        intake.rate(store, rid, "citizen", RatingInput.parse({"satisfied": False, "stars": 1}), "2026-12-01T00:00:00.000Z")
    assert err.value.code == "not_ratable"
    # The leader may reopen after an unsatisfied rating.
    intake.rate(store, rid, "citizen", RatingInput.parse({"satisfied": False, "stars": 1}), "2026-11-23T00:00:00.000Z")
    reopened = act(store, LEADER_W1, rid, {"action": "reopen", "reason": "Người dân chưa hài lòng"})
    assert reopened["status"] == "in_progress" and "unsatisfied" not in reopened["flags"]


def test_open_reports_cannot_be_rated():
    from civic.services import intake
    store = InMemoryReportStore()
    rid = routed(store)
    with pytest.raises(DomainError) as err:
        intake.rate(store, rid, "citizen", RatingInput.parse({"satisfied": True, "stars": 5}), "2026-11-21T00:00:00.000Z")
    assert err.value.code == "not_ratable"


@pytest.mark.parametrize("whom", ["officer-2", "citizen", "nonexistent-user", "<script>alert(1)</script>"])
def test_a_report_is_assigned_only_to_staff_of_its_unit(whom):
    """Another ward's officer, a citizen, a made-up id or markup: refused with a reason, nothing written."""
    store = InMemoryReportStore()
    rid = routed(store, status="accepted")
    before = store.get(rid)
    with pytest.raises(DomainError) as refused:
        act(store, LEADER_W1, rid, {"action": "assign", "to": whom, "version": before.version})
    assert refused.value.kind == "invalid" and "to" in refused.value.fields
    assert refused.value.fields["to"].vi and refused.value.fields["to"].en
    assert store.get(rid) == before and len(store.timeline(rid)) == 1


def test_a_flagged_category_may_be_resolved_with_the_answer_alone_a_default_one_may_not():
    from civic.domain.categories import all_categories, evidence_optional

    # The data: culture and tourism (staff conduct at a heritage site) is flagged; the default is "answer and evidence".
    assert all_categories()["culture_tourism"].public()["evidence_optional"] is True
    assert all_categories()["traffic"].public()["evidence_optional"] is False
    store = InMemoryReportStore()
    answer = "Ban quản lý di tích đã nhắc nhở nhân viên soát vé về thái độ phục vụ."
    context = replace(ctx(), evidence_optional=evidence_optional)
    for category, allowed in (("culture_tourism", True), ("traffic", False)):
        rid = routed(store, unit="W2", status="accepted")
        store.reports[rid] = replace(store.get(rid), category=category)
        before = store.get(rid)
        body = {"action": "resolve", "answer": answer, "evidence": [], "version": before.version}
        if allowed:
            view = staff.act(store, OFFICER_W2, rid, body, None, TREE, context, SETTINGS)
            assert view["status"] == "resolved" and view["answer"] == answer and view["evidence"] == []
        else:
            with pytest.raises(DomainError) as err:
                staff.act(store, OFFICER_W2, rid, body, None, TREE, context, SETTINGS)
            assert err.value.kind == "invalid" and "evidence" in err.value.fields
            assert "minh chứng" in err.value.message.vi and store.get(rid) == before  # nothing changed


# ---------------------------------------------------------------- transfer with a deadline (#19)


def ctx_calendar(now="2026-11-20T03:00:00.000Z"):
    from civic.domain.calendar import WorkCalendar

    return replace(ctx(now), calendar=WorkCalendar())


def transfer(store, member, rid, **body):
    version = store.get(rid).version
    return staff.act(store, member, rid, {"action": "transfer", "reason": "Thuộc thẩm quyền phường 2", **body,
                                          "version": version}, None, TREE, ctx_calendar(), SETTINGS)


def test_a_transfer_sets_the_resolution_deadline_in_office_time():
    store = InMemoryReportStore()
    rid = routed(store)
    moved = transfer(store, OFFICER_W1, rid, to_unit="W2", due_at="2026-11-26T10:00:00+07:00")  # a Thursday
    assert (moved["unit_code"], moved["due_at"], moved["accept_due_at"]) == (
        "W2", "2026-11-26T03:00:00.000Z", "2026-11-21T03:00:00.000Z")
    event = store.timeline(rid)[-1]
    assert event.public and event.data["due_at"] == "2026-11-26T03:00:00.000Z" and event.data["due_set"] is True
    # A Saturday morning is no office time: the deadline is the next office instant, Monday 07:30.
    rid2 = routed(store)
    assert transfer(store, OFFICER_W1, rid2, to_unit="W2", due_at="2026-11-28T09:00:00+07:00")["due_at"] == \
        "2026-11-30T00:30:00.000Z"
    # Without one, both clocks restart by the receiver's rules (not only the acceptance clock).
    rid3 = routed(store)
    assert transfer(store, OFFICER_W1, rid3, to_unit="W2")["due_at"] == "2026-12-01T03:00:00.000Z"


@pytest.mark.parametrize("due_at, says", [
    ("2026-11-19T10:00:00+07:00", "The deadline is in the past"),
    ("2026-11-20T15:00:00+07:00", "Not before the acceptance deadline (10:00 21/11/2026)"),  # accept due 21/11
    ("2026-11-26T10:00:00", "The time needs a zone"),
    ("next Friday", "An ISO-8601 time with a zone"),
    (20261126, "An ISO-8601 time with a zone"),
])
def test_a_deadline_in_the_past_before_acceptance_or_without_a_zone_is_refused(due_at, says):
    store = InMemoryReportStore()
    rid = routed(store)
    before = store.get(rid)
    with pytest.raises(DomainError) as err:
        transfer(store, OFFICER_W1, rid, to_unit="W2", due_at=due_at)
    body = err.value.body("en")["error"]
    assert err.value.kind == "invalid" and list(body["fields"]) == ["due_at"] and says in body["fields"]["due_at"]
    assert err.value.body("vi")["error"]["fields"]["due_at"] != body["fields"]["due_at"]  # Vietnamese first, own words
    assert store.get(rid) == before and len(store.timeline(rid)) == 1  # nothing changed


@pytest.mark.parametrize("body, field", [
    ({"action": "accept", "due_at": "2026-11-26T10:00:00+07:00"}, "due_at"),
    ({"action": "transfer", "to_unit": "W2", "reason": "x", "deadline": "2026-11-26"}, "deadline"),
    ({"action": "note", "text": "ghi chú", "priority": "urgent"}, "priority"),
])
def test_an_action_refuses_fields_it_does_not_take(body, field):
    store = InMemoryReportStore()
    rid = routed(store)
    with pytest.raises(DomainError) as err:
        act(store, OFFICER_W1, rid, dict(body))
    assert err.value.kind == "invalid" and list(err.value.fields) == [field]
    assert f"Not taken by '{body['action']}'" in err.value.fields[field].en
    assert f"Không dùng cho '{body['action']}'" in err.value.fields[field].vi
    assert store.get(rid).version == 1


def test_the_sending_unit_keeps_reading_and_lists_it_but_no_longer_acts():
    store = InMemoryReportStore()
    rid = routed(store)
    moved = transfer(store, OFFICER_W1, rid, to_unit="W2", due_at="2026-11-26T10:00:00+07:00")
    # The answer to the transfer already shows the sender's new place: reading, no actions.
    assert moved["access"] == "transferred" and moved["allowed_actions"] == [] and moved["transferred_from"] == ["W1"]
    for member in (OFFICER_W1, LEADER_W1):
        view = staff.detail(store, member, rid, TREE, SETTINGS)
        assert view["unit_code"] == "W2" and view["access"] == "transferred" and view["allowed_actions"] == []
        with pytest.raises(DomainError) as err:
            act(store, member, rid, {"action": "note", "text": "vẫn theo dõi"})
        assert (err.value.kind, err.value.code) == ("forbidden", "transferred_away")
        with pytest.raises(DomainError) as err:
            staff.request_evidence(store, FakeUploadSigner(), member, rid,
                                   EvidenceRequest.parse({"media": [{"content_type": "image/jpeg", "size": 10}]}), TREE,
                                   SETTINGS, "t")
        assert err.value.code == "transferred_away"
        sent = staff.inbox(store, member, {"queue": "transferred"}, TREE, SETTINGS, lambda due: "on_time")["items"]
        assert [(i["id"], i["unit_code"], i["due_at"]) for i in sent] == [(rid, "W2", "2026-11-26T03:00:00.000Z")]
        assert rid not in [i["id"] for i in staff.inbox(store, member, {}, TREE, SETTINGS, lambda d: "none")["items"]]
    receiver = staff.detail(store, OFFICER_W2, rid, TREE, SETTINGS)
    assert receiver["access"] == "handling" and "accept" in receiver["allowed_actions"]
    assert staff.inbox(store, OFFICER_W2, {"queue": "transferred"}, TREE, SETTINGS, lambda d: "none")["items"] == []
    # Followed to the end: still listed once resolved, and a status filter works on the view.
    act(store, OFFICER_W2, rid, {"action": "accept"})
    listed = staff.inbox(store, OFFICER_W1, {"queue": "transferred", "status": "accepted"}, TREE, SETTINGS,
                         lambda d: "none")["items"]
    assert [i["id"] for i in listed] == [rid]
    # A unit that never had it still gets 404; the superior sees its subtree as before.
    stranger = staff.StaffMember("officer-c", "officer", ("CITY",))
    with pytest.raises(DomainError) as err:
        staff.detail(store, stranger, rid, TREE, SETTINGS)
    assert err.value.kind == "not_found"
    assert staff.detail(store, COORDINATOR, rid, TREE, SETTINGS)["access"] == "handling"
    # Sent back: the first sender handles it again and it leaves its "transferred" view.
    transfer(store, OFFICER_W2, rid, to_unit="W1")
    assert staff.detail(store, OFFICER_W1, rid, TREE, SETTINGS)["access"] == "handling"
    assert staff.inbox(store, OFFICER_W1, {"queue": "transferred"}, TREE, SETTINGS, lambda d: "none")["items"] == []
    assert store.get(rid).transferred_from == ["W1", "W2"]
