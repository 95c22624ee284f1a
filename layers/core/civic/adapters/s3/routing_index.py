"""The routing index in the config bucket: publication, status reports, and a per-container cache.

Keys (config bucket):
  boundaries/incoming/<name>         operators' uploads (the boundaries function is triggered here)
  boundaries/reports/<name>.json     the result for each upload (report, outcome, active version)
  boundaries/status.json             the latest result, whatever it was
  routing/index/<version>.bin        immutable artifacts (`civic.services.boundaries.RoutingArtifact`)
  routing/current.json               the pointer {version, key, built_at, source_key, counts, …};
                                     written last, so switching it is the commit point
"""

from __future__ import annotations

import json
import logging
import posixpath
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from civic.domain.ports import RoutingIndexMissing
from civic.services.boundaries import MAX_UPLOAD_BYTES, RoutingArtifact, process_bytes

if TYPE_CHECKING:
    from civic.domain.units import UnitTree
    from civic.settings import Settings

log = logging.getLogger("civic.routing_index")

INCOMING_PREFIX = "boundaries/incoming/"
REPORTS_PREFIX = "boundaries/reports/"
STATUS_KEY = "boundaries/status.json"
INDEX_PREFIX = "routing/index/"
POINTER_KEY = "routing/current.json"
COLLECTIONS_PREFIX = "routing/collections/"  # each publication's whole FeatureCollection (export, merge)
HISTORY_PREFIX = "routing/history/"  # one pointer per publication, by time: history and rollback
DEFAULT_CHECK_SECONDS = 30.0


class NoRoutingIndex(RoutingIndexMissing):
    """No boundaries were ever published to this bucket: upload some with `civic boundaries import`."""


def _error_code(exc: Exception) -> tuple[str, int]:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", "")), int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _missing(exc: Exception) -> bool:
    code, status = _error_code(exc)
    return code in ("NoSuchKey", "404", "NotFound") or status == 404


def s3_client(settings: Settings):
    import boto3

    return boto3.client("s3", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url)


def report_key(source_key: str) -> str:
    """boundaries/incoming/20260101T000000Z-wards.geojson → boundaries/reports/20260101T000000Z-wards.geojson.json"""
    return f"{REPORTS_PREFIX}{posixpath.basename(source_key.rstrip('/')) or 'upload'}.json"


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class S3BoundaryStore:
    """`civic.services.boundaries.BoundaryStore` on the config bucket."""

    def __init__(self, client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def stat_upload(self, key: str) -> dict:
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(f"s3://{self.bucket}/{key} does not exist") from exc
            raise
        modified = head.get("LastModified")
        return {"size": int(head["ContentLength"]), "modified": modified.isoformat() if modified else None,
                "mode": (head.get("Metadata") or {}).get("mode")}  # civic boundaries import --replace-all

    def read_upload(self, key: str, max_bytes: int) -> bytes:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(f"s3://{self.bucket}/{key} does not exist") from exc
            raise
        try:
            return body.read(max_bytes + 1)  # one byte more notices a file that grew past the limit
        finally:
            body.close()

    def _get_json(self, key: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return json.loads(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    def current(self) -> dict | None:
        return self._get_json(POINTER_KEY)

    def status(self) -> dict | None:
        return self._get_json(STATUS_KEY)

    def publish(self, artifact: bytes, pointer: dict, collection: bytes) -> dict:
        version = pointer["version"]
        key = f"{INDEX_PREFIX}{version}.bin"
        self.client.put_object(
            Bucket=self.bucket, Key=key, Body=artifact, ContentType="application/octet-stream",
            CacheControl="public, max-age=31536000, immutable",
        )
        collection_key = f"{COLLECTIONS_PREFIX}{version}.geojson"
        self.client.put_object(Bucket=self.bucket, Key=collection_key, Body=collection,
                               ContentType="application/geo+json")
        pointer = {**pointer, "key": key, "collection_key": collection_key}
        self._write_history(pointer)
        self._write_pointer(pointer)
        return pointer

    def _write_pointer(self, pointer: dict) -> None:  # the commit point: functions switch on it
        self.client.put_object(
            Bucket=self.bucket, Key=POINTER_KEY, Body=_json_bytes(pointer), ContentType="application/json",
            CacheControl="no-cache",
        )

    def _write_history(self, pointer: dict) -> None:
        stamp = (pointer.get("activated_at") or pointer["built_at"]).replace(":", "")
        self.client.put_object(Bucket=self.bucket, Key=f"{HISTORY_PREFIX}{stamp}-{pointer['version'][:16]}.json",
                               Body=_json_bytes(pointer), ContentType="application/json")

    def collection(self, pointer: dict) -> bytes | None:
        from botocore.exceptions import ClientError

        key = pointer.get("collection_key")
        if not key:
            return None
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    def history(self) -> list[dict]:
        """Every publication and rollback, newest first."""
        keys = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=HISTORY_PREFIX):
            keys += [item["Key"] for item in page.get("Contents", [])]
        return [entry for entry in (self._get_json(k) for k in sorted(keys, reverse=True)) if entry]

    def activate(self, version: str, now: str) -> dict:
        """Make an earlier publication active again (its artifact is immutable and still there)."""
        found = next((e for e in self.history() if e["version"] == version or e["version"].startswith(version)), None)
        if found is None:
            raise LookupError(version)
        pointer = {k: v for k, v in found.items() if k not in ("activated_at", "rollback_of")}
        current = self.current()
        pointer.update(activated_at=now, rollback_of=current.get("version") if current else None)
        self._write_history(pointer)
        self._write_pointer(pointer)
        return pointer

    def save_status(self, source_key: str, status: dict) -> dict:
        status = {**status, "report_key": report_key(source_key)}
        body = _json_bytes(status)
        self.client.put_object(Bucket=self.bucket, Key=status["report_key"], Body=body, ContentType="application/json")
        self.client.put_object(
            Bucket=self.bucket, Key=STATUS_KEY, Body=body, ContentType="application/json", CacheControl="no-cache"
        )
        return status


def publish_collection(
    collection: dict, tree: UnitTree, *, client, bucket: str, source_key: str = "seed", now: str | None = None
) -> dict:
    """Validate and publish a FeatureCollection directly (demo seeding, tests); returns the status.

    Same checks and same keys as an operator's upload; `status["ok"]` is False (and nothing is
    published) if the collection has problems.
    """
    raw = json.dumps(collection, ensure_ascii=False).encode()
    return process_bytes(raw, source_key=source_key, store=S3BoundaryStore(client, bucket), tree=tree, now=now)


class IndexCache:
    """The current `RoutingArtifact`, loaded once per container and refreshed when a new one is published.

    At most one conditional GET of `routing/current.json` (If-None-Match with its last ETag) every
    `check_interval` seconds; the artifact itself is downloaded only when the pointer names another
    version. While one thread checks, other threads keep using the artifact they have. If S3 fails
    after an artifact was loaded, the old one stays in use (logged) and the check is retried later.
    """

    def __init__(
        self,
        client,
        bucket: str,
        *,
        check_interval: float = DEFAULT_CHECK_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.check_interval = float(check_interval)
        self._clock = clock
        self._lock = threading.Lock()
        self._artifact: RoutingArtifact | None = None
        self._pointer: dict | None = None
        self._etag: str | None = None
        self._next_check = 0.0

    @property
    def version(self) -> str | None:
        return self._artifact.version if self._artifact else None

    @property
    def pointer(self) -> dict | None:
        return self._pointer

    def invalidate(self) -> None:
        """Check the pointer on the next `get` (e.g. right after publishing)."""
        self._next_check = 0.0

    def get(self) -> RoutingArtifact:
        """The current artifact; raises NoRoutingIndex if none was ever published."""
        artifact = self._artifact
        if artifact is not None and self._clock() < self._next_check:
            return artifact
        if artifact is not None:
            if not self._lock.acquire(blocking=False):
                return artifact  # another thread is checking; this one keeps the current artifact
        else:
            self._lock.acquire()
        try:
            if self._artifact is not None and self._clock() < self._next_check:
                return self._artifact
            self._refresh()
            assert self._artifact is not None
            return self._artifact
        finally:
            self._lock.release()

    def _refresh(self) -> None:
        from botocore.exceptions import ClientError

        self._next_check = self._clock() + self.check_interval
        kwargs = {"IfNoneMatch": self._etag} if self._etag and self._artifact is not None else {}
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=POINTER_KEY, **kwargs)
            pointer = json.loads(response["Body"].read())
            etag = response.get("ETag")
            if self._artifact is None or pointer["version"] != self._artifact.version:
                data = self.client.get_object(Bucket=self.bucket, Key=pointer["key"])["Body"].read()
                artifact = RoutingArtifact.from_bytes(data)
                if artifact.version != pointer["version"]:
                    raise ValueError(f"{pointer['key']} holds version {artifact.version}, not {pointer['version']}")
                log.info("routing index loaded", extra={"version": artifact.version, "bytes": len(data)})
                self._artifact = artifact
            self._pointer, self._etag = pointer, etag
        except ClientError as exc:
            code, status = _error_code(exc)
            if status == 304 or code in ("304", "NotModified"):
                return
            if self._artifact is None:
                if _missing(exc):
                    raise NoRoutingIndex(
                        f"no routing index published in s3://{self.bucket}/{POINTER_KEY}: "
                        "load boundaries with `civic boundaries import FILE`"
                    ) from exc
                raise
            log.warning("routing index check failed; keeping version %s: %s", self._artifact.version, code or exc)
        except (ValueError, KeyError) as exc:  # a corrupt pointer or artifact
            if self._artifact is None:
                raise
            log.warning("routing index check failed; keeping version %s: %s", self._artifact.version, exc)


_caches: dict[tuple, IndexCache] = {}
_caches_lock = threading.Lock()


def index_cache(settings: Settings, *, check_interval: float | None = None) -> IndexCache:
    """The container's IndexCache for these settings' config bucket (created on first use).

    `check_interval` defaults to the settings' `index_check_seconds` (INDEX_CHECK_SECONDS).
    """
    key = (settings.config_bucket, settings.aws_endpoint_url, settings.aws_region)
    with _caches_lock:
        cache = _caches.get(key)
        if cache is None:
            if check_interval is None:
                check_interval = settings.index_check_seconds
            cache = _caches[key] = IndexCache(s3_client(settings), settings.config_bucket, check_interval=check_interval)
        return cache


__all__ = [
    "INCOMING_PREFIX",
    "POINTER_KEY",
    "STATUS_KEY",
    "IndexCache",
    "MAX_UPLOAD_BYTES",
    "NoRoutingIndex",
    "S3BoundaryStore",
    "index_cache",
    "publish_collection",
    "report_key",
]
