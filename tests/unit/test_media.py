"""The media rules over in-memory fakes: renditions, refusals, owner, location and reuse checks."""

import io
import struct

from PIL import Image

from civic.domain.reports import new_report, public_view
from civic.domain.submission import ReportSubmission
from civic.media.video import BadContainer, strip_metadata
from civic.services.media import Upload, process_upload
from civic_dev.fakes import InMemoryPhotoRegistry, InMemoryReportStore

OWNER = "citizen-1"


class Blobs:
    def __init__(self, objects=None, owners=None):
        self.objects = dict(objects or {})
        self.owners = dict(owners or {})

    def read(self, bucket, key, max_bytes):
        return self.objects[(bucket, key)][: max_bytes + 1]

    def owner(self, bucket, key):
        return self.owners.get((bucket, key))

    def write(self, bucket, key, data, content_type):
        self.objects[(bucket, key)] = data

    def delete(self, bucket, key):
        self.objects.pop((bucket, key), None)


def jpeg(size=(3000, 2000), orientation=None, gps=None):
    img = Image.new("RGB", size, (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "CanaryCam"
    if orientation:
        exif[0x0112] = orientation
    if gps:
        def dms(value):
            minutes = value % 1 * 60
            return (float(int(value)), float(int(minutes)), round(minutes % 1 * 60, 2))

        exif[0x8825] = {1: "N", 2: dms(gps[0]), 3: "E", 4: dms(gps[1])}
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif.tobytes())
    return buf.getvalue()


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mp4(with_gps=True) -> bytes:
    udta = box(b"udta", box(b"\xa9xyz", b"+21.0285+105.8542/"))
    moov = box(b"moov", box(b"mvhd", b"\x00" * 100) + (udta if with_gps else b""))
    return box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + moov + box(b"mdat", b"\x00" * 64)


def setup(content_type, data, lat=21.0285, lon=105.8542, owner=OWNER, store=None, photos=None, declared=None):
    store = store or InMemoryReportStore()
    item = {"content_type": content_type, "size": max(len(data), 1)}
    if declared:
        item.update(lat=declared[0], lon=declared[1])
    sub = ReportSubmission(category="traffic", description="x", lat=lat, lon=lon, media=[item])
    report, event = new_report(sub, citizen_id=OWNER, tracking_code=f"HN-{len(store.reports):06d}", now="2026-11-20T00:00:00.000Z")
    store.create(report, event)
    key = f"uploads/{report.id}/{report.media[0].media_id}"
    blobs = Blobs({("up", key): data}, {("up", key): owner})
    return store, report, key, blobs, photos or InMemoryPhotoRegistry()


def run(store, key, blobs, photos, size):
    return process_upload(Upload("up", key, size), store=store, blobs=blobs, photos=photos, media_bucket="media",
                          now="2026-11-20T00:01:00.000Z")


def test_photo_becomes_clean_upright_renditions_in_jpeg_and_webp():
    data = jpeg(orientation=6, gps=(21.0285, 105.8542))
    store, report, key, blobs, photos = setup("image/jpeg", data)
    assert run(store, key, blobs, photos, len(data)) == "ready"
    item = store.get(report.id).media[0]
    assert item.status == "ready" and set(item.formats) == {"jpeg", "webp"} and item.gps_distance_m < 1000
    assert [e.type for e in store.timeline(report.id)] == ["submitted", "media_added"]
    for name, edge in (("large", 1600), ("card", 640), ("thumb", 200)):
        for ext in ("jpg", "webp"):
            raw = blobs.objects[("media", f"{item.renditions[name]}.{ext}")]
            out = Image.open(io.BytesIO(raw))
            assert max(out.size) == edge and out.height > out.width  # rotated to portrait
            assert not out.getexif() and b"CanaryCam" not in raw
    assert ("up", key) not in blobs.objects  # the original is gone once rendered
    # Public URLs in the format the client accepts.
    webp = public_view(store.get(report.id), None, "https://cdn.test", "webp")["media"][0]
    assert webp["format"] == "webp" and webp["renditions"]["thumb"].endswith("/thumb.webp")
    # A redelivered event changes nothing.
    assert run(store, key, blobs, photos, len(data)) == "ignored:already_processed"
    assert len(store.timeline(report.id)) == 2


def test_photo_far_from_the_reported_place_is_flagged():
    data = jpeg(gps=(10.77, 106.70))  # Hồ Chí Minh City, for a report in Hà Nội
    store, report, key, blobs, photos = setup("image/jpeg", data)
    assert run(store, key, blobs, photos, len(data)) == "ready"
    stored = store.get(report.id)
    assert "photo_far_from_location" in stored.flags and stored.media[0].gps_distance_m > 1_000_000


def test_a_photo_shrunk_on_the_phone_is_checked_against_its_declared_position():
    data = jpeg()  # what a canvas writes: no EXIF at all
    store, report, key, blobs, photos = setup("image/jpeg", data, declared=(10.77, 106.70))
    assert run(store, key, blobs, photos, len(data)) == "ready"
    stored = store.get(report.id)
    assert "photo_far_from_location" in stored.flags and stored.media[0].gps_distance_m > 1_000_000
    # Declared near the place: no flag. And the file's own EXIF position wins over a declared one.
    for declared, gps in (((21.0286, 105.8543), None), ((10.77, 106.70), (21.0285, 105.8542))):
        data = jpeg(size=(300, 200), gps=gps)
        store, report, key, blobs, photos = setup("image/jpeg", data, declared=declared)
        assert run(store, key, blobs, photos, len(data)) == "ready"
        stored = store.get(report.id)
        assert stored.flags == [] and stored.media[0].gps_distance_m < 100


def test_photo_reused_from_another_report_is_flagged():
    data = jpeg()
    store, first, key1, blobs1, photos = setup("image/jpeg", data)
    run(store, key1, blobs1, photos, len(data))
    _, second, key2, blobs2, _ = setup("image/jpeg", data, store=store, photos=photos)
    assert run(store, key2, blobs2, photos, len(data)) == "ready"
    assert "reused_photo" in store.get(second.id).flags and "reused_photo" not in store.get(first.id).flags


def test_file_that_is_not_what_it_says_is_refused_with_a_reason():
    pdf = b"%PDF-1.7 not an image" * 10
    store, report, key, blobs, photos = setup("image/jpeg", pdf)
    assert run(store, key, blobs, photos, len(pdf)) == "refused:unsupported_format"
    buf = io.BytesIO()
    Image.new("RGB", (50, 50)).save(buf, "PNG")
    fake = buf.getvalue()  # a real PNG declared as JPEG
    store, report, key, blobs, photos = setup("image/jpeg", fake)
    assert run(store, key, blobs, photos, len(fake)) == "refused:type_mismatch"
    refused = store.get(report.id).media[0]
    assert refused.status == "refused" and refused.reason["code"] == "type_mismatch" and refused.reason["vi"]
    assert ("up", key) not in blobs.objects and not any(b == "media" for b, _ in blobs.objects)
    assert store.timeline(report.id)[-1].public is False


def test_larger_than_declared_and_empty_files_are_refused():
    data = jpeg()
    store, report, key, blobs, photos = setup("image/jpeg", data)
    assert run(store, key, blobs, photos, len(data) + 10) == "refused:too_large"
    store, report, key, blobs, photos = setup("image/jpeg", b"")
    assert run(store, key, blobs, photos, 0) == "refused:empty"


def test_upload_to_another_citizens_report_changes_nothing():
    data = jpeg()
    store, report, key, blobs, photos = setup("image/jpeg", data, owner="intruder")
    assert run(store, key, blobs, photos, len(data)) == "ignored:not_the_owner"
    assert store.get(report.id).media[0].status == "pending" and blobs.objects == {}


def test_more_files_than_declared_and_made_up_keys_are_deleted():
    blobs = Blobs({("up", "uploads/nope/nope"): b"x", ("up", "elsewhere.txt"): b"y"})
    store, photos = InMemoryReportStore(), InMemoryPhotoRegistry()
    assert run(store, "uploads/nope/nope", blobs, photos, 1) == "ignored:unknown_media"
    assert run(store, "elsewhere.txt", blobs, photos, 1) == "ignored:unknown_media"
    assert blobs.objects == {}


def test_video_is_stored_with_its_metadata_blanked():
    data = mp4()
    store, report, key, blobs, photos = setup("video/mp4", data)
    assert run(store, key, blobs, photos, len(data)) == "ready"
    item = store.get(report.id).media[0]
    stored = blobs.objects[("media", f"{item.renditions['video']}.mp4")]
    assert len(stored) == len(data) and b"udta" not in stored and b"+21.0285" not in stored  # sizes kept, GPS gone
    clean, blanked = strip_metadata(stored)
    assert blanked == 0 and clean == stored


def test_broken_video_is_refused():
    broken = mp4()[:-40] + struct.pack(">I4s", 9999, b"mdat")
    store, report, key, blobs, photos = setup("video/mp4", broken)
    assert run(store, key, blobs, photos, len(broken)) == "refused:undecodable"
    try:
        strip_metadata(box(b"ftyp", b"isom") + box(b"mdat", b""))
        raise AssertionError("no moov box must be refused")
    except BadContainer:
        pass
