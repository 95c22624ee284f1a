"""The media rules over in-memory fakes."""

import io

from PIL import Image

from civic.domain.reports import new_report
from civic.domain.submission import ReportSubmission
from civic.media import Upload, make_renditions, process_upload, sniff
from civic.storage.memory import InMemoryReportStore


class Blobs:
    def __init__(self, objects):
        self.objects = dict(objects)

    def read(self, bucket, key, max_bytes):
        return self.objects[(bucket, key)][: max_bytes + 1]

    def write(self, bucket, key, data, content_type):
        self.objects[(bucket, key)] = data

    def delete(self, bucket, key):
        self.objects.pop((bucket, key), None)


def jpeg(size=(3000, 2000), orientation=None):
    img = Image.new("RGB", size, (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "CanaryCam"
    if orientation:
        exif[0x0112] = orientation
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


def report_with(store, content_type, size):
    sub = ReportSubmission(category="traffic", description="x", lat=21.0, lon=105.85, media=[{"content_type": content_type, "size": size}])
    report, event = new_report(sub, citizen_id="c", tracking_code="HN-MMMMM2", now="2026-11-20T00:00:00.000Z")
    store.create(report, event)
    return report, report.media[0]


def test_photo_becomes_three_clean_upright_renditions():
    store = InMemoryReportStore()
    data = jpeg(orientation=6)  # rotated 90°: renditions must come out portrait
    report, item = report_with(store, "image/jpeg", len(data))
    key = f"uploads/{report.id}/{item.media_id}"
    blobs = Blobs({("up", key): data})
    outcome = process_upload(Upload("up", key, len(data)), store=store, blobs=blobs, media_bucket="media", now="2026-11-20T00:01:00.000Z")
    assert outcome == "ready"
    stored = store.get(report.id)
    assert stored.media[0].status == "ready" and stored.version == 2
    assert [e.type for e in store.timeline(report.id)] == ["submitted", "media_added"]
    for name, edge in (("large", 1600), ("card", 640), ("thumb", 200)):
        out = Image.open(io.BytesIO(blobs.objects[("media", stored.media[0].renditions[name])]))
        assert max(out.size) == edge and out.height > out.width
        assert not out.getexif() and b"CanaryCam" not in blobs.objects[("media", stored.media[0].renditions[name])]
    assert ("up", key) not in blobs.objects
    # A redelivered event changes nothing.
    assert process_upload(Upload("up", key, len(data)), store=store, blobs=blobs, media_bucket="media", now="x") == "ignored:already_processed"


def test_file_that_is_not_what_it_says_is_refused_with_a_reason():
    store = InMemoryReportStore()
    fake = b"%PDF-1.7 not an image" * 10
    report, item = report_with(store, "image/jpeg", len(fake))
    key = f"uploads/{report.id}/{item.media_id}"
    blobs = Blobs({("up", key): fake})
    assert process_upload(Upload("up", key, len(fake)), store=store, blobs=blobs, media_bucket="media", now="t") == "refused:type_mismatch"
    refused = store.get(report.id).media[0]
    assert refused.status == "refused" and refused.reason["vi"] and refused.reason["en"]
    assert ("up", key) not in blobs.objects and not any(b == "media" for b, _ in blobs.objects)
    assert store.timeline(report.id)[-1].public is False


def test_larger_than_declared_and_broken_images_are_refused():
    store = InMemoryReportStore()
    data = jpeg()
    report, item = report_with(store, "image/jpeg", 100)
    key = f"uploads/{report.id}/{item.media_id}"
    assert process_upload(Upload("up", key, len(data)), store=store, blobs=Blobs({("up", key): data}), media_bucket="m", now="t") == "refused:too_large"
    broken = b"\xff\xd8\xff" + b"\x00" * 500
    try:
        make_renditions(broken)
        raise AssertionError("a broken JPEG must not decode")
    except ValueError as exc:
        assert str(exc) == "undecodable"


def test_unknown_keys_are_deleted_not_processed():
    blobs = Blobs({("up", "uploads/nope/nope"): b"x", ("up", "elsewhere.txt"): b"y"})
    store = InMemoryReportStore()
    assert process_upload(Upload("up", "uploads/nope/nope", 1), store=store, blobs=blobs, media_bucket="m", now="t") == "ignored:unknown_media"
    assert process_upload(Upload("up", "elsewhere.txt", 1), store=store, blobs=blobs, media_bucket="m", now="t") == "ignored:bad_key"
    assert blobs.objects == {}


def test_sniff():
    assert sniff(jpeg((10, 10))) == "image/jpeg"
    assert sniff(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 8) == "video/mp4"
    assert sniff(b"\x00\x00\x00\x18ftypheic") == "image/heic"
    assert sniff(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff(b"GIF89a") is None
