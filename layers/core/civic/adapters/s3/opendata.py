"""The open-data files in the media bucket (under open-data/, public through CloudFront)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from civic.settings import Settings

# Files may be rewritten when a day is exported again (its reports changed): caches keep them an hour.
CACHE_CONTROL = "public, max-age=3600"


class S3OpenDataStore:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.bucket = settings.media_bucket

    @cached_property
    def _client(self):
        import boto3

        return boto3.client("s3", region_name=self._settings.aws_region, endpoint_url=self._settings.aws_endpoint_url)

    def read(self, key: str) -> bytes | None:
        try:
            return self._client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self._client.exceptions.NoSuchKey:
            return None

    def sha256(self, key: str) -> str | None:
        """The digest stored with the object when it was written (None: no such object)."""
        from botocore.exceptions import ClientError

        try:
            head = self._client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        return head.get("Metadata", {}).get("sha256")

    def write(self, key: str, data: bytes, content_type: str, sha256: str) -> None:
        self._client.put_object(
            Bucket=self.bucket, Key=key, Body=data, ContentType=content_type, CacheControl=CACHE_CONTROL,
            Metadata={"sha256": sha256},
        )


class S3MediaFiles:
    """`civic.services.exports.MediaFiles` on the media bucket, with CloudFront's invalidation when
    the stack has a CDN (CDN_DISTRIBUTION_ID)."""

    def __init__(self, settings: Settings, client: Any = None) -> None:
        import boto3

        self._settings = settings
        self._s3 = client or boto3.client("s3", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url)

    def move(self, source: str, target: str) -> bool:
        from botocore.exceptions import ClientError

        bucket = self._settings.media_bucket
        try:
            self._s3.copy_object(Bucket=bucket, Key=target, CopySource={"Bucket": bucket, "Key": source},
                                 MetadataDirective="COPY")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        self._s3.delete_object(Bucket=bucket, Key=source)
        return True

    def invalidate(self, paths: list[str]) -> None:
        distribution = self._settings.cdn_distribution_id
        if not distribution:
            return
        import time

        import boto3

        boto3.client("cloudfront").create_invalidation(DistributionId=distribution, InvalidationBatch={
            "Paths": {"Quantity": len(paths), "Items": paths}, "CallerReference": f"withhold-{time.time_ns()}"})


def backfill_created_day() -> dict[str, int]:
    """Give every report written before the ByDay index its `created_day` (an operator's one-off:
    `civic exports backfill`). A scan, filtered to the rows that lack it; each update is conditioned
    on the version read, and a report changed meanwhile was rewritten with the attribute anyway."""
    from pynamodb.exceptions import UpdateError

    from civic.adapters.dynamo.models import ReportModel
    from civic.adapters.dynamo.reports import condition_failed
    from civic.clock import local_day

    counts = {"updated": 0, "changed_meanwhile": 0}
    missing = ReportModel.created_at.exists() & ReportModel.created_day.does_not_exist()
    for model in ReportModel.scan(filter_condition=missing):
        try:
            model.update(actions=[ReportModel.created_day.set(local_day(model.created_at))],
                         condition=ReportModel.version == model.version)
            counts["updated"] += 1
        except UpdateError as exc:
            if not condition_failed(exc):
                raise
            counts["changed_meanwhile"] += 1
    return counts
