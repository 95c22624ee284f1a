"""Which deployed system a command talks to: the running local stack (default) or `--stack NAME` in AWS."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# CloudFormation outputs → the settings' environment variable names.
OUTPUT_ENV = {
    "ReportsTableName": "REPORTS_TABLE",
    "TimelineTableName": "TIMELINE_TABLE",
    "UnitsTableName": "UNITS_TABLE",
    "UsersTableName": "USERS_TABLE",
    "RulesTableName": "RULES_TABLE",
    "FollowsTableName": "FOLLOWS_TABLE",
    "StatsTableName": "STATS_TABLE",
    "IdempotencyTableName": "IDEMPOTENCY_TABLE",
    "UploadsBucketName": "UPLOADS_BUCKET",
    "MediaBucketName": "MEDIA_BUCKET",
    "ConfigBucketName": "CONFIG_BUCKET",
    "UserPoolId": "USER_POOL_ID",
    "UserPoolClientId": "USER_POOL_CLIENT_ID",
    "NotificationsTableName": "NOTIFICATIONS_TABLE",
    "NotifyQueueUrl": "NOTIFY_QUEUE_URL",
    "NotifyDeadLetterQueueUrl": "NOTIFY_DLQ_URL",
    "FailedEventsQueueUrl": "FAILED_EVENTS_QUEUE_URL",
}


class TargetError(RuntimeError):
    pass


@dataclass
class Target:
    """Where the command acts: the settings env plus, locally, the embedded AWS endpoint."""

    env: dict[str, str]
    region: str
    endpoint_url: str | None
    description: str
    local_info: dict[str, Any] | None = None

    def client(self, service: str):
        import boto3

        kwargs: dict[str, Any] = {"region_name": self.region, "endpoint_url": self.endpoint_url}
        if self.endpoint_url:  # the embedded AWS accepts any credentials
            kwargs.update(aws_access_key_id="local", aws_secret_access_key="local")
        return boto3.client(service, **kwargs)

    def settings(self):
        """A Settings object for this target, with the PynamoDB models bound to its tables."""
        import os

        from civic.adapters.dynamo import models
        from civic.settings import Settings
        if self.endpoint_url:
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        fields = {k.lower(): v for k, v in self.env.items() if k.lower() in Settings.model_fields}
        fields.update(aws_region=self.region, aws_endpoint_url=self.endpoint_url)
        settings = Settings(**fields)
        models.bind(settings)
        return settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stack", help="a deployed CloudFormation stack name (default: the running local stack)")
    parser.add_argument("--region", help="AWS region of --stack (default: your AWS configuration)")
    parser.add_argument("--state-dir", help="where the local stack wrote stack.json (default .local/)")


def resolve(args: argparse.Namespace) -> Target:
    if getattr(args, "stack", None):
        return _from_cloudformation(args.stack, args.region)
    state = Path(args.state_dir or ".local") / "stack.json"
    if not state.exists():
        raise TargetError(f"no running local stack ({state} not found): start one with `make run`, or pass --stack NAME")
    info = json.loads(state.read_text())
    return Target(
        env=info["env"], region=info["region"], endpoint_url=info["aws_endpoint_url"],
        description=f"local stack at {info['aws_endpoint_url']}", local_info=info,
    )


def _from_cloudformation(stack: str, region: str | None) -> Target:
    import boto3

    cfn = boto3.client("cloudformation", region_name=region)
    try:
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    except Exception as exc:  # botocore's ClientError and credential errors alike
        raise TargetError(f"cannot read stack {stack}: {exc}") from exc
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    env = {env: outputs[key] for key, env in OUTPUT_ENV.items() if key in outputs}
    return Target(env=env, region=cfn.meta.region_name, endpoint_url=None, description=f"stack {stack}")


def fail(message: str) -> int:
    print(f"civic: {message}", file=sys.stderr)
    return 2
