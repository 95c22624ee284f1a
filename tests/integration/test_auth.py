"""civic.auth against real tokens from moto's Cognito (server mode), real RSA keys, no mocks.

Tokens with exactly one wrong property (expired, wrong audience, ...) are minted with moto's own
signing key (moto/cognitoidp/resources/jwks-private.json), so only that property differs from a
token moto itself would issue.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.utilities.utils import load_resource

from civic.auth import (
    InvalidToken,
    JWKSUnavailable,
    TokenVerifier,
    apigw_claims,
    bearer_token,
    cognito_issuer,
    default_jwks_url,
)
from tests.conftest import MotoCognito, free_port

REGION = "ap-southeast-1"
# moto's JWKS answers in milliseconds, but a loaded CI machine may stall it for seconds: the tests must
# not turn that into "jwks_unavailable" (AWS's default of 5 s stays in production).
LOADED_MACHINE_TIMEOUT = 60



@pytest.fixture(scope="module")
def cognito():
    moto = MotoCognito("civic-auth-test", users=["alice"], staff=["alice"])
    try:
        other_client = moto.new_client("other")

        def login(client_id=moto.client):
            return moto.login("alice", client_id)

        yield {
            "endpoint": moto.endpoint, "pool": moto.pool, "client": moto.client, "other_client": other_client,
            "login": login, "tokens": login(),
        }
    finally:
        moto.stop()


@pytest.fixture()
def verifier(cognito):
    return TokenVerifier(
        REGION, cognito["pool"], cognito["client"],
        jwks_url=default_jwks_url(REGION, cognito["pool"], cognito["endpoint"]),
        http_timeout=LOADED_MACHINE_TIMEOUT,
    )


@pytest.fixture(scope="module")
def moto_key():
    """moto's Cognito signing key (private JWK, kid "dummy")."""
    return jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json")).key


def _claims(cognito, **over):
    now = int(time.time())
    claims = {
        "iss": cognito_issuer(REGION, cognito["pool"]),
        "sub": str(uuid.uuid4()),
        "aud": cognito["client"],
        "token_use": "id",
        "iat": now,
        "auth_time": now,
        "exp": now + 3600,
        "jti": str(uuid.uuid4()),
        "cognito:username": "mallory",
    }
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not None}


def _sign(claims, key, kid="dummy"):
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def _reason(verifier, token):
    with pytest.raises(InvalidToken) as err:
        verifier.verify(token)
    return err.value.reason


# -- what moto issues passes -------------------------------------------------------------------


def test_moto_id_token_verifies(verifier, cognito):
    claims = verifier.verify(cognito["tokens"]["IdToken"])
    assert claims["token_use"] == "id"
    assert claims["aud"] == cognito["client"]
    assert claims["iss"] == f"https://cognito-idp.{REGION}.amazonaws.com/{cognito['pool']}"
    assert claims["cognito:username"] == "alice"
    assert sorted(claims["cognito:groups"]) == ["moderators", "staff"]


def test_moto_access_token_verifies(verifier, cognito):
    claims = verifier.verify(cognito["tokens"]["AccessToken"])
    assert claims["token_use"] == "access"
    assert claims["client_id"] == cognito["client"]
    assert claims["username"] == "alice"


def test_bearer_prefix_is_tolerated_by_verify(verifier, cognito):
    assert verifier.verify("Bearer " + cognito["tokens"]["IdToken"])["cognito:username"] == "alice"


def test_self_minted_control_token_passes(verifier, cognito, moto_key):
    # The control for the negative cases below: same key, same shape, nothing wrong.
    assert verifier.verify(_sign(_claims(cognito), moto_key))["cognito:username"] == "mallory"


# -- each property wrong on its own is refused -------------------------------------------------


def test_forged_signature_same_kid(verifier, cognito):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert _reason(verifier, _sign(_claims(cognito), other_key)) == "bad_signature"


def test_tampered_payload(verifier, cognito):
    header, payload, sig = cognito["tokens"]["IdToken"].split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["cognito:username"] = "admin"
    forged_payload = jwt.utils.base64url_encode(json.dumps(claims).encode()).decode()
    assert _reason(verifier, f"{header}.{forged_payload}.{sig}") == "bad_signature"


def test_expired(verifier, cognito, moto_key):
    now = int(time.time())
    token = _sign(_claims(cognito, iat=now - 7200, auth_time=now - 7200, exp=now - 60), moto_key)
    assert _reason(verifier, token) == "expired"


def test_wrong_audience_id_token(verifier, cognito, moto_key):
    assert _reason(verifier, _sign(_claims(cognito, aud=cognito["other_client"]), moto_key)) == "bad_audience"


def test_id_token_of_another_client_from_moto(verifier, cognito):
    other = cognito["login"](cognito["other_client"])
    assert _reason(verifier, other["IdToken"]) == "bad_audience"
    assert _reason(verifier, other["AccessToken"]) == "bad_audience"


def test_wrong_client_id_access_token(verifier, cognito, moto_key):
    claims = _claims(cognito, aud=None, token_use="access", client_id="someone-else")
    assert _reason(verifier, _sign(claims, moto_key)) == "bad_audience"


def test_wrong_issuer(verifier, cognito, moto_key):
    iss = cognito_issuer(REGION, f"{REGION}_SomeOtherPool")
    assert _reason(verifier, _sign(_claims(cognito, iss=iss), moto_key)) == "bad_issuer"


@pytest.mark.parametrize("token_use", ["refresh", "", None])
def test_wrong_token_use(verifier, cognito, moto_key, token_use):
    reason = _reason(verifier, _sign(_claims(cognito, token_use=token_use), moto_key))
    assert reason in ("bad_token_use", "missing_claim")


def test_missing_exp(verifier, cognito, moto_key):
    assert _reason(verifier, _sign(_claims(cognito, exp=None), moto_key)) == "missing_claim"


def test_unknown_kid(verifier, cognito, moto_key):
    assert _reason(verifier, _sign(_claims(cognito), moto_key, kid="rotated-away")) == "unknown_key"


def test_hs256_and_none_algs_refused(verifier, cognito):
    hs = jwt.encode(_claims(cognito), "secret-secret-secret-secret-32b!", algorithm="HS256",
                    headers={"kid": "dummy"})
    assert _reason(verifier, hs) == "unsupported_alg"
    none = jwt.encode(_claims(cognito), None, algorithm="none", headers={"kid": "dummy"})
    assert _reason(verifier, none) == "unsupported_alg"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer", "eyJ.eyJ.sig", "💥.💥.💥", "x" * 5000])
def test_not_a_jwt(verifier, garbage):
    with pytest.raises(InvalidToken):
        verifier.verify(garbage)


def test_none_token(verifier):
    with pytest.raises(InvalidToken):
        verifier.verify(None)


# -- keys ----------------------------------------------------------------------------------------


class CountingVerifier(TokenVerifier):
    fetches = 0

    def _fetch_jwks(self):
        self.fetches += 1
        return super()._fetch_jwks()


def test_jwks_is_cached(cognito, moto_key):
    v = CountingVerifier(REGION, cognito["pool"], cognito["client"],
                         jwks_url=default_jwks_url(REGION, cognito["pool"], cognito["endpoint"]),
                         http_timeout=LOADED_MACHINE_TIMEOUT)
    for _ in range(20):
        v.verify(cognito["tokens"]["IdToken"])
    assert v.fetches == 1
    # Unknown kids refetch at most once per refetch_interval (forged kids cannot hammer the JWKS URL).
    for _ in range(5):
        with pytest.raises(InvalidToken):
            v.verify(_sign(_claims(cognito), moto_key, kid=f"nope-{_}"))
    assert v.fetches == 1


def test_jwks_unreachable_fails_closed(cognito):
    v = TokenVerifier(REGION, cognito["pool"], cognito["client"],
                      jwks_url=f"http://127.0.0.1:{free_port()}/x/.well-known/jwks.json", http_timeout=2)
    with pytest.raises(JWKSUnavailable) as err:
        v.verify(cognito["tokens"]["IdToken"])
    assert isinstance(err.value, InvalidToken)


def test_issuer_override(cognito):
    v = TokenVerifier(REGION, cognito["pool"], cognito["client"],
                      jwks_url=default_jwks_url(REGION, cognito["pool"], cognito["endpoint"]),
                      issuer="https://issuer.example/other", http_timeout=LOADED_MACHINE_TIMEOUT)
    assert _reason(v, cognito["tokens"]["IdToken"]) == "bad_issuer"


def test_default_urls(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", raising=False)
    v = TokenVerifier("eu-west-1", "eu-west-1_AbC", "client")
    assert v.jwks_url == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC/.well-known/jwks.json"
    assert v.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/")
    v = TokenVerifier("eu-west-1", "eu-west-1_AbC", "client")
    assert v.jwks_url == "http://127.0.0.1:5000/eu-west-1_AbC/.well-known/jwks.json"
    assert v.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC"  # what moto signs


# -- helpers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Authorization": "Bearer abc.def.ghi"}, "abc.def.ghi"),
        ({"authorization": "bearer   abc"}, "abc"),
        ({"AUTHORIZATION": "abc.def.ghi"}, "abc.def.ghi"),  # bare token, as API Gateway accepts
        ({"Authorization": "Bearer "}, None),
        ({"Authorization": ""}, None),
        ({}, None),
        (None, None),
        ({"X-Other": "Bearer x"}, None),
    ],
)
def test_bearer_token(headers, expected):
    assert bearer_token(headers) == expected


def test_apigw_claims_shape():
    out = apigw_claims({
        "sub": "u1", "cognito:groups": ["staff", "moderators"], "exp": 1680629979, "iat": 1680626379,
        "auth_time": 1680626379, "email_verified": True, "custom:unit": "HN-01",
    })
    assert out == {
        "sub": "u1",
        "cognito:groups": "staff,moderators",
        "exp": "Tue Apr 04 17:39:39 UTC 2023",
        "iat": "Tue Apr 04 16:39:39 UTC 2023",
        "auth_time": "1680626379",
        "email_verified": "true",
        "custom:unit": "HN-01",
    }
    assert all(isinstance(v, str) for v in out.values())


def test_import_is_cheap():
    code = "import sys, civic.auth; print(sorted(m for m in ('jwt', 'cryptography') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
