"""What every channel module gets: the settings, the notification store and AWS/HTTP clients built on
first use (so moto can intercept them), and the one error they raise."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from civic.adapters.dynamo.notify import DynamoNotifyStore
    from civic.settings import Settings


class ChannelError(Exception):
    """The channel refused or failed; `code` is safe to log (no personal data, no secrets)."""

    def __init__(self, channel: str, code: str):
        super().__init__(f"{channel}: {code}")
        self.channel = channel
        self.code = code


class ChannelContext:
    def __init__(self, settings: Settings, store: DynamoNotifyStore, ses=None, sns=None, http=None):
        self.settings = settings
        self.store = store
        self._ses, self._sns, self._http = ses, sns, http
        self.push_apps: dict[str, str] = {}  # device platform → SNS platform application ARN

    def _client(self, service: str) -> Any:
        import boto3

        s = self.settings
        return boto3.client(service, region_name=s.aws_region, endpoint_url=s.aws_endpoint_url)  # type: ignore[call-overload]

    @cached_property
    def ses(self):
        return self._ses or self._client("ses")

    @cached_property
    def sns(self):
        return self._sns or self._client("sns")

    @cached_property
    def zalo_credentials(self):
        from civic.adapters.channels.zalo_token import ZaloCredentials

        return ZaloCredentials(self.settings, http=self._http)

    @cached_property
    def http(self):
        import urllib3

        return self._http or urllib3.PoolManager(timeout=urllib3.Timeout(connect=3, read=5), retries=False)
