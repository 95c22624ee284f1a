"""Cognito JWT verification.

Used in two places:

* the local API gateway (`civic_dev.local.gateway`), which verifies tokens on routes that carry a
  Cognito authorizer exactly as API Gateway's Cognito user pool authorizer does in AWS;
* the app itself, on routes where auth is *optional* (no authorizer in API Gateway, so nothing
  has verified the token) but a signed-in caller sees more, e.g. ``GET /v1/reports/{id}``.

Both ID tokens (``token_use == "id"``, ``aud == client_id``) and access tokens
(``token_use == "access"``, ``client_id`` claim == client id) are accepted.

Importing this module is cheap: PyJWT/cryptography are imported on first verification.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "InvalidToken",
    "JWKSUnavailable",
    "TokenVerifier",
    "bearer_token",
    "apigw_claims",
    "cognito_issuer",
    "default_jwks_url",
]


class InvalidToken(Exception):
    """The token must not be trusted. ``reason`` is a short machine code, ``str(exc)`` a sentence.

    Reasons: ``malformed``, ``unsupported_alg``, ``unknown_key``, ``bad_signature``, ``expired``,
    ``not_yet_valid``, ``bad_issuer``, ``bad_audience``, ``bad_token_use``, ``missing_claim``,
    ``jwks_unavailable``.
    """

    def __init__(self, message: str, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


class JWKSUnavailable(InvalidToken):
    """The signing keys could not be fetched, so no token can be verified (fail closed)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "jwks_unavailable")


def cognito_issuer(region: str, user_pool_id: str) -> str:
    """The ``iss`` a Cognito user pool puts in its tokens (moto uses the same value)."""
    return f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"


def default_jwks_url(region: str, user_pool_id: str, endpoint_url: str | None = None) -> str:
    """The pool's JWKS URL: AWS's, or the local endpoint's (moto serves ``/{pool}/.well-known/jwks.json``).

    Without ``endpoint_url`` the environment is consulted the way boto3 does it:
    ``AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER`` then ``AWS_ENDPOINT_URL``.
    """
    if endpoint_url is None:
        endpoint_url = os.environ.get("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER") or os.environ.get(
            "AWS_ENDPOINT_URL"
        )
    if endpoint_url:
        return f"{endpoint_url.rstrip('/')}/{user_pool_id}/.well-known/jwks.json"
    return f"{cognito_issuer(region, user_pool_id)}/.well-known/jwks.json"


def bearer_token(headers: Mapping[str, Any] | None, header: str = "Authorization") -> str | None:
    """The token in ``Authorization: Bearer <t>`` or a bare ``Authorization: <t>`` (API Gateway accepts both).

    Header lookup is case-insensitive. Returns None when the header is absent or blank.
    """
    if not headers:
        return None
    value = headers.get(header)
    if value is None:
        value = headers.get(header.lower())
    if value is None:
        lname = header.lower()
        for k, v in headers.items():
            if k.lower() == lname:
                value = v
                break
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        value = value[0] if value else ""
    value = str(value).strip()
    if not value:
        return None
    scheme, sep, rest = value.partition(" ")
    if scheme.lower() == "bearer":
        value = rest.strip()
    return value or None


def _apigw_time(value: Any) -> str:
    try:
        return datetime.fromtimestamp(int(value), tz=UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
    except (TypeError, ValueError, OverflowError, OSError):
        return str(value)


def apigw_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as API Gateway REST (v1) Cognito authorizers hand them to the integration.

    ``requestContext.authorizer.claims`` is a flat map of strings:

    * ``cognito:groups`` (a JSON array in the token) becomes a comma-separated string,
      ``"moderators,staff"``; a single group is just ``"staff"``;
    * ``exp`` / ``iat`` become ``"Tue Apr 04 18:39:39 UTC 2023"``; other numbers (``auth_time``)
      become their decimal string;
    * booleans become ``"true"`` / ``"false"``; other arrays are comma-joined; objects are JSON.

    Handlers should read groups with ``claims.get("cognito:groups", "").split(",")``.
    """
    out: dict[str, str] = {}
    for key, value in claims.items():
        if key in ("exp", "iat") and isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = _apigw_time(value)
        elif isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, (list, tuple)):
            out[key] = ",".join(str(v) for v in value)
        elif isinstance(value, dict):
            out[key] = json.dumps(value, separators=(",", ":"))
        elif value is None:
            out[key] = ""
        else:
            out[key] = str(value)
    return out


class TokenVerifier:
    """Verifies Cognito user pool tokens against the pool's JWKS (RS256).

    ``verify(token)`` returns the token's claims (JSON types, as in the token) or raises
    :class:`InvalidToken`. Keys are cached for ``jwks_ttl`` seconds; a token naming an unknown
    ``kid`` triggers at most one refetch per ``refetch_interval`` seconds (key rotation without
    letting forged ``kid`` values hammer the JWKS endpoint).
    """

    def __init__(
        self,
        region: str,
        user_pool_id: str,
        client_id: str | Iterable[str],
        jwks_url: str | None = None,
        issuer: str | None = None,
        *,
        leeway: float = 0,
        jwks_ttl: float = 3600,
        refetch_interval: float = 30,
        http_timeout: float = 5,
    ) -> None:
        if not user_pool_id:
            raise ValueError("user_pool_id is required")
        if not client_id:
            raise ValueError("client_id is required")
        self.region = region
        self.user_pool_id = user_pool_id
        self.client_ids: frozenset[str] = (
            frozenset([client_id]) if isinstance(client_id, str) else frozenset(client_id)
        )
        self.client_id = client_id if isinstance(client_id, str) else sorted(self.client_ids)[0]
        self.jwks_url = jwks_url or default_jwks_url(region, user_pool_id)
        self.issuer = issuer or cognito_issuer(region, user_pool_id)
        self.leeway = leeway
        self.jwks_ttl = jwks_ttl
        self.refetch_interval = refetch_interval
        self.http_timeout = http_timeout
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any = None, **kwargs: Any) -> TokenVerifier:
        """Built from `civic.settings.Settings` (``user_pool_id``, ``user_pool_client_id``, ``aws_region``)."""
        if settings is None:
            from civic.settings import get_settings

            settings = get_settings()
        kwargs.setdefault(
            "jwks_url",
            default_jwks_url(settings.aws_region, settings.user_pool_id, settings.aws_endpoint_url),
        )
        return cls(settings.aws_region, settings.user_pool_id, settings.user_pool_client_id, **kwargs)

    def __repr__(self) -> str:
        return f"TokenVerifier(pool={self.user_pool_id!r}, jwks_url={self.jwks_url!r}, issuer={self.issuer!r})"

    # -- keys -------------------------------------------------------------------------------

    def _fetch_jwks(self) -> dict[str, Any]:
        """The pool's RSA signing keys by kid, through PyJWT's JWKS client (this class keeps its own cache
        and refetch policy: PyJWKClient would refetch on every unknown kid)."""
        import jwt

        client = jwt.PyJWKClient(self.jwks_url, cache_jwk_set=False, cache_keys=False, timeout=self.http_timeout)
        try:
            jwk_set = client.get_jwk_set(refresh=True)
        except (jwt.PyJWKClientError, jwt.PyJWKSetError, ValueError) as exc:  # unreachable, not JSON, no keys: fail closed
            raise JWKSUnavailable(f"cannot fetch JWKS from {self.jwks_url}: {exc}") from exc
        keys = {key.key_id or "": key for key in jwk_set.keys
                if key.key_type == "RSA" and key.public_key_use in (None, "sig")}
        if not keys:
            raise JWKSUnavailable(f"JWKS at {self.jwks_url} has no usable RSA signing keys")
        return keys

    def _key_for(self, kid: str) -> Any:
        now = time.monotonic()
        keys = self._keys
        fresh = keys and now - self._fetched_at < self.jwks_ttl
        if fresh and kid in keys:
            return keys[kid]
        with self._lock:
            keys = self._keys
            age = now - self._fetched_at
            stale = not keys or age >= self.jwks_ttl
            if stale or (kid not in keys and age >= self.refetch_interval):
                self._keys = keys = self._fetch_jwks()
                self._fetched_at = time.monotonic()
        if kid not in keys:
            raise InvalidToken(f"token signed with unknown key id {kid!r}", "unknown_key")
        return keys[kid]

    def refresh(self) -> None:
        """Fetch the JWKS now (e.g. at start-up, to fail fast on a wrong URL)."""
        with self._lock:
            self._keys = self._fetch_jwks()
            self._fetched_at = time.monotonic()

    # -- verification -------------------------------------------------------------------------

    def verify(self, token: str | None) -> dict[str, Any]:
        """The verified claims of an ID or access token of this pool and client, else InvalidToken."""
        import jwt

        if not token or not isinstance(token, str):
            raise InvalidToken("no token", "malformed")
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"not a JWT: {exc}", "malformed") from None
        if header.get("alg") != "RS256":
            raise InvalidToken(f"unsupported JWT alg {header.get('alg')!r}", "unsupported_alg")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("JWT header has no kid", "malformed")
        key = self._key_for(kid)
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=["RS256"],
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("token expired", "expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("token not yet valid", "not_yet_valid") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("token issued by another user pool", "bad_issuer") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("token signature does not verify", "bad_signature") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"token lacks the {exc.claim!r} claim", "missing_claim") from None
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(f"invalid token: {exc}", "malformed") from None

        token_use = claims.get("token_use")
        if token_use == "id":
            aud = claims.get("aud")
            auds = [aud] if isinstance(aud, str) else list(aud or [])
            if not any(a in self.client_ids for a in auds):
                raise InvalidToken("token was issued to another app client (aud)", "bad_audience")
        elif token_use == "access":
            if claims.get("client_id") not in self.client_ids:
                raise InvalidToken("token was issued to another app client (client_id)", "bad_audience")
        else:
            raise InvalidToken(f"token_use {token_use!r} is neither 'id' nor 'access'", "bad_token_use")
        return claims

    def verify_headers(self, headers: Mapping[str, Any] | None, header: str = "Authorization") -> dict[str, Any] | None:
        """For optional-auth routes: None without a token, the claims with a valid one, InvalidToken otherwise."""
        token = bearer_token(headers, header)
        if token is None:
            return None
        return self.verify(token)
