"""Statistics on moto (tables from infra/template.yaml): reports driven through the real core, every
event counted through the Stats table exactly once, answers equal to a recomputation from the
timelines, replays that change nothing, concurrent counting, and read cost that does not grow with
history."""

import random
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
from moto import mock_aws

from civic.adapters.dynamo import models
from civic.adapters.dynamo.reports import DynamoReportStore
from civic.adapters.dynamo.stats import DynamoStatsStore
from civic.clock import iso_utc, local_day
from civic.domain import stats as core
from civic.domain.inputs import RatingInput
from civic.domain.reports import new_report, new_tracking_code
from civic.domain.submission import ReportSubmission
from civic.domain.units import Unit, UnitTree
from civic.domain.workflow import Actor, Context, plan
from civic.services import stats
from civic.services.intake import rate
from civic.services.routing import route_report
from civic.settings import Settings

WARDS = [f"DEMO-W{n:02d}" for n in range(1, 10)]
TREE = UnitTree(
    [Unit("DEMO", "Thành phố", "City", "city")]
    + [Unit(w, f"Phường {w[-2:]}", f"Ward {w[-2:]}", "ward", "DEMO", requires_approval=True) for w in WARDS]
)
CATEGORIES = ["traffic", "environment", "urban_order", "other"]
OFFICER = Actor("officer-1", "officer", tuple(WARDS))
LEADER = Actor("leader-1", "leader", tuple(WARDS))


@pytest.fixture(scope="module")
def aws():
    from civic_dev.local.deploy import deploy_stack
    from civic_dev.local.moto_fixes import serialise_dynamodb_writes

    serialise_dynamodb_writes()
    with mock_aws():
        deployed = deploy_stack(endpoint_url=None, region="ap-southeast-1")
        settings = Settings(**{k.lower(): v for k, v in deployed.env.items() if k.lower() in Settings.model_fields})
        models.bind(settings)
        yield settings


class OneWard:
    def __init__(self, ward):
        self.ward = ward

    def admin_unit(self, lat, lon):
        return self.ward, False

    def agencies(self, lat, lon):
        return []


def _iso(moment):
    return iso_utc(moment)


def drive(store, settings, i, start):
    """One report through the real core: submit, route, then (by i) accept, refuse, resolve+approve, rate."""
    rng = random.Random(i)
    at = start + timedelta(hours=rng.randint(0, 24 * 12), minutes=rng.randint(0, 59))
    sub = ReportSubmission(category=CATEGORIES[i % len(CATEGORIES)], description="Ổ gà trước cổng trường",
                           lat=21.0 + rng.random() / 10, lon=105.8 + rng.random() / 10)
    report, event = new_report(sub, citizen_id=f"citizen-{i}", tracking_code=new_tracking_code("HN"), now=_iso(at))
    store.create(report, event)
    at += timedelta(minutes=1)
    route_report(report.id, store=store, locator=OneWard(WARDS[i % len(WARDS)]), tree=TREE, rules=[],
                 now=_iso(at), settings=settings)
    steps = [("accept", {}, OFFICER)]
    if i % 5 == 0:
        steps = [("refuse", {"reason": "incomplete"}, OFFICER)]
    elif i % 5 in (1, 2, 3):
        steps += [("resolve", {"answer": "Đã sửa xong ổ gà, khôi phục mặt đường."}, OFFICER), ("approve", {}, LEADER)]
    for action, body, actor in steps:
        at += timedelta(hours=rng.choice([2, 30, 200, 400]))
        current = store.get(report.id)
        ctx = Context(now=_iso(at), unit_exists=lambda c: c in TREE, requires_approval=lambda c: True,
                      evidence_optional=lambda c: True)
        updated, ev = plan(current, {"action": action, **body}, actor, ctx)
        store.save(updated, current.version, ev)
    if i % 5 in (1, 2):
        at += timedelta(hours=3)
        rate(store, report.id, f"citizen-{i}", RatingInput(satisfied=i % 5 == 1, stars=4), _iso(at))
    if i % 10 == 1:  # the author changes their mind two days later
        at += timedelta(days=2)
        rate(store, report.id, f"citizen-{i}", RatingInput(satisfied=False, stars=2), _iso(at))
    return report.id


def recompute(timelines, start, end, unit=None):
    """The dashboard figures straight from the timelines (independently of civic.domain.stats)."""
    out = {k: 0 for k in ("received", "resolved", "on_time", "refused", "accepted", "rated", "satisfied")}
    hours = []

    def in_range(iso):
        return start <= local_day(iso) <= end

    for events in timelines:
        submitted = events[0]
        routed = next(e for e in events if e.type == "routed")
        if unit and unit not in (routed.data["unit_code"], "DEMO"):
            continue
        if in_range(submitted.at if not unit else routed.at):
            out["received"] += 1
        ratings = [e for e in events if e.type in ("rated", "rating_changed")]
        last = ratings[-1] if ratings else None
        for e in events:
            if e.type == "approve" and in_range(e.at):
                out["resolved"] += 1
                out["on_time"] += e.at <= routed.data["due_at"]
                hours.append((datetime.fromisoformat(e.at[:-1]) - datetime.fromisoformat(submitted.at[:-1])).total_seconds() / 3600)
            elif e.type in ("refuse", "accept") and in_range(e.at):
                out[e.type + ("d" if e.type == "refuse" else "ed")] += 1
        if last and in_range(last.at):  # only the rating in force counts
            out["rated"] += 1
            out["satisfied"] += bool(last.data["satisfied"])
    return out, hours


def test_counts_equal_the_timelines_and_replays_change_nothing(aws):
    store = DynamoReportStore()
    counter = DynamoStatsStore()
    start = datetime(2026, 10, 1, tzinfo=UTC)
    ids = [drive(store, aws, i, start) for i in range(60)]
    timelines = [store.timeline(rid) for rid in ids]
    events = [e for t in timelines for e in t]
    assert all(e.data.get("category") for e in events if e.type in core.COUNTED_TYPES)

    counted = sum(stats.count_event(e, counter, TREE) for e in events)
    assert counted == sum(1 for e in events if core.event_deltas(e.type, e.at, e.status, e.data, stats.chain_of(TREE)))

    params = {"from": "2026-09-25", "to": "2026-12-31"}
    admin = stats.Viewer("admin", "admin")
    first = stats.summary(counter, params, TREE, admin, date(2026, 12, 31))
    expected, hours = recompute(timelines, "2026-09-25", "2026-12-31")
    for name, value in expected.items():
        assert first[name] == value, name
    assert first["received"] == 60 and first["resolved"] == 36
    hist = {}
    for h in hours:
        hist[core.bucket_of(h)] = hist.get(core.bucket_of(h), 0) + 1
    assert first["handling_hours"]["median"] == core.percentile(hist, 0.5)
    assert first["handling_hours"]["p90"] == core.percentile(hist, 0.9)
    assert first["handling_hours"]["mean"] == round(sum(hours) / len(hours), 2)
    assert first["open"] == 60 - expected["refused"] - expected["resolved"]

    ward = stats.summary(counter, {**params, "unit": "DEMO-W02"}, TREE, admin, date(2026, 12, 31))
    expected_ward, _ = recompute(timelines, "2026-09-25", "2026-12-31", unit="DEMO-W02")
    assert {k: ward[k] for k in expected_ward} == expected_ward and ward["received"] > 0

    # Replay every event (a stream redelivery, a retried batch): nothing changes.
    assert sum(stats.count_event(e, counter, TREE) for e in events) == 0
    assert stats.summary(counter, params, TREE, admin, date(2026, 12, 31)) == first


def test_rebuild_recomputes_the_counters_idempotently(aws):
    """After a bug corrupted the counters: `civic stats rebuild` restores them from the Timeline."""
    from civic.adapters.dynamo.stats import all_events

    counter = DynamoStatsStore()
    params, admin, today = {"from": "2026-09-25", "to": "2026-12-31"}, stats.Viewer("admin", "admin"), date(2026, 12, 31)
    before = stats.summary(counter, params, TREE, admin, today)
    ward = stats.summary(counter, {**params, "unit": "DEMO-W04"}, TREE, admin, today)
    assert before["received"] == 60  # counted by the previous test
    counter.put_items({("ALL", "D#2026-10-05"): {"received": 999}, ("C#bogus", "D#2026-10-05"): {"received": 1}})
    assert stats.summary(counter, params, TREE, admin, today) != before

    first = stats.rebuild(all_events(), counter, TREE)
    assert first["deleted"] == 1 and first["events"] > 60
    assert stats.summary(counter, params, TREE, admin, today) == before
    assert stats.summary(counter, {**params, "unit": "DEMO-W04"}, TREE, admin, today) == ward
    assert counter.days("C#bogus", "2026-10-01", "2026-10-31") == []
    again = stats.rebuild(all_events(), counter, TREE)
    assert again == {**first, "deleted": 0}
    assert stats.summary(counter, params, TREE, admin, today) == before
    # Every folded event has its guard: a stream replay after the rebuild adds nothing.
    assert not any(stats.count_event(e, counter, TREE) for e in all_events())


def test_concurrent_counting_is_atomic(aws):
    """8 threads count 400 distinct events into the same items, with replays mixed in."""
    counter = DynamoStatsStore()
    from civic.domain.reports import TimelineEvent

    events = [TimelineEvent(f"{i:032x}", 1, "submitted", "2026-08-01T03:00:00.000Z", "citizen",
                            data={"category": "traffic"}) for i in range(400)]
    results = []

    def work(chunk):
        own = DynamoStatsStore()
        results.extend(stats.count_event(e, own, TREE) for e in chunk + chunk[:10])

    threads = [threading.Thread(target=work, args=(events[k::8],)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 400 and results.count(False) == 80
    days = dict(counter.days("ALL", "2026-08-01", "2026-08-01"))
    assert days["2026-08-01"]["received"] == 400 and days["2026-08-01"]["hr10"] == 400


def _bulk_load(counter, items, n, first_day, days, seed):
    """n synthetic reports folded through the same pure function into `items` (what the counters
    hold after all events so far), written through the same adapter."""
    rng = random.Random(seed)
    chain = stats.chain_of(TREE)
    for i in range(n):
        day = first_day + timedelta(days=i % days)
        at = datetime(day.year, day.month, day.day, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 600))
        category, ward = CATEGORIES[(i // days) % 4], WARDS[(i // days) % 9]  # every series has every day
        data = {"category": category, "unit_code": ward}
        resolved_at = at + timedelta(hours=rng.randint(1, 300))
        for event_type, when, extra in (
            ("submitted", at, {}), ("routed", at + timedelta(minutes=1), {}),
            ("approve", resolved_at, {"submitted_at": _iso(at), "due_at": _iso(at + timedelta(hours=200))}),
            ("rated", resolved_at + timedelta(hours=1), {"satisfied": rng.random() < 0.66}),
        ):
            core.accumulate(core.event_deltas(event_type, _iso(when), "resolved", {**data, **extra}, chain), items)
    counter.put_items(items)


def _dashboard(counter):
    """Every dashboard query for the last 30 days, with the items they read."""
    counter.items_read = 0
    admin, today = stats.Viewer("admin", "admin"), date(2026, 6, 30)
    params = {"from": "2026-06-01", "to": "2026-06-30"}
    answers = {
        "summary": stats.summary(counter, params, TREE, admin, today),
        "units": stats.units(counter, params, TREE, admin, today),
        "categories": stats.categories(counter, params, TREE, admin, today),
        "timeseries": stats.timeseries(counter, {**params, "interval": "week"}, TREE, admin, today),
        "heatmap": stats.heatmap(counter, params, TREE, admin, today),
    }
    return counter.items_read, answers


def test_dashboard_reads_do_not_grow_with_history(aws):
    counter = DynamoStatsStore()
    started = time.monotonic()
    # 10,000 reports over 120 days, then 90,000 more over the same days: 100,000 in all.
    items = {}
    _bulk_load(counter, items, 10_000, date(2026, 3, 3), 120, seed=1)
    read_10k, small = _dashboard(counter)
    _bulk_load(counter, items, 90_000, date(2026, 3, 3), 120, seed=2)
    read_100k, large = _dashboard(counter)
    print(f"\nitems read by one dashboard (5 queries, 30 days): 10k reports {read_10k}, 100k reports {read_100k}; "
          f"{time.monotonic() - started:.1f} s")
    assert read_10k == read_100k
    # 30 days × (ALL for summary, timeseries and heatmap; 9 wards; 8 categories) + 1 gauge, whatever the volume.
    assert read_10k <= 30 * (3 + 9 + 8) + 1
    assert large["summary"]["received"] > 9 * small["summary"]["received"] > 0
    assert sum(i["count"] for i in large["categories"]["items"]) == large["summary"]["received"]


def test_template_wires_the_stats_function():
    """The stream filter lists exactly the counted event types; failures go to the failed-events queue;
    the function writes only the Stats table."""
    import json as _json

    from civic_dev.local.cfn import load_sam_template

    fn = load_sam_template()["Resources"]["StatsFunction"]["Properties"]
    source = fn["Events"]["TimelineCounted"]["Properties"]
    pattern = _json.loads(source["FilterCriteria"]["Filters"][0]["Pattern"])
    assert tuple(pattern["dynamodb"]["NewImage"]["type"]["S"]) == core.COUNTED_TYPES
    # The second filter: any event that takes an overdue mark away (core.counted).
    cleared = _json.loads(source["FilterCriteria"]["Filters"][1]["Pattern"])
    assert cleared == {"dynamodb": {"NewImage": {"data": {"M": {core.OVERDUE_CLEARED: {"BOOL": [True]}}}}}}
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and source["BisectBatchOnFunctionError"]
    assert "FailedEventsQueue" in str(source["DestinationConfig"]["OnFailure"]["Destination"])
    statements = [s for p in fn["Policies"] if "Statement" in p for s in p["Statement"]]
    writes = [s for s in statements if any(a in str(s["Action"]) for a in ("Put", "Update", "Delete", "Write"))]
    assert writes == [] and {"TableName": {"Ref": "StatsTable"}} in [p.get("DynamoDBCrudPolicy") for p in fn["Policies"]]
