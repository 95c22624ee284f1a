"""civic.media.imaging: refusals (each bad input on its own), renditions, orientation, metadata, GPS/time."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import time
import zipfile
import zlib

import pytest
from PIL import Image, ImageCms, TiffImagePlugin

from civic.media import imaging
from civic.media.imaging import ImageRefused, Rendered, render, sniff

CANARY = b"CANARY-7f3a9c"
R = TiffImagePlugin.IFDRational


# ------------------------------------------------------------------------------------- builders


def photo(size=(800, 600), mode="RGB", fmt="JPEG", colour=None, **save) -> bytes:
    """A small image with some structure (so resizes and orientation are checkable)."""
    w, h = size
    if colour is None:
        img = Image.linear_gradient("L").resize(size).convert(mode if mode != "RGB" else "L")
        if mode == "RGB":
            img = Image.merge("RGB", (img, img.transpose(Image.Transpose.FLIP_LEFT_RIGHT), img.rotate(90).resize(size)))
    else:
        img = Image.new(mode, size, colour)
    buf = io.BytesIO()
    img.save(buf, fmt, **save)
    return buf.getvalue()


def exif_bytes(orientation=None, gps=None, taken=None, offset=None, artist=None) -> bytes:
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if artist:
        exif[0x013B] = artist
    if taken or offset:
        sub = exif.get_ifd(0x8769)
        if taken:
            sub[0x9003] = taken
        if offset:
            sub[0x9011] = offset
    if gps:
        g = exif.get_ifd(0x8825)
        g.update(gps)
    return exif.tobytes()


def jpeg_with_segments(jpeg: bytes, *segments: tuple[int, bytes]) -> bytes:
    """Insert APPn/COM segments (marker, payload) right after SOI."""
    extra = b"".join(bytes([0xFF, m]) + struct.pack(">H", len(p) + 2) + p for m, p in segments)
    return jpeg[:2] + extra + jpeg[2:]


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def raw_png(width: int, height: int, bit_depth: int, colour_type: int, idat: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def decoded(rendered: Rendered, name="large", fmt="jpeg") -> Image.Image:
    img = Image.open(io.BytesIO(rendered.images[(name, fmt)]))
    img.load()
    return img


def refused(data: bytes, declared="image/jpeg") -> str:
    with pytest.raises(ImageRefused) as exc:
        render(data, declared_type=declared)
    return exc.value.code


# ------------------------------------------------------------------------------------- refusals


def test_zero_bytes_refused_as_empty():
    assert refused(b"") == "empty"


def test_decompression_bomb_png_refused_fast_without_decoding():
    # 20000 x 20000 = 400 MP claimed by the header; the IDAT is a few bytes.
    bomb = raw_png(20_000, 20_000, 8, 2, zlib.compress(b"\x00" * 64))
    assert len(bomb) < 200
    t0 = time.perf_counter()
    assert refused(bomb, "image/png") == "too_many_pixels"
    assert time.perf_counter() - t0 < 1.0


def test_png_just_over_the_pixel_limit_refused_by_our_own_check():
    # 60 MP: above MAX_PIXELS (50 MP) but below Pillow's own error threshold (2x MAX_IMAGE_PIXELS).
    assert refused(raw_png(10_000, 6_000, 8, 2, zlib.compress(b"\x00")), "image/png") == "too_many_pixels"


def test_jpeg_header_claiming_too_many_pixels_refused_before_decoding():
    jpeg = bytearray(photo((64, 48)))
    sof = jpeg.index(b"\xff\xc0")
    struct.pack_into(">HH", jpeg, sof + 5, 9000, 9000)  # 81 MP
    t0 = time.perf_counter()
    assert refused(bytes(jpeg)) == "too_many_pixels"
    assert time.perf_counter() - t0 < 1.0


def test_truncated_jpeg_refused():
    data = photo((800, 600), quality=90)
    assert refused(data[: len(data) // 2]) == "undecodable"


def test_truncated_png_refused():
    data = photo((300, 200), fmt="PNG")
    assert refused(data[: len(data) - 40], "image/png") == "undecodable"


def test_corrupt_png_crc_refused():
    data = bytearray(photo((300, 200), fmt="PNG"))
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF  # damage compressed data: CRC (and zlib) no longer match
    assert refused(bytes(data), "image/png") == "undecodable"


def test_png_declared_as_jpeg_refused():
    assert refused(photo((100, 80), fmt="PNG"), "image/jpeg") == "type_mismatch"


def test_jpeg_declared_as_webp_refused():
    assert refused(photo((100, 80)), "image/webp") == "type_mismatch"


def test_video_declared_as_photo_refused():
    mp4 = struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2" + b"\x00" * 32
    assert sniff(mp4) == "video/mp4"
    assert refused(mp4, "image/jpeg") == "type_mismatch"
    assert refused(mp4, "video/mp4") == "unsupported_format"  # render is for photos only


@pytest.mark.parametrize("declared", ["image/svg+xml", "image/jpeg", "image/png"])
def test_svg_refused_whatever_was_declared(declared):
    svg = b'<?xml version="1.0"?>\n<!-- hi -->\n<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    assert sniff(svg) == "image/svg+xml"
    assert refused(svg, declared) == "svg_refused"


def test_gif_refused_as_unsupported_format():
    assert refused(photo((50, 50), mode="P", fmt="GIF", colour=3), "image/gif") == "unsupported_format"
    assert refused(photo((50, 50), mode="P", fmt="GIF", colour=3), "image/png") == "unsupported_format"
    assert refused(photo((50, 50)), "image/gif") == "type_mismatch"


def test_jpeg_zip_polyglot_refused():
    z = io.BytesIO()
    with zipfile.ZipFile(z, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    assert refused(photo((200, 150)) + z.getvalue()) == "polyglot"


def test_jpeg_html_polyglot_refused():
    assert refused(photo((200, 150)) + b"<html><script>alert(1)</script></html>") == "polyglot"


def test_png_with_data_after_iend_refused():
    assert refused(photo((64, 64), fmt="PNG") + b"PK\x03\x04" + b"x" * 100, "image/png") == "polyglot"


def test_webp_with_data_after_riff_refused():
    assert refused(photo((64, 64), fmt="WEBP") + b"<html>" + b"x" * 100, "image/webp") == "polyglot"


def test_motion_photo_mp4_trailer_accepted_but_not_with_an_archive_inside():
    mp4 = struct.pack(">I", 24) + b"ftypmp42" + b"\x00\x00\x00\x00mp42isom" + b"\x00" * 2000
    ok = render(photo((200, 150)) + mp4, declared_type="image/jpeg", formats=("jpeg",))
    assert mp4 not in ok.images[("large", "jpeg")]
    assert refused(photo((200, 150)) + mp4 + b"PK\x05\x06" + b"\x00" * 18) == "polyglot"


def test_mpf_style_second_jpeg_and_padding_accepted():
    render(photo((200, 150)) + photo((64, 48)), declared_type="image/jpeg", formats=("jpeg",))
    render(photo((200, 150)) + b"\x00" * 8, declared_type="image/jpeg", formats=("jpeg",))


def test_samsung_sef_trailer_accepted():
    sef = b"\x00\x00" + b"Image_UTC_Data1717209015000" + b"SEFH" + b"\x00" * 20 + struct.pack("<I", 40) + b"SEFT"
    render(photo((200, 150)) + sef, declared_type="image/jpeg", formats=("jpeg",))


def test_php_anywhere_in_an_accepted_trailer_refused():
    mp4 = struct.pack(">I", 24) + b"ftypmp42" + b"\x00\x00\x00\x00mp42isom" + b"\x00" * 200_000
    assert refused(photo((200, 150)) + mp4[:100_000] + b"<?php system($_GET[1]); ?>" + mp4[100_000:]) == "polyglot"


def test_file_over_max_bytes_refused_as_too_large(monkeypatch):
    monkeypatch.setattr(imaging, "MAX_BYTES", 1000)
    assert refused(photo((400, 300), quality=95)) == "too_large"


def test_huge_multi_segment_exif_renders_quickly_and_bounded():
    # 100 APP1 segments of ~64 KB (6.4 MB of metadata) after a real EXIF block with GPS.
    gps = {1: "N", 2: (21.0, 1.0, 42.6), 3: "E", 4: (105.0, 51.0, 15.1)}
    real = (0xE1, b"Exif\x00\x00" + exif_bytes(gps=gps, artist=CANARY.decode()))
    junk = [(0xE1, b"Exif\x00\x00" + CANARY + b"\x00" * 65_400) for _ in range(100)]
    data = jpeg_with_segments(photo((800, 600)), real, *junk)
    assert len(data) > 6_000_000
    t0 = time.perf_counter()
    out = render(data, declared_type="image/jpeg", formats=("jpeg",))
    assert time.perf_counter() - t0 < 2.0
    assert out.gps == pytest.approx((21.0285, 105.8542), abs=1e-4)
    assert all(CANARY not in blob for blob in out.images.values())


def test_too_many_metadata_segments_refused():
    segments = [(0xFE, b"c")] * (imaging.MAX_METADATA_SEGMENTS + 1)
    assert refused(jpeg_with_segments(photo((100, 80)), *segments)) == "undecodable"


def test_heic_refused_when_the_plugin_is_missing(monkeypatch):
    heic = struct.pack(">I", 24) + b"ftypheic" + b"\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    assert sniff(heic) == "image/heic"
    monkeypatch.setattr(imaging, "_heif_ready", False)
    assert refused(heic, "image/heic") == "unsupported_format"


# ----------------------------------------------------------------------------- colour and modes


def test_cmyk_jpeg_gives_correct_rgb():
    out = render(photo((300, 200), mode="CMYK", colour=(0, 255, 255, 0)), declared_type="image/jpeg")
    for key in out.images:
        img = Image.open(io.BytesIO(out.images[key])).convert("RGB")
        assert img.mode == "RGB"
        r, g, b = img.getpixel((img.width // 2, img.height // 2))
        assert r > 235 and g < 25 and b < 25, (key, (r, g, b))


def test_large_cmyk_jpeg_through_dct_scaling_gives_correct_rgb():
    out = render(photo((3300, 2200), mode="CMYK", colour=(255, 0, 255, 0), quality=60), declared_type="image/jpeg")
    img = decoded(out)
    assert img.size == (1600, 1067)
    r, g, b = img.getpixel((800, 500))
    assert g > 200 and r < 40 and b < 40  # cyan + yellow = green


def test_progressive_and_greyscale_jpeg_sources():
    out = render(photo((2000, 1000), progressive=True, quality=85), declared_type="image/jpeg")
    assert decoded(out).size == (1600, 800)
    grey = render(photo((2000, 1000), mode="L", colour=77), declared_type="image/jpeg")
    img = decoded(grey, "thumb", "webp")
    assert img.mode == "RGB" and all(abs(c - 77) <= 3 for c in img.getpixel((100, 50)))


def test_16bit_grey_png_is_scaled_not_clipped():
    out = render(photo((120, 90), mode="I;16", fmt="PNG", colour=40_000), declared_type="image/png")
    img = decoded(out)
    assert img.mode == "RGB"
    assert all(abs(c - 156) <= 3 for c in img.getpixel((60, 45)))  # 40000 / 257 ≈ 155.6, not 255


def test_16bit_rgb_png_gives_correct_rgb():
    w, h = 40, 30
    row = b"\x00" + struct.pack(">HHH", 65535, 32768, 0) * w
    data = raw_png(w, h, 16, 2, zlib.compress(row * h))
    r, g, b = decoded(render(data, declared_type="image/png")).getpixel((20, 15))
    assert r > 245 and abs(g - 128) <= 4 and b < 10


@pytest.mark.parametrize(
    "mode, colour, expected",
    [
        ("RGBA", (255, 0, 0, 0), (255, 255, 255)),  # fully transparent → white, not black or red
        ("RGBA", (255, 0, 0, 255), (255, 0, 0)),
        ("RGBA", (0, 0, 0, 128), (127, 127, 127)),  # half-transparent black on white → mid grey
        ("LA", (0, 0), (255, 255, 255)),
        ("LA", (50, 255), (50, 50, 50)),
    ],
)
def test_alpha_is_composited_on_white(mode, colour, expected):
    out = render(photo((200, 100), mode=mode, fmt="PNG", colour=colour), declared_type="image/png")
    for fmt in ("jpeg", "webp"):
        img = decoded(out, "card", fmt)
        assert img.mode == "RGB"
        got = img.getpixel((100, 50))
        assert all(abs(a - b) <= 6 for a, b in zip(got, expected)), (fmt, got)


def test_palette_png_with_transparency_is_composited_on_white():
    img = Image.new("P", (100, 100), 1)
    img.putpalette([0, 0, 0, 0, 200, 0] + [0] * 762)
    img.paste(0, (0, 0, 50, 100))
    buf = io.BytesIO()
    img.save(buf, "PNG", transparency=0)
    out = decoded(render(buf.getvalue(), declared_type="image/png"))
    assert all(c > 245 for c in out.getpixel((10, 50)))  # transparent half → white
    r, g, b = out.getpixel((90, 50))
    assert g > 180 and r < 20 and b < 20


def test_webp_source_renders():
    out = render(photo((900, 600), fmt="WEBP"), declared_type="image/webp")
    assert decoded(out).size == (900, 600)


# ------------------------------------------------------------------------ sizes and orientation


def test_rendition_sizes_are_long_edges_1600_640_200():
    out = render(photo((4000, 3000), quality=70), declared_type="image/jpeg")
    assert (out.width, out.height) == (4000, 3000)
    for fmt in ("jpeg", "webp"):
        assert decoded(out, "large", fmt).size == (1600, 1200)
        assert decoded(out, "card", fmt).size == (640, 480)
        assert decoded(out, "thumb", fmt).size == (200, 150)


def test_small_source_is_never_upscaled():
    out = render(photo((300, 200)), declared_type="image/jpeg")
    assert decoded(out, "large").size == (300, 200)
    assert decoded(out, "card").size == (300, 200)
    assert decoded(out, "thumb").size == (200, 133)


def test_orientation_6_landscape_source_gives_portrait_output():
    # Stored landscape with a red block top-left; Orientation 6 = rotate 90° clockwise to view,
    # so the block must end up top-right of a portrait image.
    img = Image.new("RGB", (2400, 1800), (0, 0, 255))
    img.paste((255, 0, 0), (0, 0, 600, 450))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90, exif=exif_bytes(orientation=6))
    out = render(buf.getvalue(), declared_type="image/jpeg")
    assert (out.width, out.height) == (1800, 2400)
    for name, size in (("large", (1200, 1600)), ("card", (480, 640)), ("thumb", (150, 200))):
        for fmt in ("jpeg", "webp"):
            rendition = decoded(out, name, fmt)
            assert rendition.size == size
            w, h = rendition.size
            assert rendition.getpixel((w - w // 16, h // 16))[0] > 200  # top-right is red
            assert rendition.getpixel((w // 16, h // 16))[2] > 200  # top-left is blue


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_gives_upright_size(orientation):
    img = Image.new("RGB", (400, 200), (10, 10, 10))
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif_bytes(orientation=orientation))
    out = render(buf.getvalue(), declared_type="image/jpeg", formats=("jpeg",))
    expected = (200, 400) if orientation >= 5 else (400, 200)
    assert (out.width, out.height) == expected
    assert decoded(out).size == expected


# ------------------------------------------------------------------------------------- metadata


def test_no_metadata_of_the_original_remains():
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description creator="' + CANARY + b'"/></x:xmpmeta>'
    img = Image.new("RGB", (800, 600), (90, 120, 150))
    buf = io.BytesIO()
    img.save(
        buf, "JPEG", exif=exif_bytes(artist=CANARY.decode(), gps={1: "N", 2: (21.0, 1.0, 42.6), 3: "E", 4: (105.0, 51.0, 15.1)}),
        icc_profile=icc, comment=CANARY, xmp=xmp,
    )
    data = buf.getvalue()
    src = Image.open(io.BytesIO(data))
    assert {"exif", "icc_profile", "comment", "xmp"} <= set(src.info)  # the canaries are really there
    out = render(data, declared_type="image/jpeg")
    assert len(out.images) == 6
    for key, blob in out.images.items():
        assert CANARY not in blob, key
        assert b"Exif" not in blob and b"ICC_PROFILE" not in blob and b"http://ns.adobe.com/xap" not in blob, key
        rendition = Image.open(io.BytesIO(blob))
        assert not rendition.getexif(), key
        assert not {"exif", "icc_profile", "comment", "xmp"} & set(rendition.info), key


def test_png_and_webp_metadata_stripped_too():
    exif = exif_bytes(artist=CANARY.decode())
    for fmt, mime in (("PNG", "image/png"), ("WEBP", "image/webp")):
        data = photo((300, 200), fmt=fmt, exif=exif)
        assert CANARY in data
        out = render(data, declared_type=mime)
        assert all(CANARY not in blob for blob in out.images.values())


@pytest.mark.parametrize(
    "gps, expected",
    [
        ({1: "N", 2: (21.0, 1.0, 42.6), 3: "E", 4: (105.0, 51.0, 15.12)}, (21.0285, 105.8542)),
        ({1: "S", 2: (33.0, 52.0, 7.68), 3: "W", 4: (70.0, 40.0, 9.48)}, (-33.8688, -70.6693)),
        # decimal minutes (deg, min.frac, 0) with odd denominators
        ({1: "N", 2: (R(10, 1), R(4627, 100), R(0, 1)), 3: "E", 4: (R(106, 1), R(4161, 100), R(0, 1))}, (10.7712, 106.6935)),
        # degrees only, as one rational each
        ({1: "S", 2: (R(3386880, 100000),), 3: "E", 4: (R(15120930, 100000),)}, (-33.8688, 151.2093)),
    ],
)
def test_gps_read(gps, expected):
    data = photo((100, 80), exif=exif_bytes(gps=gps))
    out = render(data, declared_type="image/jpeg", formats=("jpeg",))
    assert out.gps == pytest.approx(expected, abs=1e-4)


@pytest.mark.parametrize(
    "gps",
    [
        {1: "N", 2: (0.0, 0.0, 0.0), 3: "E", 4: (0.0, 0.0, 0.0)},  # null island
        {1: "N", 2: (95.0, 0.0, 0.0), 3: "E", 4: (10.0, 0.0, 0.0)},  # latitude out of range
        {1: "N", 2: (10.0, 0.0, 0.0), 3: "W", 4: (190.0, 0.0, 0.0)},  # longitude out of range
        {1: "N", 2: (R(10, 0), R(0, 1), R(0, 1)), 3: "E", 4: (R(10, 1), R(0, 1), R(0, 1))},  # x/0: not finite
        {1: "N", 3: "E", 4: (10.0, 0.0, 0.0)},  # latitude missing
    ],
)
def test_invalid_gps_ignored(gps):
    out = render(photo((100, 80), exif=exif_bytes(gps=gps)), declared_type="image/jpeg", formats=("jpeg",))
    assert out.gps is None


@pytest.mark.parametrize(
    "taken, offset, expected",
    [
        ("2024:06:01 09:30:15", None, "2024-06-01T09:30:15"),
        ("2024:06:01 09:30:15", "+07:00", "2024-06-01T09:30:15+07:00"),
        ("2023:12:31 23:59:59", "-03:30", "2023-12-31T23:59:59-03:30"),
        ("0000:00:00 00:00:00", None, None),
        ("garbage", "+07:00", None),
        ("2024:06:01 09:30:15", "junk", "2024-06-01T09:30:15"),
    ],
)
def test_taken_at(taken, offset, expected):
    out = render(photo((100, 80), exif=exif_bytes(taken=taken, offset=offset)), declared_type="image/jpeg", formats=("jpeg",))
    assert out.taken_at == expected


def test_no_exif_gives_no_gps_and_no_time():
    out = render(photo((100, 80), fmt="PNG"), declared_type="image/png")
    assert out.gps is None and out.taken_at is None


# --------------------------------------------------------------------------------- formats, misc


def test_outputs_decodable_in_both_formats_and_format_subset():
    out = render(photo((1000, 700)), declared_type="image/jpeg")
    assert set(out.images) == {(n, f) for n in imaging.RENDITIONS for f in ("jpeg", "webp")}
    for (_name, fmt), blob in out.images.items():
        img = Image.open(io.BytesIO(blob))
        assert img.format == fmt.upper()
        img.load()
        assert img.mode == "RGB"
    only = render(photo((1000, 700)), declared_type="image/jpeg", formats=("webp",))
    assert set(only.images) == {(n, "webp") for n in imaging.RENDITIONS}
    with pytest.raises(ValueError):
        render(photo((100, 70)), declared_type="image/jpeg", formats=("gif",))


def test_large_jpeg_uses_dct_scaling(monkeypatch):
    from PIL import JpegImagePlugin

    calls = []
    real_draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, size):
        calls.append(size)
        return real_draft(self, mode, size)

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    render(photo((4000, 3000), quality=60), declared_type="image/jpeg", formats=("jpeg",))
    assert calls == [(1600, 1200)]


def test_heic_renders_when_pillow_heif_is_installed():
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    buf = io.BytesIO()
    exif = exif_bytes(artist=CANARY.decode(), gps={1: "N", 2: (21.0, 1.0, 42.6), 3: "E", 4: (105.0, 51.0, 15.12)})
    Image.new("RGB", (400, 300), (200, 30, 30)).save(buf, "HEIF", quality=70, exif=exif)
    out = render(buf.getvalue(), declared_type="image/heic")
    assert decoded(out).size == (400, 300)
    assert out.gps == pytest.approx((21.0285, 105.8542), abs=1e-4)
    assert all(CANARY not in blob for blob in out.images.values())


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\nrest", "image/png"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
        (struct.pack(">I", 20) + b"ftypqt  \x00\x00\x00\x00qt  ", "video/quicktime"),
        (struct.pack(">I", 24) + b"ftypmif1\x00\x00\x00\x00mif1heic", "image/heic"),
        (struct.pack(">I", 24) + b"ftypavif\x00\x00\x00\x00avifmif1", None),
        (b"\xef\xbb\xbf  <svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),
        (b"GIF89a....", None),
        (b"<html><body>hi</body></html>", None),
        (b"", None),
    ],
)
def test_sniff(data, expected):
    assert sniff(data) == expected


def test_importing_civic_imaging_does_not_import_pillow():
    code = "import sys, civic.media.imaging; print('PIL' in sys.modules, 'pillow_heif' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_refusal_codes_are_the_stable_set():
    assert set(imaging.REFUSALS) == {
        "empty", "type_mismatch", "unsupported_format", "too_many_pixels", "undecodable", "svg_refused", "polyglot",
        "too_large",
    }
