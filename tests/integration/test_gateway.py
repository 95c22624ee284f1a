"""civic_dev.local.gateway over real HTTP, with real Cognito tokens from moto's server (no mocks).

The Chalice app is defined here (a public route, a Cognito-protected route, an optional-auth route
that verifies in the app, echo routes for bodies); the real chalice_app/app.py is not needed.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import textwrap
import threading
import time
import uuid

import jwt
import pytest
from chalice import Chalice, CognitoUserPoolAuthorizer, CORSConfig, Response
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.utilities.utils import load_resource

from civic.auth import InvalidToken, TokenVerifier, cognito_issuer, default_jwks_url
from civic_dev.local.gateway import LocalGateway
from civic_dev.local.loader import load_chalice_app
from tests.conftest import MotoCognito

REGION = "ap-southeast-1"



@pytest.fixture(scope="module")
def cognito():
    moto = MotoCognito("civic-gw-test", users=["alice", "bob"], staff=["alice"])
    try:
        yield {"endpoint": moto.endpoint, "pool": moto.pool, "client": moto.client,
               "alice": moto.login("alice"), "bob": moto.login("bob")}
    finally:
        moto.stop()


@pytest.fixture(scope="module")
def verifier(cognito):
    # A loaded machine may stall moto's JWKS for seconds; that must not read as "jwks_unavailable".
    return TokenVerifier(REGION, cognito["pool"], cognito["client"],
                         jwks_url=default_jwks_url(REGION, cognito["pool"], cognito["endpoint"]), http_timeout=60)


def make_app(verifier, calls):
    app = Chalice("t")
    authorizer = CognitoUserPoolAuthorizer("pool", provider_arns=["arn:aws:cognito-idp:::userpool/x"])
    scoped = CognitoUserPoolAuthorizer("pool", provider_arns=["arn:aws:cognito-idp:::userpool/x"],
                                       scopes=["civic/moderate"])
    cors = CORSConfig(allow_origin="http://localhost:5173", allow_headers=["X-Request-Id"], max_age=600)

    @app.route("/v1/health", cors=True)
    def health():
        return {"ok": True}

    @app.route("/v1/me", authorizer=authorizer, cors=cors)
    def me():
        calls.append("me")
        ctx = app.current_request.context
        return {"claims": ctx["authorizer"]["claims"], "requestId": ctx["requestId"]}

    @app.route("/v1/moderation", authorizer=scoped)
    def moderation():
        calls.append("moderation")
        return {"ok": True}

    @app.route("/v1/reports/{report_id}")
    def report(report_id):
        # Optional auth, verified in the app: the owner sees more.
        try:
            claims = verifier.verify_headers(app.current_request.headers)
        except InvalidToken as exc:
            return Response({"error": {"code": "unauthorized", "message": str(exc)}}, status_code=401)
        body = {"id": report_id, "public": True}
        if claims is not None:
            body["viewer"] = claims["cognito:username"] if claims["token_use"] == "id" else claims["username"]
        return body

    @app.route("/v1/echo/{a}/{b}", methods=["GET", "POST", "PUT"],
               content_types=["application/json", "application/x-www-form-urlencoded", "application/octet-stream",
                              "text/plain"])
    def echo(a, b):
        r = app.current_request
        ctx = r.context
        return {
            "a": a, "b": b, "method": r.method,
            "query": None if r.query_params is None else {k: r.query_params.getlist(k) for k in r.query_params},
            "raw_b64": base64.b64encode(r.raw_body).decode(),
            "json": r.json_body if r.headers.get("content-type", "").startswith("application/json") else None,
            "resourcePath": ctx["resourcePath"], "requestId": ctx["requestId"],
            "event": {k: r.to_original_event()[k] for k in ("resource", "path", "isBase64Encoded")},
        }

    @app.route("/v1/slow/{n}")
    def slow(n):
        time.sleep(0.01)
        return {"n": n, "seen": app.current_request.uri_params["n"]}

    @app.route("/v1/boom")
    def boom():
        raise RuntimeError("kaboom")

    return app


@pytest.fixture(scope="module")
def gateway(verifier):
    calls: list[str] = []
    gw = LocalGateway(make_app(verifier, calls), verifier, port=0).start()
    gw.calls = calls
    yield gw
    gw.stop()


@pytest.fixture()
def conn(gateway):
    c = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    yield c
    c.close()


def call(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    ctype = resp.getheader("Content-Type") or ""
    payload = json.loads(data) if data and ctype.startswith("application/json") else data
    return resp.status, resp, payload


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def moto_key():
    return jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json")).key


def mint(cognito, key, kid="dummy", **over):
    now = int(time.time())
    claims = {"iss": cognito_issuer(REGION, cognito["pool"]), "sub": str(uuid.uuid4()), "aud": cognito["client"],
              "token_use": "id", "iat": now, "auth_time": now, "exp": now + 3600, "cognito:username": "mallory"}
    claims.update(over)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


# -- Cognito authorizer ----------------------------------------------------------------------------


def test_valid_id_token_reaches_app_with_apigw_claims(conn, cognito, gateway):
    before = len(gateway.calls)
    status, resp, body = call(conn, "GET", "/v1/me", headers=bearer(cognito["alice"]["IdToken"]))
    assert status == 200, body
    assert len(gateway.calls) == before + 1
    claims = body["claims"]
    assert claims["cognito:username"] == "alice"
    assert claims["aud"] == cognito["client"]
    assert claims["token_use"] == "id"
    assert sorted(claims["cognito:groups"].split(",")) == ["moderators", "staff"]
    assert all(isinstance(v, str) for v in claims.values())
    assert claims["exp"].endswith(" UTC " + time.strftime("%Y", time.gmtime(int(time.time()) + 3600)))


def test_valid_access_token_and_bare_token(conn, cognito):
    status, _, body = call(conn, "GET", "/v1/me", headers=bearer(cognito["bob"]["AccessToken"]))
    assert status == 200
    assert body["claims"]["username"] == "bob" and "cognito:groups" not in body["claims"]
    status, _, body = call(conn, "GET", "/v1/me", headers={"Authorization": cognito["bob"]["IdToken"]})
    assert status == 200 and body["claims"]["cognito:username"] == "bob"


def _assert_401(conn, gateway, headers):
    before = len(gateway.calls)
    status, resp, body = call(conn, "GET", "/v1/me", headers=headers)
    assert status == 401, body
    assert body["error"]["code"] == "unauthorized" and body["error"]["message"]
    assert resp.getheader("Access-Control-Allow-Origin") == "http://localhost:5173"
    assert len(gateway.calls) == before, "the app must not be called"
    return body


def test_no_token_401_but_public_200(conn, gateway):
    _assert_401(conn, gateway, {})
    status, _, body = call(conn, "GET", "/v1/health")
    assert status == 200 and body == {"ok": True}


def test_forged_token_401(conn, gateway, cognito):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body = _assert_401(conn, gateway, bearer(mint(cognito, other_key)))
    assert "signature" in body["error"]["message"]


def test_expired_token_401(conn, gateway, cognito, moto_key):
    now = int(time.time())
    token = mint(cognito, moto_key, iat=now - 7200, auth_time=now - 7200, exp=now - 1)
    assert "expired" in _assert_401(conn, gateway, bearer(token))["error"]["message"]


def test_wrong_audience_401(conn, gateway, cognito, moto_key):
    _assert_401(conn, gateway, bearer(mint(cognito, moto_key, aud="another-client")))


def test_control_minted_token_passes(conn, cognito, moto_key):
    status, _, body = call(conn, "GET", "/v1/me", headers=bearer(mint(cognito, moto_key)))
    assert status == 200 and body["claims"]["cognito:username"] == "mallory"


@pytest.mark.parametrize("value", ["Bearer abc", "Bearer a.b.c", "Basic dXNlcjpwYXNz", "Bearer", "   ",
                                   "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."])
def test_garbage_headers_401(conn, gateway, value):
    _assert_401(conn, gateway, {"Authorization": value})


def test_non_ascii_header_does_not_crash(gateway):
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as s:
        s.sendall(b"GET /v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\xc3\x28\r\n\r\n")
        data = s.recv(65536)
    assert data.startswith(b"HTTP/1.1 401 ")


def test_scoped_route(conn, cognito, gateway):
    # ID tokens carry no scopes; moto's access token has only aws.cognito.signin.user.admin.
    for token in (cognito["alice"]["IdToken"], cognito["alice"]["AccessToken"]):
        status, _, body = call(conn, "GET", "/v1/moderation", headers=bearer(token))
        assert status == 403 and body["error"]["code"] == "forbidden"
    status, _, _ = call(conn, "GET", "/v1/moderation")
    assert status == 401


def test_optional_auth_route_verifies_in_app(conn, cognito, moto_key):
    status, _, body = call(conn, "GET", "/v1/reports/HN-1")
    assert status == 200 and "viewer" not in body
    status, _, body = call(conn, "GET", "/v1/reports/HN-1", headers=bearer(cognito["alice"]["IdToken"]))
    assert body["viewer"] == "alice"
    status, _, body = call(conn, "GET", "/v1/reports/HN-1", headers=bearer(mint(cognito, moto_key, aud="x")))
    assert status == 401


def test_gateway_without_verifier_fails_closed(verifier):
    gw = LocalGateway(make_app(verifier, []), None, port=0)
    status, _, body = gw.dispatch("GET", "/v1/me", {"Authorization": "Bearer x"})
    assert status == 500 and json.loads(body)["error"]["code"] == "authorizer_not_configured"


# -- routing, CORS, request ids --------------------------------------------------------------------


def test_404_and_405(conn):
    status, _, body = call(conn, "GET", "/v1/nope")
    assert status == 404 and body["error"]["code"] == "not_found"
    status, resp, body = call(conn, "DELETE", "/v1/echo/x/y")
    assert status == 405 and body["error"]["code"] == "method_not_allowed"
    assert resp.getheader("Allow") == "GET, POST, PUT"


def test_cors_preflight_and_headers(conn):
    status, resp, _ = call(conn, "OPTIONS", "/v1/me", headers={"Origin": "http://localhost:5173",
                                                                "Access-Control-Request-Method": "GET"})
    assert status == 200
    assert resp.getheader("Access-Control-Allow-Origin") == "http://localhost:5173"
    assert resp.getheader("Access-Control-Allow-Methods") == "GET,OPTIONS"
    assert resp.getheader("Access-Control-Max-Age") == "600"
    status, resp, _ = call(conn, "GET", "/v1/health")
    assert resp.getheader("Access-Control-Allow-Origin") == "*"
    status, _, body = call(conn, "OPTIONS", "/v1/echo/a/b")  # no CORS on that route
    assert status == 405


def test_request_id_passthrough_and_generated(conn):
    status, resp, body = call(conn, "GET", "/v1/echo/a/b", headers={"X-Request-Id": "req-123"})
    assert body["requestId"] == "req-123" and resp.getheader("X-Request-Id") == "req-123"
    status, resp, body = call(conn, "GET", "/v1/echo/a/b")
    generated = resp.getheader("X-Request-Id")
    assert generated and body["requestId"] == generated and uuid.UUID(generated)


def test_trailing_slash_and_encoded_path_params(conn):
    status, _, body = call(conn, "GET", "/v1/echo/h%C3%A0%20n%E1%BB%99i/2/")
    assert status == 200 and body["a"] == "hà nội" and body["b"] == "2"
    assert body["resourcePath"] == "/v1/echo/{a}/{b}" and body["event"]["resource"] == "/v1/echo/{a}/{b}"


# -- bodies and query strings ------------------------------------------------------------------------


def test_multi_value_query(conn):
    status, _, body = call(conn, "GET", "/v1/echo/a/b?tag=x&tag=y&empty=&q=%C3%A0+b")
    assert body["query"] == {"tag": ["x", "y"], "empty": [""], "q": ["à b"]}
    status, _, body = call(conn, "GET", "/v1/echo/a/b")
    assert body["query"] is None


def test_json_body(conn):
    payload = {"title": "Ổ gà", "n": 1}
    status, _, body = call(conn, "POST", "/v1/echo/a/b", body=json.dumps(payload).encode(),
                           headers={"Content-Type": "application/json"})
    assert status == 200 and body["json"] == payload and body["event"]["isBase64Encoded"] is False


def test_form_body(conn):
    status, _, body = call(conn, "PUT", "/v1/echo/a/b", body=b"a=1&b=%C3%A0",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200 and base64.b64decode(body["raw_b64"]) == b"a=1&b=%C3%A0"


def test_binary_body_is_base64_in_event(conn):
    blob = bytes(range(256)) * 4
    status, _, body = call(conn, "POST", "/v1/echo/a/b", body=blob,
                           headers={"Content-Type": "application/octet-stream"})
    assert status == 200 and body["event"]["isBase64Encoded"] is True
    assert base64.b64decode(body["raw_b64"]) == blob


def test_invalid_utf8_text_body_is_lossless(conn):
    status, _, body = call(conn, "POST", "/v1/echo/a/b", body=b"\xff\xfe",
                           headers={"Content-Type": "text/plain"})
    assert status == 200 and base64.b64decode(body["raw_b64"]) == b"\xff\xfe"


def test_chunked_body(gateway):
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as s:
        s.sendall(b"POST /v1/echo/a/b HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                  b"4\r\n{\"k\"\r\n5\r\n: 42}\r\n0\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, payload = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and json.loads(payload)["json"] == {"k": 42}


def test_a_negative_chunk_size_is_refused_not_read_to_the_end(gateway):
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=5) as s:
        s.sendall(b"POST /v1/echo/a/b HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n-1\r\n{}")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 400") and b"bad_request" in data


def test_app_exception_is_500_and_connection_survives(conn):
    status, _, body = call(conn, "GET", "/v1/boom")
    assert status == 500
    status, _, body = call(conn, "GET", "/v1/health")
    assert status == 200


# -- concurrency and speed ---------------------------------------------------------------------------


def test_current_request_is_per_thread(gateway):
    errors = []

    def worker(i):
        c = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
        try:
            for j in range(10):
                n = f"{i}-{j}"
                status, _, body = call(c, "GET", f"/v1/slow/{n}")
                if status != 200 or body != {"n": n, "seen": n}:
                    errors.append((n, status, body))
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors


def test_keep_alive_throughput(gateway):
    c = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    try:
        call(c, "GET", "/v1/health")
        n, deadline = 0, time.perf_counter() + 5
        start = time.perf_counter()
        while n < 1000 and time.perf_counter() < deadline:
            status, _, _ = call(c, "GET", "/v1/health")
            assert status == 200
            n += 1
        rate = n / (time.perf_counter() - start)
    finally:
        c.close()
    assert rate >= 300, f"{rate:.0f} req/s from one keep-alive client"


# -- loader ------------------------------------------------------------------------------------------


def test_load_chalice_app(tmp_path):
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        from chalice import Chalice
        app = Chalice(app_name="loaded")

        @app.route("/v1/health")
        def health():
            return {"ok": True}
    """))
    app = load_chalice_app(tmp_path)
    assert app.app_name == "loaded" and "/v1/health" in app.routes
    assert load_chalice_app(str(tmp_path)) is app
    gw = LocalGateway(app, None, port=0)
    status, _, body = gw.dispatch("GET", "/v1/health", [])
    assert status == 200 and json.loads(body) == {"ok": True}
    with pytest.raises(FileNotFoundError):
        load_chalice_app(tmp_path / "missing")


@pytest.fixture()
def isolated_chalicelib():
    """Put back whatever `chalicelib` other tests imported (the loader replaces it for another project)."""
    import sys

    saved = {k: v for k, v in sys.modules.items() if k == "chalicelib" or k.startswith("chalicelib.")}
    yield
    for k in [k for k in sys.modules if k == "chalicelib" or k.startswith("chalicelib.")]:
        del sys.modules[k]
    sys.modules.update(saved)


def test_load_chalice_app_with_chalicelib(tmp_path, isolated_chalicelib):
    import sys

    (tmp_path / "chalicelib").mkdir()
    (tmp_path / "chalicelib" / "__init__.py").write_text("")
    (tmp_path / "chalicelib" / "util.py").write_text("def greet():\n    return 'xin chào'\n")
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        from chalice import Chalice, Response
        from chalicelib.util import greet

        app = Chalice(app_name="withlib")

        @app.route("/v1/hello")
        def hello():
            rid = app.current_request.context["requestId"]
            return Response({"msg": greet()}, headers={"X-Request-Id": "app-" + rid})
    """))
    path_before = list(sys.path)
    app = load_chalice_app(tmp_path)
    assert sys.path == path_before
    gw = LocalGateway(app, None, port=0)
    status, headers, body = gw.dispatch("GET", "/v1/hello", {"X-Request-Id": "r1"})
    assert status == 200 and json.loads(body) == {"msg": "xin chào"}
    # The app's own X-Request-Id wins, and is not duplicated.
    assert [v for k, v in headers if k.lower() == "x-request-id"] == ["app-r1"]


def test_stop_closes_keep_alive_connections(verifier):
    gw = LocalGateway(make_app(verifier, []), verifier, port=0).start()
    c = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=5)
    assert call(c, "GET", "/v1/health")[0] == 200
    gw.stop()
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        call(c, "GET", "/v1/health")
    c.close()
