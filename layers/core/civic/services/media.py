"""Uploaded media: check the file against what the report declared, make safe renditions, attach.

Photos are rendered by civic.media.imaging (one decode, upright, no metadata, three sizes, JPEG and
WebP); their EXIF position is compared with the reported place and their hash with earlier
reports' photos. Videos are checked by container structure and stored with metadata blanked.
PDF documents (evidence only) are checked by civic.media.documents and published as a copy rewritten
without Info or XMP, with their page count.
A file that is not what it says is refused with a reason the citizen can read, and deleted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any, Protocol

from civic.domain import geo
from civic.domain.ports import ConcurrentChange, ReportStore
from civic.domain.reports import EXTENSIONS, MediaItem, Report, TimelineEvent, change
from civic.i18n import Text, text
from civic.media.documents import MAX_PAGES

# Reasons a citizen reads when a file is refused (codes from civic.media.imaging and this module).
REFUSALS: dict[str, Text] = {
    "empty": text("Tệp rỗng", "The file is empty"),
    "type_mismatch": text("Tệp không đúng định dạng đã khai báo", "The file is not of the type that was declared"),
    "unsupported_format": text("Định dạng tệp không được hỗ trợ", "This file format is not supported"),
    "too_many_pixels": text("Ảnh quá lớn (quá nhiều điểm ảnh)", "The image has too many pixels"),
    "undecodable": text("Không đọc được tệp (hỏng hoặc không đầy đủ)", "The file could not be read (damaged or incomplete)"),
    "svg_refused": text("Không nhận ảnh SVG vì có thể chứa mã độc", "SVG images are refused: they can carry scripts"),
    "polyglot": text("Tệp chứa dữ liệu lạ sau phần ảnh", "The file carries unexpected data after the image"),
    "too_large": text("Tệp lớn hơn dung lượng đã khai báo", "The file is larger than declared"),
    "pdf_encrypted": text("Tệp PDF có mật khẩu hoặc bị mã hoá: hãy gửi bản không khoá",
                          "The PDF is encrypted or password-protected: send an unlocked copy"),
    "pdf_active_content": text("Tệp PDF chứa mã JavaScript hoặc lệnh mở chương trình, tệp khác",
                               "The PDF carries JavaScript or actions that launch programs or open other files"),
    "pdf_embedded_files": text("Tệp PDF có tệp khác đính kèm bên trong", "The PDF has other files embedded in it"),
    "too_many_pages": text(f"Tệp PDF quá nhiều trang (tối đa {MAX_PAGES} trang)",
                           f"The PDF has too many pages (at most {MAX_PAGES})"),
}
# A photo taken this far from the reported place is flagged for the officer (iHanoi and Điện Biên
# Smart value "verified locations").
FAR_FROM_LOCATION_M = 1000.0


class BlobStore(Protocol):
    def read(self, bucket: str, key: str, max_bytes: int) -> bytes: ...
    def owner(self, bucket: str, key: str) -> str | None: ...
    def write(self, bucket: str, key: str, data: bytes, content_type: str) -> None: ...
    def delete(self, bucket: str, key: str) -> None: ...


class PhotoRegistry(Protocol):
    def claim(self, sha256: str, report_id: str) -> str | None:
        """Record that this photo belongs to report_id; the earlier report's id if it was used before."""


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


def rendition_stem(report_id: str, media_id: str, name: str) -> str:
    """The media-bucket key of a rendition without its extension (one per format)."""
    return f"media/{report_id}/{media_id}/{name}"


def process_upload(
    upload: Upload,
    *,
    store: ReportStore,
    blobs: BlobStore,
    photos: PhotoRegistry,
    media_bucket: str,
    now: str,
    far_from_location_m: float = FAR_FROM_LOCATION_M,
) -> str:
    """Handle one ObjectCreated upload; returns what happened (for logs and tests).

    Idempotent: a redelivered event finds the item no longer pending and does nothing more.
    """
    parsed = parse_upload_key(upload.key)
    report = store.get(parsed[0]) if parsed else None
    item = next((m for m in report.media if m.media_id == parsed[1]), None) if report and parsed else None
    if item is None or report is None:  # not a declared media item: more files than declared, or a made-up key
        blobs.delete(upload.bucket, upload.key)
        return "ignored:unknown_media"
    if item.status != "pending":
        blobs.delete(upload.bucket, upload.key)
        return "ignored:already_processed"
    # The presigned POST pins the uploader in the object's metadata; S3 enforces it in AWS, and this
    # check refuses anything else (an upload to another citizen's report changes nothing there).
    if blobs.owner(upload.bucket, upload.key) != (item.uploader or report.citizen_id):
        blobs.delete(upload.bucket, upload.key)
        return "ignored:not_the_owner"
    if item.role == "evidence" and report.status not in ("accepted", "in_progress"):
        blobs.delete(upload.bucket, upload.key)  # the report moved on (resolved, transferred) meanwhile
        return "ignored:report_moved_on"

    updated, flags, outcome = _examine(upload, report, item, blobs, photos, media_bucket, far_from_location_m)
    for _ in range(5):
        try:
            _attach(store, report, updated, flags, now)
            break
        except ConcurrentChange:
            fresh = store.get(report.id)
            if fresh is None or next(m for m in fresh.media if m.media_id == item.media_id).status != "pending":
                return "ignored:already_processed"
            report = fresh
    else:
        raise ConcurrentChange(report.id)
    blobs.delete(upload.bucket, upload.key)
    return outcome


# What examining an upload gives: the media item as it now stands, flags for the report, the outcome.
_Examined = tuple[MediaItem, set[str], str]


def _refused(item: MediaItem, code: str) -> _Examined:
    reason = REFUSALS.get(code, REFUSALS["undecodable"])
    return replace(item, status="refused", reason={"code": code, **reason.as_dict()}), set(), f"refused:{code}"


def _examine(
    upload: Upload, report: Report, item: MediaItem, blobs: BlobStore, photos: PhotoRegistry, media_bucket: str,
    far_m: float,
) -> _Examined:
    if upload.size == 0:
        return _refused(item, "empty")
    if upload.size > item.declared_size:
        return _refused(item, "too_large")
    data = blobs.read(upload.bucket, upload.key, item.declared_size)
    if len(data) > item.declared_size:
        return _refused(item, "too_large")
    if item.kind == "video":
        return _video(report, item, data, blobs, media_bucket)
    if item.kind == "document":
        return _document(report, item, data, blobs, media_bucket)
    return _photo(report, item, data, blobs, photos, media_bucket, far_m)


def _video(report: Report, item: MediaItem, data: bytes, blobs: BlobStore, media_bucket: str) -> _Examined:
    from civic.media.imaging import sniff
    from civic.media.video import BadContainer, strip_metadata

    if not data:
        return _refused(item, "empty")
    if sniff(data) != item.content_type:
        return _refused(item, "type_mismatch")
    try:
        clean, _blanked = strip_metadata(data)
    except BadContainer:
        return _refused(item, "undecodable")
    stem = rendition_stem(report.id, item.media_id, "video")
    blobs.write(media_bucket, f"{stem}.{EXTENSIONS[item.content_type]}", clean, item.content_type)
    return replace(item, status="ready", renditions={"video": stem}, formats=[item.content_type]), set(), "ready"


def _document(report: Report, item: MediaItem, data: bytes, blobs: BlobStore, media_bucket: str) -> _Examined:
    from civic.media.documents import DocumentRefused, clean_pdf

    try:
        doc = clean_pdf(data, declared_type=item.content_type)
    except DocumentRefused as exc:
        return _refused(item, exc.code)
    stem = rendition_stem(report.id, item.media_id, "document")
    blobs.write(media_bucket, f"{stem}.{EXTENSIONS[item.content_type]}", doc.data, item.content_type)
    ready = replace(item, status="ready", renditions={"document": stem}, formats=[item.content_type], pages=doc.pages)
    return ready, set(), "ready"


def _photo(
    report: Report, item: MediaItem, data: bytes, blobs: BlobStore, photos: PhotoRegistry, media_bucket: str,
    far_m: float,
) -> _Examined:
    from civic.media.imaging import ImageRefused, render

    try:
        rendered = render(data, declared_type=item.content_type)
    except ImageRefused as exc:
        return _refused(item, exc.code)
    stems: dict[str, str] = {}
    formats: set[str] = set()
    for (name, fmt), blob in rendered.images.items():
        stems[name] = rendition_stem(report.id, item.media_id, name)
        formats.add(fmt)
        blobs.write(media_bucket, f"{stems[name]}.{EXTENSIONS[fmt]}", blob, f"image/{fmt}")
    flags: set[str] = set()
    distance = None
    # The file's own EXIF position first; a photo shrunk on the phone has none, and its position was
    # declared with the item instead.
    position = rendered.gps or (
        (item.declared_lat, item.declared_lon) if item.declared_lat is not None and item.declared_lon is not None else None
    )
    if position:
        distance = round(geo.distance_m(report.lat, report.lon, *position))
        if distance > far_m:
            flags.add("photo_far_from_location")
    digest = hashlib.sha256(data).hexdigest()
    first = photos.claim(digest, report.id)
    if first:
        flags.add("reused_photo")
    ready = replace(
        item, status="ready", renditions=stems, formats=sorted(formats), gps_distance_m=distance,
        taken_at=rendered.taken_at, sha256=digest, reused_from=first or None,
    )
    return ready, flags, "ready"


def _attach(store: ReportStore, report: Report, item: MediaItem, flags: set[str], now: str) -> None:
    media = [item if m.media_id == item.media_id else m for m in report.media]
    updated = change(report, at=now, media=media, flags=sorted(set(report.flags) | flags))
    data: dict[str, Any] = {"media_id": item.media_id}
    if item.reason:
        data["reason"] = item.reason
    if flags:
        data["flags"] = sorted(flags)
    event = TimelineEvent(
        report_id=report.id,
        seq=updated.version,
        type="media_added" if item.status == "ready" else "media_refused",
        at=updated.updated_at,
        actor_role="system",
        # Evidence is published with the approved result, never on upload.
        public=item.status == "ready" and item.role == "report",
        status=updated.status,
        data=data,
    )
    store.save(updated, report.version, event)
