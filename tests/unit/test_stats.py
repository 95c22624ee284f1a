"""The statistics core (civic.domain.stats, civic.services.stats) without AWS: deltas, histogram, index, answers."""

import math
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from civic.domain import stats as core
from civic.domain.errors import DomainError
from civic.domain.units import Unit, UnitTree
from civic.services import stats

TREE = UnitTree([
    Unit("DEMO", "Thành phố", "City", "city"),
    Unit("DEMO-W01", "Phường 1", "Ward 1", "ward", "DEMO"),
    Unit("DEMO-W02", "Phường 2", "Ward 2", "ward", "DEMO"),
])
CHAIN = stats.chain_of(TREE)


def deltas(event_type, at, data, status=None):
    return {(d.scope, d.day): d.add for d in core.event_deltas(event_type, at, status, data, CHAIN)}


def test_submitted_counts_received_by_local_day_and_hour():
    # 17:30Z on the 22nd is 00:30 on the 23rd in Hà Nội.
    out = deltas("submitted", "2026-11-22T17:30:00.000Z", {"category": "traffic"})
    assert out[("ALL", "2026-11-23")] == {"received": 1, "hr00": 1}
    assert out[("C#traffic", "2026-11-23")] == {"received": 1, "hr00": 1}
    assert out[("ALL", None)] == {"open": 1}
    assert not any(scope.startswith("U#") for scope, _ in out)


def test_routed_enters_the_unit_chain():
    out = deltas("routed", "2026-11-23T02:00:00.000Z", {"category": "traffic", "unit_code": "DEMO-W01"})
    for scope in ("U#DEMO-W01", "U#DEMO", "U#DEMO-W01#C#traffic", "U#DEMO#C#traffic"):
        assert out[(scope, "2026-11-23")] == {"routed": 1, "received": 1, "hr09": 1}
        assert out[(scope, None)] == {"open": 1}
    assert out[("ALL", "2026-11-23")] == {"routed": 1}


def test_transfer_between_wards_is_not_a_new_report_for_the_city():
    out = deltas("transfer", "2026-11-23T02:00:00.000Z",
                 {"category": "traffic", "unit_code": "DEMO-W01", "from_unit": "DEMO-W01", "to_unit": "DEMO-W02"})
    assert out[("U#DEMO-W01", "2026-11-23")] == {"transferred": 1}
    assert out[("U#DEMO", "2026-11-23")] == {"transferred": 1}
    assert out[("U#DEMO-W02", "2026-11-23")] == {"received": 1, "hr09": 1}
    assert out[("U#DEMO-W02", None)] == {"open": 1} and out[("U#DEMO-W01", None)] == {"open": -1}
    assert ("U#DEMO", None) not in out


def test_published_result_counts_handling_time_and_on_time():
    data = {"category": "traffic", "unit_code": "DEMO-W01", "submitted_at": "2026-11-20T02:00:00.000Z",
            "due_at": "2026-11-21T02:00:00.000Z"}
    out = deltas("approve", "2026-11-21T02:00:00.000Z", data, status="resolved")
    item = out[("U#DEMO-W01", "2026-11-21")]
    assert item["resolved"] == 1 and item["on_time"] == 1
    assert item["h_sum"] == 24 * 3600 and item["h_n"] == 1 and item[core.hist_attr(core.bucket_of(24))] == 1
    late = deltas("resolve", "2026-11-21T02:00:01.000Z", data, status="resolved")
    assert "on_time" not in late[("ALL", "2026-11-21")]
    # Waiting for approval is not a published result.
    assert deltas("resolve", "2026-11-21T02:00:00.000Z", data, status="pending_approval") == {}


def test_rating_change_takes_back_the_previous_rating_on_its_day():
    data = {"category": "traffic", "unit_code": "DEMO-W01", "satisfied": True, "stars": 5,
            "previous": {"satisfied": False, "stars": 1, "at": "2026-11-20T03:00:00.000Z"}}
    out = deltas("rating_changed", "2026-11-22T03:00:00.000Z", data)
    assert out[("ALL", "2026-11-20")] == {"rated": -1}  # satisfied −0 is no change
    assert out[("ALL", "2026-11-22")] == {"rated": 1, "satisfied": 1}
    assert out[("U#DEMO#C#traffic", "2026-11-22")] == {"rated": 1, "satisfied": 1}


def test_events_not_counted_give_nothing():
    assert deltas("note", "2026-11-22T03:00:00.000Z", {"category": "traffic"}) == {}
    assert deltas("due_soon", "2026-11-22T03:00:00.000Z", {"category": "traffic"}) == {}


@given(st.floats(min_value=0, max_value=200_000, allow_nan=False))
def test_bucket_contains_its_value(hours):
    low, high = core.bucket_bounds(core.bucket_of(hours))
    assert low <= hours < high or core.bucket_of(hours) == core.HIST_BUCKETS - 1


@settings(max_examples=200)
@given(st.lists(st.floats(min_value=0.3, max_value=5000, allow_nan=False), min_size=1, max_size=200),
       st.sampled_from([0.5, 0.9]))
def test_percentile_from_histogram_is_within_the_bucket_error(values, p):
    hist = {}
    for v in values:
        hist[core.bucket_of(v)] = hist.get(core.bucket_of(v), 0) + 1
    exact = sorted(values)[max(1, math.ceil(p * len(values))) - 1]  # nearest rank
    estimate = core.percentile(hist, p)
    # Within half a bucket (√R), plus the rounding of answers to 0.01 h.
    assert exact / math.sqrt(core.HIST_RATIO) - 0.005 <= estimate <= exact * math.sqrt(core.HIST_RATIO) + 0.005


def test_satisfaction_index_formula():
    # 50% satisfied share, 30% on time, 20% speed (240 / (240 + median)).
    assert core.satisfaction_index(8, 10, 9, 10, 240.0) == pytest.approx(100 * (0.5 * 0.8 + 0.3 * 0.9 + 0.2 * 0.5), abs=0.05)
    assert core.satisfaction_index(0, 0, 0, 0, None) is None
    # Without enough ratings there is no index: fast results alone once scored 91–95 with nobody asked.
    assert core.satisfaction_index(0, 0, 10, 10, 0.0) is None
    assert core.satisfaction_index(4, 4, 10, 10, 0.0) is None  # 4 < 5 ratings (the default)
    assert core.satisfaction_index(4, 4, 10, 10, 0.0, min_ratings=4) == 100.0
    # Overdue open reports count against the on-time part.
    assert core.satisfaction_index(5, 5, 10, 10, None, overdue_open=10) == pytest.approx(100 * (0.5 + 0.3 * 0.5) / 0.8, abs=0.05)
    assert core.colour(80) == "green" and core.colour(60) == "amber" and core.colour(10) == "red"
    assert core.colour(None) == "grey"


@given(st.integers(0, 50), st.integers(0, 50), st.integers(0, 50), st.integers(0, 50),
       st.one_of(st.none(), st.floats(0, 10_000)))
def test_satisfaction_index_is_bounded(sat, rated, on_time, resolved, median):
    index = core.satisfaction_index(min(sat, rated), rated, min(on_time, resolved), resolved, median)
    assert index is None or 0 <= index <= 100


def test_timeseries_and_heatmap_fold_day_items():
    days = [("2026-11-02", {"received": 2, "hr08": 2}), ("2026-11-09", {"received": 3, "hr23": 3}),
            ("2026-11-10", {"received": 1, "hr08": 1})]
    weekly = core.timeseries_points(days, "received", "week", date(2026, 11, 1), date(2026, 11, 15))
    assert weekly == [{"start": "2026-11-01", "value": 0}, {"start": "2026-11-02", "value": 2},
                      {"start": "2026-11-09", "value": 4}]
    monthly = core.timeseries_points(days, "received", "month", date(2026, 10, 20), date(2026, 11, 15))
    assert monthly == [{"start": "2026-10-20", "value": 0}, {"start": "2026-11-01", "value": 6}]
    cells = core.heatmap_cells(days)
    assert cells[0][8] == 2 and cells[0][23] == 3 and cells[1][8] == 1  # 2 and 9 Nov 2026 are Mondays
    assert sum(map(sum, cells)) == 6


class FakeReader:
    def __init__(self, items):
        self.items = items  # {(scope, day): {...}}

    def days(self, scope, start, end):
        return sorted((d, v) for (s, d), v in self.items.items() if s == scope and start <= d <= end)

    def gauges(self, scope):
        return {"open": 7}


def test_access_rules_and_bad_input():
    reader = FakeReader({})
    today = date(2026, 11, 23)
    public = stats.Viewer()
    officer2 = stats.Viewer("u2", "officer", ("DEMO-W02",))
    coordinator = stats.Viewer("c", "coordinator", ("DEMO",))
    assert stats.summary(reader, {}, TREE, public, today)["scope"]["from"] == "2026-10-25"
    with pytest.raises(DomainError) as err:
        stats.summary(reader, {"unit": "DEMO-W01"}, TREE, public, today)
    assert err.value.kind == "unauthenticated"
    with pytest.raises(DomainError) as err:
        stats.summary(reader, {"unit": "DEMO-W01"}, TREE, officer2, today)
    assert err.value.kind == "forbidden"
    with pytest.raises(DomainError) as err:
        stats.units(reader, {}, TREE, stats.Viewer("x", "citizen"), today)
    assert err.value.kind == "forbidden"
    assert stats.summary(reader, {"unit": "DEMO-W01"}, TREE, coordinator, today)["open"] == 7
    for bad in ({"from": "2026-13-01"}, {"from": "2026-11-20", "to": "2026-11-01"}, {"from": "2024-01-01"},
                {"category": "nope"}, {"colour": "x"}, {"from": "9999-12-25", "to": "9999-12-31"}, {"to": "0001-01-01"}):
        with pytest.raises(DomainError) as err:
            stats.summary(reader, bad, TREE, public, today)
        assert err.value.kind == "invalid"
    with pytest.raises(DomainError):
        stats.timeseries(reader, {"metric": "bogus"}, TREE, public, today)


def test_units_ranking_sorted_by_index_nulls_last():
    reader = FakeReader({
        ("U#DEMO-W01", "2026-11-20"): {"received": 4, "resolved": 2, "on_time": 1, "rated": 2, "satisfied": 1,
                                      "h_n": 2, "h_sum": 7200, "hb05": 2},
    })
    answer = stats.units(reader, {}, TREE, stats.Viewer("a", "admin"), date(2026, 11, 23))
    assert answer["unit"] == "DEMO"
    assert [i["unit"] for i in answer["items"]] == ["DEMO-W01", "DEMO-W02"]
    assert answer["items"][0]["on_time_rate"] == 0.5 and answer["items"][1]["satisfaction_index"] is None
    # 2 ratings: no satisfied share next to an index, but how many there are (n = 2).
    assert answer["min_ratings"] == 5
    assert answer["items"][0]["rated"] == 2 and answer["items"][0]["satisfied_rate"] is None
    assert answer["items"][0]["satisfaction_index"] is None
    low = stats.units(reader, {}, TREE, stats.Viewer("a", "admin"), date(2026, 11, 23), min_ratings=2)
    assert low["items"][0]["satisfied_rate"] == 0.5 and low["items"][0]["satisfaction_index"] is not None


def test_each_figure_is_defined_once_in_both_languages():
    defined = core.figure_definitions(7)
    shown = {"received", "resolved", "processed_rate", "on_time_rate", "overdue_open", "satisfied_rate",
             "median_hours", "satisfaction_index"}
    assert set(defined) == shown
    for code, figure in defined.items():
        for part in ("label", "definition"):
            assert figure[part]["vi"] and figure[part]["en"] and figure[part]["vi"] != figure[part]["en"], code
    # The definitions say what the code computes: overdue open reports in the on-time rate, the threshold.
    assert "overdue and still open" in defined["on_time_rate"]["definition"]["en"]
    assert "quá hạn" in defined["on_time_rate"]["definition"]["vi"]
    assert "7" in defined["satisfaction_index"]["definition"]["vi"] and "7" in defined["satisfied_rate"]["definition"]["en"]
    # Every figure the summary answers is one of them (and the ranking's too).
    answer = core.summary_answer(core.fold([]), {}, {"open": 0})
    assert shown - {"median_hours"} <= set(answer)
    assert shown - {"processed_rate"} <= set(core.unit_row(core.fold([])))


def test_on_time_rate_counts_overdue_open_reports():
    """Two results on time and two reports overdue and still open: 50 %, not the 100 % the results alone say."""
    chain = CHAIN
    items = {}
    unit = {"category": "traffic", "unit_code": "DEMO-W01"}
    for _ in range(2):
        core.accumulate(core.event_deltas("resolve", "2026-11-20T03:00:00.000Z", "resolved",
                                          {**unit, "due_at": "2026-11-21T00:00:00.000Z",
                                           "submitted_at": "2026-11-19T00:00:00.000Z"}, chain), items)
    for _ in range(3):
        core.accumulate(core.event_deltas("overdue", "2026-11-21T01:00:00.000Z", "accepted", unit, chain), items)
    # One of the overdue reports got a result (late): it leaves the gauge and counts as a late result.
    core.accumulate(core.event_deltas("resolve", "2026-11-22T03:00:00.000Z", "resolved",
                                      {**unit, "due_at": "2026-11-21T00:00:00.000Z", "overdue_cleared": True,
                                       "submitted_at": "2026-11-19T00:00:00.000Z"}, chain), items)
    assert items[("U#DEMO-W01", "GAUGE")][core.OVERDUE_OPEN] == 2 == items[("U#DEMO", "GAUGE")][core.OVERDUE_OPEN]
    totals = core.fold(v for (pk, sk), v in items.items() if pk == "U#DEMO-W01" and sk != "GAUGE")
    answer = core.summary_answer(totals, {}, items[("U#DEMO-W01", "GAUGE")])
    assert (answer["resolved"], answer["on_time"], answer["overdue_open"]) == (3, 2, 2)
    assert answer["on_time_rate"] == 0.4  # 2 on time ÷ (3 results + 2 overdue open)
    assert core.on_time_rate(2, 2, 0) == 1.0 and core.on_time_rate(0, 0, 0) is None
    assert core.on_time_rate(0, 0, 2) == 0.0  # nothing published and two overdue: 0 %, not "no data"
    # A transfer takes the mark off the sending unit's series, not the receiver's.
    moved = deltas("transfer", "2026-11-23T01:00:00.000Z",
                   {**unit, "from_unit": "DEMO-W01", "to_unit": "DEMO-W02", "overdue_cleared": True})
    assert moved[("U#DEMO-W01", None)][core.OVERDUE_OPEN] == -1
    assert core.OVERDUE_OPEN not in moved.get(("U#DEMO-W02", None), {})
    # Any event that takes the mark away is counted (the stream filter passes it), even an uncounted type.
    assert core.counted("set_priority", {"overdue_cleared": True}) and not core.counted("set_priority", {})


def test_the_core_marks_the_event_that_takes_an_overdue_mark_away():
    from civic.domain.reports import Report
    from civic.domain.sla_watch import overdue_cleared

    report = Report("r1", "VN-X", "accepted", "traffic", "d", 21.0, 105.8, "c", "2026-11-19T00:00:00.000Z",
                    "2026-11-19T00:00:00.000Z", unit_code="DEMO-W01", flags=["due_soon", "overdue"])
    from dataclasses import replace

    assert overdue_cleared(report, replace(report, flags=[])) == {
        "overdue_cleared": True, "unit_code": "DEMO-W01", "category": "traffic"}
    assert overdue_cleared(report, report) == {}


EVENT = st.fixed_dictionaries({
    "type": st.sampled_from(["submitted", "routed", "accept", "refuse", "approve", "overdue", "rated", "reopen"]),
    "at": st.integers(0, 90 * 24 * 60).map(
        lambda m: (datetime(2026, 9, 1, tzinfo=UTC) + timedelta(minutes=m)).strftime("%Y-%m-%dT%H:%M:00.000Z")),
    "category": st.sampled_from(["traffic", "environment", "other"]),
    "unit": st.sampled_from(["DEMO-W01", "DEMO-W02"]),
    "satisfied": st.booleans(),
})


@settings(max_examples=100)
@given(st.lists(EVENT, max_size=40))
def test_series_add_up(events):
    """Whatever the events: the whole system is the sum of its categories, and the city (without
    transfers) the sum of its wards — every counter, every day."""
    items = {}
    for e in events:
        data = {"category": e["category"], "unit_code": e["unit"], "satisfied": e["satisfied"],
                "submitted_at": "2026-08-01T00:00:00.000Z", "due_at": "2026-10-01T00:00:00.000Z"}
        core.accumulate(core.event_deltas(e["type"], e["at"], "resolved", data, CHAIN), items)
    keys = {(sk, name) for (pk, sk), values in items.items() for name in values}
    for sk, name in keys:
        def total(prefixes, sk=sk, name=name):
            return sum(items.get((p, sk), {}).get(name, 0) for p in prefixes)
        assert total(["ALL"]) == total(["C#traffic", "C#environment", "C#other"])
        assert total(["U#DEMO"]) == total(["U#DEMO-W01", "U#DEMO-W02"])
        assert total(["U#DEMO"]) == total([f"U#DEMO#C#{c}" for c in ("traffic", "environment", "other")])
