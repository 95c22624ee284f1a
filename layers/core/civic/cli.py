"""The `civic` command: operators' and developers' entry point."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _local(args: argparse.Namespace) -> int:
    from civic.local.stack import StackOptions, run_forever

    root = Path(args.root).resolve()
    options = StackOptions(
        host="127.0.0.1",
        api_port=args.api_port,
        web_port=args.web_port,
        aws_port=args.aws_port,
        state_dir=Path(args.state_dir).resolve() if args.state_dir else root / ".local",
        root=root,
        tracking_prefix=args.tracking_prefix,
        seed=not args.no_demo,
    )
    return run_forever(options)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="civic", description="CivicBridge operator and developer tools")
    sub = parser.add_subparsers(dest="command", required=True)

    local = sub.add_parser("local", help="run the whole system on this machine (what `make run` does)")
    local.add_argument("--api-port", type=int, default=8000, help="API port (default 8000)")
    local.add_argument("--web-port", type=int, default=8080, help="web app port (default 8080)")
    local.add_argument("--aws-port", type=int, default=4566, help="embedded AWS (moto) port (default 4566)")
    local.add_argument("--state-dir", help="where stack.json is written (default .local/)")
    local.add_argument("--root", default=".", help="the repository root (default: current directory)")
    local.add_argument("--tracking-prefix", default="HN", help="prefix of tracking codes (default HN)")
    local.add_argument("--no-demo", action="store_true", help="start without demo data")
    local.set_defaults(func=_local)

    args = parser.parse_args(argv)
    if args.command == "local" and not (Path(args.root) / "chalice_app" / "app.py").exists():
        parser.error(f"{Path(args.root).resolve()} is not a CivicBridge checkout (no chalice_app/app.py); use --root")
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
