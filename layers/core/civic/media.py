"""Uploaded media: check the file is what the report declared, make safe renditions, attach them.

Photos are decoded once, turned upright by EXIF orientation, and re-encoded without any metadata
(GPS, camera, owner) at three sizes. Videos are checked by container signature and copied as is.
A file that is not what it says is refused with a reason the citizen can read, and deleted.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from typing import Protocol

from civic.domain.ports import ConcurrentChange, ReportStore
from civic.domain.reports import MediaItem, Report, TimelineEvent, change
from civic.i18n import text

RENDITIONS = {"large": 1600, "card": 640, "thumb": 200}
MAX_PIXELS = 80_000_000  # refuse decompression bombs before decoding


class BlobStore(Protocol):
    def read(self, bucket: str, key: str, max_bytes: int) -> bytes: ...
    def write(self, bucket: str, key: str, data: bytes, content_type: str) -> None: ...
    def delete(self, bucket: str, key: str) -> None: ...


@dataclass(frozen=True)
class Upload:
    bucket: str
    key: str
    size: int


def parse_upload_key(key: str) -> tuple[str, str] | None:
    parts = key.split("/")
    if len(parts) != 3 or parts[0] != "uploads" or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def sniff(data: bytes) -> str | None:
    """The content type the bytes really have (by signature), or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"heim", b"heis"):
            return "image/heic"
        if brand in (b"isom", b"iso2", b"mp41", b"mp42", b"avc1", b"M4V ", b"qt  ", b"3gp4", b"3gp5", b"dash"):
            return "video/mp4"
    return None


REFUSALS = {
    "type_mismatch": text(
        "Tệp không đúng định dạng đã khai báo", "The file is not of the type that was declared"
    ),
    "too_large": text("Tệp lớn hơn dung lượng đã khai báo", "The file is larger than declared"),
    "undecodable": text("Không đọc được ảnh", "The image could not be read"),
    "too_many_pixels": text("Ảnh quá lớn", "The image has too many pixels"),
}


def make_renditions(data: bytes) -> dict[str, bytes]:
    """One decode, upright, no metadata: JPEG renditions keyed by name. Raises ValueError."""
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.width * img.height > MAX_PIXELS:
                raise ValueError("too_many_pixels")
            img.load()
            upright = ImageOps.exif_transpose(img).convert("RGB")
    except ValueError:
        raise
    except Exception as exc:  # Pillow raises many kinds for a broken file
        raise ValueError("undecodable") from exc
    out = {}
    for name, edge in RENDITIONS.items():
        copy = upright.copy()
        copy.thumbnail((edge, edge))
        buf = io.BytesIO()
        copy.save(buf, "JPEG", quality=82, optimize=True)  # a fresh file: no EXIF, no ICC, no XMP
        out[name] = buf.getvalue()
    return out


def rendition_key(report_id: str, media_id: str, name: str, ext: str) -> str:
    return f"media/{report_id}/{media_id}/{name}.{ext}"


def process_upload(
    upload: Upload,
    *,
    store: ReportStore,
    blobs: BlobStore,
    media_bucket: str,
    now: str,
) -> str:
    """Handle one ObjectCreated upload; returns what happened (for logs and tests).

    Idempotent: a redelivered event finds the item no longer pending and does nothing.
    """
    parsed = parse_upload_key(upload.key)
    if parsed is None:
        blobs.delete(upload.bucket, upload.key)
        return "ignored:bad_key"
    report_id, media_id = parsed
    report = store.get(report_id)
    item = next((m for m in report.media if m.media_id == media_id), None) if report else None
    if item is None:
        blobs.delete(upload.bucket, upload.key)
        return "ignored:unknown_media"
    if item.status != "pending":
        return "ignored:already_processed"

    outcome, updated = _examine(upload, report, item, blobs, media_bucket)
    for _ in range(5):
        try:
            _attach(store, report, updated, now)
            break
        except ConcurrentChange:
            report = store.get(report_id)
            current = next(m for m in report.media if m.media_id == media_id)
            if current.status != "pending":
                return "ignored:already_processed"
    else:
        raise ConcurrentChange(report_id)
    blobs.delete(upload.bucket, upload.key)
    return outcome


def _examine(upload: Upload, report: Report, item: MediaItem, blobs: BlobStore, media_bucket: str):
    if upload.size > item.declared_size:
        return "refused:too_large", replace(item, status="refused", reason=REFUSALS["too_large"].as_dict())
    data = blobs.read(upload.bucket, upload.key, item.declared_size)
    actual = sniff(data)
    if actual != item.content_type:
        return "refused:type_mismatch", replace(
            item, status="refused", reason=REFUSALS["type_mismatch"].as_dict()
        )
    if item.kind == "video":
        key = rendition_key(report.id, item.media_id, "video", "mp4")
        blobs.write(media_bucket, key, data, "video/mp4")
        return "ready", replace(item, status="ready", renditions={"video": key})
    try:
        images = make_renditions(data)
    except ValueError as exc:
        reason = str(exc) if str(exc) in REFUSALS else "undecodable"
        return f"refused:{reason}", replace(item, status="refused", reason=REFUSALS[reason].as_dict())
    keys = {}
    for name, blob in images.items():
        keys[name] = rendition_key(report.id, item.media_id, name, "jpg")
        blobs.write(media_bucket, keys[name], blob, "image/jpeg")
    return "ready", replace(item, status="ready", renditions=keys)


def _attach(store: ReportStore, report: Report, item: MediaItem, now: str) -> None:
    media = [item if m.media_id == item.media_id else m for m in report.media]
    updated = change(report, at=now, media=media)
    event = TimelineEvent(
        report_id=report.id,
        seq=updated.version,
        type="media_added" if item.status == "ready" else "media_refused",
        at=now,
        actor_role="system",
        public=item.status == "ready",
        status=updated.status,
        data={"media_id": item.media_id, **({"reason": item.reason} if item.reason else {})},
    )
    store.save(updated, report.version, event)
