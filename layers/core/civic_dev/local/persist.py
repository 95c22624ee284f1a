"""What the local stack keeps across a restart (and a `kill -9`): `civic local` without `--fresh`.

moto keeps everything in memory. The local stack keeps it in its state directory (`<state-dir>/aws/`):

``journal.jsonl``
    Every request that changed DynamoDB items, S3 objects or Cognito users, in the order moto applied
    it, as moto's own recorder (``moto.moto_api.recorder``) writes it: method, path, headers and body,
    one JSON line each. Unlike that recorder, it keeps only changes that moto accepted (2xx), not reads,
    and it is written under one lock together with applying the request, so the journal's order is the
    order in which moto applied the writes (the order of the DynamoDB stream records, too). Each line
    is written and flushed before moto's answer goes out: a `kill -9` loses nothing that was answered.
    Cognito sign-ins hand out random tokens and sessions; the journal notes the ones moto issued
    (``cognito`` lines) and puts them back on replay, so refresh tokens, access tokens and sessions of
    a `NEW_PASSWORD_REQUIRED` challenge still work after a restart.
``sqs.pickle``
    The messages of every queue of the template (the notification queue and the dead-letter queues),
    by logical id, written at most 0.25 s after a queue changed. Queue names are random per deploy,
    messages are not replayed: they are put back into the new queues as they were (in flight ones
    visible again, as Lambda would see them after a crash).
``dispatch.json``
    Where each event source of the local dispatcher had got to: the DynamoDB stream position of each
    mapping (stream sequence numbers are positions in moto, and a replay writes the same records in the
    same order, so they are the same) and the objects each S3 poller had already seen.
``seed.json``
    The demo logins and the Open311 key, so a restart does not seed the demo again.

A restart deploys the template into an empty moto as a first start does (so a changed template takes
effect), then replays the journal, puts the queues' messages back, and starts the dispatcher where
it stopped: records written before the crash and never delivered are delivered, nothing twice.

Ids stay the same because moto's user pool and client ids are hashed from their settings
(``MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY=HASH`` and ``..._CLIENT_ID_STRATEGY=HASH``), a user's ``sub``
is made from the pool and the user's email or phone (moto draws a random one), and moto signs every
token with the one fixed key of its resources (``cognitoidp/resources/jwks-private.json``).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import pickle
import shutil
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

log = logging.getLogger("civic_dev.local.persist")

ACCOUNT = "123456789012"  # moto's default account, the one the local stack uses
FORMAT = 1
_USER_NS = uuid.UUID("5f1d7c3e-8b1a-4f5e-9a53-6c1b2a7d0e11")

_DYNAMODB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems",
                    "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction"}
_COGNITO_READS = ("Describe", "List", "Get", "AdminGet", "AdminList")
# Sign-ins: moto's answer (tokens, sessions) is what is kept; the challenge answers are replayed too,
# since they may set a password.
_COGNITO_SIGN_INS = {"InitiateAuth", "AdminInitiateAuth"}
_COGNITO_CHALLENGES = {"RespondToAuthChallenge", "AdminRespondToAuthChallenge"}
_SQS_READS = ("Get", "List")
# The WSGI environ keys a replay needs besides the headers (HTTP_*).
_ENV_KEYS = ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "RAW_URI", "REQUEST_URI", "SCRIPT_NAME",
             "CONTENT_TYPE", "CONTENT_LENGTH", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL")


def _atomic_write(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".tmp")
    partial.write_bytes(data)
    os.replace(partial, path)


# --------------------------------------------------------------------------- ids that stay the same

def stable_ids() -> None:
    """Before moto creates anything: pool and client ids hashed from their settings, and users' subs
    made from the pool and the user's name (or email/phone, when those are the username)."""
    os.environ["MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY"] = "HASH"
    os.environ["MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY"] = "HASH"
    from moto.cognitoidp.models import CognitoIdpUser

    init = CognitoIdpUser.__init__
    if getattr(init, "_civic_stable", False):
        return

    def stable_init(self, user_pool_id, username, password, status, attributes, __init=init):
        __init(self, user_pool_id, username, password, status, attributes)
        name = username
        if not name:
            values = {a.get("Name"): a.get("Value") for a in attributes or []}
            name = values.get("email") or values.get("phone_number")
        if name:
            random_id = self.id
            self.id = str(uuid.uuid5(_USER_NS, f"{user_pool_id}/{str(name).lower()}"))
            if self.username == random_id:
                self.username = self.id
            self.update_attributes([{"Name": "sub", "Value": self.id}])

    stable_init._civic_stable = True  # type: ignore[attr-defined]
    CognitoIdpUser.__init__ = stable_init  # type: ignore[method-assign]


# --------------------------------------------------------------------------- the kept state

class KeptState:
    """The files of `<state-dir>/aws/`."""

    def __init__(self, state_dir: Path, region: str) -> None:
        self.dir = state_dir / "aws"
        self.region = region
        self.journal_path = self.dir / "journal.jsonl"
        self.sqs_path = self.dir / "sqs.pickle"
        self.dispatch_path = self.dir / "dispatch.json"
        self.seed_path = self.dir / "seed.json"
        self._lock = threading.RLock()
        self._journal: io.BufferedWriter | None = None
        self._sqs_dirty = threading.Event()
        self._sqs_queues: dict[str, str] = {}  # logical id -> queue name
        self._sqs_last: bytes | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._dispatch: dict[str, Any] = {}
        self._dispatch_lock = threading.Lock()

    # ---- lifecycle

    def erase(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def exists(self) -> bool:
        """True when an earlier run left state to restore (the demo seeded, the journal open)."""
        return self.seed_path.exists()

    def prepare(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        meta = self.dir / "format.json"
        if meta.exists() and json.loads(meta.read_text()).get("format") != FORMAT:
            raise RuntimeError(f"{self.dir} was written by another version of `civic local`; start with --fresh")
        _atomic_write(meta, json.dumps({"format": FORMAT, "region": self.region}).encode())
        if self.dispatch_path.exists():
            self._dispatch = json.loads(self.dispatch_path.read_text() or "{}")

    def size(self) -> int:
        return sum(p.stat().st_size for p in self.dir.glob("*") if p.is_file())

    # ---- the WSGI side: wraps moto's server application

    def wrap(self, app: Callable) -> Callable:
        def application(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
            if environ.get("REQUEST_METHOD", "GET") in ("GET", "HEAD", "OPTIONS") or self._journal is None:
                return app(environ, start_response)
            body = _read_body(environ)
            kind = self._kind(app, environ, body)
            if kind is None:
                return app(environ, start_response)
            if kind == "sqs":
                result = app(environ, start_response)
                self._sqs_dirty.set()
                return result
            with self._lock:
                before = self._cognito_tokens() if kind in ("sign-in", "challenge") else None
                captured: dict[str, Any] = {}

                def capture(status: str, headers: list, exc_info: Any = None) -> Callable:
                    captured["status"], captured["headers"] = status, headers
                    return lambda data: None

                chunks = app(environ, capture)
                try:
                    payload = b"".join(chunks)
                finally:
                    close = getattr(chunks, "close", None)
                    if close:
                        close()
                if str(captured.get("status", "500")).startswith("2"):
                    if kind in ("write", "challenge"):
                        self._append({"t": "http", "env": _environ_entry(environ), **_encode(body)})
                    if before is not None:
                        self._note_cognito_tokens(before)
            start_response(captured["status"], captured["headers"])
            return [payload]

        return application

    def _kind(self, app: Any, environ: dict[str, Any], body: bytes) -> str | None:
        if str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
            return None
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            prefix, _, action = target.partition(".")
            if prefix.startswith("DynamoDB_"):
                return "write" if action in _DYNAMODB_WRITES else None
            if prefix == "AWSCognitoIdentityProviderService":
                if action in _COGNITO_SIGN_INS:
                    return "sign-in"
                if action in _COGNITO_CHALLENGES:
                    return "challenge"
                return None if action.startswith(_COGNITO_READS) else "write"
            if prefix == "AmazonSQS":
                return None if action.startswith(_SQS_READS) else "sqs"
            return None
        try:
            host = app.infer_service_region_host(environ, environ.get("PATH_INFO", ""))
        except Exception:  # noqa: BLE001 - not a request of a service we keep
            return None
        # moto sends what it cannot place (an unsigned presigned-POST upload, say) to S3
        service = host.split(".", 1)[0] if host else "s3"
        if service == "s3":
            return "write"
        if service == "sqs":
            action = ""
            for pair in body.split(b"&"):
                if pair.startswith(b"Action="):
                    action = pair[7:].decode(errors="replace")
            return None if action.startswith(_SQS_READS) else "sqs"
        return None

    def _append(self, entry: dict[str, Any]) -> None:
        assert self._journal is not None
        self._journal.write(json.dumps(entry, separators=(",", ":")).encode() + b"\n")
        self._journal.flush()  # in the kernel now: a killed process loses nothing written

    # ---- Cognito tokens and sessions

    def _cognito_backend(self) -> Any:
        from moto.cognitoidp.models import cognitoidp_backends

        return cognitoidp_backends[ACCOUNT][self.region]

    def _cognito_tokens(self) -> dict[str, Any]:
        backend = self._cognito_backend()
        pools = {pid: (set(p.refresh_tokens), set(p.access_tokens), set(p.id_tokens))
                 for pid, p in backend.user_pools.items()}
        return {"pools": pools, "sessions": set(backend.sessions)}

    def _note_cognito_tokens(self, before: dict[str, Any]) -> None:
        backend = self._cognito_backend()
        for pid, pool in backend.user_pools.items():
            old = before["pools"].get(pid, (set(), set(), set()))
            entry = {
                "refresh": {k: v for k, v in pool.refresh_tokens.items() if k not in old[0]},
                "access": {k: v for k, v in pool.access_tokens.items() if k not in old[1]},
                "id": {k: v for k, v in pool.id_tokens.items() if k not in old[2]},
            }
            sessions = {s: user for s, (user, p) in backend.sessions.items()
                        if s not in before["sessions"] and p is pool}
            if any(entry.values()) or sessions:
                self._append({"t": "cognito", "pool": pid, **entry, "sessions": sessions})

    def _restore_cognito_tokens(self, entry: dict[str, Any]) -> bool:
        backend = self._cognito_backend()
        pool = backend.user_pools.get(entry["pool"])
        if pool is None:
            return False
        pool.refresh_tokens.update({k: tuple(v) if v else v for k, v in entry["refresh"].items()})
        pool.access_tokens.update({k: tuple(v) for k, v in entry["access"].items()})
        pool.id_tokens.update({k: tuple(v) for k, v in entry["id"].items()})
        for session, user in entry.get("sessions", {}).items():
            backend.sessions[session] = (user, pool)
        return True

    # ---- replay

    def replay(self, app: Callable) -> tuple[int, int]:
        """Applies the journal to moto (straight into its WSGI application, nothing recorded again).
        Returns (applied, failed). A line cut short by a kill is dropped from the file."""
        from werkzeug.test import create_environ

        applied = failed = 0
        if not self.journal_path.exists():
            return 0, 0
        good_end = 0
        with open(self.journal_path, "rb") as journal:
            for raw in journal:
                try:
                    entry = json.loads(raw)
                except ValueError:
                    break  # the last line, half written when the process was killed
                if not raw.endswith(b"\n"):
                    break
                good_end += len(raw)
                if entry["t"] == "cognito":
                    ok = self._restore_cognito_tokens(entry)
                else:
                    body = _decode(entry)
                    environ = create_environ()
                    environ.update(entry["env"])
                    environ["wsgi.input"] = io.BytesIO(body)
                    environ["CONTENT_LENGTH"] = str(len(body))
                    status: list[str] = []
                    chunks = app(environ, lambda s, h, e=None, status=status: status.append(s) or (lambda d: None))
                    b"".join(chunks)
                    ok = bool(status) and status[0].startswith("2")
                    if not ok:
                        log.warning("replay: %s %s answered %s", entry["env"].get("REQUEST_METHOD"),
                                    entry["env"].get("PATH_INFO"), status[0] if status else "nothing")
                applied += ok
                failed += not ok
        if good_end != self.journal_path.stat().st_size:
            with open(self.journal_path, "r+b") as journal:
                journal.truncate(good_end)
        return applied, failed

    def open_journal(self) -> None:
        """From now on every accepted change is appended to the journal."""
        self._journal = open(self.journal_path, "ab")  # noqa: SIM115 - open until the stack stops

    # ---- SQS: the queues' messages, by logical id

    def watch_queues(self, physical_ids: dict[str, str], queue_ids: Iterable[str], restore: bool) -> int:
        """Keeps the messages of these queues (logical ids) from now on; with `restore`, first puts
        back the ones kept by the run before. Returns how many were put back."""
        self._sqs_queues = {lid: physical_ids[lid].rstrip("/").rsplit("/", 1)[-1]
                            for lid in queue_ids if lid in physical_ids}
        restored = self.restore_queues() if restore else 0
        self._thread = threading.Thread(target=self._watch, name="kept-state", daemon=True)
        self._thread.start()
        return restored

    def _sqs_backend(self) -> Any:
        from moto.sqs.models import sqs_backends

        return sqs_backends[ACCOUNT][self.region]

    def _watch(self) -> None:
        while not self._stop.is_set():
            if self._sqs_dirty.wait(0.25):
                self._sqs_dirty.clear()
                try:
                    self.save_queues()
                except Exception as exc:  # noqa: BLE001 - tried again on the next change
                    log.warning("could not keep the queues: %s", exc)
                self._stop.wait(0.25)

    def save_queues(self) -> None:
        backend = self._sqs_backend()
        kept: dict[str, list] = {}
        for lid, name in self._sqs_queues.items():
            queue = backend.queues.get(name)
            if queue is None:
                continue
            with queue._messages_lock:
                kept[lid] = list(queue._messages)
        data = pickle.dumps(kept)
        if data != self._sqs_last:
            _atomic_write(self.sqs_path, data)
            self._sqs_last = data

    def restore_queues(self) -> int:
        if not self.sqs_path.exists():
            return 0
        kept = pickle.loads(self.sqs_path.read_bytes())  # noqa: S301 - our own file
        backend = self._sqs_backend()
        count = 0
        for lid, messages in kept.items():
            queue = backend.queues.get(self._sqs_queues.get(lid, ""))
            if queue is None:
                log.warning("kept messages of %s dropped: the template has no such queue now", lid)
                continue
            with queue._messages_lock:
                for m in messages:
                    m.visible_at = 0.0  # in flight when the stack stopped: visible again
                    m.receipt_handle = None
                    queue._messages.append(m)
                    count += 1
                queue._messages_lock.notify_all()
        return count

    # ---- the dispatcher's positions

    def dispatch_get(self, source: str, key: str) -> Any:
        with self._dispatch_lock:
            return self._dispatch.get(source, {}).get(key)

    def dispatch_set(self, source: str, key: str, value: Any) -> None:
        with self._dispatch_lock:
            if self._dispatch.get(source, {}).get(key) == value:
                return
            self._dispatch.setdefault(source, {})[key] = value
            _atomic_write(self.dispatch_path, json.dumps(self._dispatch).encode())

    # ---- the demo

    def load_seed(self) -> dict[str, Any]:
        return json.loads(self.seed_path.read_text())

    def save_seed(self, logins: list[dict], open311_api_key: str | None, source: str = "demo") -> None:
        """`source`: what was seeded (the demo, or a profile's folder), so a restart can tell."""
        _atomic_write(self.seed_path, json.dumps({"demo_users": logins, "open311_api_key": open311_api_key,
                                                  "source": source}, ensure_ascii=False).encode())

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            try:
                self.save_queues()
            except Exception as exc:  # noqa: BLE001
                log.warning("could not keep the queues: %s", exc)
        with self._lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None


# --------------------------------------------------------------------------- helpers

def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    body = stream.read(length) if stream is not None and length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _environ_entry(environ: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in environ.items()
            if isinstance(v, str) and (k.startswith("HTTP_") or k in _ENV_KEYS)}


def _encode(body: bytes) -> dict[str, str]:
    try:
        return {"text": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(body).decode("ascii")}


def _decode(entry: dict[str, Any]) -> bytes:
    if "b64" in entry:
        return base64.b64decode(entry["b64"])
    return str(entry.get("text", "")).encode("utf-8")
