"""DynamoReportStore against moto, with the tables created from infra/template.yaml."""

import threading

import pytest
from moto import mock_aws

from civic.adapters.dynamo import models
from civic.adapters.dynamo.reports import DynamoReportStore
from civic.domain.ports import ConcurrentChange, FeedQuery, TrackingCodeTaken
from civic.domain.reports import TimelineEvent, change, new_report
from civic.domain.submission import ReportSubmission
from civic.settings import Settings


@pytest.fixture(scope="module")
def store():
    from civic_dev.local.deploy import deploy_stack
    from civic_dev.local.moto_fixes import serialise_dynamodb_writes

    serialise_dynamodb_writes()  # moto alone loses updates under concurrent transactions
    with mock_aws():
        deployed = deploy_stack(endpoint_url=None, region="ap-southeast-1")
        settings = Settings(**{k.lower(): v for k, v in deployed.env.items() if k.lower() in Settings.model_fields})
        models.bind(settings)
        yield DynamoReportStore()


def make(code, lat=21.03, lon=105.85, at="2026-11-20T01:00:00.000Z", category="traffic", citizen="c1"):
    sub = ReportSubmission(category=category, description="Ổ gà", lat=lat, lon=lon)
    return new_report(sub, citizen_id=citizen, tracking_code=code, now=at)


def test_create_get_track_timeline(store):
    report, event = make("HN-AAAAA2")
    store.create(report, event)
    assert store.get(report.id) == report
    assert store.get_by_tracking("HN-AAAAA2").id == report.id
    assert [(e.seq, e.type) for e in store.timeline(report.id)] == [(1, "submitted")]
    assert store.get("tracking#HN-AAAAA2") is None  # guard rows are not reports


def test_tracking_code_is_unique(store):
    first, e1 = make("HN-BBBBB2")
    second, e2 = make("HN-BBBBB2")
    store.create(first, e1)
    with pytest.raises(TrackingCodeTaken):
        store.create(second, e2)
    assert store.get(second.id) is None and store.timeline(second.id) == []


def test_stale_version_changes_nothing(store):
    report, event = make("HN-CCCCC2")
    store.create(report, event)
    routed = change(report, at="2026-11-20T02:00:00.000Z", status="routed", unit_code="DEMO-W01")
    store.save(routed, 1, TimelineEvent(report.id, 2, "routed", routed.updated_at, "system", status="routed"))
    stale = change(report, at="2026-11-20T03:00:00.000Z", status="needs_triage")
    with pytest.raises(ConcurrentChange):
        store.save(stale, 1, TimelineEvent(report.id, 2, "needs_triage", stale.updated_at, "system"))
    assert store.get(report.id).status == "routed"
    assert [e.type for e in store.timeline(report.id)] == ["submitted", "routed"]


def test_concurrent_writers_one_wins_per_version(store):
    report, event = make("HN-DDDDD2")
    store.create(report, event)
    wins, losses = [], []

    def attempt(n):
        updated = change(report, at=f"2026-11-20T04:00:0{n}.000Z", priority="urgent")
        try:
            store.save(updated, 1, TimelineEvent(report.id, 2, f"try{n}", updated.updated_at, "officer"))
            wins.append(n)
        except ConcurrentChange:
            losses.append(n)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(losses) == 7
    timeline = store.timeline(report.id)
    assert [e.type for e in timeline] == ["submitted", f"try{wins[0]}"]
    assert store.get(report.id).version == 2


def test_feed_merges_cells_newest_first_and_pages(store):
    # Two cells far apart inside one bbox; timestamps interleave across them.
    created = []
    for i, (lat, lon) in enumerate([(10.10, 106.10), (10.60, 106.60)] * 3):
        report, event = make(f"HN-F{i}FFF2", lat=lat, lon=lon, at=f"2026-10-0{i + 1}T00:00:00.000Z",
                             category="environment" if i % 2 else "traffic")
        store.create(report, event)
        created.append(report.id)
    bbox = (10.0, 106.0, 10.9, 106.9)
    from civic.domain.geo import cells_covering

    query = FeedQuery(cells=cells_covering(bbox), bbox=bbox, limit=4)
    page = store.feed(query)
    assert [r.id for r in page] == created[::-1][:4]
    rest = store.feed(FeedQuery(cells=query.cells, bbox=bbox, limit=4, before_key=page[-1].created_key))
    assert [r.id for r in rest] == created[::-1][4:]
    env = store.feed(FeedQuery(cells=query.cells, bbox=bbox, limit=10, category="environment"))
    assert [r.id for r in env] == [created[5], created[3], created[1]]


def test_by_citizen_newest_first(store):
    ids = []
    for i in range(3):
        report, event = make(f"HN-G{i}GGG2", citizen="only-me", at=f"2026-09-0{i + 1}T00:00:00.000Z")
        store.create(report, event)
        ids.append(report.id)
    first = store.by_citizen("only-me", 2, None)
    assert [r.id for r in first] == [ids[2], ids[1]]
    assert [r.id for r in store.by_citizen("only-me", 2, first[-1].created_key)] == [ids[0]]


def test_stream_readers_survive_a_cancelled_transaction(store):
    """A cancelled transaction must neither swap the stream shard that readers follow (moto's
    rollback replaces the table with a copy) nor leave its own records on it."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from civic.adapters.dynamo.models import TimelineModel

    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["ap-southeast-1"]
    shard = backend.tables[TimelineModel.Meta.table_name].stream_shard  # what an open iterator reads

    report, event = make("HN-SSSSS2")
    store.create(report, event)
    stale = change(report, at="2026-11-20T02:00:00.000Z", status="routed")
    store.save(stale, 1, TimelineEvent(report.id, 2, "routed", stale.updated_at, "system"))
    with pytest.raises(ConcurrentChange):  # cancelled: its timeline item must not reach the stream
        store.save(stale, 1, TimelineEvent(report.id, 2, "phantom", stale.updated_at, "system"))
    later = change(stale, at="2026-11-20T03:00:00.000Z", status="accepted")
    store.save(later, 2, TimelineEvent(report.id, 3, "accepted", later.updated_at, "officer"))

    assert backend.tables[TimelineModel.Meta.table_name].stream_shard is shard
    mine = [r for r in shard.items if r.record["dynamodb"]["Keys"]["report_id"]["S"] == report.id]
    assert [r.record["dynamodb"]["NewImage"]["type"]["S"] for r in mine] == ["submitted", "routed", "accepted"]


def test_feed_reads_a_bounded_number_of_items_per_cell(store, monkeypatch):
    """A rare filter stops after the scan budget instead of reading a cell's whole history."""
    from civic.adapters.dynamo import reports as dynamo
    from civic.domain.geo import cells_covering
    old, event = make("HN-OLDRR2", lat=12.61, lon=108.01, at="2026-01-01T00:00:00.000Z", category="culture_tourism")
    store.create(old, event)
    for i in range(60):
        report, event = make(f"HN-N{i:02d}RR2".replace("0", "A").replace("1", "B"), lat=12.61, lon=108.01,
                             at=f"2026-02-01T00:{i // 60:02d}:{i % 60:02d}.000Z")
        store.create(report, event)
    bbox = (12.5, 107.9, 12.7, 108.1)
    query = FeedQuery(cells=cells_covering(bbox), bbox=bbox, limit=5, category="culture_tourism")
    assert [r.id for r in store.feed(query)] == [old.id]  # within budget: found under 60 newer reports
    monkeypatch.setattr(dynamo, "_MAX_SCAN_PER_CELL", 30)
    assert store.feed(query) == []  # budget spent on newer reports of other categories


def test_sla_run_reads_due_reports_only(store, monkeypatch):
    """10 due reports among 10,000 open ones: the run queries the ByDue index day by day and reads
    exactly the 10, never scanning the open reports."""
    from civic.adapters.dynamo import reports as dynamo
    from civic.adapters.dynamo.models import ReportModel
    from civic.domain.reports import Report
    from civic.services.sla import run

    def open_report(i: int, due: str) -> Report:
        return Report(
            id=f"{i:032x}", tracking_code=f"HN-SLA{i:05d}", status="in_progress", category="traffic",
            description="x", lat=12.0, lon=108.0, citizen_id="c", created_at="2026-11-01T00:00:00.000Z",
            updated_at="2026-11-01T00:00:00.000Z", unit_code="W1", due_at=due, flags=["due_soon"],
        )

    with ReportModel.batch_write() as batch:
        for i in range(10_000):
            due = "2026-11-20T01:00:00.000Z" if i < 10 else "2026-12-20T01:00:00.000Z"
            batch.save(dynamo.report_to_model(open_report(i, due)))

    read: list[int] = []
    queries: list[str] = []
    original = ReportModel.by_due.query

    def counting_query(day, *args, **kwargs):
        queries.append(day)
        rows = list(original(day, *args, **kwargs))
        read.append(len(rows))
        return rows

    monkeypatch.setattr(ReportModel.by_due, "query", counting_query)
    monkeypatch.setattr(ReportModel, "scan", lambda *a, **k: (_ for _ in ()).throw(AssertionError("no scans")))
    outcomes = run(dynamo.DynamoReportStore(), "2026-11-20T02:00:00.000Z")
    assert outcomes == {"overdue": 10}
    assert sum(read) == 10 and len(queries) == 31  # one query per day partition, 10 items in all


def test_flags_are_one_per_account_and_concurrent_flags_all_count(store):
    """Each flag is its guard row + the report's count + the event in one transaction: a second flag by
    the same account changes nothing, and flags racing from many accounts are each counted once."""
    from civic.domain.ports import AlreadyFlagged

    report, event = make("HN-FLAGA2")
    store.create(report, event)

    def flag(user):
        for _ in range(20):
            current = store.get(report.id)
            updated = change(current, at="2026-11-20T02:00:00.000Z", flag_count=current.flag_count + 1, review="pending")
            ev = TimelineEvent(report.id, updated.version, "flag", updated.updated_at, "citizen", user, public=False)
            try:
                store.flag(updated, current.version, ev, user, "spam")
                return "ok"
            except ConcurrentChange:
                continue
            except AlreadyFlagged:
                return "dup"
        return "gave up"

    results = []
    threads = [threading.Thread(target=lambda u=u: results.append(flag(u))) for u in ["u1", "u2", "u3", "u4", "u1"]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["dup", "ok", "ok", "ok", "ok"]
    saved = store.get(report.id)
    assert saved.flag_count == 4 and saved.version == 5 and len(store.timeline(report.id)) == 5
    assert report.id in [r.id for r in store.review_queue(50)]
    assert store.get(f"flag#{report.id}#u1") is None  # guard rows are not reports
    kept = change(saved, at="2026-11-20T03:00:00.000Z", review=None, flag_count=0, hidden=None,
                  redacted={"description": "Biên tập"})
    store.save(kept, saved.version, TimelineEvent(report.id, kept.version, "unhide", kept.updated_at, "leader", "l"))
    assert report.id not in [r.id for r in store.review_queue(50)]
    assert store.get(report.id).redacted == {"description": "Biên tập"}


def test_a_transfer_writes_the_senders_index_row_in_its_transaction(store):
    from civic.services.staff import StaffMember, inbox

    report, event = make("HN-SENT01")
    store.create(report, event)
    routed = change(report, at="2026-11-20T02:00:00.000Z", status="routed", unit_code="DEMO-D01")
    store.save(routed, 1, TimelineEvent(report.id, 2, "routed", routed.updated_at, "system", status="routed"))
    noted = change(routed, at="2026-11-20T02:30:00.000Z")  # someone else's change gets in first
    store.save(noted, 2, TimelineEvent(report.id, 3, "note", noted.updated_at, "officer", "o2", public=False))

    def transfer_from(current):
        moved = change(current, at="2026-11-20T03:00:00.000Z", status="routed", unit_code="DEMO-W07",
                       transferred_from=["DEMO-D01"], due_at="2026-11-26T03:00:00.000Z")
        return moved, TimelineEvent(report.id, moved.version, "transfer", moved.updated_at, "officer", "o1",
                                    status="routed", data={"from_unit": "DEMO-D01", "to_unit": "DEMO-W07"})

    # A lost race writes neither the report nor the sender's row.
    with pytest.raises(ConcurrentChange):
        store.save(*transfer_from(routed)[:1], 2, transfer_from(routed)[1])
    assert store.transferred_by(["DEMO-D01"]) == [] and store.get(report.id).transferred_from == []
    moved, event = transfer_from(noted)
    store.save(moved, 3, event)
    assert store.get(report.id).transferred_from == ["DEMO-D01"]
    assert [r.id for r in store.transferred_by(["DEMO-D01", "DEMO-X"])] == [report.id]
    assert store.transferred_by(["DEMO-W07"]) == [] and store.get(f"sent#DEMO-D01#{report.id}") is None
    # The sender's inbox view reads it through the index; the unit queues never list the index row.
    sender = StaffMember("o1", "officer", ("DEMO-D01",))
    items = inbox(store, sender, {"queue": "transferred"}, None, Settings(), lambda due: "on_time")["items"]
    assert [(i["id"], i["unit_code"]) for i in items] == [(report.id, "DEMO-W07")]
    assert [r.id for r in store.by_units(["DEMO-W07"], ["routed"])] == [report.id]
