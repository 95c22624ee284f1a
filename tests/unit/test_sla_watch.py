"""The SLA schedule: checkpoints, warnings, overdue, escalation, auto-close; idempotent runs."""

from dataclasses import replace

from civic.domain.reports import new_report
from civic.domain.sla_watch import checkpoint, step
from civic.domain.submission import ReportSubmission
from civic.services.sla import run
from civic_dev.fakes import InMemoryReportStore


def open_report(store, due="2026-11-20T10:00:00.000Z", status="in_progress", **extra):
    sub = ReportSubmission(category="traffic", description="x", lat=21.0, lon=105.8)
    report, event = new_report(sub, citizen_id="c", tracking_code=f"HN-{len(store.reports):06d}", now="2026-11-19T00:00:00.000Z")
    store.create(report, event)
    store.reports[report.id] = replace(report, status=status, unit_code="W1", accept_due_at="2026-11-19T08:00:00.000Z",
                                       due_at=due, **extra)
    return report.id


def test_checkpoints_follow_the_deadline_in_effect():
    store = InMemoryReportStore()
    r = store.get(open_report(store, status="routed"))
    assert checkpoint(r) == ("due_soon", "2026-11-19T04:00:00.000Z")  # the acceptance deadline - 4 h
    accepted = replace(r, status="accepted")
    assert checkpoint(accepted) == ("due_soon", "2026-11-20T06:00:00.000Z")  # now the resolution deadline
    assert checkpoint(replace(accepted, flags=["due_soon"])) == ("overdue", "2026-11-20T10:00:00.000Z")
    assert checkpoint(replace(accepted, flags=["due_soon", "overdue"]))[0] == "escalate_parent"
    # Paused while the citizen is asked; if they never answer, the clock runs again after 7 days.
    assert checkpoint(replace(accepted, awaiting_info_since="2026-11-19T09:00:00.000Z")) == ("question_expired", "2026-11-26T09:00:00.000Z")
    assert checkpoint(replace(accepted, status="resolved", resolved_at="2026-11-20T00:00:00.000Z")) == ("auto_close", "2026-11-27T00:00:00.000Z")
    assert checkpoint(replace(accepted, status="closed")) is None


def test_runs_warn_mark_overdue_escalate_then_stop():
    store = InMemoryReportStore()
    rid = open_report(store)
    parent = {"W1": "CITY"}.get
    assert run(store, "2026-11-20T05:00:00.000Z", parent) == {}  # nothing due yet
    assert run(store, "2026-11-20T07:00:00.000Z", parent) == {"due_soon": 1}
    assert run(store, "2026-11-20T07:05:00.000Z", parent) == {}  # idempotent: already warned
    assert run(store, "2026-11-20T10:01:00.000Z", parent) == {"overdue": 1}
    assert run(store, "2026-11-21T10:01:00.000Z", parent) == {"escalate_parent": 1}
    assert run(store, "2026-11-25T00:00:00.000Z", parent) == {}
    events = store.timeline(rid)
    assert [e.type for e in events[1:]] == ["due_soon", "overdue", "escalate_parent"]
    assert events[2].public and events[2].data["escalated_to"] == "leader"
    assert events[3].data["escalated_to"] == "CITY" and not events[3].public
    assert {"overdue", "escalated"} <= set(store.get(rid).flags)


def test_resolved_and_unrated_reports_close_after_the_window():
    store = InMemoryReportStore()
    rid = open_report(store, status="resolved", resolved_at="2026-11-20T00:00:00.000Z", answer="Đã xử lý xong")
    assert run(store, "2026-11-26T00:00:00.000Z") == {}
    assert run(store, "2026-11-27T00:00:01.000Z") == {"closed": 1}
    assert store.get(rid).status == "closed" and store.timeline(rid)[-1].public


def test_step_is_none_before_the_checkpoint():
    store = InMemoryReportStore()
    report = store.get(open_report(store))
    assert step(report, "2026-11-20T05:59:59.000Z") is None
    assert step(report, "2026-11-20T06:00:00.000Z")[1].type == "due_soon"


def test_a_run_long_after_the_deadline_takes_every_due_stage():
    store = InMemoryReportStore()
    open_report(store)
    assert run(store, "2026-12-01T00:00:00.000Z", {"W1": "CITY"}.get) == {"due_soon": 1, "overdue": 1, "escalate_parent": 1}
    assert run(store, "2026-12-01T00:05:00.000Z") == {}


def test_an_unanswered_question_stops_pausing_the_clock():
    store = InMemoryReportStore()
    rid = open_report(store, awaiting_info_since="2026-11-19T12:00:00.000Z", info_question="Số nhà?")
    outcomes = run(store, "2026-11-26T12:00:01.000Z", extend=lambda due, since, now: "2026-11-27T10:00:00.000Z")
    report = store.get(rid)
    assert outcomes["question_expired"] == 1 and report.awaiting_info_since is None and report.info_question is None
    assert report.due_at == "2026-11-27T10:00:00.000Z"  # moved by the wait, then watched again
    assert checkpoint(report) == ("due_soon", "2026-11-27T06:00:00.000Z")


def test_a_run_simulated_ahead_of_time_writes_its_events_at_the_real_time():
    """`civic local tick sla --at <future>`: the due state as of then, the events dated now (#19)."""
    store = InMemoryReportStore()
    late = open_report(store)  # due 2026-11-20 10:00
    done = open_report(store, status="resolved", resolved_at="2026-11-19T06:00:00.000Z")
    clock, simulated = "2026-11-19T12:00:00.000Z", "2026-12-22T02:00:00.000Z"
    outcomes = run(store, simulated, {"W1": "CITY"}.get, clock=clock)
    assert outcomes == {"due_soon": 1, "overdue": 1, "escalate_parent": 1, "closed": 1}  # as of 22/12
    for rid in (late, done):
        written = store.timeline(rid)[1:]
        assert written and all(e.at == clock for e in written)  # never "Closed 22/12/2026"
        assert store.get(rid).updated_at == clock  # so later changes are not dated in the future either
    assert store.get(done).status == "closed" and {"overdue", "escalated"} <= set(store.get(late).flags)
    # A replayed run (its time in the past) still acts and stamps as of when it was due.
    again = open_report(store)
    run(store, "2026-11-20T10:01:00.000Z", clock="2026-11-25T00:00:00.000Z")
    assert [e.at for e in store.timeline(again)[1:]] == ["2026-11-20T10:01:00.000Z"] * 2
