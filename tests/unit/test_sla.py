"""Deadline rules: defaults, precedence, the operator's JSON, due dates and due states."""

from __future__ import annotations

import json

import pytest

from civic.domain import sla
from civic.domain.calendar import WorkCalendar
from civic.domain.sla import DEFAULT_POLICY, Deadlines, Duration, SlaPolicy, due_at, due_state, extend_due

CAL = WorkCalendar()
H = lambda n: Duration(n, "hours")  # noqa: E731
D = lambda n: Duration(n, "days")  # noqa: E731


def test_priorities_match_the_report_model():
    from civic.domain.reports import PRIORITIES

    assert sla.PRIORITIES == PRIORITIES
    assert set(DEFAULT_POLICY) == set(PRIORITIES)


def test_defaults():
    assert DEFAULT_POLICY["normal"] == Deadlines(H(8), D(10))
    assert DEFAULT_POLICY["urgent"] == Deadlines(H(2), D(2))
    assert DEFAULT_POLICY["complex"] == Deadlines(D(1), D(30))


def test_duration_validation():
    with pytest.raises(ValueError):
        Duration(1, "weeks")
    with pytest.raises(ValueError):
        Duration(-1, "hours")
    with pytest.raises(ValueError):
        Duration(float("inf"), "days")
    assert D(2).hours(CAL) == 15 and H(3).hours(CAL) == 3
    assert str(H(8)) == "8h" and str(D(1.5)) == "1.5d"


# -- precedence ------------------------------------------------------------------------------------
@pytest.fixture
def policy():
    return SlaPolicy(
        by_category={"lighting": {"urgent": Deadlines(H(1), D(1))}, "roads": {"normal": Deadlines(H(4), D(5))}},
        by_unit={
            "HN": {"roads": {"normal": Deadlines(H(6), D(7))}},  # the city
            "HN-HK": {"roads": {"normal": Deadlines(H(3), D(3))}},  # a district
            "HN-HK-W01": {"lighting": {"complex": Deadlines(D(2), D(20))}},  # a ward
        },
    )


def test_priority_default_when_nothing_specific(policy):
    assert policy.deadlines("trash", "normal", "HN-HK-W01", ["HN-HK", "HN"]) == DEFAULT_POLICY["normal"]
    assert policy.deadlines("trash", "urgent", None) == DEFAULT_POLICY["urgent"]


def test_category_beats_default(policy):
    assert policy.deadlines("lighting", "urgent", "HN-HK-W01", ["HN-HK", "HN"]) == Deadlines(H(1), D(1))
    assert policy.deadlines("roads", "normal", None) == Deadlines(H(4), D(5))
    # the category rule is for another priority: default
    assert policy.deadlines("lighting", "normal", None) == DEFAULT_POLICY["normal"]


def test_unit_beats_category_and_nearest_unit_wins(policy):
    assert policy.deadlines("lighting", "complex", "HN-HK-W01", ["HN-HK", "HN"]) == Deadlines(D(2), D(20))
    # the ward has no roads rule: its district's wins over the city's and the category's
    assert policy.deadlines("roads", "normal", "HN-HK-W01", ["HN-HK", "HN"]) == Deadlines(H(3), D(3))
    # another district under the city: the city's rule
    assert policy.deadlines("roads", "normal", "HN-BD", ["HN"]) == Deadlines(H(6), D(7))
    # the unit's rule is for another category: category rule
    assert policy.deadlines("roads", "normal", "HN-CG", ["HN-X"]) == Deadlines(H(4), D(5))
    # the unit itself is the district
    assert policy.deadlines("roads", "normal", "HN-HK", ["HN"]) == Deadlines(H(3), D(3))


def test_unknown_priority(policy):
    with pytest.raises(ValueError, match="priority"):
        policy.deadlines("roads", "whenever", None)


# -- the operator's JSON ---------------------------------------------------------------------------
RAW = {
    "defaults": {"normal": {"accept": "1d", "resolve": "8d"}},
    "by_category": {"lighting": {"urgent": {"accept": {"amount": 1, "unit": "hours"}, "resolve": "1 day"}}},
    "by_unit": {"HN-HK": {"roads": {"normal": {"accept": "4 hours", "resolve": {"amount": 2.5, "unit": "days"}}}}},
}


def test_from_dict():
    p = SlaPolicy.from_dict(json.loads(json.dumps(RAW)))
    assert p.deadlines("trash", "normal", None) == Deadlines(D(1), D(8))
    assert p.deadlines("trash", "urgent", None) == DEFAULT_POLICY["urgent"]  # defaults are merged
    assert p.deadlines("lighting", "urgent", None) == Deadlines(H(1), D(1))
    assert p.deadlines("roads", "normal", "HN-HK-W01", ["HN-HK"]) == Deadlines(H(4), D(2.5))
    assert SlaPolicy.from_dict({}) == SlaPolicy()


def test_to_dict_round_trips():
    p = SlaPolicy.from_dict(RAW)
    assert SlaPolicy.from_dict(json.loads(json.dumps(p.to_dict()))) == p
    assert SlaPolicy.from_dict(SlaPolicy().to_dict()) == SlaPolicy()


@pytest.mark.parametrize("raw, message", [
    ([], "must be a JSON object"),
    ({"rules": {}}, "rules: unknown field"),
    ({"defaults": {"asap": {"accept": "1h", "resolve": "1d"}}}, "defaults.asap: unknown priority"),
    ({"defaults": {"normal": {"accept": "1h"}}}, "defaults.normal.resolve: required"),
    ({"defaults": {"normal": "8h"}}, "defaults.normal: must be an object"),
    ({"defaults": {"normal": {"accept": "1h", "resolve": "1d", "escalate": "2d"}}}, "unknown field(s) escalate"),
    ({"defaults": {"normal": {"accept": "soon", "resolve": "1d"}}}, "'soon' is not a duration"),
    ({"defaults": {"normal": {"accept": "0h", "resolve": "1d"}}}, "more than 0"),
    ({"defaults": {"normal": {"accept": "1h", "resolve": "5000d"}}}, "at most 1000"),
    ({"defaults": {"normal": {"accept": {"amount": 1, "unit": "weeks"}, "resolve": "1d"}}}, "accept.unit"),
    ({"defaults": {"normal": {"accept": {"amount": True, "unit": "hours"}, "resolve": "1d"}}}, "amount must be a number"),
    ({"defaults": {"normal": {"accept": 8, "resolve": "1d"}}}, "must be a string like"),
    ({"defaults": {"normal": {"accept": "5d", "resolve": "2d"}}}, "must not be longer than resolve"),
    ({"by_category": []}, "by_category: must be an object"),
    ({"by_category": {"bad code!": {}}}, "is not a category code"),
    ({"by_unit": {"HN": {"roads": {"normal": {"accept": "1h"}}}}}, "by_unit.HN.roads.normal.resolve: required"),
    ({"by_unit": {"HN": []}}, "by_unit.HN: must be an object"),
])
def test_from_dict_validation(raw, message):
    with pytest.raises(ValueError) as err:
        SlaPolicy.from_dict(raw)
    assert message in str(err.value)


def test_from_dict_reports_every_problem_and_known_codes():
    raw = {
        "by_category": {"roads": {"normal": {"accept": "1h"}}, "ghosts": {}},
        "by_unit": {"NOWHERE": {}},
    }
    with pytest.raises(ValueError) as err:
        SlaPolicy.from_dict(raw, known_categories=["roads"], known_units=["HN"])
    text = str(err.value)
    assert "by_category.roads.normal.resolve: required" in text
    assert "by_category.ghosts: unknown category" in text
    assert "by_unit.NOWHERE: unknown unit" in text


# -- due dates ---------------------------------------------------------------------------------------
def test_due_at_hours_and_days():
    # Friday 20/11/2026 16:00 in Hanoi (09:00Z)
    assert due_at(CAL, "2026-11-20T09:00:00.000Z", H(2)) == "2026-11-23T01:30:00.000Z"  # Mon 08:30
    # 10 working days over Tue 24/11 (Vietnam Cultural Day): Fri 16:00 -> Mon 7/12 16:00
    assert due_at(CAL, "2026-11-20T09:00:00.000Z", D(10)) == "2026-12-07T09:00:00.000Z"
    # half a day = 3.75 h: Mon 10:00 -> 11:30 (1.5 h) + 2.25 h from 13:30 -> 15:45
    assert due_at(CAL, "2026-11-23T03:00:00.000Z", D(0.5)) == "2026-11-23T08:45:00.000Z"


def test_default_deadlines_of_a_report_sent_before_tet_2026():
    start = "2026-02-13T02:00:00.000Z"  # Friday 13/2 09:00
    d = DEFAULT_POLICY["normal"]
    assert due_at(CAL, start, d.accept) == "2026-02-23T02:30:00.000Z"  # 6 h on Friday, 2 h on Mon 23/2: 09:30
    assert due_at(CAL, start, d.resolve) == "2026-03-06T02:00:00.000Z"  # the 10th working day after: Fri 6/3


def test_extend_due_by_a_pause():
    due = "2026-11-23T10:00:00.000Z"  # Monday 17:00
    # waiting for the citizen from Monday 09:00 to 11:00 (2 working hours) pushes it past Tuesday 24/11
    # (a holiday) to Wednesday 09:30
    assert extend_due(CAL, due, "2026-11-23T02:00:00.000Z", "2026-11-23T04:00:00.000Z") == "2026-11-25T02:30:00.000Z"
    # a pause over the weekend only: unchanged
    assert extend_due(CAL, due, "2026-11-21T02:00:00.000Z", "2026-11-22T04:00:00.000Z") == due


def test_due_state_transitions():
    due = "2026-11-25T09:00:00.000Z"  # Wednesday 16:00
    assert due_state("2026-11-23T02:00:00.000Z", None, CAL) == "none"
    assert due_state("2026-11-20T02:00:00.000Z", due, CAL) == "on_time"  # Friday: 2 working days left
    assert due_state("2026-11-25T02:59:00.000Z", due, CAL) == "on_time"  # Wed 09:59: 4h01 working time left
    assert due_state("2026-11-25T03:00:00.000Z", due, CAL) == "due_soon"  # Wed 10:00: 4 h left
    assert due_state(due, due, CAL) == "due_soon"  # at the deadline itself
    assert due_state("2026-11-25T09:00:00.001Z", due, CAL) == "overdue"
    # working time, not wall-clock: Monday 17:00 (Tue is a holiday) leaves 6.5 h...
    assert due_state("2026-11-23T10:00:00.000Z", due, CAL) == "on_time"
    # ...and with a one-day threshold it is due soon
    assert due_state("2026-11-23T10:00:00.000Z", due, CAL, soon=D(1)) == "due_soon"
    # Friday evening with a Monday 08:00 deadline: due soon though 60 hours away on the clock
    assert due_state("2026-11-20T12:00:00.000Z", "2026-11-23T01:00:00.000Z", CAL) == "due_soon"
