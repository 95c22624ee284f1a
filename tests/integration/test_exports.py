"""Open data on moto with the tables and buckets of infra/template.yaml: the ByDay index (one day,
paged, no guard rows), the export function on a schedule event and on {"day"}, idempotent re-runs
(no new object versions in the versioned media bucket) and the monthly roll-up."""

import importlib.util
import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from civic.adapters.dynamo import models
from civic.adapters.dynamo.reports import DynamoReportStore
from civic.domain.reports import TimelineEvent, change, new_report
from civic.domain.submission import ReportSubmission
from civic.settings import Settings, get_settings

ROOT = Path(__file__).resolve().parents[2]
CANARY_PHONE = "0987 654 321"
CANARY_EMAIL = "canary.export@example.vn"


@pytest.fixture(scope="module")
def stack():
    from civic_dev.local.deploy import deploy_stack

    with mock_aws():
        deployed = deploy_stack(endpoint_url=None, region="ap-southeast-1")
        settings = Settings(**{k.lower(): v for k, v in deployed.env.items() if k.lower() in Settings.model_fields})
        models.bind(settings)
        models.UnitModel(code="CITY", kind="city", name_vi="Thành phố", name_en="City").save()
        models.UnitModel(code="W1", parent_code="CITY", kind="ward", name_vi="Phường Một", name_en="Ward One").save()
        yield deployed, settings, boto3.client("s3", region_name="ap-southeast-1")


@pytest.fixture
def run(stack, monkeypatch):
    deployed, settings, _ = stack
    for name, value in deployed.env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    spec = importlib.util.spec_from_file_location("export_handler", ROOT / "functions/export/handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from civic_dev.local.lambda_runtime import LambdaContext

    def invoke(event):
        return module.handler(event, LambdaContext("ExportFunction", "arn:aws:lambda:::function:export", 512, 300))

    yield invoke
    get_settings.cache_clear()


def add(store, at, code, category="traffic"):
    sub = ReportSubmission(category=category, description=f"Liên hệ {CANARY_PHONE} / {CANARY_EMAIL}",
                           lat=21.0285, lon=105.8542, address=f"Nhà số 7, {CANARY_PHONE}")
    report, event = new_report(sub, citizen_id="citizen-canary", tracking_code=code, now=at)
    store.create(report, event)
    return report


def body(s3, bucket, key) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def versions(s3, bucket) -> int:
    return len(s3.list_object_versions(Bucket=bucket, Prefix="open-data/").get("Versions", []))


def test_by_day_reads_one_local_day_page_by_page(stack):
    store = DynamoReportStore()
    fourth = [add(store, f"2026-10-04T{h}:00:00.000Z", f"HN-D4{h}A2") for h in (15, 16, 17, 18, 19)]
    fifth = [add(store, f"2026-10-05T{h}:00:00.000Z", f"HN-D5{h}A2") for h in (10, 11, 12, 13, 14)]
    # 17:00 UTC is midnight in Hà Nội: the last three of the 4th (UTC) are reports of the 5th.
    found = [r.tracking_code for r in store.by_day("2026-10-05", page_size=2)]
    assert found == [r.tracking_code for r in fourth[2:] + fifth]
    assert [r.tracking_code for r in store.by_day("2026-10-04")] == ["HN-D415A2", "HN-D416A2"]
    assert list(store.by_day("2026-10-03")) == []
    # Guard rows (tracking#…) never carry created_day, so the index holds reports only.
    assert all(r.id and not r.id.startswith("tracking#") for r in store.by_day("2026-10-05"))


def test_export_function_day_and_schedule_idempotent_and_monthly(stack, run):
    deployed, settings, s3 = stack
    store = DynamoReportStore()
    first = add(store, "2026-11-10T03:00:00.000Z", "HN-EXP1A2")
    add(store, "2026-11-10T04:00:00.000Z", "HN-EXP2A2", category="security")
    add(store, "2026-11-11T03:00:00.000Z", "HN-EXP3A2")

    result = run({"day": "2026-11-10"})
    assert (result["rows"], result["month_rows"]) == (2, 2) and len(result["written"]) == 7  # + the units figures (csv, json)
    csv_text = body(s3, settings.media_bucket, "open-data/daily/2026/11/10/reports.csv").decode("utf-8")
    geojson = json.loads(body(s3, settings.media_bucket, "open-data/daily/2026/11/10/reports.geojson"))
    assert csv_text.startswith("\ufeff") and "HN-EXP1A2" in csv_text and "HN-EXP2A2" in csv_text
    assert [f["properties"]["tracking_code"] for f in geojson["features"]] == ["HN-EXP1A2", "HN-EXP2A2"]
    for text in (csv_text, json.dumps(geojson, ensure_ascii=False)):
        assert CANARY_PHONE not in text and CANARY_EMAIL not in text and "citizen-canary" not in text
    head = s3.head_object(Bucket=settings.media_bucket, Key="open-data/daily/2026/11/10/reports.csv")
    assert head["ContentType"].startswith("text/csv") and head["CacheControl"] == "public, max-age=3600"

    # The same day again: no write at all (the versioned bucket keeps no extra version).
    count = versions(s3, settings.media_bucket)
    assert run({"day": "2026-11-10"})["written"] == []
    assert versions(s3, settings.media_bucket) == count

    # The schedule at 00:30 on the 12th in Hà Nội (17:30 UTC on the 11th) exports the 11th.
    scheduled = run({"version": "0", "detail-type": "Scheduled Event", "source": "aws.events",
                     "time": "2026-11-11T17:30:00Z", "detail": {}})
    assert (scheduled["day"], scheduled["rows"], scheduled["month_rows"], scheduled["month_days"]) == ("2026-11-11", 1, 3, 2)
    monthly = json.loads(body(s3, settings.media_bucket, "open-data/monthly/2026-11/reports.geojson"))
    assert [f["properties"]["tracking_code"] for f in monthly["features"]] == ["HN-EXP1A2", "HN-EXP2A2", "HN-EXP3A2"]

    # A change to a report of the 10th shows after its day is exported again, in the day and the month.
    routed = change(first, at="2026-11-12T01:00:00.000Z", status="routed", unit_code="W1")
    store.save(routed, first.version, TimelineEvent(first.id, routed.version, "routed", routed.updated_at, "system"))
    again = run({"day": "2026-11-10"})
    assert "open-data/monthly/2026-11/reports.csv" in again["written"]
    monthly_csv = body(s3, settings.media_bucket, "open-data/monthly/2026-11/reports.csv").decode("utf-8")
    assert "Phường Một" in monthly_csv
    index = json.loads(body(s3, settings.media_bucket, "open-data/index.json"))
    assert {(i["kind"], i["period"], i["format"]) for i in index["items"]} == {
        ("daily", "2026-11-10", "csv"), ("daily", "2026-11-10", "geojson"),
        ("daily", "2026-11-11", "csv"), ("daily", "2026-11-11", "geojson"),
        ("monthly", "2026-11", "csv"), ("monthly", "2026-11", "geojson"),
        ("units", "2026-11", "csv"), ("units", "2026-11", "json")}


def test_export_function_refuses_bad_days_without_writing(stack, run):
    _, settings, s3 = stack
    count = versions(s3, settings.media_bucket)
    for event in ({"day": "2026-02-30"}, {"day": "yesterday"}, {"day": "2999-01-01"}):
        assert "error" in run(event)
    assert versions(s3, settings.media_bucket) == count


def test_backfill_gives_old_reports_their_day(stack):
    from civic.adapters.dynamo.reports import report_to_model
    from civic.adapters.s3.opendata import backfill_created_day

    store = DynamoReportStore()
    report, event = new_report(ReportSubmission(category="traffic", description="cũ", lat=21.0285, lon=105.8542),
                               citizen_id="c-old", tracking_code="HN-OLD2A2", now="2026-09-01T18:00:00.000Z")
    store.create(report, event)
    old = report_to_model(report)
    old.created_day = None  # as written before the ByDay index existed
    old.save()
    assert list(store.by_day("2026-09-02")) == []
    assert backfill_created_day()["updated"] == 1
    assert [r.tracking_code for r in store.by_day("2026-09-02")] == ["HN-OLD2A2"]  # 01:00 on the 2nd in Hà Nội
    assert store.get(report.id) == report  # nothing else changed
    assert backfill_created_day() == {"updated": 0, "changed_meanwhile": 0}  # guard rows and done rows are left alone
