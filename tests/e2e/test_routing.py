"""Geo-routing on the running local stack: boundaries upload, rules, triage, units API, admin,
nearby reports, duplicates and following — over HTTP and through the `civic` command."""

import json
import subprocess
import sys
import time
import uuid

import pytest
import requests

from civic_dev.local import demo
from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e


def civic(stack, *args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "civic_dev.cli", *args, "--state-dir", str(stack.state_dir)],
        capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )


def auth(token, **extra):
    return {"Authorization": f"Bearer {token}", **extra}


# The answers the categories' required questions need (GET /v1/categories).
ANSWERS = {"electricity": {"live_wire": "no"}}


def submit(stack, token, lat, lon, category="traffic", description="Ổ gà giữa đường"):
    body = {"category": category, "description": description, "lat": lat, "lon": lon}
    if category in ANSWERS:
        body["answers"] = ANSWERS[category]
    res = requests.post(
        stack.api + "/v1/reports",
        json=body,
        headers=auth(token, **{"Idempotency-Key": str(uuid.uuid4())}),
        timeout=10,
    )
    assert res.status_code == 201, res.text
    return res.json()["id"]


def settled(stack, token, report_id):
    return stack.wait_for(
        lambda: requests.get(f"{stack.api}/v1/reports/{report_id}", headers=auth(token), timeout=5).json(),
        lambda view: view["status"] != "submitted", poll=0.2)


def mirrored_wards() -> dict:
    """The demo wards with their codes mirrored (W01↔W09, ...): a visibly different routing."""
    collection = demo.boundaries_geojson()
    for feature in collection["features"]:
        code = feature["properties"]["unit_code"]
        if code.startswith("DEMO-W"):
            feature["properties"]["unit_code"] = f"DEMO-W{10 - int(code[-2:]):02d}"
    return collection


@pytest.fixture(scope="module")
def citizen(stack):
    return stack.login("citizen1@demo.civicbridge.vn")


@pytest.fixture(scope="module")
def uploaded(stack, tmp_path_factory):
    """Upload the mirrored wards with `civic boundaries import`, as an operator would."""
    path = tmp_path_factory.mktemp("geo") / "wards.geojson"
    path.write_text(json.dumps(mirrored_wards(), ensure_ascii=False))
    done = civic(stack, "boundaries", "import", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    status = civic(stack, "boundaries", "status")
    assert status.returncode == 0
    time.sleep(1.5)  # INDEX_CHECK_SECONDS=1 locally: the functions notice the new version
    return done.stdout + status.stdout


def test_report_is_routed_to_the_ward_of_the_new_boundaries_with_deadlines(stack, citizen, uploaded):
    w01 = demo.wards()[0]  # the south-west ward's square, now coded DEMO-W09
    lat, lon = w01["center"]
    view = settled(stack, citizen, submit(stack, citizen, lat, lon))
    assert view["status"] == "routed" and view["unit_code"] == "DEMO-W09"
    assert view["accept_due_at"] > view["created_at"] and view["due_at"] > view["accept_due_at"]
    tracked = requests.get(f"{stack.api}/v1/track/{view['tracking_code']}", timeout=5).json()
    routed = next(e for e in tracked["timeline"] if e["type"] == "routed")
    assert routed["data"]["unit_code"] == "DEMO-W09" and routed["data"]["due_at"] == view["due_at"]


def test_electricity_goes_to_the_power_company(stack, citizen, uploaded):
    lat, lon = demo.wards()[4]["center"]
    view = settled(stack, citizen, submit(stack, citizen, lat + 0.003, lon, category="electricity",
                                          description="Cột điện nằm giữa đường sau khi mở rộng"))
    assert view["status"] == "routed" and view["unit_code"] == "DEMO-EVN"


def test_outside_every_boundary_goes_to_triage(stack, citizen, uploaded):
    view = settled(stack, citizen, submit(stack, citizen, 10.7769, 106.7009))  # inside Vietnam, outside the city
    assert view["status"] == "needs_triage" and view["unit_code"] is None


def test_broken_geojson_is_refused_per_feature_and_the_old_index_stays(stack, citizen, uploaded, tmp_path):
    before = requests.get(stack.api + "/v1/units/locate", params={"lat": 20.995, "lon": 105.80}, timeout=5).json()
    broken = mirrored_wards()
    broken["features"][0]["geometry"]["coordinates"] = [[[105.78, 20.98], [105.82, 21.01], [105.82, 20.98], [105.78, 21.01], [105.78, 20.98]]]
    broken["features"][1]["properties"]["unit_code"] = "NO-SUCH-UNIT"
    path = tmp_path / "broken.geojson"
    path.write_text(json.dumps(broken))
    done = civic(stack, "boundaries", "import", str(path))
    assert done.returncode == 1
    out = done.stdout + done.stderr
    assert "NO-SUCH-UNIT" in out and "tự cắt nhau" in out  # per feature, in Vietnamese by default
    time.sleep(1.5)
    after = requests.get(stack.api + "/v1/units/locate", params={"lat": 20.995, "lon": 105.80}, timeout=5).json()
    assert after["admin_unit"]["code"] == before["admin_unit"]["code"] == "DEMO-W09"
    view = settled(stack, citizen, submit(stack, citizen, 20.995, 105.80))
    assert view["unit_code"] == "DEMO-W09"


def test_locate_and_unit_with_boundary(stack, uploaded):
    lat, lon = demo.wards()[4]["center"]
    located = requests.get(stack.api + "/v1/units/locate", params={"lat": lat, "lon": lon, "category": "electricity"}, timeout=5).json()
    assert located["admin_unit"]["code"] == "DEMO-W05" and located["handler"]["code"] == "DEMO-EVN"
    assert located["basis"] == "boundary_rule" and located["rule_id"] == "electricity-to-evn"
    culture = requests.get(stack.api + "/v1/units/locate", params={"lat": lat, "lon": lon, "category": "culture_tourism"}, timeout=5).json()
    assert culture["handler"]["code"] == "DEMO-SVHDL" and culture["basis"] == "ancestor_rule"
    unit = requests.get(stack.api + "/v1/units/DEMO-W05", timeout=5).json()
    assert unit["parent_code"] == "DEMO" and unit["ancestors"] == ["DEMO"]
    assert unit["boundary"]["geometry"]["type"] == "Polygon"
    assert requests.get(stack.api + "/v1/units/NOPE", timeout=5).status_code == 404
    bad = requests.get(stack.api + "/v1/units/locate", params={"lat": "abc", "lon": 105}, timeout=5)
    assert bad.status_code == 400 and "lat" in bad.json()["error"]["fields"]


def test_admin_manages_units_and_rules_others_cannot(stack, uploaded):
    admin = stack.login("admin@demo.civicbridge.vn")
    officer = stack.login("officer01@demo.civicbridge.vn")
    unit = {"code": "DEMO-WATER", "name_vi": "Công ty Cấp nước (tổng hợp)", "name_en": "Water Company (synthetic)",
            "kind": "company", "parent_code": "DEMO", "categories": ["livelihood"], "contact": {"phone": "1900 1111"}}
    assert requests.post(stack.api + "/v1/admin/units", json=unit, headers=auth(officer), timeout=5).status_code == 403
    assert requests.get(stack.api + "/v1/admin/rules", timeout=5).status_code == 401
    created = requests.post(stack.api + "/v1/admin/units", json=unit, headers=auth(admin), timeout=5)
    assert created.status_code == 201, created.text
    again = requests.post(stack.api + "/v1/admin/units", json={**unit, "name_vi": "khác"}, headers=auth(admin), timeout=5)
    assert again.status_code == 409  # POST creates; it never overwrites an existing unit
    ward_as_area = {"id": "bad", "category": "traffic", "scope": "boundary", "target": "DEMO-W05"}
    assert requests.post(stack.api + "/v1/admin/rules", json=ward_as_area, headers=auth(admin), timeout=5).status_code == 400
    rule = {"id": "water-w05", "category": "livelihood", "scope": "unit", "where": "DEMO-W05", "target": "DEMO-WATER"}
    assert requests.post(stack.api + "/v1/admin/rules", json=rule, headers=auth(admin), timeout=5).status_code == 201
    lat, lon = demo.wards()[4]["center"]
    located = requests.get(stack.api + "/v1/units/locate", params={"lat": lat, "lon": lon, "category": "livelihood"}, timeout=5).json()
    assert located["handler"]["code"] == "DEMO-WATER" and located["rule_id"] == "water-w05"
    # Bad data is refused with the fields named; a unit still referred to cannot be deleted.
    bad = requests.post(stack.api + "/v1/admin/rules", json={**rule, "id": "x", "target": "GHOST"}, headers=auth(admin), timeout=5)
    assert bad.status_code == 400 and "rules.x.target" in bad.json()["error"]["fields"]
    bad_unit = requests.post(stack.api + "/v1/admin/units", json={**unit, "kind": "castle"}, headers=auth(admin), timeout=5)
    assert bad_unit.status_code == 400 and "kind" in bad_unit.json()["error"]["fields"]
    in_use = requests.delete(stack.api + "/v1/admin/units/DEMO-WATER", headers=auth(admin), timeout=5)
    assert in_use.status_code == 409
    assert requests.delete(stack.api + "/v1/admin/rules/water-w05", headers=auth(admin), timeout=5).status_code == 200
    assert requests.delete(stack.api + "/v1/admin/units/DEMO-WATER", headers=auth(admin), timeout=5).status_code == 200
    rules = requests.get(stack.api + "/v1/admin/rules", headers=auth(admin), timeout=5).json()["items"]
    assert {r["id"] for r in rules} == {"electricity-to-evn", "culture-to-svhdl"}


def test_nearby_duplicates_and_following(stack, citizen, uploaded):
    lat, lon = 21.0601, 105.7901
    first = settled(stack, citizen, submit(stack, citizen, lat, lon, category="environment", description="Rác ùn ứ"))
    other = stack.login("citizen2@demo.civicbridge.vn")
    # Before submitting, the second citizen sees the open report nearby...
    near = requests.get(stack.api + "/v1/reports/nearby", params={"lat": lat + 0.0001, "lon": lon, "category": "environment"}, timeout=5).json()
    assert first["id"] in [r["id"] for r in near["items"]] and near["items"][0]["distance_m"] < 50
    # ...submits anyway: a probable duplicate, flagged but routed and public.
    second = settled(stack, other, submit(stack, other, lat + 0.0001, lon, category="environment", description="Rác"))
    assert second["duplicate_of"] == first["id"] and second["status"] == "routed"
    # ...or follows the first one instead.
    followed = requests.post(f"{stack.api}/v1/reports/{first['id']}/follow", headers=auth(other), timeout=5)
    assert followed.status_code == 200 and followed.json()["followers"] == 1
    again = requests.post(f"{stack.api}/v1/reports/{first['id']}/follow", headers=auth(other), timeout=5)
    assert again.json()["followers"] == 1
    public = requests.get(f"{stack.api}/v1/reports/{first['id']}", timeout=5).json()
    assert public["followers"] == 1
    own = requests.post(f"{stack.api}/v1/reports/{first['id']}/follow", headers=auth(citizen), timeout=5)
    assert own.status_code == 409
    gone = requests.delete(f"{stack.api}/v1/reports/{first['id']}/follow", headers=auth(other), timeout=5)
    assert gone.json()["followers"] == 0


def test_units_export_import_round_trip_and_refusal(stack, tmp_path):
    exported = tmp_path / "units.csv"
    done = civic(stack, "units", "export", "--format", "csv", "-o", str(exported))
    assert done.returncode == 0, done.stderr
    text = exported.read_text()
    assert "DEMO-W05" in text and "DEMO-EVN" in text
    assert civic(stack, "units", "import", str(exported)).returncode == 0
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"units": [
        {"code": "NEW-1", "name_vi": "Mới", "name_en": "New", "kind": "ward", "parent_code": "NOWHERE"},
        {"code": "bad code", "name_vi": "", "name_en": "x", "kind": "ward"},
    ]}))
    refused = civic(stack, "units", "import", str(broken))
    assert refused.returncode == 1 and "NOWHERE" in refused.stderr and "nothing was written" in refused.stderr
    after = civic(stack, "units", "export")
    assert "NEW-1" not in after.stdout
