"""Cognito's public JSON endpoint as a browser sees it in AWS, in front of the embedded AWS.

The web app signs in by POSTing to `https://cognito-idp.<region>.amazonaws.com/` from another origin,
so the browser first sends a CORS preflight. Cognito answers it; moto's server does not reliably (5.2.x
routes the OPTIONS to its S3 handler and answers 500), and sign-in must not depend on a moto version.
The local gateway therefore serves this endpoint under PREFIX: preflights are answered here the way
Cognito answers them, and the calls a browser may make without AWS credentials are forwarded to moto.
Admin calls, which need SigV4 credentials in AWS, are refused as AWS refuses unsigned ones.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

PREFIX = "/_aws/cognito-idp/"

# The operations Cognito serves to a public client (no AWS credentials): sign-up, sign-in and the
# token-authenticated user calls.
PUBLIC_ACTIONS = frozenset({
    "InitiateAuth", "RespondToAuthChallenge", "SignUp", "ConfirmSignUp", "ResendConfirmationCode",
    "ForgotPassword", "ConfirmForgotPassword", "GetUser", "ChangePassword", "GlobalSignOut", "RevokeToken",
    "UpdateUserAttributes", "VerifyUserAttribute", "GetUserAttributeVerificationCode", "DeleteUser",
    "AssociateSoftwareToken", "VerifySoftwareToken", "SetUserMFAPreference",
})
TARGET_PREFIX = "AWSCognitoIdentityProviderService."
EXPOSE = "x-amzn-RequestId,x-amzn-ErrorType,x-amzn-ErrorMessage,Date"

Response = tuple[int, list[tuple[str, str]], bytes]


def _error(status: int, kind: str, message: str) -> Response:
    body = json.dumps({"__type": kind, "message": message}).encode()
    return status, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", kind)], body


def handle(method: str, headers: dict[str, str], body: bytes | None, upstream: str) -> Response:
    """One request to the endpoint; ``headers`` with lower-case names; ``upstream`` is moto's URL."""
    cors = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Expose-Headers", EXPOSE)]
    if method == "OPTIONS":
        requested = headers.get("access-control-request-headers", "content-type,x-amz-target,x-amz-user-agent")
        return 200, cors + [
            ("Access-Control-Allow-Methods", "POST"),
            ("Access-Control-Allow-Headers", requested),
            ("Access-Control-Max-Age", "172800"),
        ], b""
    if method != "POST":
        status, out, data = _error(405, "UnknownOperationException", "Cognito accepts POST only")
        return status, cors + out, data
    target = headers.get("x-amz-target", "")
    action = target.removeprefix(TARGET_PREFIX)
    if not target.startswith(TARGET_PREFIX) or action not in PUBLIC_ACTIONS:
        status, out, data = _error(400, "MissingAuthenticationTokenException",
                                   f"{action or 'this operation'} needs AWS credentials")
        return status, cors + out, data
    request = urllib.request.Request(upstream.rstrip("/") + "/", data=body or b"{}", method="POST", headers={
        "Content-Type": headers.get("content-type", "application/x-amz-json-1.1"),
        "X-Amz-Target": target,
    })
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            status, data, kind = answer.status, answer.read(), answer.headers.get("Content-Type")
    except urllib.error.HTTPError as exc:
        status, data, kind = exc.code, exc.read(), exc.headers.get("Content-Type")
    except OSError as exc:
        status, out, data = _error(503, "ServiceUnavailableException", f"the embedded AWS does not answer ({exc})")
        return status, cors + out, data
    return status, cors + [("Content-Type", kind or "application/x-amz-json-1.1")], data
