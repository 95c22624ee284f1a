"""The media pipeline on the running local stack: a phone photo and a short video become public
renditions within seconds; a decompression bomb, an SVG and an intruder's upload change nothing."""

import io
import struct
import time
import uuid
import zlib

import pytest
import requests
from PIL import Image

pytestmark = pytest.mark.e2e


def phone_photo() -> bytes:
    """A landscape photo with EXIF rotation, GPS near the reported place and a camera canary."""
    img = Image.radial_gradient("L").resize((2016, 1512)).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "CanaryPhone"
    exif[0x0112] = 6
    exif[0x8825] = {1: "N", 2: (21.0, 1.0, 42.6), 3: "E", 4: (105.0, 51.0, 15.1)}
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=85, exif=exif.tobytes())
    return buf.getvalue()


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def short_video() -> bytes:
    """An MP4 container whose user data carries a GPS position (©xyz), as phones write it."""
    udta = box(b"udta", box(b"\xa9xyz", b"+21.0285+105.8542/"))
    moov = box(b"moov", box(b"mvhd", b"\x00" * 100) + udta)
    return box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + moov + box(b"mdat", b"\x00" * 2048)


def png_bomb() -> bytes:
    """A PNG of a few hundred bytes whose header claims 20000 × 20000 pixels (400 megapixels)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b"")


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def auth(token, **extra):
    return {"Authorization": f"Bearer {token}", **extra}


def post_upload(upload, data, content_type, **override):
    fields = {**upload["fields"], **override}
    return requests.post(upload["url"], data=fields, files={"file": ("f", data, content_type)}, timeout=10)


def test_photo_and_video_ready_bomb_and_svg_refused(stack):
    token = stack.login("citizen1@demo.civicbridge.vn")
    photo, video, bomb = phone_photo(), short_video(), png_bomb()
    files = [("image/jpeg", photo), ("video/mp4", video), ("image/png", bomb), ("image/png", SVG)]
    created = requests.post(
        stack.api + "/v1/reports",
        json={"category": "environment", "description": "Rác thải đổ trộm ven hồ", "lat": 21.0285, "lon": 105.8542,
              "media": [{"content_type": ct, "size": len(data)} for ct, data in files]},
        headers=auth(token, **{"Idempotency-Key": str(uuid.uuid4())}),
        timeout=10,
    ).json()
    # An intruder posts to the photo's slot with their own owner field first: it changes nothing.
    intruder = post_upload(created["uploads"][0], b"\xff\xd8\xff junk", "image/jpeg", **{"x-amz-meta-owner": "intruder"})
    assert intruder.status_code in (200, 204)
    time.sleep(1.5)
    for upload, (content_type, data) in zip(created["uploads"], files):
        assert post_upload(upload, data, content_type).status_code in (200, 204)

    view = stack.wait_for(
        lambda: requests.get(f"{stack.api}/v1/reports/{created['id']}", headers=auth(token), timeout=5).json(),
        lambda view: all(m["status"] != "pending" for m in view["media"]))
    photo_item, video_item, bomb_item, svg_item = view["media"]
    assert photo_item["status"] == "ready", photo_item
    for name, edge in (("large", 1600), ("card", 640), ("thumb", 200)):
        got = requests.get(photo_item["renditions"][name], timeout=5)
        assert got.headers["Content-Type"] == "image/jpeg"
        image = Image.open(io.BytesIO(got.content))
        assert max(image.size) == edge and image.height > image.width  # upright
        assert not image.getexif() and b"CanaryPhone" not in got.content
    assert video_item["status"] == "ready"
    served = requests.get(video_item["renditions"]["video"], timeout=5)
    assert served.headers["Content-Type"] == "video/mp4" and len(served.content) == len(video)
    assert b"udta" not in served.content and b"+21.0285" not in served.content  # the GPS box is blanked
    assert bomb_item["status"] == "refused" and bomb_item["reason"]["code"] == "too_many_pixels"
    assert svg_item["status"] == "refused" and svg_item["reason"]["code"] in ("svg_refused", "type_mismatch")
    for refused in (bomb_item, svg_item):
        assert refused["reason"]["vi"] and refused["reason"]["en"]

    # Phones that accept WebP get WebP renditions; the public sees only ready media.
    webp = requests.get(f"{stack.api}/v1/reports/{created['id']}", headers={"Accept": "application/json, image/webp"}, timeout=5).json()
    assert [m["status"] for m in webp["media"]] == ["ready", "ready"]
    thumb = requests.get(webp["media"][0]["renditions"]["thumb"], timeout=5)
    assert thumb.headers["Content-Type"] == "image/webp" and Image.open(io.BytesIO(thumb.content)).format == "WEBP"
    timeline = requests.get(f"{stack.api}/v1/track/{created['tracking_code']}", timeout=5).json()["timeline"]
    assert [e["type"] for e in timeline].count("media_added") == 2  # refusals are the owner's business
