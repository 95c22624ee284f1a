"""Shared fixtures. The AWS-free defaults keep any stray boto3 call away from real accounts."""

import os
import socket

import pytest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "ap-southeast-1")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.pop("AWS_PROFILE", None)

# `import chalicelib` (the edge's own code, e.g. the Open311 wire format) resolves to chalice_app/chalicelib,
# as in Lambda where the project root is the code root; registered by path, like the local stack does.
from civic_dev.local.loader import _ensure_chalicelib  # noqa: E402

_ensure_chalicelib(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "chalice_app"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def port():
    return free_port()


class MotoCognito:
    """A user pool on a moto server of its own, with users who sign in with real tokens."""

    PASSWORD = "Corr3ct-Horse!"

    def __init__(self, pool_name: str, users: list[str], staff: list[str], region: str = "ap-southeast-1"):
        import boto3

        from civic_dev.local.embedded_aws import EmbeddedAWS

        self.server = EmbeddedAWS.on_free_port()
        self.endpoint = self.server.url
        self.idp = boto3.client(
            "cognito-idp", region_name=region, endpoint_url=self.endpoint,
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )
        self.pool = self.idp.create_user_pool(PoolName=pool_name)["UserPool"]["Id"]
        self.client = self.new_client("web")
        for name in users:
            self.idp.admin_create_user(UserPoolId=self.pool, Username=name, MessageAction="SUPPRESS",
                                       TemporaryPassword="Temp-pass-1!")
            self.idp.admin_set_user_password(UserPoolId=self.pool, Username=name, Password=self.PASSWORD, Permanent=True)
        for group in ("staff", "moderators"):
            self.idp.create_group(UserPoolId=self.pool, GroupName=group)
            for name in staff:
                self.idp.admin_add_user_to_group(UserPoolId=self.pool, Username=name, GroupName=group)

    def new_client(self, name: str) -> str:
        return self.idp.create_user_pool_client(
            UserPoolId=self.pool, ClientName=name, ExplicitAuthFlows=["USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]

    def login(self, user: str, client_id: str | None = None) -> dict:
        return self.idp.initiate_auth(
            ClientId=client_id or self.client, AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user, "PASSWORD": self.PASSWORD},
        )["AuthenticationResult"]

    def stop(self) -> None:
        self.server.stop()
