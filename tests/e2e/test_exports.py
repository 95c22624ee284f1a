"""Open data on the running local stack: a report carrying a canary phone and email (in its
description and address) is exported with its day by `civic local tick export --day`, served under
/open-data/*, listed by GET /v1/exports, and neither canary appears in any public output; the
staff inbox exports as CSV with a BOM."""

import csv
import io
import json
import subprocess
import sys
import uuid

import pytest
import requests

from civic.clock import local_day
from civic_dev.local import demo
from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e

CANARY_PHONE = "0903 111 222"
CANARY_EMAIL = "canary.opendata@example.vn"


def auth(token, **extra):
    return {"Authorization": f"Bearer {token}", **extra}


def tick_export(stack, *extra):
    done = subprocess.run(
        [sys.executable, "-m", "civic_dev.cli", "local", "tick", "export", *extra, "--state-dir", str(stack.state_dir)],
        capture_output=True, text=True, timeout=180, cwd=ROOT,
    )
    # stdout is the result alone (logs and metrics go to stderr), so scripts can pipe it to jq.
    return done.returncode, done.stdout.strip(), done.stderr


def routed_canary_report(stack):
    citizen = stack.login("citizen2@demo.civicbridge.vn")
    lat, lon = demo.wards()[4]["center"]
    created = requests.post(
        stack.api + "/v1/reports",
        json={"category": "urban_order", "lat": lat, "lon": lon + 0.001,
              "description": f"Lấn chiếm vỉa hè, gọi tôi {CANARY_PHONE} hoặc {CANARY_EMAIL}",
              "address": f"Số 9 ngõ 3, liên hệ {CANARY_PHONE}"},
        headers=auth(citizen, **{"Idempotency-Key": str(uuid.uuid4())}), timeout=10,
    )
    assert created.status_code == 201, created.text
    report_id = created.json()["id"]
    return stack.wait_for(lambda: requests.get(f"{stack.api}/v1/reports/{report_id}", timeout=5).json(),
                          lambda view: view["status"] != "submitted", poll=0.25)


def test_day_export_contains_the_report_and_no_canary(stack):
    view = routed_canary_report(stack)
    assert view["status"] == "routed"
    day = local_day(view["created_at"])

    code, out, err = tick_export(stack, "--day", day)
    assert code == 0, err
    result = json.loads(out)
    assert result["day"] == day and result["rows"] >= 1

    y, m, d = day.split("-")
    daily_csv = requests.get(f"{stack.web}/open-data/daily/{y}/{m}/{d}/reports.csv", timeout=5)
    daily_geo = requests.get(f"{stack.web}/open-data/daily/{y}/{m}/{d}/reports.geojson", timeout=5)
    monthly_csv = requests.get(f"{stack.web}/open-data/monthly/{y}-{m}/reports.csv", timeout=5)
    monthly_geo = requests.get(f"{stack.web}/open-data/monthly/{y}-{m}/reports.geojson", timeout=5)
    for response in (daily_csv, daily_geo, monthly_csv, monthly_geo):
        assert response.status_code == 200
    assert daily_csv.headers["Content-Type"].startswith("text/csv") and daily_csv.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(daily_csv.content.decode("utf-8-sig"))))
    mine = [r for r in rows if r["tracking_code"] == view["tracking_code"]]
    assert len(mine) == 1 and mine[0]["status"] == "routed" and mine[0]["unit_code"] == view["unit_code"]
    assert all(local_day(r["created_at"]) == day for r in rows)  # that day's reports only
    features = daily_geo.json()["features"]
    assert view["tracking_code"] in [f["properties"]["tracking_code"] for f in features]
    assert view["tracking_code"] in monthly_csv.content.decode("utf-8")

    # Neither canary in any public output: the files, the API's views of the report, the listing.
    listing = requests.get(stack.api + "/v1/exports", timeout=5)
    public_outputs = [daily_csv.content, daily_geo.content, monthly_csv.content, monthly_geo.content, listing.content]
    for data in public_outputs:
        text = data.decode("utf-8")
        assert CANARY_PHONE not in text and CANARY_EMAIL not in text

    items = listing.json()["items"]
    listed = {(i["kind"], i["period"], i["format"]): i for i in items}
    assert {("daily", day, "csv"), ("daily", day, "geojson"), ("monthly", day[:7], "csv")} <= set(listed)
    entry = listed[("daily", day, "csv")]
    assert entry["url"] == f"{stack.web}/open-data/daily/{y}/{m}/{d}/reports.csv"
    assert entry["size"] == len(daily_csv.content) and entry["rows"] == len(rows)
    assert [i["period"] for i in items] == sorted((i["period"] for i in items), reverse=True)

    # The same day again rewrites none of its reports' files (the units' figures follow the statistics
    # counters, which other tests' reports move meanwhile); a bad day is refused with exit code 1.
    code, out, err = tick_export(stack, "--day", day)
    rewritten = json.loads(out)["written"]
    assert code == 0 and not [k for k in rewritten if "/daily/" in k or "/monthly/" in k], rewritten
    code, out, _ = tick_export(stack, "--day", "2026-02-30")
    assert code == 1 and "error" in json.loads(out)
    assert requests.get(stack.api + "/v1/exports", params={"kind": "weekly"}, timeout=5).status_code == 400


def test_staff_inbox_exports_as_csv_with_bom(stack):
    view = routed_canary_report(stack)
    officer = stack.login(f"officer{view['unit_code'][-2:]}@demo.civicbridge.vn")
    response = requests.get(stack.api + "/v1/staff/inbox/export", params={"status": "routed"},
                            headers=auth(officer), timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="inbox-')
    assert response.content.startswith(b"\xef\xbb\xbf")  # Excel then reads the Vietnamese correctly
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "Mã theo dõi / Tracking code"
    assert view["tracking_code"] in [r[0] for r in rows[1:]]
    assert int(response.headers["X-Export-Rows"]) == len(rows) - 1
    assert CANARY_PHONE not in text and CANARY_EMAIL not in text
    # Citizens may not; a bad filter is the API's 400 with its error shape.
    citizen = stack.login("citizen1@demo.civicbridge.vn")
    assert requests.get(stack.api + "/v1/staff/inbox/export", headers=auth(citizen), timeout=5).status_code == 403
    bad = requests.get(stack.api + "/v1/staff/inbox/export", params={"status": "nope"}, headers=auth(officer), timeout=5)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "unknown_status"
    assert requests.get(stack.api + "/v1/staff/inbox/export", timeout=5).status_code == 401
