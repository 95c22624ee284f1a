"""Statistics on the real local stack with 300 demo reports: every /v1/stats endpoint's figures equal
ones recomputed here from the reports' timelines (the Timeline table), independently of
civic.domain.stats; replaying the whole Timeline stream into the stats function leaves them equal;
and who may see what."""

import json
import math
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest
import requests

from civic.domain import stats as core
from tests.e2e.conftest import running_stack

# A hang guard only: a loaded machine may take long to count 300 reports, and that is no failure.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]
ROOT = Path(__file__).resolve().parents[2]
REPORTS = 300
CHILDREN = ["DEMO-EVN", "DEMO-SVHDL"] + [f"DEMO-W{n:02d}" for n in range(1, 10)]
HO_CHI_MINH = timezone(timedelta(hours=7))


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A stack of its own, with a few hundred demo reports (the shared one keeps the default 27)."""
    with running_stack(tmp_path_factory.mktemp("stats-stack"), "--demo-reports", str(REPORTS)) as started:
        yield started


def _timelines(stack) -> dict[str, list[dict]]:
    """Every report's timeline, straight from the Timeline table."""
    from boto3.dynamodb.types import TypeDeserializer

    client = boto3.client("dynamodb", endpoint_url=stack.info["aws_endpoint_url"], region_name=stack.info["region"])
    plain = TypeDeserializer()
    out = defaultdict(list)
    for page in client.get_paginator("scan").paginate(TableName=stack.info["env"]["TIMELINE_TABLE"]):
        for item in page["Items"]:
            event = {k: plain.deserialize(v) for k, v in item.items()}
            out[event["report_id"]].append(event)
    for events in out.values():
        events.sort(key=lambda e: int(e["seq"]))
    return out


def _t(iso):
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _day(iso):
    return _t(iso).astimezone(HO_CHI_MINH).date().isoformat()


def _rate(part, whole):
    return round(part / whole, 4) if whole else None


def recompute(timelines, start, end, unit=None, category=None):
    """The figures straight from the timelines; `unit` counts reports routed to it or below it."""
    f = Counter()
    hours, heat, days_received = [], [[0] * 24 for _ in range(7)], Counter()
    opened = overdue_open = 0
    for events in timelines.values():
        submitted = events[0]
        cat = submitted["data"]["category"]
        if category and cat != category:
            continue
        routed = next((e for e in events if e["type"] == "routed"), None)
        chain = [routed["data"]["unit_code"], "DEMO"] if routed else []
        if unit and unit not in chain:
            continue
        entered = routed if unit else submitted
        if entered is not None:
            opened += 1
            if start <= _day(entered["at"]) <= end:
                f["received"] += 1
                local = _t(entered["at"]).astimezone(HO_CHI_MINH)
                heat[local.weekday()][local.hour] += 1
                days_received[_day(entered["at"])] += 1
        # Overdue and still open now: the SLA's mark, until an event takes it away (core.OVERDUE_CLEARED).
        marked = False
        for e in events:
            marked = e["type"] == "overdue" or (marked and not e["data"].get(core.OVERDUE_CLEARED))
        overdue_open += marked
        for e in events:
            inside = start <= _day(e["at"]) <= end
            if e["type"] in ("resolve", "approve") and (e["type"] == "approve" or e["status"] == "resolved"):
                opened -= 1
                if inside:
                    f["resolved"] += 1
                    f["on_time"] += e["at"] <= routed["data"]["due_at"]
                    hours.append((_t(e["at"]) - _t(submitted["at"])).total_seconds() / 3600)
            elif e["type"] == "refuse":
                opened -= 1
                f["refused"] += inside
            elif inside and e["type"] in ("routed", "overdue"):
                f[e["type"]] += 1
            elif inside and e["type"] == "accept":
                f["accepted"] += 1
            elif inside and e["type"] == "rated":
                f["rated"] += 1
                f["satisfied"] += bool(e["data"]["satisfied"])
    hist = Counter(core.bucket_of(h) for h in hours)
    median = core.percentile(hist, 0.5)
    return {
        **{k: f[k] for k in ("received", "routed", "accepted", "refused", "resolved", "on_time", "overdue", "rated",
                             "satisfied")},
        "transferred": 0,
        "processed_rate": _rate(f["resolved"] + f["refused"], f["received"]),
        "on_time_rate": _rate(f["on_time"], f["resolved"] + overdue_open),
        # No satisfied share (nor index) below the default MIN_RATINGS.
        "satisfied_rate": _rate(f["satisfied"], f["rated"]) if f["rated"] >= core.DEFAULT_MIN_RATINGS else None,
        "handling_hours": {"median": median, "p90": core.percentile(hist, 0.9),
                           "mean": round(sum(hours) / len(hours), 2)} if hours else None,
        "satisfaction_index": core.satisfaction_index(f["satisfied"], f["rated"], f["on_time"], f["resolved"], median,
                                                      overdue_open),
        "open": opened,
        "overdue_open": overdue_open,
        "_heat": heat,
        "_days": days_received,
        "_hours": hours,
    }


def _get(stack, path, token=None, **params):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(stack.api + path, params=params, headers=headers, timeout=30)


def _window():
    today = datetime.now(HO_CHI_MINH).date()
    # Demo histories reach a few days ahead of now (their steps are spread over hours after submission).
    return (today - timedelta(days=60)).isoformat(), (today + timedelta(days=10)).isoformat()


def _summary_matches(stack, timelines, start, end, token=None, **scope):
    answer = _get(stack, "/v1/stats/summary", token, **{"from": start, "to": end, **scope}).json()
    expected = recompute(timelines, start, end, **scope)
    return answer, {k: v for k, v in expected.items() if not k.startswith("_")}


def _all_equal(stack, coordinator):
    """Compare every endpoint with the recomputation; returns the differences (empty: all equal)."""
    timelines = _timelines(stack)
    start, end = _window()
    problems = []

    def check(name, got, want):
        if got != want:
            problems.append((name, got, want))

    for scope in ({}, {"category": "traffic"}, {"unit": "DEMO-W03"}, {"unit": "DEMO", "category": "electricity"}):
        got, want = _summary_matches(stack, timelines, start, end, coordinator if "unit" in scope else None, **scope)
        check(f"summary {scope}", {k: got.get(k) for k in want}, want)

    everything = recompute(timelines, start, end)
    heat = _get(stack, "/v1/stats/heatmap", **{"from": start, "to": end}).json()
    check("heatmap", heat["cells"], everything["_heat"])

    series = _get(stack, "/v1/stats/timeseries", metric="received", interval="week", **{"from": start, "to": end}).json()
    weekly = Counter()
    first = date.fromisoformat(start)
    for day, n in everything["_days"].items():
        monday = date.fromisoformat(day) - timedelta(days=date.fromisoformat(day).weekday())
        weekly[max(monday, first).isoformat()] += n
    check("timeseries", {p["start"]: p["value"] for p in series["points"] if p["value"]}, dict(weekly))

    cats = _get(stack, "/v1/stats/categories", **{"from": start, "to": end}).json()
    for item in cats["items"]:
        want = recompute(timelines, start, end, category=item["category"])["received"]
        check(f"category {item['category']}", (item["count"], item["share"]),
              (want, round(want / everything["received"], 4)))

    units = _get(stack, "/v1/stats/units", coordinator, **{"from": start, "to": end}).json()
    check("units listed", sorted(i["unit"] for i in units["items"]), sorted(CHILDREN))
    for item in units["items"]:
        want = recompute(timelines, start, end, unit=item["unit"])
        hh = want["handling_hours"] or {}
        check(f"unit {item['unit']}", {k: item[k] for k in ("received", "resolved", "on_time_rate", "median_hours",
                                                              "p90_hours", "satisfied_rate", "satisfaction_index")},
              {"received": want["received"], "resolved": want["resolved"], "on_time_rate": want["on_time_rate"],
               "median_hours": hh.get("median"), "p90_hours": hh.get("p90"), "satisfied_rate": want["satisfied_rate"],
               "satisfaction_index": want["satisfaction_index"]})
    indexes = [i["satisfaction_index"] for i in units["items"]]
    check("ranking", indexes, sorted(indexes, key=lambda v: (v is None, -(v or 0))))

    geo = _get(stack, "/v1/stats/map", coordinator, **{"from": start, "to": end}).json()
    # The wards are drawn (a partition of the city); the agencies, whose areas overlap them, are not.
    drawn = {f["properties"]["unit"] for f in geo["features"] if f["geometry"]}
    check("map areas", sorted(drawn), [f"DEMO-W{n:02d}" for n in range(1, 10)])
    for feature in geo["features"]:
        p = feature["properties"]
        want = recompute(timelines, start, end, unit=p["unit"])
        check(f"map {p['unit']}", (p["received"], p["resolved"], p["open"], p["satisfaction_index"], p["colour"]),
              (want["received"], want["resolved"], want["open"], want["satisfaction_index"],
               core.colour(want["satisfaction_index"])))
    return problems, timelines


def _settled(stack, coordinator):
    """Wait until the dispatcher has delivered every stream record (however long a loaded machine takes),
    then return the diff."""
    settled = requests.post(stack.web + "/_local/settle", params={"timeout": 1500}, timeout=1600).json()
    assert settled["settled"], "the dispatcher was still busy"
    return _all_equal(stack, coordinator)


REPLAY = r"""
import json, os, sys
import boto3
from civic_dev.local.lambda_runtime import LambdaContext, jsonable as _jsonable
from civic_dev.local.loader import load_module

info = json.load(open(sys.argv[1]))
os.environ.update(info["env"], AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", POWERTOOLS_TRACE_DISABLED="true")
streams = boto3.client("dynamodbstreams", endpoint_url=info["aws_endpoint_url"], region_name=info["region"])
client = boto3.client("dynamodb", endpoint_url=info["aws_endpoint_url"], region_name=info["region"])
arn = client.describe_table(TableName=info["env"]["TIMELINE_TABLE"])["Table"]["LatestStreamArn"]
handler = load_module("_replay_stats", sys.argv[2]).handler
records = []
for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    while it:
        page = streams.get_records(ShardIterator=it, Limit=1000)
        for r in page["Records"]:
            r["dynamodb"].pop("ApproximateCreationDateTime", None)
            records.append({**_jsonable(r), "eventSource": "aws:dynamodb", "eventSourceARN": arn})
        it = page.get("NextShardIterator") if page["Records"] else None
failures = []
for start in range(0, len(records), 100):
    result = handler({"Records": records[start:start + 100]}, LambdaContext("stats-replay", "arn:aws:lambda:local:0:function:stats", 256, 300))
    failures += result.get("batchItemFailures", [])
print(json.dumps({"records": len(records), "failures": len(failures)}))
"""


def test_every_endpoint_equals_the_timelines_and_a_replay_changes_nothing(stack, tmp_path):
    coordinator = stack.login("coordinator@demo.civicbridge.vn")
    problems, timelines = _settled(stack, coordinator)
    assert len(timelines) == REPORTS
    assert problems == []
    start, end = _window()
    summary = _get(stack, "/v1/stats/summary", **{"from": start, "to": end}).json()
    assert summary["received"] == REPORTS and summary["rated"] > 0 and summary["resolved"] > 0
    assert summary["handling_hours"]["median"] > 0

    # Replay the whole Timeline stream into the stats function: every event is already counted.
    script = tmp_path / "replay.py"
    script.write_text(REPLAY)
    out = subprocess.run([sys.executable, str(script), str(stack.state_dir / "stack.json"),
                          str(ROOT / "functions" / "stats" / "handler.py")],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    replayed = json.loads(out.stdout.strip().splitlines()[-1])
    assert replayed["records"] >= sum(len(t) for t in timelines.values()) and replayed["failures"] == 0
    after, _ = _all_equal(stack, coordinator)
    assert after == [], after
    assert _get(stack, "/v1/stats/summary", **{"from": start, "to": end}).json()["received"] == REPORTS


def test_who_sees_what(stack):
    start, end = _window()
    public = _get(stack, "/v1/stats/summary")
    assert public.status_code == 200 and "received" in public.json()
    assert _get(stack, "/v1/stats/summary", unit="DEMO-W01").status_code == 401
    assert _get(stack, "/v1/stats/units").status_code == 401
    officer = stack.login("officer01@demo.civicbridge.vn")
    leader = stack.login("leader01@demo.civicbridge.vn")
    citizen = stack.login("citizen1@demo.civicbridge.vn")
    admin = stack.login("admin@demo.civicbridge.vn")
    assert _get(stack, "/v1/stats/summary", leader, unit="DEMO-W01").status_code == 200
    assert _get(stack, "/v1/stats/summary", officer, unit="DEMO-W01").status_code == 200
    denied = _get(stack, "/v1/stats/summary", leader, unit="DEMO-W02")
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    assert _get(stack, "/v1/stats/units", leader).status_code == 403  # the city is above a ward leader
    assert _get(stack, "/v1/stats/map", citizen).status_code == 403
    assert _get(stack, "/v1/stats/units", leader, unit="DEMO-W01").json()["items"] == []  # a ward has no children
    assert _get(stack, "/v1/stats/map", admin).status_code == 200
    bad = _get(stack, "/v1/stats/timeseries", metric="everything")
    assert bad.status_code == 400 and bad.json()["error"]["fields"]["metric"]
    assert _get(stack, "/v1/stats/summary", **{"from": "2026-02-30"}).status_code == 400
    assert _get(stack, "/v1/stats/summary", unit="NOWHERE", **{"from": start, "to": end}).status_code == 404
    # Public answers carry no personal data: no ids of people, only codes and counts.
    text = json.dumps(_get(stack, "/v1/stats/summary").json()) + json.dumps(_get(stack, "/v1/stats/heatmap").json())
    assert "@" not in text and "citizen" not in text
    assert math.isclose(sum(i["share"] for i in _get(stack, "/v1/stats/categories").json()["items"]), 1.0, abs_tol=0.01)
