"""The Zalo OA's credentials in Secrets Manager, and the refresh-token flow that keeps them alive.

A Zalo OA access token lives about 25 hours; its refresh token (valid three months) can be used once and
is replaced by every refresh. So one scheduled function (functions/zalo_token, one at a time) refreshes
well before expiry and writes both new tokens back; the send function only reads the secret (cached for
a few minutes per container). The secret's JSON: {"app_id", "secret_key", "access_token",
"refresh_token", "expires_at"} (UTC ISO-8601). Nothing of it is ever logged.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from civic.clock import iso_utc

if TYPE_CHECKING:
    from civic.settings import Settings

READ_CACHE_SECONDS = 300.0
REFRESH_MARGIN = timedelta(hours=6)  # the schedule runs hourly: several chances before a token expires


class ZaloCredentialsError(Exception):
    """`code` is safe to log (no token, no secret)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def _moment(raw: Any) -> datetime | None:
    """An ISO-8601 time (a missing zone read as UTC), or None for anything else."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ZaloCredentials:
    def __init__(self, settings: Settings, client: Any = None, http: Any = None,
                 clock: Any = time.monotonic) -> None:
        self._settings = settings
        self._client, self._http, self._clock = client, http, clock
        self._cached: tuple[float, dict[str, Any]] | None = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            s = self._settings
            self._client = boto3.client("secretsmanager", region_name=s.aws_region, endpoint_url=s.aws_endpoint_url)
        return self._client

    @property
    def http(self) -> Any:
        if self._http is None:
            import urllib3

            self._http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=3, read=10), retries=False)
        return self._http

    def _read(self) -> dict[str, Any]:
        raw = self.client.get_secret_value(SecretId=self._settings.zalo_secret_arn)["SecretString"]
        try:
            value = json.loads(raw or "{}")
        except ValueError:
            raise ZaloCredentialsError("secret_not_json") from None
        return value if isinstance(value, dict) else {}

    def access_token(self) -> str | None:
        """The current access token (read at most every few minutes per container), or None."""
        now = self._clock()
        if self._cached is None or now - self._cached[0] > READ_CACHE_SECONDS:
            self._cached = (now, self._read())
        token = self._cached[1].get("access_token")
        return token if isinstance(token, str) and token else None

    def refresh(self, now: datetime | None = None, force: bool = False) -> str:
        """Refresh when the token expires within REFRESH_MARGIN (or `force`); the outcome, safe to log."""
        now = now or datetime.now(UTC)
        current = self._read()
        if not all(isinstance(current.get(k), str) and current.get(k) for k in ("app_id", "secret_key", "refresh_token")):
            return "not_configured"
        expires = _moment(current.get("expires_at"))
        if not force and expires is not None and expires - now > REFRESH_MARGIN:
            return "fresh"
        resp = self.http.request(
            "POST", self._settings.zalo_oauth_url,
            body=urlencode({"refresh_token": current["refresh_token"], "app_id": current["app_id"],
                            "grant_type": "refresh_token"}),
            headers={"Content-Type": "application/x-www-form-urlencoded", "secret_key": current["secret_key"]},
        )
        if resp.status != 200:
            raise ZaloCredentialsError(f"http_{resp.status}")
        try:
            answer = json.loads(resp.data or b"{}")
        except ValueError:
            raise ZaloCredentialsError("bad_answer") from None
        token, refresh = answer.get("access_token"), answer.get("refresh_token")
        if not token or not refresh:
            raise ZaloCredentialsError(f"error_{answer.get('error', 'no_token')}")
        seconds = int(answer.get("expires_in") or 90000)
        updated = {**current, "access_token": token, "refresh_token": refresh,
                   "expires_at": iso_utc(now + timedelta(seconds=seconds))}
        # The refresh token was single-use: the new one must be kept, or the OA is locked out. So the write
        # is retried here (a retry of the whole run would send the spent token).
        for attempt in range(5):
            try:
                self.client.put_secret_value(SecretId=self._settings.zalo_secret_arn, SecretString=json.dumps(updated))
                break
            except Exception:  # noqa: BLE001 - throttling or a network blip: try again shortly
                if attempt == 4:
                    raise ZaloCredentialsError("secret_write_failed") from None
                time.sleep(0.5 * 2 ** attempt)
        self._cached = (self._clock(), updated)
        return "refreshed"
