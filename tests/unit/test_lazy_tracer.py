"""The X-Ray tracer is loaded only when tracing is on: with it off, no handler imports aws_xray_sdk
(Powertools' Tracer imports it and builds a botocore client even when disabled); with it on, the real
Tracer is built on the first invocation and wraps the handler. Fresh interpreters: sys.modules is the
evidence."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = ["route", "stats", "notify", "send", "sla", "export", "boundaries", "zalo_token", "media"]

PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("h", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps({"xray": "aws_xray_sdk" in sys.modules}))
"""

TRACED = """
import json, sys
from civic import observability

tracer = observability.tracer()

@tracer.capture_lambda_handler
def handler(event, context):
    return {"answer": event["n"] * 2, "xray_loaded": "aws_xray_sdk" in sys.modules}

class Context:
    function_name = "probe"; function_version = "$LATEST"; aws_request_id = "r1"
    invoked_function_arn = "arn:aws:lambda:ap-southeast-1:123456789012:function:probe"; memory_limit_in_mb = 128

first = handler({"n": 2}, Context())
print(json.dumps({"result": first, "built": tracer.built, "xray": "aws_xray_sdk" in sys.modules}))
"""


def _env(tracing: bool) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("POWERTOOLS_TRACE_DISABLED", "_X_AMZN_TRACE_ID")}
    env.update(AWS_DEFAULT_REGION="ap-southeast-1", AWS_REGION="ap-southeast-1", POWERTOOLS_METRICS_NAMESPACE="T")
    if tracing:  # as Lambda sets them for a function with Tracing: Active
        env.update(AWS_LAMBDA_FUNCTION_NAME="probe",
                   _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                   AWS_XRAY_CONTEXT_MISSING="IGNORE_ERROR", AWS_XRAY_DAEMON_ADDRESS="127.0.0.1:2000")
    else:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


def _run(code: str, *args: str, tracing: bool) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], env=_env(tracing), cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_no_handler_imports_the_xray_sdk_with_tracing_off():
    for name in HANDLERS:
        found = _run(PROBE, str(ROOT / "functions" / name / "handler.py"), tracing=False)
        assert found == {"xray": False}, name  # (Powertools' package itself loads its tracer module, not the SDK)


@pytest.mark.parametrize("tracing", [False, True])
def test_the_tracer_is_built_on_the_first_traced_call_only(tracing):
    found = _run(TRACED, tracing=tracing)
    assert found["result"]["answer"] == 4
    assert found["built"] is tracing and found["xray"] is tracing
    assert found["result"]["xray_loaded"] is tracing  # built before the handler ran, so boto calls are patched
