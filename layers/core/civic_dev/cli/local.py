"""`civic local` (the whole system on this machine) and `civic token` (sign in to it, for curl)."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC
from pathlib import Path

# `civic local tick <name>` → the function directory and the template's logical id of that schedule.
TICKS = {"sla": ("sla", "SlaFunction"), "export": ("export", "ExportFunction")}


def _tick(args: argparse.Namespace) -> int:
    """`civic local tick sla|export`: fire a schedule of the running local stack now, as EventBridge would."""
    import contextlib
    import json
    import os
    from datetime import datetime

    from civic_dev.local.lambda_runtime import LambdaContext
    from civic_dev.local.loader import load_module

    if len(args.action) != 2 or args.action[0] != "tick" or args.action[1] not in TICKS:
        print("civic local: the actions are `tick sla` (the SLA schedule) and `tick export` (the open data "
              "export) — they fire that schedule now", file=sys.stderr)
        return 2
    folder, logical_id = TICKS[args.action[1]]
    state = Path(args.state_dir or Path(args.root) / ".local") / "stack.json"
    if not state.exists():
        print(f"civic local tick: no running local stack ({state} not found); start one with `make run`", file=sys.stderr)
        return 2
    info = json.loads(state.read_text())
    os.environ.update(info["env"], AWS_ACCESS_KEY_ID="local", AWS_SECRET_ACCESS_KEY="local", POWERTOOLS_TRACE_DISABLED="true")
    # The function's logs and metrics (Powertools writes them to stdout, as Lambda wants) go to stderr
    # here, so stdout is only the result: `civic local tick export | jq` works.
    with contextlib.redirect_stdout(sys.stderr):
        handler = load_module(f"_civic_tick_{folder}", Path(args.root).resolve() / "functions" / folder / "handler.py").handler
    event = {
        "version": "0", "id": "local-tick", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": args.at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": info["region"], "resources": [], "detail": {},
    }
    if folder == "export" and getattr(args, "day", None):  # `--day YYYY-MM-DD`: that day, not the previous one
        event = {"day": args.day}
    context = LambdaContext(f"{logical_id}-local-tick", f"arn:aws:lambda:local:0:function:{folder}", 512, 300)
    with contextlib.redirect_stdout(sys.stderr):
        result = handler(event, context)
    print(json.dumps(result, ensure_ascii=False))
    return 1 if isinstance(result, dict) and result.get("error") else 0


def _local(args: argparse.Namespace) -> int:
    if args.action and args.action[0] == "outbox":
        from civic_dev.cli.outbox import show

        return show(args)
    if args.action:
        return _tick(args)
    from civic_dev.local.stack import StackOptions, run_forever

    root = Path(args.root).resolve()
    if not (root / "chalice_app" / "app.py").exists():
        print(f"civic local: {root} is not a CivicBridge checkout (no chalice_app/app.py); use --root", file=sys.stderr)
        return 2
    parameters = _parameters(args.param or [])
    if parameters is None:
        return 2
    options = StackOptions(
        host="127.0.0.1",
        api_port=args.api_port,
        web_port=args.web_port,
        aws_port=args.aws_port,
        state_dir=Path(args.state_dir).resolve() if args.state_dir else root / ".local",
        root=root,
        tracking_prefix=args.tracking_prefix or (_profile_prefix(args.profile) if args.profile else "HN"),
        seed=not args.no_demo,
        demo_reports=args.demo_reports,
        verbose=args.verbose,
        parameters=parameters,
        fresh=args.fresh,
        profile=Path(args.profile).resolve() if args.profile else None,
        meter=args.meter,
    )
    return run_forever(options)


def _profile_prefix(directory: str) -> str:
    from civic_dev.local.profile import ProfileError, load

    try:
        return load(directory).tracking_prefix
    except ProfileError:
        return "HN"  # the stack reports the profile's problem when it loads it


def _parameters(pairs: list[str]) -> dict[str, str] | None:
    """`--param Name=Value` → {Name: Value}, names checked against the template's Parameters."""
    from civic_dev.local.cfn import load_sam_template

    known = set(load_sam_template().get("Parameters", {}))
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or name not in known:
            print(f"civic local: --param {pair!r}: expected Name=Value with a parameter of infra/template.yaml "
                  f"({', '.join(sorted(known))})", file=sys.stderr)
            return None
        out[name] = value
    return out


def _token(args: argparse.Namespace) -> int:
    """Sign in to the running local stack's user pool and print an ID token (for curl)."""
    import json

    import boto3

    state = Path(args.state_dir or Path(args.root) / ".local") / "stack.json"
    if not state.exists():
        print(f"civic token: no running local stack ({state} not found); start one with `make run`", file=sys.stderr)
        return 2
    info = json.loads(state.read_text())
    password = args.password or next(
        (u["password"] for u in info["demo_users"] if u["username"] == args.user), None
    )
    if password is None:
        print(f"civic token: {args.user} is not a demo user; pass --password", file=sys.stderr)
        return 2
    cognito = boto3.client(
        "cognito-idp", endpoint_url=info["aws_endpoint_url"], region_name=info["region"],
        aws_access_key_id="local", aws_secret_access_key="local",
    )
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        auth = cognito.initiate_auth(
            ClientId=info["user_pool_client_id"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": args.user, "PASSWORD": password},
        )
    except ClientError as exc:
        print(f"civic token: sign-in refused: {exc.response['Error'].get('Message', exc)}", file=sys.stderr)
        return 1
    except BotoCoreError as exc:
        print(f"civic token: the local stack at {info['aws_endpoint_url']} does not answer ({exc}); is it running?", file=sys.stderr)
        return 2
    print(auth["AuthenticationResult"]["IdToken"])
    return 0


def register(sub) -> None:
    local = sub.add_parser("local", help="run the whole system on this machine (what `make run` does); "
                                         "`civic local tick sla` fires the SLA schedule of the running stack now")
    local.add_argument("action", nargs="*", help="`tick sla` / `tick export`: fire the SLA or open data export "
                                                 "schedule now (the stack keeps running)")
    local.add_argument("--json", action="store_true", help="with `outbox`: print JSON")
    local.add_argument("--limit", type=int, help="with `outbox`: at most this many messages (newest first)")
    local.add_argument("--at", help="with `tick sla` / `tick export`: the schedule's time (UTC ISO-8601), to try "
                                    "deadlines ahead of time (export: the day before it)")
    local.add_argument("--day", help="with `tick export`: export this day (YYYY-MM-DD, Asia/Ho_Chi_Minh) "
                                     "instead of the previous one")
    local.add_argument("--api-port", type=int, default=8000, help="API port (default 8000)")
    local.add_argument("--web-port", type=int, default=8080, help="web app port (default 8080)")
    local.add_argument("--aws-port", type=int, default=4566, help="embedded AWS (moto) port (default 4566)")
    local.add_argument("--state-dir", help="where stack.json is written (default .local/)")
    local.add_argument("--root", default=".", help="the repository root (default: current directory)")
    local.add_argument("--tracking-prefix", help="prefix of tracking codes (default HN, or the profile's)")
    local.add_argument("--profile", metavar="DIR", help="start with a province's profile (units, boundaries, rules, "
                       "staff, settings; e.g. examples/dienbien-phu) instead of the demo city")
    local.add_argument("--no-demo", action="store_true", help="start without demo data")
    local.add_argument("--fresh", action="store_true",
                       help="start empty: forget the tables, objects, users and queues an earlier run kept in "
                            "the state dir (aws/); this run's are kept from then on")
    local.add_argument("--verbose", action="store_true", help="keep the functions' and the API's logs on this "
                                                              "terminal (default: <state dir>/local.log)")
    local.add_argument("--demo-reports", type=int, default=27, metavar="N",
                       help="how many demo reports to load (default 27; a few hundred give the statistics a history)")
    local.add_argument("--meter", action="store_true",
                       help="count every AWS call by caller, service and operation (GET /_local/meter on the web "
                            "port; `make cost`)")
    local.add_argument("--param", action="append", metavar="NAME=VALUE",
                       help="override a template parameter, as `sam deploy --parameter-overrides` does "
                            "(repeatable), e.g. --param QuotaReportsPerHour=100")
    local.set_defaults(func=_local)

    token = sub.add_parser("token", help="print an ID token of a user of the running local stack")
    token.add_argument("--user", default="citizen1@demo.civicbridge.vn", help="email (default: the first demo citizen)")
    token.add_argument("--password", help="needed for users that are not demo users")
    token.add_argument("--state-dir", help="where the stack wrote stack.json (default .local/)")
    token.add_argument("--root", default=".", help="the repository root (default: current directory)")
    token.set_defaults(func=_token)

