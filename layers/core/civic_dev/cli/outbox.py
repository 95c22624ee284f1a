"""`civic local outbox [--json] [--limit N]`: what the running local stack sent, newest first."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def fetch(info: dict, limit: int | None = None) -> list[dict]:
    """GET <web>/_local/outbox of the running stack (its moto backends live in that process)."""
    import urllib.request

    url = info["web_url"].rstrip("/") + "/_local/outbox" + (f"?limit={int(limit)}" if limit else "")
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())["items"]


def show(args: argparse.Namespace) -> int:
    state = Path(args.state_dir or Path(args.root) / ".local") / "stack.json"
    if not state.exists():
        print(f"civic local outbox: no running local stack ({state} not found); start one with `make run`", file=sys.stderr)
        return 2
    info = json.loads(state.read_text())
    try:
        items = fetch(info, args.limit)
    except OSError as exc:
        print(f"civic local outbox: the local stack at {info['web_url']} does not answer ({exc})", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"count": len(items), "items": items}, ensure_ascii=False, indent=2))
        return 0
    for i in items:
        text = " ".join((i.get("text") or "").split())
        print(f"{i['at']}  {i['channel']:<5}  {i['recipient']}  {(i.get('title') or '')[:60]}  | {text[:100]}")
    print(f"{len(items)} message(s)")
    return 0
