"""API benchmarks, printed side by side (run with `make bench` or `.venv/bin/python bench/bench_api.py`).

(a) requests/s of ``GET /v1/health`` from ONE keep-alive client (http.client), bounded by
    ``--requests`` and ``--seconds``, against civic's LocalGateway vs ``chalice local``; each
    server runs in its own subprocess on 127.0.0.1 serving chalice_app/app.py (or, when that is
    not there yet, a minimal app with a /v1/health route in a temp project).
(b) import time, in a fresh interpreter, of chalice_app/app.py (via civic_dev.local.loader) vs
    ``import boto3`` alone: median of ``--runs`` subprocesses, timed inside the child with
    perf_counter around the import (interpreter start-up excluded).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from benchlib import against_boto3, child_env

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable

MINIMAL_APP = textwrap.dedent(
    """
    from chalice import Chalice

    app = Chalice(app_name="bench")


    @app.route("/v1/health", methods=["GET"], cors=True)
    def health():
        return {"status": "ok"}
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def project_dir(tmp: Path) -> tuple[Path, str]:
    """The Chalice project to serve: chalice_app/ if complete, else a minimal temp project."""
    real = ROOT / "chalice_app"
    if (real / "app.py").is_file() and (real / ".chalice" / "config.json").is_file():
        return real, "chalice_app/app.py"
    proj = tmp / "bench_app"
    (proj / ".chalice").mkdir(parents=True)
    (proj / "app.py").write_text(MINIMAL_APP)
    (proj / ".chalice" / "config.json").write_text(json.dumps({"version": "2.0", "app_name": "bench"}))
    return proj, "minimal temp app (chalice_app/app.py not found)"


def wait_ready(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/v1/health")
            r = c.getresponse()
            r.read()
            c.close()
            if r.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} not ready after {timeout}s")


def measure_rps(port: int, max_requests: int, max_seconds: float) -> tuple[float, int, float]:
    """(requests/s, requests done, p50 latency ms) over one keep-alive connection."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(5):  # warm-up (connection, caches)
        c.request("GET", "/v1/health")
        r = c.getresponse()
        r.read()
    lat = []
    n = 0
    start = time.perf_counter()
    deadline = start + max_seconds
    while n < max_requests:
        t0 = time.perf_counter()
        if t0 >= deadline:
            break
        c.request("GET", "/v1/health")
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError(f"GET /v1/health answered {r.status}")
        if r.will_close:
            raise RuntimeError("server closed the keep-alive connection")
        lat.append(time.perf_counter() - t0)
        n += 1
    elapsed = time.perf_counter() - start
    c.close()
    return n / elapsed, n, statistics.median(lat) * 1000


def run_server(cmd: list[str], cwd: Path, port: int, max_requests: int, max_seconds: float):
    proc = subprocess.Popen(cmd, cwd=cwd, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ready(port, proc)
        return measure_rps(port, max_requests, max_seconds)
    except Exception:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
        sys.stderr.write(err.decode(errors="replace")[-2000:])
        raise
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def bench_gateway(proj: Path, max_requests: int, max_seconds: float):
    port = free_port()
    code = (
        "from civic_dev.local.loader import load_chalice_app\n"
        "from civic_dev.local.gateway import LocalGateway\n"
        f"LocalGateway(load_chalice_app({str(proj)!r}), None, port={port}).serve_forever()\n"
    )
    return run_server([PY, "-c", code], ROOT, port, max_requests, max_seconds)


def bench_chalice_local(proj: Path, max_requests: int, max_seconds: float):
    port = free_port()
    chalice_bin = Path(PY).parent / "chalice"
    cmd = [str(chalice_bin)] if chalice_bin.exists() else [PY, "-m", "chalice.cli"]
    cmd += ["local", "--host", "127.0.0.1", "--port", str(port), "--no-autoreload"]
    return run_server(cmd, proj, port, max_requests, max_seconds)


def bench_imports(proj: Path, runs: int) -> tuple[float, float]:
    return against_boto3(f"from civic_dev.local.loader import load_chalice_app\nload_chalice_app({str(proj)!r})", runs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000, help="max requests per server (default 2000)")
    ap.add_argument("--seconds", type=float, default=10.0, help="max seconds per server (default 10)")
    ap.add_argument("--runs", type=int, default=5, help="fresh processes per import measurement (default 5)")
    ap.add_argument("--skip-chalice-local", action="store_true")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="civic-bench-"))
    try:
        proj, what = project_dir(tmp)
        print(f"app: {what}   python: {sys.version.split()[0]}   cpus: {os.cpu_count()}")
        print(f"(a) GET /v1/health, one keep-alive client, <= {args.requests} requests or {args.seconds:g} s each")
        gw = bench_gateway(proj, args.requests, args.seconds)
        cl = None if args.skip_chalice_local else bench_chalice_local(proj, args.requests, args.seconds)
        print(f"    {'server':<22}{'req/s':>10}{'requests':>10}{'p50 ms':>10}")
        print(f"    {'civic LocalGateway':<22}{gw[0]:>10.0f}{gw[1]:>10}{gw[2]:>10.2f}")
        if cl is not None:
            print(f"    {'chalice local':<22}{cl[0]:>10.1f}{cl[1]:>10}{cl[2]:>10.2f}")
            print(f"    ratio LocalGateway / chalice local: {gw[0] / cl[0]:.1f}x")

        print(f"(b) import time in a fresh process, median of {args.runs}")
        app_t, boto_t = bench_imports(proj, args.runs)
        print(f"    {'chalice_app/app.py (via civic_dev.local.loader)':<46}{app_t * 1000:>8.1f} ms")
        print(f"    {'import boto3':<46}{boto_t * 1000:>8.1f} ms")
        print(f"    ratio app / boto3: {app_t / boto_t:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
