"""Open data without AWS: rows, privacy, rounding, days, CSV/GeoJSON, idempotent runs, the roll-up,
the index and the staff CSV."""

import csv
import io
import json
from dataclasses import replace

import pytest

from civic.clock import local_day
from civic.domain import geo, opendata
from civic.domain.categories import all_categories
from civic.domain.errors import DomainError
from civic.domain.reports import MediaItem, TimelineEvent, change, new_report
from civic.domain.submission import ReportSubmission
from civic.domain.units import Unit, UnitTree
from civic.services import exports, staff
from civic.settings import Settings
from civic_dev.fakes import InMemoryOpenDataStore, InMemoryReportStore

PHONE = "0912 345 678"
EMAIL = "canary.person@example.vn"
NAME = "Nguyễn Văn Canary"
TREE = UnitTree([
    Unit("CITY", "Thành phố", "City", "city"),
    Unit("W1", "Phường Một", "Ward One", "ward", "CITY"),
])


def report_at(at, category="traffic", code="HN-AAAAA2", lat=21.028511, lon=105.854167, **updates):
    sub = ReportSubmission(
        category=category, description=f"Gọi {NAME} {PHONE} hoặc {EMAIL}", lat=lat, lon=lon,
        address=f"Số 12 ngõ 5, nhà {NAME}, {PHONE}",
    )
    report, event = new_report(sub, citizen_id="citizen-sub-123", tracking_code=code, now=at)
    return (replace(report, **updates) if updates else report), event


def row_of(report, events=()):
    return opendata.public_row(report, all_categories().get(report.category), TREE, events)


# ---------------------------------------------------------------- days


def test_local_day_is_asia_ho_chi_minh():
    assert local_day("2026-11-22T16:59:59.999Z") == "2026-11-22"
    assert local_day("2026-11-22T17:00:00.000Z") == "2026-11-23"  # midnight in Hà Nội
    # The schedule fires at 17:30 UTC = 00:30 the next local day, and exports the day that just ended.
    assert opendata.previous_day("2026-11-22T17:30:00Z") == "2026-11-22"
    assert opendata.previous_day("2026-12-01T05:00:00Z") == "2026-11-30"
    assert opendata.local_time("2026-11-22T17:05:00.000Z") == "2026-11-23 00:05"
    with pytest.raises(ValueError):
        opendata.parse_day("2026-13-01")
    with pytest.raises(ValueError):
        opendata.parse_day("22/11/2026")


def test_keys_and_month_days():
    assert opendata.daily_key("2026-11-22", "csv") == "open-data/daily/2026/11/22/reports.csv"
    assert opendata.monthly_key("2026-11", "geojson") == "open-data/monthly/2026-11/reports.geojson"
    assert len(opendata.month_days("2026-02")) == 28 and opendata.month_days("2026-11")[-1] == "2026-11-30"


# ---------------------------------------------------------------- rows and privacy


def test_row_has_public_columns_and_no_personal_field():
    report, _ = report_at("2026-11-22T02:00:00.000Z", unit_code="W1", routed_at="2026-11-22T02:00:05.000Z")
    row = row_of(report)
    assert tuple(row) == opendata.PUBLIC_COLUMNS
    assert not opendata.PERSONAL_FIELDS & set(row)
    assert row["unit_name_vi"] == "Phường Một" and row["unit_name_en"] == "Ward One"
    assert row["category_name_vi"] == all_categories()["traffic"].name.vi
    assert (row["lat"], row["lon"], row["location_precision"]) == (21.028511, 105.854167, "exact")
    files = opendata.encode([row], "2026-11-22")
    for data in files.values():
        decoded = data.decode("utf-8")
        for canary in (PHONE, EMAIL, NAME, "citizen-sub-123", "ngõ 5"):
            assert canary not in decoded


def test_private_category_location_is_rounded_everywhere():
    report, _ = report_at("2026-11-22T02:00:00.000Z", category="security")
    row = row_of(report)
    assert (row["lat"], row["lon"]) == geo.rounded(21.028511, 105.854167) != (21.028511, 105.854167)
    assert row["location_precision"] == "approximate"
    files = opendata.encode([row], "2026-11-22")
    assert "21.028511" not in files["csv"].decode() and "105.854167" not in files["geojson"].decode()
    feature = json.loads(files["geojson"])["features"][0]
    assert feature["geometry"] == {"type": "Point", "coordinates": [row["lon"], row["lat"]]}


def test_result_rating_and_media_only_when_public():
    report, _ = report_at("2026-11-22T02:00:00.000Z", unit_code="W1")
    photo = MediaItem("m1", "photo", "image/jpeg", 10, status="ready", renditions={"card": "media/x"}, formats=["jpeg"])
    pending = MediaItem("m2", "photo", "image/jpeg", 10)
    waiting = replace(report, status="pending_approval", answer="Đã sửa xong ổ gà", resolved_at="2026-11-23T02:00:00.000Z",
                      media=[photo, pending])
    row = row_of(waiting)
    assert row["answer"] is None and row["resolved_at"] is None  # not published until approved
    assert row["media_count"] == 1
    done = replace(waiting, status="closed", rating={"satisfied": True, "stars": 4, "at": "x", "comment": PHONE})
    row = row_of(done, [TimelineEvent(done.id, 9, "rated", "2026-11-24T01:00:00.000Z", "citizen", status="closed",
                                      data={"satisfied": True, "stars": 4, "comment": PHONE})])
    assert (row["answer"], row["resolved_at"], row["closed_at"]) == (
        "Đã sửa xong ổ gà", "2026-11-23T02:00:00.000Z", "2026-11-24T01:00:00.000Z")
    assert (row["rating_satisfied"], row["rating_stars"]) == (True, 4)
    assert PHONE not in opendata.rows_csv([row]).decode()  # the rating's comment stays internal


def test_closed_at_is_when_it_last_became_closed():
    report, _ = report_at("2026-11-22T02:00:00.000Z", status="closed")
    events = [
        TimelineEvent(report.id, 1, "submitted", "t1", "citizen", status="submitted"),
        TimelineEvent(report.id, 2, "rated", "t2", "citizen", status="closed"),
        TimelineEvent(report.id, 3, "reopen", "t3", "leader", status="in_progress"),
        TimelineEvent(report.id, 4, "closed", "t4", "system", status="closed"),
        TimelineEvent(report.id, 5, "note", "t5", "officer", public=False, status="closed"),
    ]
    assert opendata.closed_at(report, events) == "t4"
    assert opendata.closed_at(replace(report, status="resolved"), events) is None


def test_refuse_reason_is_the_standard_code_never_the_free_text():
    report, _ = report_at("2026-11-22T02:00:00.000Z", status="refused", unit_code="W1")
    events = [TimelineEvent(report.id, 2, "refuse", "t2", "officer", "officer-1", status="refused",
                            data={"reason": {"code": "duplicate", "vi": "Trùng", "en": "Duplicate",
                                             "text": f"Đã gọi {PHONE}"}})]
    row = row_of(report, events)
    assert row["refuse_reason"] == "duplicate" and row["closed_at"] is None
    assert PHONE not in opendata.rows_csv([row]).decode() and "officer-1" not in opendata.rows_csv([row]).decode()
    assert row_of(replace(report, status="routed"), events)["refuse_reason"] is None


def test_csv_has_bom_header_and_round_trips_geojson():
    rows = [row_of(report_at("2026-11-22T03:00:00.000Z", code="HN-BBBBB2")[0]),
            row_of(report_at("2026-11-22T01:00:00.000Z", code="HN-CCCCC2", category="security")[0])]
    files = opendata.encode(rows, "2026-11-22")
    text = files["csv"].decode("utf-8")
    assert text.startswith(opendata.BOM)
    parsed = list(csv.DictReader(io.StringIO(text[1:])))
    assert list(parsed[0]) == list(opendata.PUBLIC_COLUMNS)
    assert [r["tracking_code"] for r in parsed] == ["HN-CCCCC2", "HN-BBBBB2"]  # creation order
    assert parsed[0]["accepted_on_time"] == "" and parsed[0]["media_count"] == "0"
    assert opendata.rows_from_geojson(files["geojson"]) == opendata.sort_rows(rows)


# ---------------------------------------------------------------- runs


def seeded_store():
    store = InMemoryReportStore()
    day1 = [report_at("2026-11-21T20:00:00.000Z", code="HN-DDDDD2"),  # 03:00 on the 22nd in Hà Nội
            report_at("2026-11-22T10:00:00.000Z", code="HN-EEEEE2", category="security")]
    day2 = [report_at("2026-11-23T01:00:00.000Z", code="HN-FFFFF2")]
    other = [report_at("2026-11-22T17:00:00.000Z", code="HN-GGGGG2")]  # 00:00 on the 23rd
    for report, event in day1 + day2 + other:
        store.create(report, event)
    return store


def test_export_day_writes_both_formats_month_and_index_and_rerun_writes_nothing():
    store, files = seeded_store(), InMemoryOpenDataStore()
    result = exports.export_day(store, files, "2026-11-22", TREE, now="2026-11-22T17:30:00.000Z")
    assert (result["rows"], result["month_rows"], result["month_days"]) == (2, 2, 1)
    assert sorted(result["written"]) == sorted([
        "open-data/daily/2026/11/22/reports.csv", "open-data/daily/2026/11/22/reports.geojson",
        "open-data/monthly/2026-11/reports.csv", "open-data/monthly/2026-11/reports.geojson", "open-data/index.json"])
    codes = [f["properties"]["tracking_code"] for f in
             json.loads(files.read("open-data/daily/2026/11/22/reports.geojson"))["features"]]
    assert codes == ["HN-DDDDD2", "HN-EEEEE2"]
    before = dict(files.objects)
    again = exports.export_day(store, files, "2026-11-22", TREE, now="2026-11-23T09:00:00.000Z")
    assert again["written"] == [] and files.objects == before  # same data, same objects, same index


def test_monthly_roll_up_joins_the_days_and_follows_changes():
    store, files = seeded_store(), InMemoryOpenDataStore()
    exports.export_day(store, files, "2026-11-22", TREE, now="2026-11-22T17:30:00.000Z")
    result = exports.export_day(store, files, "2026-11-23", TREE, now="2026-11-23T17:30:00.000Z")
    assert (result["rows"], result["month_rows"], result["month_days"]) == (2, 4, 2)
    monthly = opendata.rows_from_geojson(files.read("open-data/monthly/2026-11/reports.geojson"))
    assert [r["tracking_code"] for r in monthly] == ["HN-DDDDD2", "HN-EEEEE2", "HN-GGGGG2", "HN-FFFFF2"]
    index = json.loads(files.read(opendata.INDEX_KEY))
    first_created = {i["key"]: i["created_at"] for i in index["items"]}
    # A report of the 22nd is routed: re-running the 22nd rewrites its files and the month, nothing else.
    target = store.get_by_tracking("HN-DDDDD2")
    routed = change(target, at="2026-11-24T01:00:00.000Z", status="routed", unit_code="W1")
    store.save(routed, target.version, TimelineEvent(target.id, routed.version, "routed", routed.updated_at, "system"))
    rerun = exports.export_day(store, files, "2026-11-22", TREE, now="2026-11-24T02:00:00.000Z")
    assert sorted(rerun["written"]) == sorted([
        "open-data/daily/2026/11/22/reports.csv", "open-data/daily/2026/11/22/reports.geojson",
        "open-data/monthly/2026-11/reports.csv", "open-data/monthly/2026-11/reports.geojson", "open-data/index.json"])
    index = json.loads(files.read(opendata.INDEX_KEY))
    created = {i["key"]: i["created_at"] for i in index["items"]}
    assert created["open-data/daily/2026/11/23/reports.csv"] == first_created["open-data/daily/2026/11/23/reports.csv"]
    assert created["open-data/daily/2026/11/22/reports.csv"] == "2026-11-24T02:00:00.000Z"
    monthly = opendata.rows_from_geojson(files.read("open-data/monthly/2026-11/reports.geojson"))
    assert monthly[0]["status"] == "routed" and monthly[0]["unit_name_vi"] == "Phường Một"


def test_empty_day_is_published_with_zero_rows_and_future_day_is_refused():
    files = InMemoryOpenDataStore()
    result = exports.export_day(InMemoryReportStore(), files, "2026-11-01", TREE, now="2026-11-02T00:00:00.000Z")
    assert result["rows"] == 0
    assert json.loads(files.read("open-data/daily/2026/11/01/reports.geojson"))["features"] == []
    with pytest.raises(ValueError):
        exports.export_day(InMemoryReportStore(), files, "2026-11-03", TREE, now="2026-11-02T00:00:00.000Z")


def test_listing_newest_first_with_absolute_urls_and_filters():
    store, files = seeded_store(), InMemoryOpenDataStore()
    exports.export_day(store, files, "2026-11-22", TREE, now="2026-11-22T17:30:00.000Z")
    exports.export_day(store, files, "2026-11-23", TREE, now="2026-11-23T17:30:00.000Z")
    items = exports.list_exports(files, {}, "https://cdn.test/")["items"]
    assert [(i["kind"], i["period"], i["format"]) for i in items] == [
        ("daily", "2026-11-23", "csv"), ("daily", "2026-11-23", "geojson"),
        ("daily", "2026-11-22", "csv"), ("daily", "2026-11-22", "geojson"),
        ("monthly", "2026-11", "csv"), ("monthly", "2026-11", "geojson")]
    assert items[0]["url"] == "https://cdn.test/open-data/daily/2026/11/23/reports.csv"
    assert items[0]["size"] == len(files.read("open-data/daily/2026/11/23/reports.csv")) and items[0]["rows"] == 2
    monthly = exports.list_exports(files, {"kind": "monthly", "format": "csv"}, "https://cdn.test")["items"]
    assert [(i["period"], i["rows"]) for i in monthly] == [("2026-11", 4)]
    for bad in ({"kind": "weekly"}, {"format": "xlsx"}, {"page": "2"}):
        with pytest.raises(DomainError) as err:
            exports.list_exports(files, bad, "https://cdn.test")
        assert err.value.kind == "invalid"
    assert exports.list_exports(InMemoryOpenDataStore(), {}, "https://cdn.test") == {"items": []}


# ---------------------------------------------------------------- the staff CSV


def test_staff_csv_bom_bilingual_header_local_times_and_no_personal_data():
    store = InMemoryReportStore()
    for n, code in enumerate(("HN-HHHHH2", "HN-JJJJJ2", "HN-KKKKK2")):
        report, event = report_at(f"2026-11-22T0{n}:00:00.000Z", code=code, status="routed", unit_code="W1",
                                  due_at="2026-12-01T10:00:00.000Z", accept_due_at=f"2026-11-22T1{n}:00:00.000Z")
        store.create(report, event)
    member = staff.StaffMember("officer-1", "officer", ("W1",))
    body, rows, total = exports.staff_export(store, member, {"status": "routed"}, TREE, Settings(), lambda due: "on_time")
    assert body.startswith("\ufeff") and (rows, total) == (3, 3)
    parsed = list(csv.reader(io.StringIO(body[1:])))
    assert parsed[0][0] == "Mã theo dõi / Tracking code"
    assert parsed[1][0] == "HN-HHHHH2"  # the inbox's order: soonest acceptance deadline first
    header = parsed[0]
    assert parsed[1][header.index("Ngày gửi (giờ VN) / Submitted (Vietnam time)")] == "2026-11-22 07:00"
    assert parsed[1][header.index("Trạng thái / Status")] == "Đã chuyển đến đơn vị xử lý / Sent to the handling unit"
    for canary in (PHONE, EMAIL, NAME, "citizen-sub-123"):
        assert canary not in body
    # Another ward's officer gets an empty file (header only); a cap cuts the list and says so.
    other = staff.StaffMember("officer-2", "officer", ("W2",))
    assert exports.staff_export(store, other, {}, TREE, Settings(), lambda due: "on_time")[1:] == (0, 0)
    capped, rows, total = exports.staff_export(store, member, {}, TREE, Settings(staff_export_max_rows=2),
                                               lambda due: "on_time")
    assert (rows, total) == (2, 3)
    assert capped.rstrip().splitlines()[-1].startswith("# Chỉ xuất 2/3")
    with pytest.raises(DomainError):
        exports.staff_export(store, member, {"status": "nope"}, TREE, Settings(), lambda due: "on_time")


class DayCounters:
    """Statistics day items by scope, as civic.adapters.dynamo.stats reads them."""

    def __init__(self, items, gauges=None):
        self.items = items
        self.asked = []
        self.gauge_items = gauges or {}

    def days(self, scope, start, end):
        self.asked.append((scope, start, end))
        return sorted((day, item) for day, item in self.items.get(scope, {}).items() if start <= day <= end)

    def gauges(self, scope):
        return self.gauge_items.get(scope, {})


def test_units_figures_carry_the_satisfaction_index_the_api_shows():
    from civic.domain import stats as figures

    w1 = {
        "2026-11-03": {"received": 4, "resolved": 3, "on_time": 2, "rated": 2, "satisfied": 1},
        "2026-11-20": {"received": 2, "resolved": 1, "on_time": 1, "rated": 1, "satisfied": 1},
        "2026-10-30": {"received": 50, "resolved": 50},  # another month: not counted
    }
    # One report of W1 is overdue and still open: the open data's on-time rate counts it, as the API does.
    counters = DayCounters({figures.scope_unit("W1"): w1}, {figures.scope_unit("W1"): {"open": 2, "overdue_open": 1}})
    store, files = seeded_store(), InMemoryOpenDataStore()
    result = exports.export_day(store, files, "2026-11-22", TREE, now="2026-11-22T17:30:00.000Z", stats=counters,
                                min_ratings=3)
    assert {"open-data/units/2026-11/units.csv", "open-data/units/2026-11/units.json"} <= set(result["written"])
    assert (figures.scope_unit("W1"), "2026-11-01", "2026-11-22") in counters.asked
    items = {i["unit"]: i for i in json.loads(files.read("open-data/units/2026-11/units.json"))["items"]}
    expected = figures.unit_row(figures.fold([w1["2026-11-03"], w1["2026-11-20"]]), 1, 3)
    assert items["W1"]["satisfaction_index"] == expected["satisfaction_index"] is not None
    assert items["W1"]["on_time_rate"] == expected["on_time_rate"] == 0.6  # 3 on time ÷ (4 results + 1 overdue)
    assert items["W1"]["overdue_open"] == 1 and items["W1"]["rated"] == 3
    assert (items["W1"]["received"], items["W1"]["resolved"]) == (6, 4)
    assert items["CITY"]["received"] == 0 and items["CITY"]["satisfaction_index"] is None
    rows = list(csv.DictReader(io.StringIO(files.read("open-data/units/2026-11/units.csv").decode("utf-8-sig"))))
    assert [r["unit"] for r in rows] == ["CITY", "W1"] and float(rows[1]["satisfaction_index"]) == expected["satisfaction_index"]
    listed = exports.list_exports(files, {"kind": "units"}, "https://cdn.example")["items"]
    assert {i["format"] for i in listed} == {"csv", "json"} and all(i["period"] == "2026-11" for i in listed)
    again = exports.export_day(store, files, "2026-11-22", TREE, now="2026-11-23T09:00:00.000Z", stats=counters,
                               min_ratings=3)
    assert again["written"] == []
