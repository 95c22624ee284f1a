"""A local API Gateway (REST, Lambda proxy integration) in front of a Chalice app object.

What it does, the way API Gateway + Chalice do it in AWS:

* turns each HTTP request into the REST proxy event Chalice expects and calls ``app(event, ctx)``;
* on routes whose Chalice route entry carries a ``CognitoUserPoolAuthorizer`` it verifies the
  token with :class:`civic.auth.TokenVerifier`, as the Cognito user pool authorizer would: a
  missing / forged / expired / wrong-client token is answered 401 without calling the app, a
  valid one puts the claims in ``requestContext.authorizer.claims`` as API Gateway does (every
  value a string; ``cognito:groups`` comma-joined; see :func:`civic.auth.apigw_claims`). When the
  authorizer names scopes, the token's ``scope`` must contain one of them, else 403;
* answers OPTIONS preflights for CORS routes (unless the app defines OPTIONS itself);
* base64-encodes request bodies whose Content-Type is one of ``app.api.binary_types``;
* passes ``X-Request-Id`` (or a generated id) as ``requestContext.requestId`` and echoes it in
  the ``X-Request-Id`` response header.

Differences from AWS, on purpose: unknown paths are 404 ``{"error": {"code": "not_found"}}``
and unknown methods 405 (API Gateway says 403 "Missing Authentication Token" to both), and
gateway-made 401/403 responses carry the route's CORS headers so browsers can read them
(configure ``GatewayResponses`` DEFAULT_4XX in the SAM template to match).

It is built to be fast with keep-alive clients: HTTP/1.1, one ``send`` per response,
TCP_NODELAY, routes matched once per distinct path.
"""

from __future__ import annotations

import base64
import json
import logging
import socket
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

from chalice.app import Chalice, ChaliceAuthorizer, CognitoUserPoolAuthorizer, IAMAuthorizer
from chalice.local import (
    LambdaContext,
    LocalChalice,
    LocalGatewayAuthorizer,
    LocalGatewayException,
)

from civic.auth import InvalidToken, JWKSUnavailable, TokenVerifier, apigw_claims, bearer_token
from civic_dev.local import cognito_front, logcontext, meter, ports

__all__ = ["LocalGateway", "GatewayResponse"]

log = logging.getLogger("civic_dev.local.gateway")

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
_REASONS = {s.value: s.phrase for s in HTTPStatus}
_ROUTE_CACHE_SIZE = 4096
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})

GatewayResponse = tuple[int, list[tuple[str, str]], bytes]


def _json_error(code: str, message: str) -> bytes:
    """The API's error shape; the gateway's own refusals carry their technical reason in English."""
    body = {"error": {"code": code, "message": message, "fields": {}}}
    return json.dumps(body, separators=(",", ":")).encode()


def _thread_safe(app: Chalice) -> Chalice:
    """Make ``app.current_request`` thread-local, as ``chalice local`` does (same mechanism)."""
    if not isinstance(app, LocalChalice):
        cls = app.__class__
        app.__class__ = type(f"Local{cls.__name__}", (LocalChalice, cls), {})
    return app


class _Router:
    """API Gateway-style path matching: static segments beat ``{params}``; ``{name+}`` is greedy."""

    def __init__(self, routes: dict[str, dict[str, Any]]) -> None:
        self.routes = routes
        self.n_routes = len(routes)
        self._static: dict[str, str] = {}
        dynamic: list[tuple[tuple[int, ...], str, list[str], bool]] = []
        for route in routes:
            parts = route.split("/")
            if not any(p.startswith("{") and p.endswith("}") for p in parts):
                self._static[route] = route
                continue
            greedy = parts[-1].endswith("+}")
            # Sort key: per segment 0 for static, 1 for a param, 2 for greedy -> specific first.
            key = tuple(0 if not p.startswith("{") else (2 if p.endswith("+}") else 1) for p in parts)
            dynamic.append((key, route, parts, greedy))
        dynamic.sort(key=lambda d: (d[3], d[0], -len(d[2])))
        self._dynamic = [(route, parts, greedy) for _, route, parts, greedy in dynamic]
        self._cache: dict[str, tuple[str, dict[str, str]] | None] = {}
        self._lock = threading.Lock()

    def match(self, path: str) -> tuple[str, dict[str, str]] | None:
        hit = self._cache.get(path, False)
        if hit is not False:
            return hit  # type: ignore[return-value]
        result = self._match(path)
        with self._lock:
            if len(self._cache) >= _ROUTE_CACHE_SIZE:
                self._cache.clear()
            self._cache[path] = result
        return result

    def _match(self, path: str) -> tuple[str, dict[str, str]] | None:
        if path != "/" and path.endswith("/"):
            path = path[:-1]  # API Gateway drops a trailing slash
        route = self._static.get(path)
        if route is not None:
            return route, {}
        parts = path.split("/")
        for route, rparts, greedy in self._dynamic:
            if greedy:
                if len(parts) < len(rparts):
                    continue
            elif len(parts) != len(rparts):
                continue
            captured: dict[str, str] = {}
            for i, rp in enumerate(rparts):
                if rp.startswith("{") and rp.endswith("}"):
                    if greedy and i == len(rparts) - 1:
                        value = "/".join(parts[i:])
                        if not value:
                            break
                        captured[rp[1:-2]] = unquote(value)
                        continue
                    if not parts[i]:
                        break
                    captured[rp[1:-1]] = unquote(parts[i])
                elif rp != parts[i]:
                    break
            else:
                return route, captured
        return None


def _is_binary(content_type: str, binary_types: list[str]) -> bool:
    if not content_type or not binary_types:
        return False
    ct = content_type.split(";", 1)[0].strip().lower()
    for bt in binary_types:
        bt = bt.lower()
        if bt == ct or bt == "*/*":
            return True
        if bt.endswith("/*") and ct.startswith(bt[:-1]):
            return True
    return False


class LocalGateway:
    """API Gateway (REST, Lambda proxy) + Cognito authorizer emulation in front of a Chalice app.

    ``dispatch(method, target, headers, body)`` is the whole gateway without sockets;
    ``start()`` / ``stop()`` / ``serve_forever()`` run it as an HTTP server on ``host:port``
    (port 0 picks a free port; read it back from ``url``).
    """

    def __init__(
        self,
        app: Chalice,
        verifier: TokenVerifier | None,
        host: str = "127.0.0.1",
        port: int = 8000,
        *,
        stage: str = "api",
        function_name: str | None = None,
        memory_size: int = 512,
        timeout_seconds: int = 29,
        cors_on_auth_errors: bool = True,
        log_requests: bool = False,
        sock: socket.socket | None = None,
        aws_endpoint_url: str | None = None,
    ) -> None:
        """``sock``: a socket bound beforehand (civic_dev.local.ports), instead of binding host:port.
        ``aws_endpoint_url``: the embedded AWS; the gateway then also answers for Cognito's public
        endpoint under ``/_aws/cognito-idp/`` (see civic_dev.local.cognito_front)."""
        self.app = _thread_safe(app)
        self._sock = sock
        self.aws_endpoint_url = aws_endpoint_url
        self.verifier = verifier
        self.host = host
        self.port = port
        self.stage = stage
        self.function_name = function_name or f"{app.app_name}-{stage}"
        self.memory_size = memory_size
        self.timeout_ms = timeout_seconds * 1000
        self.cors_on_auth_errors = cors_on_auth_errors
        self.log_requests = log_requests
        self._router = _Router(app.routes)
        self._chalice_authorizer = LocalGatewayAuthorizer(app)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- server lifecycle -----------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is not None:
            host, port = self._server.server_address[:2]
            return f"http://{host}:{port}"
        return f"http://{self.host}:{self.port}"

    def _make_server(self) -> ThreadingHTTPServer:
        if self._server is None:
            if self._sock is not None:
                self._server = _Server((self.host, self.port), _Handler, bind_and_activate=False)
                ports.adopt(self._server, self._sock)
                self._sock = None
            else:
                self._server = _Server((self.host, self.port), _Handler)
            self._server.gateway = self
            self.port = self._server.server_address[1]
        return self._server

    def start(self) -> LocalGateway:
        """Serve in a daemon thread; returns self once the socket is listening."""
        if self._thread is not None:
            return self
        server = self._make_server()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="civic-gateway", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        server = self._make_server()
        log.info("local API gateway on %s", self.url)
        try:
            server.serve_forever(poll_interval=0.5)
        finally:
            server.server_close()
            self._server = None

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> LocalGateway:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- the gateway ------------------------------------------------------------------------

    def _router_for_app(self) -> _Router:
        router = self._router
        if router.n_routes != len(self.app.routes):  # routes added after construction
            router = self._router = _Router(self.app.routes)
        return router

    def dispatch(
        self,
        method: str,
        target: str,
        headers: list[tuple[str, str]] | dict[str, str],
        body: bytes | None = None,
        source_ip: str = "127.0.0.1",
    ) -> GatewayResponse:
        """Handle one request (``target`` is the path plus optional ``?query``)."""
        if isinstance(headers, dict):
            headers = list(headers.items())
        single: dict[str, str] = {}
        multi: dict[str, list[str]] = {}
        lower: dict[str, str] = {}
        for k, v in headers:
            single[k] = v
            lower[k.lower()] = v
            multi.setdefault(k, []).append(v)
        request_id = lower.get("x-request-id") or str(uuid.uuid4())
        out_headers = [("X-Request-Id", request_id)]

        path, _, query = target.partition("?")
        if self.aws_endpoint_url and path.startswith(cognito_front.PREFIX):
            return cognito_front.handle(method, lower, body, self.aws_endpoint_url)
        if "#" in query:
            query = query.split("#", 1)[0]
        routes = self.app.routes
        match = self._router_for_app().match(path)
        if match is None:
            return self._error(404, "not_found", f"no route for {method} {path}", out_headers)
        resource, captured = match
        methods = routes[resource]
        entry = methods.get(method)
        if entry is None:
            if method == "OPTIONS":
                return self._preflight(methods, out_headers)
            allow = ", ".join(sorted(methods))
            return self._error(
                405, "method_not_allowed", f"{method} is not allowed on {resource}", out_headers + [("Allow", allow)]
            )

        if query:
            mvq: dict[str, list[str]] | None = {}
            for k, v in parse_qsl(query, keep_blank_values=True):
                mvq.setdefault(k, []).append(v)  # type: ignore[union-attr]
            qs: dict[str, str] | None = {k: v[-1] for k, v in mvq.items()}  # type: ignore[union-attr]
            if not mvq:
                mvq = qs = None
        else:
            mvq = qs = None

        event_body: str | None = None
        is_b64 = False
        if body:
            if _is_binary(lower.get("content-type", ""), self.app.api.binary_types):
                event_body, is_b64 = base64.b64encode(body).decode("ascii"), True
            else:
                try:
                    event_body = body.decode("utf-8")
                except UnicodeDecodeError:  # keep it lossless rather than mangle it
                    event_body, is_b64 = base64.b64encode(body).decode("ascii"), True

        now = time.time()
        request_context: dict[str, Any] = {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{self.stage}{path}",
            "stage": self.stage,
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "requestTimeEpoch": int(now * 1000),
            "protocol": "HTTP/1.1",
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": lower.get("host", self.host),
            "identity": {"sourceIp": source_ip, "userAgent": lower.get("user-agent")},
        }
        event: dict[str, Any] = {
            "resource": resource,
            "path": path,
            "httpMethod": method,
            "headers": single,
            "multiValueHeaders": multi,
            "queryStringParameters": qs,
            "multiValueQueryStringParameters": mvq,
            "pathParameters": captured or None,
            "stageVariables": None,
            "requestContext": request_context,
            "body": event_body,
            "isBase64Encoded": is_b64,
        }
        context = LambdaContext(self.function_name, self.memory_size, self.timeout_ms)
        context.aws_request_id = str(uuid.uuid4())

        authorizer = entry.authorizer
        if authorizer is not None:
            denied = self._authorize(authorizer, entry, event, context, path, out_headers)
            if denied is not None:
                return denied

        with logcontext.invocation(context), meter.caller("Api", "API", int(self.memory_size)):
            response = self.app(event, context)
        return self._render(response, out_headers)

    # -- helpers ------------------------------------------------------------------------------

    def _authorize(
        self,
        authorizer: Any,
        entry: Any,
        event: dict[str, Any],
        context: LambdaContext,
        raw_path: str,
        out_headers: list[tuple[str, str]],
    ) -> GatewayResponse | None:
        cors = self._cors_headers(entry) if self.cors_on_auth_errors else []
        if isinstance(authorizer, CognitoUserPoolAuthorizer):
            if self.verifier is None:
                return self._error(
                    500,
                    "authorizer_not_configured",
                    "route requires a Cognito token but the local gateway has no TokenVerifier",
                    out_headers + cors,
                )
            token = bearer_token(event["headers"], getattr(authorizer, "_header", None) or "Authorization")
            if token is None:
                return self._error(401, "unauthorized", "Cần đăng nhập / Sign-in required (no bearer token)",
                                   out_headers + cors)
            try:
                claims = self.verifier.verify(token)
            except JWKSUnavailable as exc:
                log.error("cannot verify tokens: %s", exc)
                return self._error(503, "auth_unavailable", "token keys unavailable", out_headers + cors)
            except InvalidToken as exc:
                # The reason code only (expired, bad_signature, ...), never the decoder's own words.
                reason = getattr(exc, "reason", "invalid")
                return self._error(401, "unauthorized",
                                   f"Phiên đăng nhập không hợp lệ / Sign-in token refused: {reason}", out_headers + cors)
            scopes = list(getattr(authorizer, "scopes", None) or [])
            if scopes:
                granted = set(str(claims.get("scope", "")).split())
                if claims.get("token_use") != "access" or not granted.intersection(scopes):
                    return self._error(403, "forbidden", "token lacks a required scope", out_headers + cors)
            event["requestContext"]["authorizer"] = {"claims": apigw_claims(claims)}
            return None
        if isinstance(authorizer, ChaliceAuthorizer):
            try:
                self._chalice_authorizer.authorize(raw_path, event, context)
            except LocalGatewayException as exc:
                code = {401: "unauthorized", 403: "forbidden"}.get(exc.CODE, "authorizer_error")
                return self._error(exc.CODE, code, "not authorized", out_headers + cors)
            return None
        if isinstance(authorizer, IAMAuthorizer):
            log.warning("IAM authorization is not emulated locally; allowing %s", raw_path)
        return None

    @staticmethod
    def _cors_headers(entry: Any) -> list[tuple[str, str]]:
        cors = getattr(entry, "cors", None)
        if not cors:
            return []
        return list(cors.get_access_control_headers().items())

    def _preflight(self, methods: dict[str, Any], out_headers: list[tuple[str, str]]) -> GatewayResponse:
        cors_methods = [m for m, e in methods.items() if e.cors is not None]
        if not cors_methods:
            allow = ", ".join(sorted(methods))
            return self._error(
                405, "method_not_allowed", "OPTIONS is not allowed (no CORS on this route)",
                out_headers + [("Allow", allow)],
            )
        headers = list(methods[cors_methods[0]].cors.get_access_control_headers().items())
        headers.append(("Access-Control-Allow-Methods", ",".join(cors_methods + ["OPTIONS"])))
        return 200, out_headers + headers, b""

    @staticmethod
    def _error(status: int, code: str, message: str, headers: list[tuple[str, str]]) -> GatewayResponse:
        return status, headers + [("Content-Type", "application/json")], _json_error(code, message)

    @staticmethod
    def _render(response: dict[str, Any], out_headers: list[tuple[str, str]]) -> GatewayResponse:
        status = int(response.get("statusCode", 200))
        single = response.get("headers") or {}
        multi = response.get("multiValueHeaders") or {}
        # An X-Request-Id set by the app wins (in AWS it is the app's header that reaches the client).
        app_sets_rid = any(k.lower() == "x-request-id" for k in (*single, *multi))
        headers = [h for h in out_headers if not (app_sets_rid and h[0] == "X-Request-Id")]
        has_ct = False
        for k, v in single.items():
            lk = k.lower()
            if lk in _HOP_BY_HOP:
                continue
            has_ct = has_ct or lk == "content-type"
            headers.append((k, str(v)))
        for k, vs in multi.items():
            lk = k.lower()
            if lk in _HOP_BY_HOP:
                continue
            has_ct = has_ct or lk == "content-type"
            for v in vs:
                headers.append((k, str(v)))
        body = response.get("body")
        if body is None:
            data = b""
        elif response.get("isBase64Encoded"):
            data = base64.b64decode(body)
        elif isinstance(body, bytes):
            data = body
        else:
            data = str(body).encode("utf-8")
        if not has_ct and data:
            headers.append(("Content-Type", "application/json"))
        return status, headers, data


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    gateway: LocalGateway

    def server_activate(self) -> None:
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().server_activate()

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._conns_lock:
            self._conns.add(sock)
        return sock, addr

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Drop open keep-alive connections (their threads then finish)."""
        with self._conns_lock:
            conns = list(self._conns)
        for sock in conns:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return  # client went away: not worth a traceback
        log.exception("error serving %s", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "civic-local-gateway"
    sys_version = ""
    server: _Server
    # Read side buffered (default); write side unbuffered: one sendall per response.
    wbufsize = 0
    timeout = 120  # idle keep-alive connections are dropped after this

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.gateway.log_requests:
            log.info("%s %s", self.address_string(), format % args)

    def _read_body(self) -> bytes | None:
        te = self.headers.get("Transfer-Encoding", "")
        if te and "chunked" in te.lower():
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size < 0:  # "-1" would read to the end of the stream, past every limit
                    raise ValueError("negative chunk size")
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                total += size
                if total > MAX_BODY_BYTES:
                    raise _TooLarge()
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
            return b"".join(chunks)
        length = self.headers.get("Content-Length")
        if not length:
            return None
        n = int(length)
        if n < 0:
            raise ValueError("negative Content-Length")
        if n > MAX_BODY_BYTES:
            raise _TooLarge()
        return self.rfile.read(n) if n else b""

    def _handle(self) -> None:
        gw = self.server.gateway
        try:
            body = self._read_body()
        except _TooLarge:
            self._send(413, [("Content-Type", "application/json")],
                       _json_error("payload_too_large", "request body exceeds 10 MiB"))
            self.close_connection = True
            return
        except ValueError:
            self._send(400, [("Content-Type", "application/json")], _json_error("bad_request", "bad body framing"))
            self.close_connection = True
            return
        try:
            status, headers, data = gw.dispatch(
                self.command, self.path, self.headers.items(), body, self.client_address[0]
            )
        except Exception:  # noqa: BLE001 - a bug in the app must not kill the connection thread
            # The path only: query strings may carry what people typed.
            log.exception("unhandled error dispatching %s %s", self.command, self.path.split("?", 1)[0])
            status, headers, data = 502, [("Content-Type", "application/json")], _json_error(
                "internal_error", "the integration failed"
            )
        self._send(status, headers, data, head=self.command == "HEAD")

    def _send(self, status: int, headers: list[tuple[str, str]], data: bytes, head: bool = False) -> None:
        lines = [f"HTTP/1.1 {status} {_REASONS.get(status, '')}"]
        lines.extend(f"{k}: {v}" for k, v in headers)
        lines.append(f"Content-Length: {len(data)}")
        if self.close_connection:
            lines.append("Connection: close")
        head_bytes = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head_bytes if head else head_bytes + data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _handle

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, QUERY, ...) gets the API's 404/405 JSON, as API Gateway answers
        # every method; http.server alone would send a 501 HTML page.
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)


class _TooLarge(Exception):
    pass
