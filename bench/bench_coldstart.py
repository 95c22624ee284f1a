"""Cold start = import + the first real call, of the API and each handler, against `import boto3` + a
first DynamoDB call (the strongest fair reference: any function must at least do that).

Starts the local stack (`civic local --fresh`, moto with the template and the demo city), then, in fresh
interpreters with the functions' environment, times from before the first import to the end of the
first answer:

    reference  import boto3; boto3.client("dynamodb").get_item(a demo report)
    api        chalice_app/app.py loaded as the local stack loads it; GET /v1/reports (the public feed)
    route      functions/route/handler.py; a Timeline stream record of a `submitted` event
    stats      functions/stats/handler.py; a Timeline stream record (an `accept` event)
    notify     functions/notify/handler.py; the same record
    sla        functions/sla/handler.py; a scheduled event (one sweep)

Runs are interleaved (reference, target, reference, target, …) so the machine's load hits both alike.
CPU time of the child (time.process_time: moto's work in the stack's process is not in it) and wall
time; medians with the spread (min–max). Tracing is off, as in the local stack and in Lambda without
X-Ray (Powertools' switch).

    python bench/bench_coldstart.py [--runs 7] [--targets api,route,...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import child_env
from cost import start_stack, stop_stack

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

CLOCK = "import time as _t\n_w0 = _t.perf_counter(); _c0 = _t.process_time()\n"
DONE = "import json as _j\nprint(_j.dumps([_t.perf_counter() - _w0, _t.process_time() - _c0]))\n"
CONTEXT = """
class _Ctx:
    function_name = "bench"; function_version = "$LATEST"; aws_request_id = "00000000-0000-0000-0000-000000000001"
    invoked_function_arn = "arn:aws:lambda:ap-southeast-1:123456789012:function:bench"; memory_limit_in_mb = 256
    log_group_name = "/aws/lambda/bench"; log_stream_name = "bench"
    def get_remaining_time_in_millis(self): return 30000
"""

REFERENCE = CLOCK + """
import os, json
import boto3
boto3.client("dynamodb").get_item(TableName=os.environ["REPORTS_TABLE"], Key=json.loads(os.environ["BENCH_KEY"]))
""" + DONE

HANDLER = CLOCK + """
import importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("handler", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
""" + CONTEXT + """
answer = module.handler(json.loads(os.environ["BENCH_EVENT"]), _Ctx())
if isinstance(answer, dict) and answer.get("batchItemFailures"):
    raise SystemExit(f"the handler failed: {answer}")
""" + DONE

API = CLOCK + """
import json, os, sys
from pathlib import Path
from civic_dev.local.loader import load_chalice_app
app = load_chalice_app(Path(sys.argv[1]))
""" + CONTEXT + """
answer = app(json.loads(os.environ["BENCH_EVENT"]), _Ctx())
if answer["statusCode"] != 200:
    raise SystemExit(f"the API answered {answer['statusCode']}: {answer.get('body', '')[:300]}")
""" + DONE


def api_event() -> dict:
    path = "/v1/reports"
    return {"resource": path, "path": path, "httpMethod": "GET", "headers": {"Accept-Language": "vi"},
            "multiValueHeaders": {"Accept-Language": ["vi"]}, "queryStringParameters": None,
            "multiValueQueryStringParameters": None, "pathParameters": None, "stageVariables": None,
            "requestContext": {"resourcePath": path, "httpMethod": "GET", "path": "/api" + path, "stage": "api",
                               "requestId": "bench", "identity": {"sourceIp": "127.0.0.1", "userAgent": "bench"}},
            "body": None, "isBase64Encoded": False}


def stream_event(item: dict, keys: list[str], arn: str) -> dict:
    return {"Records": [{
        "eventID": "1", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "ap-southeast-1",
        "dynamodb": {"ApproximateCreationDateTime": int(time.time()), "Keys": {k: item[k] for k in keys},
                     "NewImage": item, "SequenceNumber": "100000000000000000001", "SizeBytes": 300,
                     "StreamViewType": "NEW_IMAGE"},
        "eventSourceARN": arn}]}


def schedule_event() -> dict:
    return {"version": "0", "id": "bench", "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": "ap-southeast-1", "resources": [], "detail": {}}


def prepare(info: dict) -> tuple[dict[str, str], dict[str, tuple[list[str], dict]]]:
    """The functions' environment and, per target, (argv, extra env)."""
    import boto3

    env = child_env(**{k: str(v) for k, v in info["env"].items()})
    env.update(AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", AWS_REGION=info["region"],
               AWS_DEFAULT_REGION=info["region"], POWERTOOLS_TRACE_DISABLED="true")
    ddb = boto3.client("dynamodb", endpoint_url=info["aws_endpoint_url"], region_name=info["region"],
                       aws_access_key_id="local", aws_secret_access_key="local")
    reports = info["env"]["REPORTS_TABLE"]
    key_names = [k["AttributeName"] for k in ddb.describe_table(TableName=reports)["Table"]["KeySchema"]]
    report = ddb.scan(TableName=reports, Limit=1)["Items"][0]
    env["BENCH_KEY"] = json.dumps({k: report[k] for k in key_names})
    timeline = info["env"]["TIMELINE_TABLE"]
    described = ddb.describe_table(TableName=timeline)["Table"]
    tkeys = [k["AttributeName"] for k in described["KeySchema"]]
    arn = described.get("LatestStreamArn") or described["TableArn"] + "/stream/bench"
    items = ddb.scan(TableName=timeline)["Items"]
    by_type: dict[str, dict] = {}
    for item in items:
        by_type.setdefault(item.get("type", {}).get("S", ""), item)
    submitted = by_type["submitted"]
    accepted = by_type.get("accept") or by_type.get("route") or submitted
    fn = ROOT / "functions"
    targets = {
        "api": ([API, str(ROOT / "chalice_app")], {"BENCH_EVENT": json.dumps(api_event())}),
        "route": ([HANDLER, str(fn / "route" / "handler.py")], {"BENCH_EVENT": json.dumps(stream_event(submitted, tkeys, arn))}),
        "stats": ([HANDLER, str(fn / "stats" / "handler.py")], {"BENCH_EVENT": json.dumps(stream_event(accepted, tkeys, arn))}),
        "notify": ([HANDLER, str(fn / "notify" / "handler.py")], {"BENCH_EVENT": json.dumps(stream_event(accepted, tkeys, arn))}),
        "sla": ([HANDLER, str(fn / "sla" / "handler.py")], {"BENCH_EVENT": json.dumps(schedule_event())}),
    }
    return env, targets


def run_child(code_and_args: list[str], env: dict[str, str]) -> tuple[float, float]:
    out = subprocess.run([PY, "-c", *code_and_args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:] or out.stdout[-3000:])
    wall, cpu = json.loads(out.stdout.strip().splitlines()[-1])
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description="cold start: import + first real call vs import boto3 + a first call")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--targets", default="api,route,stats,notify,sla")
    args = parser.parse_args()
    names = args.targets.split(",")
    with tempfile.TemporaryDirectory(prefix="civic-cold-") as tmp:
        proc, info = start_stack(Path(tmp), meter=False)
        try:
            env, targets = prepare(info)
            ref: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
            ours: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
            for _ in range(args.runs):
                for n in names:  # A B A B: the reference beside each target, every round
                    ref[n].append(run_child([REFERENCE], env))
                    argv, extra = targets[n]
                    ours[n].append(run_child(argv, {**env, **extra}))
        finally:
            stop_stack(proc)

    def fmt(values: list[float]) -> str:
        ms = [v * 1000 for v in values]
        return f"{statistics.median(ms):7.1f} ({min(ms):.0f}–{max(ms):.0f})"

    print(f"Cold start: import + first real call, fresh interpreter, median (min–max) of {args.runs}, interleaved; ms")
    print(f"{'target':<8}{'CPU ours':>22}{'CPU boto3+call':>22}{'ratio':>8}{'wall ours':>22}{'wall boto3+call':>22}{'ratio':>8}")
    for n in names:
        cpu_o, cpu_r = [c for _, c in ours[n]], [c for _, c in ref[n]]
        wall_o, wall_r = [w for w, _ in ours[n]], [w for w, _ in ref[n]]
        print(f"{n:<8}{fmt(cpu_o):>22}{fmt(cpu_r):>22}{statistics.median(cpu_o) / statistics.median(cpu_r):>7.2f}x"
              f"{fmt(wall_o):>22}{fmt(wall_r):>22}{statistics.median(wall_o) / statistics.median(wall_r):>7.2f}x")
    print("goal: ≤ 1.0x for every target (issue #21)")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
