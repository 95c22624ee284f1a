"""What the benchmarks share: a child environment and fresh-process import timing against boto3.

Imported by the bench scripts from their own folder (Python puts a script's folder on sys.path).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("AWS_DEFAULT_REGION", env.get("AWS_REGION", "ap-southeast-1"))
    env.setdefault("AWS_REGION", env["AWS_DEFAULT_REGION"])
    env.setdefault("AWS_ACCESS_KEY_ID", "testing")
    env.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    env.setdefault("POWERTOOLS_METRICS_NAMESPACE", "CivicBridgeBench")
    for name, value in extra.items():
        env.setdefault(name, value)
    env["PYTHONWARNINGS"] = "ignore"
    return env


def timed_import(code: str, cwd: Path = ROOT) -> float:
    """Seconds that `code` takes in a fresh interpreter (interpreter start-up excluded)."""
    prog = f"import time\nt0 = time.perf_counter()\n{code}\nprint(time.perf_counter() - t0)\n"
    out = subprocess.run([PY, "-c", prog], cwd=cwd, env=child_env(), capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return float(out.stdout.strip().splitlines()[-1])


def against_boto3(code: str, runs: int) -> tuple[float, float]:
    """Median seconds of `code` and of `import boto3`, each in fresh processes, interleaved so
    disk-cache effects hit both alike."""
    ours, boto = [], []
    for _ in range(runs):
        ours.append(timed_import(code))
        boto.append(timed_import("import boto3"))
    return statistics.median(ours), statistics.median(boto)
