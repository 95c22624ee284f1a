"""`civic local`: the whole system on one machine, as DESIGN.md's "Local equals cloud" describes.

1. moto's ThreadedMotoServer on loopback is the embedded AWS;
2. infra/template.yaml is translated offline and deployed into it (civic_dev.local.deploy);
3. demo data is loaded (civic_dev.local.demo);
4. the Chalice app runs behind LocalGateway, which verifies Cognito JWTs as API Gateway does;
5. web/ is served, with /media/* read from the media bucket (CloudFront's job in AWS);
6. the Dispatcher turns S3 notifications, stream records, queue messages and schedules into
   Lambda events for the handlers in functions/.
It writes .local/stack.json for scripts and tests; Ctrl-C stops everything.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from civic.observability import SERVICE
from civic_dev.local import cognito_front, demo, logcontext, ports

ROOT = Path(__file__).resolve().parents[4]  # the repository (layers/core/civic/local/ → up four)
REGION = "ap-southeast-1"


@dataclass
class StackOptions:
    host: str = "127.0.0.1"
    api_port: int = 8000
    web_port: int = 8080
    aws_port: int = 4566
    state_dir: Path = field(default_factory=lambda: ROOT / ".local")
    root: Path = ROOT
    tracking_prefix: str = "HN"
    seed: bool = True
    demo_reports: int = demo.DEFAULT_REPORTS  # `--demo-reports N`: more demo history (statistics)
    verbose: bool = False  # `--verbose`: the logs stay on the terminal instead of going to local.log
    # `--param Name=Value`: template parameters (e.g. the quotas), as `sam deploy --parameter-overrides`.
    parameters: dict[str, str] = field(default_factory=dict)
    # Tables, objects, users, queues are kept in `state_dir/aws/` across restarts (civic_dev.local.persist);
    # `--fresh` erases what an earlier run kept and starts empty. `keep=False` keeps nothing.
    keep: bool = True
    fresh: bool = False
    # `--profile DIR`: a province's units, boundaries, rules, staff and settings instead of the demo city.
    profile: Path | None = None
    # `--meter`: count every AWS call (civic_dev.local.meter), served at GET /_local/meter (`make cost`).
    meter: bool = False


class AlreadyRunning(RuntimeError):
    pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LocalStack:
    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.state_file = options.state_dir / "stack.json"
        self.lock_file = options.state_dir / "stack.pid"
        self._stoppers: list = []
        self.info: dict = {}

    # ------------------------------------------------------------ start / stop

    def check_not_running(self) -> None:
        if self.lock_file.exists():
            try:
                pid = int(self.lock_file.read_text().strip() or 0)
            except ValueError:
                pid = 0
            if pid and pid != os.getpid() and _pid_alive(pid):
                raise AlreadyRunning(
                    f"A local stack is already running (pid {pid}); see {self.state_file}. "
                    "Stop it with Ctrl-C in its terminal, or `kill {pid}`.".replace("{pid}", str(pid))
                )

    def start(self) -> dict:
        from civic_dev.local.deploy import deploy_stack
        from civic_dev.local.embedded_aws import EmbeddedAWS

        o = self.options
        self.check_not_running()
        # Every port first: a taken one stops the stack now, naming the port and its flag.
        sockets = ports.reserve(o.host, {"AWS": (o.aws_port, "--aws-port"), "API": (o.api_port, "--api-port"),
                                         "web": (o.web_port, "--web-port")})
        for sock in sockets.values():
            self._stoppers.append(sock.close)
        o.state_dir.mkdir(parents=True, exist_ok=True)
        self.lock_file.write_text(str(os.getpid()))
        self._stoppers.append(lambda: self.lock_file.unlink(missing_ok=True))

        endpoint = f"http://{o.host}:{o.aws_port}"
        web_url = f"http://{o.host}:{o.web_port}"
        api_url = f"http://{o.host}:{o.api_port}"
        # Credentials for the embedded AWS only; moto accepts any.
        os.environ.update(
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",
            AWS_DEFAULT_REGION=REGION,
            AWS_REGION=REGION,
            POWERTOOLS_TRACE_DISABLED="true",
            POWERTOOLS_DEV="false",
        )
        os.environ.pop("AWS_PROFILE", None)

        import logging

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
        # One line per function invocation (function, trigger, outcome, duration; never payloads).
        local_log = logging.getLogger("civic_dev.local")
        if not local_log.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
            local_log.addHandler(handler)
            local_log.setLevel(logging.INFO)
        from civic_dev.local.moto_fixes import serialise_dynamodb_writes

        serialise_dynamodb_writes()
        from civic_dev.local import outbox

        outbox.install()  # notes what moto's SES and SNS accept, for `civic local outbox`
        from civic_dev.local.persist import KeptState, stable_ids

        kept = KeptState(o.state_dir, REGION) if o.keep else None
        restoring = False
        if kept is not None:
            restoring = kept.exists() and not o.fresh
            if not restoring:
                kept.erase()  # --fresh, or an earlier first start that never finished seeding
            kept.prepare()
            stable_ids()
        wrap = kept.wrap if kept else None
        if o.meter:
            from civic_dev.local import meter

            meter.install()
            inner = wrap
            wrap = (lambda app: meter.wsgi(inner(app))) if inner else meter.wsgi  # noqa: E731
        moto = EmbeddedAWS(sockets["AWS"], wrap=wrap).start()
        self._stoppers.append(moto.stop)
        if kept is not None:
            self._stoppers.append(kept.close)

        profile = None
        if o.profile is not None:
            from civic_dev.local import profile as profiles

            profile = profiles.load(o.profile)
        started = time.monotonic()
        parameters = {"TrackingPrefix": o.tracking_prefix, **(profile.parameters() if profile else {}), **o.parameters}
        deployed = deploy_stack(endpoint_url=endpoint, region=REGION, parameters=parameters)
        deploy_seconds = time.monotonic() - started
        env = dict(deployed.env)
        env.update(
            AWS_ENDPOINT_URL=endpoint,
            AWS_REGION=REGION,
            STAGE="local",
            MEDIA_BASE_URL=web_url,
            TRACKING_PREFIX=parameters["TrackingPrefix"],
            FEED_DEFAULT_BBOX=parameters.get("FeedDefaultBbox") or ",".join(str(v) for v in demo.CITY_BBOX),
            # Locally a new boundaries upload should take effect at once, not after 30 s.
            INDEX_CHECK_SECONDS="1",
            # Notifications: tracking links to the local web app; Zalo OA messages to its capture endpoint.
            WEB_BASE_URL=web_url,
            ZALO_API_URL=f"{web_url}/_local/zalo",
            ZALO_OAUTH_URL=f"{web_url}/_local/zalo/oauth",
            # Browsers sign in through the gateway's Cognito front, which answers CORS as AWS does.
            COGNITO_ENDPOINT_URL=f"{api_url}{cognito_front.PREFIX}",
        )
        os.environ.update(env)
        from civic.settings import get_settings

        get_settings.cache_clear()

        # The notification sender address is a verified SES identity (in AWS: EmailSenderIdentity).
        import boto3

        boto3.client("ses", endpoint_url=endpoint, region_name=REGION).verify_email_identity(
            EmailAddress=env["EMAIL_SENDER"])
        # The Zalo OA's credentials, as an operator puts them in AWS: the stand-in's app and tokens (the
        # send function reads the secret; ZaloTokenFunction refreshes it through the OAuth stand-in).
        from datetime import UTC, datetime, timedelta

        from civic.clock import iso_utc

        boto3.client("secretsmanager", endpoint_url=endpoint, region_name=REGION).put_secret_value(
            SecretId=env["ZALO_SECRET_ARN"],
            SecretString=json.dumps(outbox.zalo_credentials(iso_utc(datetime.now(UTC) + timedelta(hours=25)))))
        replayed = 0
        if kept is not None:
            queues = [lid for lid, res in deployed.translated.get("Resources", {}).items()
                      if res.get("Type") == "AWS::SQS::Queue"]
            if restoring:
                # the template is deployed into an empty moto as on a first start; then what was kept
                started = time.monotonic()
                replayed, failed = kept.replay(moto.app)
                messages = kept.watch_queues(deployed.physical_ids, queues, restore=True)
                print(f"Restored {replayed} changes ({failed} refused) and {messages} queued messages from "
                      f"{kept.dir} in {time.monotonic() - started:.1f} s (--fresh starts empty)", flush=True)
            else:
                kept.watch_queues(deployed.physical_ids, queues, restore=False)
            kept.open_journal()
        if restoring and kept is not None:
            seeded = kept.load_seed()
            wanted = str(profile.dir) if profile else "demo"
            if seeded.get("source", "demo") != wanted:  # the state is another city's
                from civic_dev.local.profile import ProfileError

                raise ProfileError(f"{kept.dir} holds {seeded.get('source', 'demo')}, not {wanted}: "
                                   "start with --fresh to replace it (or use another --state-dir)")
            logins, open311_api_key = seeded["demo_users"], seeded["open311_api_key"]
        else:
            if profile is not None:
                logins, open311_api_key = profiles.seed(profile, env, endpoint, REGION), None
            else:
                logins = demo.seed(env, endpoint, REGION, o.tracking_prefix, reports=o.demo_reports) if o.seed else []
                open311_api_key = demo.open311_client() if o.seed else None  # the demo Open311 client's key
            if kept is not None:
                kept.save_seed(logins, open311_api_key, str(profile.dir) if profile else "demo")  # from now on a restart restores instead of seeding

        from civic.auth import TokenVerifier
        from civic_dev.local.dispatcher import Dispatcher
        from civic_dev.local.gateway import LocalGateway
        from civic_dev.local.loader import load_chalice_app
        from civic_dev.local.webserver import WebServer

        app = load_chalice_app(o.root / "chalice_app")
        # The pool deployed above, its JWKS on moto; a busy machine may stall moto, so wait longer than AWS.
        verifier = TokenVerifier.from_settings(get_settings(), http_timeout=30)
        gateway = LocalGateway(app, verifier, sock=sockets["API"], aws_endpoint_url=endpoint)
        gateway.start()
        self._stoppers.append(gateway.stop)

        web = WebServer(o.root / "web", sock=sockets["web"], media_bucket=env["MEDIA_BUCKET"],
                        endpoint_url=endpoint, region=REGION, api_url=api_url)
        web.start()
        self._stoppers.append(web.stop)

        dispatcher = Dispatcher(
            deployed.sam,
            template_dir=o.root / "infra",
            physical_ids=deployed.physical_ids,
            stream_arns=deployed.stream_arns,
            endpoint_url=endpoint,
            region=REGION,
            kept=kept,
        )
        logcontext.install(SERVICE)  # each log line names the function that wrote it
        dispatcher.start()
        self._stoppers.append(dispatcher.stop)
        self.dispatcher = dispatcher
        web.server.dispatcher = dispatcher

        self.info = {
            "api_url": api_url,
            "web_url": web_url,
            "aws_endpoint_url": endpoint,
            "region": REGION,
            "user_pool_id": deployed.user_pool_id,
            "user_pool_client_id": deployed.user_pool_client_id,
            "env": env,
            "demo_users": logins,
            "open311_api_key": open311_api_key,
            "pid": os.getpid(),
            "deploy_seconds": round(deploy_seconds, 2),
            "state_file": str(self.state_file),
            "kept_state": str(kept.dir) if kept else None,
            "restored": restoring,
            "replayed": replayed,
        }
        # Atomically: scripts and tests poll for this file and must never read half of it.
        partial = self.state_file.with_suffix(".json.tmp")
        partial.write_text(json.dumps(self.info, indent=2, ensure_ascii=False))
        os.replace(partial, self.state_file)
        self._stoppers.append(lambda: self.state_file.unlink(missing_ok=True))
        return self.info

    def stop(self) -> None:
        while self._stoppers:
            stopper = self._stoppers.pop()
            try:
                stopper()
            except Exception as exc:  # keep stopping the rest
                print(f"while stopping: {exc}", file=sys.stderr)


def banner(info: dict) -> str:
    lines = [
        "",
        "CivicBridge local stack is running — Ctrl-C to stop",
        f"  API        {info['api_url']}   (try {info['api_url']}/v1/health)",
        f"  Web        {info['web_url']}",
        f"  AWS (moto) {info['aws_endpoint_url']}   region {info['region']}",
        f"  User pool  {info['user_pool_id']}   client {info['user_pool_client_id']}",
        f"  State      {info['state_file']} (URLs, ids, demo users)",
        "",
        "Demo logins (all synthetic):",
    ]
    if any(u.get("temporary") for u in info["demo_users"]):  # a profile's staff
        lines[-1] = "Staff logins (temporary passwords: each is asked for a new one at the first sign-in):"
        lines += [f"  {u['username']:<34} {u['password']}  {u['role']}" + (f" unit {u['unit']}" if u["unit"] else "")
                  for u in info["demo_users"]]
        return "\n".join(lines)
    for user in info["demo_users"]:
        if user["role"] in ("citizen", "coordinator", "admin") or user["unit"] == "DEMO-W01":
            unit = f" unit {user['unit']}" if user["unit"] else ""
            lines.append(f"  {user['username']:<34} {user['password']}  {user['role']}{unit}")
    extra = sum(1 for u in info["demo_users"] if u["role"] in ("officer", "leader")) - 2
    if extra > 0:
        lines.append(f"  … and {extra} more officers/leaders (officer02@…, leader02@…), same password")
    return "\n".join(lines)


# Ctrl-C or SIGTERM stops the stack within this many seconds, even while a function is running.
STOP_SECONDS = 8.0


def _logs_to_file(path: Path) -> None:
    """From now on the functions' and the API's JSON logs, their metrics (printed as EMF) and the
    dispatcher's lines go to `path`, so the banner and the demo logins stay on the screen."""
    import logging

    stream = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 - open until the process ends
    terminal = {id(s) for s in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)}
    loggers = [logging.getLogger()] + [lg for lg in logging.Logger.manager.loggerDict.values()
                                       if isinstance(lg, logging.Logger)]
    for lg in loggers:
        for handler in lg.handlers:
            if isinstance(handler, logging.StreamHandler) and id(handler.stream) in terminal:
                handler.setStream(stream)
    sys.stdout = stream


def run_forever(options: StackOptions) -> int:
    from civic_dev.local.profile import ProfileError

    stack = LocalStack(options)
    try:
        info = stack.start()
    except (AlreadyRunning, ports.PortTaken) as exc:
        stack.stop()
        print(f"civic local: {exc}", file=sys.stderr)
        return 2
    except ProfileError as exc:  # a profile's folder or files: which file, and why
        stack.stop()
        print(f"civic local: {exc}", file=sys.stderr)
        return 2
    except BaseException:
        stack.stop()
        raise
    print(banner(info), flush=True)
    if not options.verbose:
        log_file = options.state_dir / "local.log"
        print(f"\nLogs of the functions and the API: {log_file} (`--verbose` shows them here)", flush=True)
        _logs_to_file(log_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    print("\nStopping…", file=sys.stderr, flush=True)
    # A function that is running is not waited for past STOP_SECONDS: Lambda would not wait either.
    # A second Ctrl-C ends at once.
    signal.signal(signal.SIGINT, lambda *_: os._exit(130))
    def give_up() -> None:
        print("civic local: stopped without waiting for the running functions", file=sys.stderr, flush=True)
        stack.lock_file.unlink(missing_ok=True)
        stack.state_file.unlink(missing_ok=True)
        os._exit(1)

    watchdog = threading.Timer(STOP_SECONDS, give_up)
    watchdog.daemon = True
    watchdog.start()
    stack.stop()
    watchdog.cancel()
    return 0
