"""`make cost`: the AWS calls of one whole report lifecycle on the local stack, priced.

Starts `civic local --fresh --meter` (moto as the embedded AWS, the template deployed, the API and every
function as in `make run`), signs the demo people in, runs one lifecycle to warm every function (not
counted), then runs `--lifecycles` more and reads what the stack's meter counted
(civic_dev.local.meter: every botocore call of the API, the functions and the event sources, and every
request from outside, such as the phone's presigned upload):

    citizen submits with a 12 MP photo (presigned POST) → media function (renditions) → route function
    → officer opens the report and accepts → uploads an evidence photo → resolves → leader approves
    → citizen rates; the stats, notify and send functions run on every event, as in AWS.

Each step waits on POST /_local/settle, so no polling read is counted. Prices come from
bench/prices-ap-southeast-1.json (dated, each with its source). DynamoDB is priced by the capacity
units the meter estimates; Lambda's GB-seconds by a stated model: each invocation's own CPU time
measured here plus AWS_CALL_MS (10 ms) for each AWS call it made, × the function's MemorySize from the
template (the wall time measured here is printed too: moto answers in the same process on a shared
machine, so it is an upper bound); API Gateway per API request. Calls made by the dispatcher's event
sources that Lambda makes for free (DynamoDB Streams reads, the S3 listing that stands in for S3's
notifications) and empty SQS long polls (a fixed cost per month, not per lifecycle) are shown apart
and not priced; scheduled functions that happen to run meanwhile are shown apart too.

    python bench/cost.py [--lifecycles 3] [--channels inbox,push] [--json out.json]

`--channels`: set the citizen's notification channels first (default: the demo's, every channel).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
PRICES = Path(__file__).with_name("prices-ap-southeast-1.json")
# Assumed latency of one DynamoDB / S3 / SQS / SES / SNS call from Lambda in the region (Lambda bills the wait).
AWS_CALL_MS = 10
QUOTAS = [a for q in ("QuotaReportsPerHour", "QuotaReportsPerDay", "QuotaAnonymousReadsPerMinute")
          for a in ("--param", f"{q}=1000000")]
FREE_IN_AWS = {("dynamodb", "DescribeStream"), ("dynamodb", "GetShardIterator"), ("dynamodb", "GetRecords"),
               ("dynamodb", "ListStreams"), ("streams.dynamodb", "DescribeStream"),
               ("streams.dynamodb", "GetShardIterator"), ("streams.dynamodb", "GetRecords")}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop_stack(proc: subprocess.Popen) -> None:
    """Stop a stack from start_stack as Ctrl-C would (it saves nothing with --fresh), killed if it hangs."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def start_stack(state_dir: Path, meter: bool = True) -> tuple[subprocess.Popen, dict]:
    """`civic local --fresh` (with its call meter on) in `state_dir`, on free ports; (process, stack.json)."""
    ports = [str(_free_port()) for _ in range(3)]
    cmd = [sys.executable, "-m", "civic_dev.cli", "local", "--fresh", *(["--meter"] if meter else []), "--api-port", ports[0],
           "--web-port", ports[1], "--aws-port", ports[2], "--state-dir", str(state_dir), "--root", str(ROOT),
           *QUOTAS]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT")}
    log = open(state_dir / "terminal.log", "wb")  # noqa: SIM115 - kept open for the child's life
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env)
    state = state_dir / "stack.json"
    deadline = time.monotonic() + 300
    while not state.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the local stack did not start:\n"
                               + (state_dir / "terminal.log").read_text(errors="replace")[-4000:])
        time.sleep(0.3)
    return proc, json.loads(state.read_text())


class Lifecycle:
    def __init__(self, info: dict) -> None:
        import boto3

        self.info = info
        self.api = info["api_url"]
        self.web = info["web_url"]
        self.http = requests.Session()
        self._cognito = boto3.client("cognito-idp", endpoint_url=info["aws_endpoint_url"], region_name=info["region"])
        self.tokens: dict[str, str] = {}

    def login(self, username: str) -> str:
        if username not in self.tokens:
            password = next(u["password"] for u in self.info["demo_users"] if u["username"] == username)
            auth = self._cognito.initiate_auth(ClientId=self.info["user_pool_client_id"], AuthFlow="USER_PASSWORD_AUTH",
                                               AuthParameters={"USERNAME": username, "PASSWORD": password})
            self.tokens[username] = auth["AuthenticationResult"]["IdToken"]
        return self.tokens[username]

    def settle(self) -> None:
        answer = self.http.post(self.web + "/_local/settle", params={"timeout": 600}, timeout=700).json()
        if not answer["settled"]:
            raise RuntimeError("the dispatcher was still busy after 10 minutes")

    def call(self, method: str, path: str, who: str, expect: int = 200, **kw) -> dict:
        headers = {"Authorization": f"Bearer {self.login(who)}", **kw.pop("headers", {})}
        answer = self.http.request(method, self.api + path, headers=headers, timeout=30, **kw)
        if answer.status_code != expect:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text[:500]}")
        return answer.json()

    def upload(self, slot: dict, photo: bytes) -> None:
        posted = requests.post(slot["url"], data=slot["fields"], files={"file": ("p.jpg", photo, "image/jpeg")},
                               timeout=60)
        if posted.status_code not in (200, 201, 204):
            raise RuntimeError(f"upload: {posted.status_code} {posted.text[:300]}")

    def run(self, photo: bytes, evidence: bytes) -> str:
        from civic_dev.local import demo

        citizen = "citizen1@demo.civicbridge.vn"
        lat, lon = demo.wards()[0]["center"]
        created = self.call("POST", "/v1/reports", citizen, expect=201, headers={"Idempotency-Key": str(uuid.uuid4())},
                            json={"category": "traffic", "description": "Cột điện nằm giữa lòng đường mới mở rộng",
                                  "lat": lat + 0.001, "lon": lon,
                                  "media": [{"content_type": "image/jpeg", "size": len(photo)}]})
        self.upload(created["uploads"][0], photo)
        self.settle()  # media renditions, routing, statistics, notifications
        rid = created["id"]
        view = self.call("GET", f"/v1/reports/{rid}", citizen)
        if view["status"] != "routed":
            raise RuntimeError(f"not routed: {view['status']}")
        n = view["unit_code"][-2:]
        officer, leader = f"officer{n}@demo.civicbridge.vn", f"leader{n}@demo.civicbridge.vn"
        detail = self.call("GET", f"/v1/staff/reports/{rid}", officer)
        accepted = self.call("POST", f"/v1/staff/reports/{rid}/actions", officer,
                             json={"action": "accept", "version": detail["version"]})
        self.settle()
        slots = self.call("POST", f"/v1/staff/reports/{rid}/evidence", officer, expect=201,
                          json={"media": [{"content_type": "image/jpeg", "size": len(evidence)}]})
        slot = slots["uploads"][0]
        self.upload(slot, evidence)
        self.settle()
        detail = self.call("GET", f"/v1/staff/reports/{rid}", officer)
        if not any(m["media_id"] == slot["media_id"] and m["status"] == "ready" for m in detail["media"]):
            raise RuntimeError("the evidence photo is not ready")
        resolved = self.call("POST", f"/v1/staff/reports/{rid}/actions", officer, json={
            "action": "resolve", "version": detail["version"], "evidence": [slot["media_id"]],
            "answer": "Đã di dời cột điện vào lề và hoàn trả mặt đường."})
        self.settle()
        approved = self.call("POST", f"/v1/staff/reports/{rid}/actions", leader,
                             json={"action": "approve", "version": resolved["version"]})
        self.settle()
        rated = self.call("POST", f"/v1/reports/{rid}/rating", citizen, json={"satisfied": True, "stars": 5})
        self.settle()
        if rated["status"] != "closed":
            raise RuntimeError(f"not closed after the rating: {rated['status']}")
        del accepted, approved
        return rid


def photo_12mp(seed: int) -> bytes:
    """A 4032×3024 JPEG with noise and gradients (what a phone sends; about 3 MB)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:3024, 0:4032]
    base = np.stack([(x / 16) % 256, (y / 12) % 256, ((x + y) / 28) % 256], axis=-1)
    noise = rng.normal(0, 18, base.shape)
    img = Image.fromarray(np.clip(base + noise, 0, 255).astype("uint8"), "RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=88)
    return buf.getvalue()


# ------------------------------------------------------------------------------------------ pricing

def _price(prices: dict, name: str) -> float:
    p = prices["prices"][name]
    return p["usd"] / p["per"]


def classify(row: dict) -> str:
    """'lifecycle' (priced), 'free' (event-source reads Lambda makes free of charge, S3's notifications
    stand-in), 'idle' (empty SQS long polls), 'schedule' (scheduled functions that ran meanwhile)."""
    service, op, caller, trigger = row["service"], row["operation"], row["caller"], row["trigger"]
    if trigger in ("Schedule", "ScheduleV2"):
        return "schedule"
    if service in ("streams.dynamodb", "dynamodbstreams") or (service, op) in FREE_IN_AWS:
        return "free"
    if op == "ReceiveMessage (empty)":
        return "idle"
    if caller.startswith("dispatcher-"):  # the event sources, standing in for Lambda's and S3's
        if service == "sqs" and op in ("ReceiveMessage", "DeleteMessage", "DeleteMessageBatch",
                                       "ChangeMessageVisibility", "ChangeMessageVisibilityBatch"):
            return "lifecycle"  # Lambda's SQS pollers make these and they are billed
        if service == "sqs":
            return "idle"  # the local dispatcher's own checks that a queue is empty
        return "free"  # S3 notifications (a listing here), stream reads
    return "lifecycle"


def cost_of(service: str, op: str, calls: float, units: float, prices: dict) -> tuple[float, str]:
    """$ for `calls` calls (and `units` DynamoDB units) of one operation, and what was priced."""
    if service == "dynamodb":
        reads = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
        if op in reads:
            return units * _price(prices, "dynamodb_rru"), f"{units:g} RRU"
        if op in {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}:
            return units * _price(prices, "dynamodb_wru"), f"{units:g} WRU"
        return 0.0, "control plane"
    if service == "s3":
        if op in ("PutObject", "PostObject", "CopyObject", "ListObjects", "ListObjectsV2", "CreateMultipartUpload",
                  "UploadPart", "CompleteMultipartUpload"):
            return calls * _price(prices, "s3_put"), "PUT tier"
        if op in ("DeleteObject", "DeleteObjects"):
            return 0.0, "free"
        return calls * _price(prices, "s3_get"), "GET tier"
    if service == "sqs":
        return calls * _price(prices, "sqs_request"), "requests"
    if service == "sns":
        if op == "Publish":
            return calls * (_price(prices, "sns_publish") + _price(prices, "sns_push_delivery")), "publish + push delivery"
        return 0.0, "not billed per call"
    if service == "email" or service == "ses":
        if op.startswith("Send"):
            return calls * _price(prices, "ses_email"), "emails"
        return 0.0, "not billed per call"
    if service == "secretsmanager":
        return calls * _price(prices, "secrets_api_call"), "API calls"
    if service == "cognito-idp":
        return 0.0, "MAU-billed"
    return 0.0, "not priced"


def report(snapshot: dict, n: int, prices: dict, log_bytes: int, sms: int, memory: dict[str, int]) -> dict:
    rows = defaultdict(lambda: {"calls": 0.0, "units": 0.0})
    apart = defaultdict(float)
    for row in snapshot["calls"]:
        kind = classify(row)
        if kind != "lifecycle":
            apart[(kind, row["service"], row["operation"])] += row["calls"] / n
            continue
        key = (row["service"], row["operation"])
        rows[key]["calls"] += row["calls"] / n
        rows[key]["units"] += row["units"] / n
    lines = []
    total_calls, total_usd = 0.0, 0.0
    by_service: dict[str, float] = defaultdict(float)
    for (service, op), v in sorted(rows.items()):
        usd, what = cost_of(service, op, v["calls"], v["units"], prices)
        if service == "sns" and op == "Publish" and sms:
            what += f" ({sms / n:g} SMS)"
            usd += sms / n * (_price(prices, "sns_sms_vietnam") - _price(prices, "sns_push_delivery"))
        billable = what not in ("MAU-billed", "control plane", "free", "not priced", "not billed per call")
        if billable:
            total_calls += v["calls"]
        total_usd += usd
        by_service[service] += usd
        lines.append({"service": service, "operation": op, "calls": v["calls"], "priced": what, "billable": billable,
                      "usd_per_million": usd * 1e6})
    invocations = [i for i in snapshot["invocations"] if i["trigger"] not in ("Schedule", "ScheduleV2")]
    api = sum(1 for i in invocations if i["trigger"] == "API") / n
    lam = len(invocations) / n
    # Lambda's duration, two ways: the wall time measured here (moto in the same process, a machine that
    # may be busy: an upper bound), and the model priced: the invocation's own CPU time measured here
    # plus AWS_CALL_MS for each AWS call it made (what DynamoDB and S3 take in the region, assumed).
    gb_s_wall = sum(i["duration_ms"] / 1000 * (i["memory_mb"] or memory.get(i["function"], 256)) / 1024
                    for i in invocations) / n
    calls_of: dict[str, float] = defaultdict(float)
    for row in snapshot["calls"]:
        calls_of[row["caller"]] += row["calls"]
    mem_of = {i["function"]: i["memory_mb"] or memory.get(i["function"], 256) for i in invocations}
    cpu_of: dict[str, float] = defaultdict(float)
    for i in invocations:
        cpu_of[i["function"]] += i.get("cpu_ms", i["duration_ms"])
    gb_s = sum((cpu_of[f] + calls_of.get(f, 0) * AWS_CALL_MS) / 1000 * mem_of[f] / 1024 for f in cpu_of) / n
    per_function: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for i in invocations:
        per_function[i["function"]][0] += 1 / n
        per_function[i["function"]][1] += i["duration_ms"] / n
        per_function[i["function"]][2] += i.get("cpu_ms", 0.0) / n
    extra = {
        "apigateway REST requests": api * _price(prices, "apigw_rest_request"),
        "lambda requests": lam * _price(prices, "lambda_request"),
        "lambda GB-s": gb_s * _price(prices, "lambda_gb_second"),
        "cloudwatch logs": log_bytes / n / 1e9 * _price(prices, "logs_ingest_gb"),
    }
    by_service["apigateway"] += extra["apigateway REST requests"]
    by_service["lambda"] += extra["lambda requests"] + extra["lambda GB-s"]
    by_service["logs"] += extra["cloudwatch logs"]
    total_usd += sum(extra.values())
    return {"lifecycles": n, "rows": lines, "billable_calls": total_calls, "api_requests": api,
            "lambda_invocations": lam, "gb_seconds": gb_s, "gb_seconds_wall": gb_s_wall,
            "lambda_gb_s_wall_usd_per_million": gb_s_wall * _price(prices, "lambda_gb_second") * 1e6, "log_bytes": log_bytes / n,
            "per_function": {k: {"invocations": v[0], "ms": v[1], "cpu_ms": v[2]} for k, v in sorted(per_function.items())},
            "extra_usd_per_million": {k: v * 1e6 for k, v in extra.items()},
            "by_service_usd_per_million": {k: v * 1e6 for k, v in sorted(by_service.items(), key=lambda kv: -kv[1])},
            "usd_per_million": total_usd * 1e6,
            "apart": {f"{k} {s} {o}": v for (k, s, o), v in sorted(apart.items())},
            "by_caller": _by_caller(snapshot, n),
            "prices_as_of": prices["as_of"], "region": prices["region"]}


def _by_caller(snapshot: dict, n: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = defaultdict(dict)
    for row in snapshot["calls"]:
        if classify(row) == "lifecycle":
            key = f"{row['service']} {row['operation']}"
            out[row["caller"]][key] = out[row["caller"]].get(key, 0) + row["calls"] / n
    return dict(out)


def print_report(r: dict) -> None:
    print(f"One report lifecycle on the local stack, per lifecycle (mean of {r['lifecycles']}), "
          f"priced at {r['region']} list prices of {r['prices_as_of']} (bench/prices-ap-southeast-1.json)")
    print(f"{'service':<16}{'operation':<26}{'calls':>8}  {'priced as':<34}{'$ / M lifecycles':>18}")
    for row in r["rows"]:
        mark = "" if row["billable"] else "  (not billable per call)"
        print(f"{row['service']:<16}{row['operation']:<26}{row['calls']:>8.1f}  {row['priced']:<34}"
              f"{row['usd_per_million']:>18.2f}{mark}")
    for name, usd in r["extra_usd_per_million"].items():
        print(f"{name:<42}{'':>8}  {'':<34}{usd:>18.2f}")
    print(f"billable AWS calls per lifecycle: {r['billable_calls']:.1f}   (goal ≤ 60)")
    print(f"API requests {r['api_requests']:.1f}, Lambda invocations {r['lambda_invocations']:.1f}, "
          f"{r['gb_seconds']:.3f} GB-s priced (CPU measured + {AWS_CALL_MS} ms a call), "
          f"{r['log_bytes'] / 1024:.1f} KiB of logs")
    print(f"(wall time measured here instead: {r['gb_seconds_wall']:.3f} GB-s, "
          f"${r['lambda_gb_s_wall_usd_per_million']:.2f} per million: moto in-process on a shared machine, an upper bound)")
    print("per function, all its invocations in a lifecycle, wall / CPU: " + ", ".join(
        f"{k} {v['invocations']:g}× {v['ms']:.0f}/{v['cpu_ms']:.0f} ms" for k, v in r["per_function"].items()))
    print("by service, $ per million lifecycles: "
          + ", ".join(f"{k} {v:.2f}" for k, v in r["by_service_usd_per_million"].items()))
    print(f"TOTAL: ${r['usd_per_million']:.2f} per million lifecycles   (goal ≤ $100)")
    print("calls by caller:")
    for who, ops in sorted(r["by_caller"].items()):
        print(f"  {who:<22}{sum(ops.values()):>6.1f}  " + ", ".join(f"{k} {v:g}" for k, v in sorted(ops.items())))
    if r["apart"]:
        print("not per lifecycle, not priced: " + ", ".join(f"{k} {v:g}" for k, v in r["apart"].items()))


def _sms_sent(info: dict, since: int) -> int:
    """SMS the stack handed to SNS (its outbox), for the SMS price: Publish calls do not say."""
    try:
        items = requests.get(info["web_url"] + "/_local/outbox", params={"limit": 10000}, timeout=10).json()
    except (requests.RequestException, ValueError):
        return 0
    messages = items.get("items", []) if isinstance(items, dict) else items
    return sum(1 for m in messages if isinstance(m, dict) and m.get("channel") == "sms") - since


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lifecycles", type=int, default=3)
    parser.add_argument("--channels", help="the citizen's notification channels, comma-separated (default: the demo's)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    prices = json.loads(PRICES.read_text())
    with tempfile.TemporaryDirectory(prefix="civic-cost-") as tmp:
        state_dir = Path(tmp)
        proc, info = start_stack(state_dir)
        try:
            life = Lifecycle(info)
            for user in ("citizen1@demo.civicbridge.vn", "officer01@demo.civicbridge.vn", "leader01@demo.civicbridge.vn"):
                life.login(user)
            if args.channels:
                prefs = life.call("GET", "/v1/me/preferences", "citizen1@demo.civicbridge.vn")
                prefs["channels"] = args.channels.split(",")
                life.call("PUT", "/v1/me/preferences", "citizen1@demo.civicbridge.vn",
                          json={k: v for k, v in prefs.items() if k in ("channels", "language", "phone", "zalo_user_id",
                                                                       "home_unit", "quiet_start", "quiet_end")})
            photos = [photo_12mp(i) for i in range(2 * (args.lifecycles + 1))]
            life.run(photos[0], photos[1])  # warm-up: every function loaded, caches filled
            log = state_dir / "local.log"
            sms_before = _sms_sent(info, 0)
            requests.post(info["web_url"] + "/_local/meter/reset", timeout=10).raise_for_status()
            log_before = log.stat().st_size if log.exists() else 0
            for i in range(args.lifecycles):
                life.run(photos[2 + 2 * i], photos[3 + 2 * i])
            snapshot = requests.get(info["web_url"] + "/_local/meter", timeout=30).json()
            log_bytes = (log.stat().st_size if log.exists() else 0) - log_before
            sms = _sms_sent(info, sms_before)
        finally:
            stop_stack(proc)
    # Lambda adds START/END/REPORT lines (about 350 bytes) to every invocation's log.
    log_bytes += 350 * len(snapshot["invocations"])
    result = report(snapshot, args.lifecycles, prices, log_bytes, max(0, sms), {})
    print_report(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0 if math.isfinite(result["usd_per_million"]) else 1


if __name__ == "__main__":
    sys.exit(main())
