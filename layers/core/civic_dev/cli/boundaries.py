"""`civic boundaries import|status|export|history|rollback`: load and keep administrative boundaries.

`import` uploads a GeoJSON FeatureCollection to the config bucket (boundaries/incoming/…), where the
boundaries function validates it and, only if it is clean, switches the routing index to it; the
command waits for that function's verdict and prints it (exit code 1 when the file was refused). The
upload is merged into the published set by unit code (`--replace-all`: it is the whole new set).
`export` writes a published set back as GeoJSON, `history` lists the publications, and `rollback`
makes an earlier one active again.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from civic_dev.cli import target as targets


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "boundaries.geojson"


def _upload_key(path: Path, moment: datetime | None = None) -> str:
    from civic.adapters.s3.routing_index import INCOMING_PREFIX

    stamp = (moment or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{INCOMING_PREFIX}{stamp}-{_safe_name(path.name)}"


def _check_file(path: Path) -> str | None:
    """A problem that makes uploading pointless (checked locally, before any network), or None."""
    from civic.services.boundaries import MAX_UPLOAD_BYTES

    if not path.is_file():
        return f"{path}: no such file"
    size = path.stat().st_size
    if size > MAX_UPLOAD_BYTES:
        return f"{path}: {size} bytes, more than the {MAX_UPLOAD_BYTES} bytes accepted"
    try:
        with path.open("rb") as fh:
            data = json.loads(fh.read().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        return f"{path} is not JSON: not UTF-8 text (byte {exc.start}); GeoJSON expected"
    except json.JSONDecodeError as exc:
        return f"{path} is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; GeoJSON expected"
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        return f'{path} is JSON but not a GeoJSON FeatureCollection ("type": "FeatureCollection" with "features")'
    return None


def _get_json(s3, bucket: str, key: str) -> dict | None:
    from botocore.exceptions import ClientError

    try:
        return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise


def _print_status(status: dict, lang: str, out=None) -> None:
    from civic.services.boundaries import status_lines

    out = out or sys.stdout  # read now: a default bound at import would keep a replaced stream

    counts = status.get("report", {}).get("counts", {})
    outcome = status.get("outcome")
    merged = status.get("merged")
    if outcome == "published":
        print(
            f"OK: {status['source_key']} published as version {status['active_version']} "
            f"({counts.get('admin', 0)} administrative units, {counts.get('agency', 0)} agency areas, "
            f"{counts.get('warnings', 0)} warnings)",
            file=out,
        )
        if merged:
            print(f"  merged by unit code: {merged['added']} added, {merged['replaced']} replaced, "
                  f"{merged['kept']} kept from the previous set (--replace-all replaces the whole set)", file=out)
        elif status.get("mode") == "replace":
            print("  replaced the whole set (--replace-all)", file=out)
    elif outcome == "superseded":
        print(f"OK but not switched: a newer upload is active (version {status['active_version']})", file=out)
    else:
        print(
            f"REFUSED: {status['source_key']}: {counts.get('errors', 0)} problems; "
            f"the routing index in use is unchanged (version {status.get('active_version') or 'none'})",
            file=out,
        )
    for line in status_lines(status, lang):
        print(line, file=out)
    if status.get("report_key"):
        print(f"  report: {status['report_key']}", file=out)


def _config_bucket(args: argparse.Namespace):
    """The target stack and its config bucket (TargetError, reported by `civic`, if there is none)."""
    target = targets.resolve(args)
    bucket = target.env.get("CONFIG_BUCKET")
    if not bucket:
        raise targets.TargetError(f"{target.description} has no config bucket (ConfigBucketName output)")
    return target, bucket


def _import(args: argparse.Namespace) -> int:
    path = Path(args.file)
    problem = _check_file(path)
    if problem:
        return targets.fail(problem)
    target, bucket = _config_bucket(args)
    from civic.adapters.s3.routing_index import STATUS_KEY

    s3 = target.client("s3")
    key = _upload_key(path)
    size = path.stat().st_size
    print(f"uploading {path} ({size} bytes) to s3://{bucket}/{key} ({target.description})", file=sys.stderr)
    from tqdm import tqdm

    mode = "replace" if args.replace_all else "merge"  # read by the boundaries function
    with tqdm(total=size, unit="B", unit_scale=True, unit_divisor=1024, disable=None, file=sys.stderr) as bar:
        s3.upload_file(str(path), bucket, key, Callback=bar.update,
                       ExtraArgs={"ContentType": "application/geo+json", "Metadata": {"mode": mode}})

    print(f"waiting for the boundaries function (up to {args.timeout:g} s)…", file=sys.stderr)
    deadline = time.monotonic() + args.timeout
    while True:
        status = _get_json(s3, bucket, STATUS_KEY)
        if status and status.get("source_key") == key:
            break
        if time.monotonic() >= deadline:
            return targets.fail(
                f"no result for {key} after {args.timeout:g} s; is the boundaries function running? "
                "Check later with `civic boundaries status`"
            )
        time.sleep(args.poll)
    if args.json:
        print(json.dumps(status, ensure_ascii=False, indent=2))
    else:
        _print_status(status, args.lang)
    return 0 if status.get("ok") else 1


def _status(args: argparse.Namespace) -> int:
    target, bucket = _config_bucket(args)
    from civic.adapters.s3.routing_index import POINTER_KEY, STATUS_KEY

    s3 = target.client("s3")
    pointer, status = _get_json(s3, bucket, POINTER_KEY), _get_json(s3, bucket, STATUS_KEY)
    if args.json:
        print(json.dumps({"current": pointer, "last": status}, ensure_ascii=False, indent=2))
        return 0
    if pointer:
        counts = pointer.get("counts", {})
        print(
            f"active version {pointer['version']} built {pointer.get('built_at')} from {pointer.get('source_key')} "
            f"({counts.get('admin', 0)} administrative units, {counts.get('agency', 0)} agency areas)"
        )
    else:
        print("no routing index published yet: load boundaries with `civic boundaries import FILE`")
    if status:
        print(f"last upload {status['source_key']} processed {status.get('processed_at')}:")
        _print_status(status, args.lang)
    return 0


def _store(args: argparse.Namespace):
    from civic.adapters.s3.routing_index import S3BoundaryStore

    target, bucket = _config_bucket(args)
    return S3BoundaryStore(target.client("s3"), bucket)


def _export(args: argparse.Namespace) -> int:
    store = _store(args)
    pointer = store.current()
    if args.version:
        pointer = next((e for e in store.history() if e["version"].startswith(args.version)), None)
    if pointer is None:
        return targets.fail(f"no such version: {args.version}" if args.version else
                            "no boundaries published yet: load them with `civic boundaries import FILE`")
    data = store.collection(pointer)
    if data is None:
        return targets.fail(f"version {pointer['version'][:12]} was published before sets were kept; "
                            "import the boundaries again to keep them")
    if args.output in (None, "-"):
        sys.stdout.write(data.decode("utf-8") + "\n")
    else:
        Path(args.output).write_bytes(data)
        print(f"wrote {args.output}: version {pointer['version'][:12]} ({len(json.loads(data)['features'])} features)",
              file=sys.stderr)
    return 0


def _history(args: argparse.Namespace) -> int:
    store = _store(args)
    entries, current = store.history(), store.current() or {}
    if args.json:
        print(json.dumps({"current": current.get("version"), "items": entries}, ensure_ascii=False, indent=2))
        return 0
    if not entries:
        print("no publications yet")
    for entry in entries:
        counts = entry.get("counts", {})
        active = "*" if entry["version"] == current.get("version") and entry.get("activated_at") == current.get(
            "activated_at") else " "
        what = f"rollback from {entry['rollback_of'][:12]}" if entry.get("rollback_of") else (
            f"{entry.get('mode', 'replace')} of {entry.get('source_key')}")
        print(f"{active} {entry['version'][:12]}  {entry.get('activated_at') or entry['built_at']}  "
              f"{counts.get('admin', 0)} admin, {counts.get('agency', 0)} agency  {what}")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from civic.clock import now_iso

    if len(args.version) < 8:
        return targets.fail("give at least 8 characters of the version (see `civic boundaries history`)")
    store = _store(args)
    try:
        pointer = store.activate(args.version, now_iso())
    except LookupError:
        return targets.fail(f"no publication {args.version} (see `civic boundaries history`)")
    print(f"OK: version {pointer['version'][:12]} (built {pointer['built_at']}) is active again; functions switch "
          "to it within the index check interval")
    return 0


def register(sub) -> None:
    group = sub.add_parser("boundaries", help="load administrative boundaries (GeoJSON) into the routing index")
    commands = group.add_subparsers(dest="boundaries_command", required=True)

    imp = commands.add_parser("import", help="upload a GeoJSON FeatureCollection and wait for the verdict")
    imp.add_argument("file", help="GeoJSON FeatureCollection; each feature has properties.unit_code")
    imp.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the result (default 120)")
    imp.add_argument("--poll", type=float, default=1.0, help=argparse.SUPPRESS)
    imp.add_argument("--lang", choices=("vi", "en"), default="vi", help="language of the problems (default vi)")
    imp.add_argument("--json", action="store_true", help="print the whole result as JSON")
    imp.add_argument("--replace-all", action="store_true",
                     help="the file is the whole new set (default: merge into the published set by unit code)")
    targets.add_arguments(imp)
    imp.set_defaults(func=_import)

    exp = commands.add_parser("export", help="write the published boundaries (or an earlier version) as GeoJSON")
    exp.add_argument("-o", "--output", help="file to write (default: standard output)")
    exp.add_argument("--version", help="a version from `history` (default: the active one)")
    targets.add_arguments(exp)
    exp.set_defaults(func=_export)

    hist = commands.add_parser("history", help="every publication and rollback, newest first (* active)")
    hist.add_argument("--json", action="store_true", help="print as JSON")
    targets.add_arguments(hist)
    hist.set_defaults(func=_history)

    back = commands.add_parser("rollback", help="make an earlier publication active again")
    back.add_argument("version", help="the version (at least 8 characters) from `civic boundaries history`")
    targets.add_arguments(back)
    back.set_defaults(func=_rollback)

    st = commands.add_parser("status", help="the active routing index and the last upload's result")
    st.add_argument("--lang", choices=("vi", "en"), default="vi", help="language of the problems (default vi)")
    st.add_argument("--json", action="store_true", help="print as JSON")
    targets.add_arguments(st)
    st.set_defaults(func=_status)
