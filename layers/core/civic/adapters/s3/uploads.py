"""S3 adapters: presigned POSTs for uploads. Clients are created lazily so moto can intercept them."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from civic.settings import Settings


class S3UploadSigner:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @cached_property
    def _client(self):
        import boto3
        from botocore.config import Config

        return boto3.client(
            "s3",
            region_name=self._settings.aws_region,
            endpoint_url=self._settings.aws_endpoint_url,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"} if self._settings.aws_endpoint_url else {}),
        )

    def presign_post(self, key: str, content_type: str, max_size: int, owner: str) -> dict:
        """A POST the client sends as multipart/form-data: exactly this key, type and owner metadata,
        at most max_size bytes. The media function checks the owner against the report's author."""
        return self._client.generate_presigned_post(
            Bucket=self._settings.uploads_bucket,
            Key=key,
            Fields={"Content-Type": content_type, "x-amz-meta-owner": owner},
            Conditions=[
                {"Content-Type": content_type},
                {"x-amz-meta-owner": owner},
                ["content-length-range", 1, max_size],
            ],
            ExpiresIn=self._settings.upload_url_ttl_seconds,
        )


class S3BlobStore:
    """Reads and writes objects; used by the media function."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @cached_property
    def _client(self):
        import boto3

        return boto3.client("s3", region_name=self._settings.aws_region, endpoint_url=self._settings.aws_endpoint_url)

    def read(self, bucket: str, key: str, max_bytes: int) -> bytes:
        # Never read more than the declared size (+1 to notice a larger file).
        body = self._client.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{max_bytes}")["Body"]
        return body.read()

    def owner(self, bucket: str, key: str) -> str | None:
        return self._client.head_object(Bucket=bucket, Key=key).get("Metadata", {}).get("owner")

    def write(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        self._client.put_object(
            Bucket=bucket, Key=key, Body=data, ContentType=content_type, CacheControl="public, max-age=31536000, immutable"
        )

    def put_upload(self, key: str, data: bytes, content_type: str, owner: str) -> None:
        """A file the API received itself (an Open311 POST's photo) into the uploads bucket, as a
        presigned POST would have put it: the media function takes it from there."""
        self._client.put_object(Bucket=self._settings.uploads_bucket, Key=key, Body=data, ContentType=content_type,
                                Metadata={"owner": owner})

    def delete(self, bucket: str, key: str) -> None:
        self._client.delete_object(Bucket=bucket, Key=key)
