"""Citizen photos → three safe renditions (large / card / thumb) in JPEG and WebP, fast.

``render(data, declared_type=...)`` checks the bytes, decodes them ONCE and returns the encoded
renditions plus what the photo says about itself (upright size, EXIF GPS, time taken).

Speed: a JPEG is decoded with Pillow's ``draft()`` (libjpeg DCT scaling), i.e. directly at the
smallest 1/1, 1/2, 1/4 or 1/8 scale that is still at least as large as the largest rendition, so a
12 MP photo is decoded at 2016×1512 instead of 4032×3024. The large rendition is resampled from that
(``reducing_gap`` = box ``reduce()`` then LANCZOS), each smaller one from the previous rendition,
and the EXIF orientation is applied to the already-reduced large rendition (a cheap transpose).

Safety — every refusal raises :class:`ImageRefused` with a stable ``code`` (see ``REFUSALS``):

* ``empty``: zero bytes. ``too_large``: more than ``MAX_BYTES``.
* ``svg_refused``: SVG (it can carry script), whatever was declared.
* ``unsupported_format``: no known signature (GIF, AVIF, TIFF, BMP, …), or a video declared as such.
* ``type_mismatch``: the real type (by signature, :func:`sniff`) differs from ``declared_type``.
* ``too_many_pixels``: the header claims more than ``MAX_PIXELS`` (checked right after
  ``Image.open``, which reads headers only: nothing is allocated, a 400 MP bomb is refused in ms;
  ``Image.MAX_IMAGE_PIXELS`` is set too so Pillow itself refuses anything beyond 2× that).
* ``undecodable``: corrupt or truncated (no JPEG EOI / PNG IEND / short RIFF; Pillow errors;
  ``LOAD_TRUNCATED_IMAGES`` stays False), or metadata segments beyond ``MAX_METADATA_BYTES``.
* ``polyglot``: bytes after the image's own end (JPEG EOI, PNG IEND, RIFF length, last ISO-BMFF
  box). The rule: a trailer is accepted only when it is (a) at most ``MAX_PADDING`` bytes of
  padding (NUL, 0xFF, whitespace), or (b) a trailer phones really write — more JPEG streams (CIPA
  MPF, Ultra HDR gain maps, depth maps), an MP4 (Google/Samsung motion photos), Samsung's SEF
  trailer — AND it carries no active content where readers look for it (ZIP headers or
  end-of-central-directory, HTML, script, PDF, ELF in its first/last 64 KB; ``<?php`` anywhere).
  Anything else (a ZIP, an HTML page, random bytes) is refused. The
  renditions are re-encoded from pixels, so they never carry the trailer either way; the refusal
  is about not accepting (and not hashing/storing) a file that is two things at once.

HEIC is decoded with the ``pillow-heif`` plugin, registered lazily on the first HEIC photo; if the
plugin is not installed HEIC is refused with ``unsupported_format``.

The outputs carry no metadata at all: each rendition is a fresh image object with empty ``info``,
saved with explicit empty EXIF and no ICC/XMP/comment.

Importing this module does not import Pillow (the media handler's import stays cheap).
"""

from __future__ import annotations

import io
import math
import re
import struct
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from civic.media import Refused

RENDITIONS = {"large": 1600, "card": 640, "thumb": 200}  # long edge in px, largest first
REFUSALS = (
    "empty",
    "type_mismatch",
    "unsupported_format",
    "too_many_pixels",
    "undecodable",
    "svg_refused",
    "polyglot",
    "too_large",
)
PHOTO_TYPES = ("image/jpeg", "image/png", "image/webp", "image/heic")
MAX_PIXELS = 50_000_000
MAX_BYTES = 64 * 1024 * 1024
# JPEG APPn/COM segments in total. Phones write ≤ 64 KB of EXIF plus XMP; Google's extended XMP
# (depth maps) can reach a few MB. Beyond this the file is refused as undecodable.
MAX_METADATA_BYTES = 16 * 1024 * 1024
MAX_METADATA_SEGMENTS = 1024
MAX_PADDING = 16
JPEG_QUALITY = 80
WEBP_QUALITY = 78
WEBP_METHOD = 2  # 0 (fastest) … 6 (smallest); 2 is ~2× faster than the default 4 for a few % more bytes
# EXIF tags
_ORIENTATION = 0x0112
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_DATETIME_ORIGINAL = 0x9003
_OFFSET_TIME_ORIGINAL = 0x9011

_PIL_FORMATS = {
    "image/jpeg": ("JPEG",),  # an MPF JPEG opens as MPO (JPEG plugin's factory)
    "image/png": ("PNG",),
    "image/webp": ("WEBP",),
    "image/heic": ("HEIF",),
}
_HEIF_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_GENERIC_HEIF_BRANDS = {b"mif1", b"msf1"}
_MP4_BRANDS = {
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash",
    b"M4V ", b"M4A ", b"MSNV", b"3gp4", b"3gp5", b"3gp6", b"3g2a", b"mmp4", b"f4v ",
}
_QT_BOXES = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
_SVG_HEAD = re.compile(
    rb"^(?:\s|<\?xml[^>]*>|<!--.*?-->|<!doctype[^>]*>)*<svg[\s>/:]", re.IGNORECASE | re.DOTALL
)
# A JPEG marker inside entropy-coded data: 0xFF followed by anything but a stuffed 0x00, a restart
# marker (D0-D7) or a fill byte (FF).
_JPEG_MARKER = re.compile(rb"\xff[\x01-\xcf\xd8-\xfe]")
# Signatures of active content that must not ride in an accepted trailer.
_ACTIVE = re.compile(
    rb"PK\x03\x04|PK\x01\x02|<\s*script|<\s*html|<\s*body|<\s*iframe|<\s*svg|<!doctype\s+html|<\?php|%PDF-|\x7fELF",
    re.IGNORECASE,
)
_ZIP_EOCD = b"PK\x05\x06"
_EDGE = 65_557  # 64 KB ZIP comment + 22-byte end-of-central-directory record


class ImageRefused(Refused):
    """An image is refused."""

    REFUSALS = REFUSALS


@dataclass
class Rendered:
    images: dict[tuple[str, str], bytes]  # (rendition name, "jpeg" | "webp") -> encoded bytes, no metadata
    width: int  # upright size of the original
    height: int
    gps: tuple[float, float] | None  # (lat, lon) from EXIF GPS, validated
    taken_at: str | None  # EXIF DateTimeOriginal, ISO-8601 (with offset when OffsetTimeOriginal is set)


# --------------------------------------------------------------------------------------- sniffing


def sniff(data: bytes) -> str | None:
    """The real type by signature: image/jpeg|png|webp|heic|svg+xml, video/mp4|quicktime, or None."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp":
        return _sniff_ftyp(data)
    if data[4:8] in _QT_BOXES and len(data) >= 8:  # classic QuickTime without an ftyp box
        (size,) = struct.unpack_from(">I", data, 0)
        if size in (0, 1) or size >= 8:
            return "video/quicktime"
    if _is_svg(data):
        return "image/svg+xml"
    return None


def _sniff_ftyp(data: bytes) -> str | None:
    (size,) = struct.unpack_from(">I", data, 0)
    major = data[8:12]
    end = min(size if size >= 16 else 16, len(data), 4096)
    brands = {major} | {data[i : i + 4] for i in range(16, end - 3, 4)}
    if major == b"qt  ":
        return "video/quicktime"
    if major in _HEIF_BRANDS or (major in _GENERIC_HEIF_BRANDS and brands & _HEIF_BRANDS):
        return "image/heic"
    if major in _GENERIC_HEIF_BRANDS:  # AVIF or another HEIF codec: not supported
        return None
    if major in _MP4_BRANDS or brands & {b"isom", b"mp41", b"mp42"}:
        return "video/mp4"
    return None


def _is_svg(data: bytes) -> bool:
    head = data[:4096]
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            head = head.decode("utf-16", "ignore").encode("utf-8", "ignore")
        except Exception:  # pragma: no cover - decode with "ignore" does not raise
            return False
    head = head.removeprefix(b"\xef\xbb\xbf")
    return bool(_SVG_HEAD.match(head))


# ------------------------------------------------------------------------------ structure checks


def _structure_end(data: bytes, kind: str) -> tuple[int, tuple[int, int] | None]:
    """Where the image's own bytes end, and (for JPEG) its frame size; ImageRefused if truncated."""
    if kind == "image/jpeg":
        return _jpeg_end(data)
    if kind == "image/png":
        return _png_end(data), None
    if kind == "image/webp":
        (size,) = struct.unpack_from("<I", data, 4)
        end = 8 + size + (size & 1)
        if size < 4 or end > len(data) + (size & 1):
            raise ImageRefused("undecodable", "RIFF shorter than its declared length")
        return min(end, len(data)), None
    if kind == "image/heic":
        return _bmff_end(data), None
    raise AssertionError(kind)  # pragma: no cover


def _jpeg_end(data: bytes) -> tuple[int, tuple[int, int] | None]:
    n, pos = len(data), 2
    meta_bytes = meta_segments = 0
    frame = None
    while True:
        # Marker segments up to (and including) a SOS header.
        while True:
            while pos < n and data[pos] == 0xFF and pos + 1 < n and data[pos + 1] == 0xFF:
                pos += 1  # fill bytes
            if pos + 2 > n:
                raise ImageRefused("undecodable", "JPEG truncated in its headers")
            if data[pos] != 0xFF:
                raise ImageRefused("undecodable", f"JPEG: no marker at {pos}")
            marker = data[pos + 1]
            if marker == 0xD9:
                return pos + 2, frame
            if 0xD0 <= marker <= 0xD7 or marker == 0x01:
                pos += 2
                continue
            if pos + 4 > n:
                raise ImageRefused("undecodable", "JPEG truncated in a segment header")
            (length,) = struct.unpack_from(">H", data, pos + 2)
            if length < 2 or pos + 2 + length > n:
                raise ImageRefused("undecodable", "JPEG segment overruns the file")
            if 0xE0 <= marker <= 0xEF or marker == 0xFE:
                meta_bytes += length
                meta_segments += 1
                if meta_bytes > MAX_METADATA_BYTES or meta_segments > MAX_METADATA_SEGMENTS:
                    raise ImageRefused("undecodable", "JPEG metadata segments beyond the limit")
            elif marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                if length >= 7 and frame is None:
                    h, w = struct.unpack_from(">HH", data, pos + 5)
                    frame = (w, h)
            pos += 2 + length
            if marker == 0xDA:
                break
        # Entropy-coded data: the next real marker (a DHT/SOS of a progressive scan, or EOI).
        m = _JPEG_MARKER.search(data, pos)
        if m is None:
            raise ImageRefused("undecodable", "JPEG truncated (no end-of-image marker)")
        pos = m.start()


def _png_end(data: bytes) -> int:
    n, pos = len(data), 8
    while True:
        if pos + 12 > n:
            raise ImageRefused("undecodable", "PNG truncated (no IEND chunk)")
        length, ctype = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > n:
            raise ImageRefused("undecodable", f"PNG chunk {ctype!r} overruns the file")
        if ctype == b"IEND":
            return end
        pos = end


def _bmff_end(data: bytes) -> int:
    n, pos = len(data), 0
    while pos < n:
        if n - pos < 8:
            return pos  # a few stray bytes: judged as a trailer
        size, _kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if n - pos < 16:
                return pos
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            return n
        if size < header or not _kind.isascii() or not all(32 <= c < 127 for c in _kind):
            if pos == 0:
                raise ImageRefused("undecodable", "HEIF box structure is broken")
            return pos  # not a box: a trailer
        if pos + size > n:
            raise ImageRefused("undecodable", "HEIF truncated (a box overruns the file)")
        pos += size
    return pos


def _check_trailer(data: bytes, end: int) -> None:
    trailer = memoryview(data)[end:]
    if not len(trailer):
        return
    head = bytes(trailer[:64])
    if len(trailer) <= MAX_PADDING and not bytes(trailer).strip(b"\x00\xff \t\r\n"):
        return
    known = (
        head.startswith(b"\xff\xd8\xff")  # MPF / gain map / depth map JPEG
        or head[4:8] == b"ftyp"  # motion photo MP4
        or head.startswith(b"MotionPhoto_Data")  # Samsung motion photo
        or bytes(trailer[-4:]) == b"SEFT"  # Samsung SEF trailer
    )
    if not known:
        raise ImageRefused("polyglot", f"{len(trailer)} unexpected bytes after the image")
    # Where readers look: a ZIP's end-of-central-directory sits in its last 64 KB; sniffers and
    # markup parsers read from where the data starts; PHP finds its tag anywhere. Scanning only the
    # edges keeps a 10 MB motion-photo trailer cheap and chance matches in video data improbable.
    edges = bytes(trailer[:_EDGE]) + b"\n" + bytes(trailer[-_EDGE:])
    if _ACTIVE.search(edges) or _ZIP_EOCD in edges or data.find(b"<?php", end) >= 0:
        raise ImageRefused("polyglot", "active content (archive/markup) after the image")


# ---------------------------------------------------------------------------------------- render

_pil_ready = False
_heif_ready: bool | None = None
_encoders = None  # ThreadPoolExecutor, False (one core) or None (not decided yet)


def _pil():
    global _pil_ready
    from PIL import Image, ImageFile

    if not _pil_ready:
        Image.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow raises DecompressionBombError beyond 2× this
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        _pil_ready = True
    return Image


def _heif() -> bool:
    """Register pillow-heif's opener once; False when the plugin is not installed."""
    global _heif_ready
    if _heif_ready is None:
        try:
            import pillow_heif
        except ImportError:
            _heif_ready = False
        else:
            pillow_heif.register_heif_opener(thumbnails=False)
            _heif_ready = True
    return _heif_ready


def _pool():
    """A process-wide pool of 2 encoder threads (reused across invocations); None on one core."""
    global _encoders
    if _encoders is None:
        import os

        if (os.cpu_count() or 1) < 2:
            _encoders = False
        else:
            from concurrent.futures import ThreadPoolExecutor

            _encoders = ThreadPoolExecutor(max_workers=2, thread_name_prefix="civic-imaging")
    return _encoders or None


def _normalise_type(declared_type: str) -> str:
    t = (declared_type or "").split(";")[0].strip().lower()
    return {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/heif": "image/heic"}.get(t, t)


def check(data: bytes, *, declared_type: str) -> str:
    """The checks that need no decoding; returns the real type or raises ImageRefused."""
    if not data:
        raise ImageRefused("empty")
    if len(data) > MAX_BYTES:
        raise ImageRefused("too_large", f"{len(data)} bytes > {MAX_BYTES}")
    real = sniff(data)
    declared = _normalise_type(declared_type)
    if real == "image/svg+xml" or declared == "image/svg+xml":
        raise ImageRefused("svg_refused")
    if real is None:
        raise ImageRefused("unsupported_format", f"unrecognised signature, declared {declared}")
    if real != declared:
        raise ImageRefused("type_mismatch", f"real {real}, declared {declared}")
    if real not in PHOTO_TYPES:  # a video, declared as one: not for this module
        raise ImageRefused("unsupported_format", f"{real} is not a photo")
    if real == "image/heic" and not _heif():
        raise ImageRefused("unsupported_format", "HEIC support (pillow-heif) is not installed")
    end, frame = _structure_end(data, real)
    if frame is not None and frame[0] * frame[1] > MAX_PIXELS:
        raise ImageRefused("too_many_pixels", f"{frame[0]}x{frame[1]}")
    _check_trailer(data, end)
    return real


def render(data: bytes, *, declared_type: str, formats=("jpeg", "webp")) -> Rendered:
    """Check, decode once, and encode the RENDITIONS in each of ``formats``; see the module doc."""
    unknown = set(formats) - {"jpeg", "webp"}
    if unknown or not formats:
        raise ValueError(f"formats must be some of jpeg, webp: {formats!r}")
    real = check(data, declared_type=declared_type)
    Image = _pil()
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=_PIL_FORMATS[real])
        w, h = img.size
        if w <= 0 or h <= 0:
            raise ImageRefused("undecodable", "zero-sized image")
        if w * h > MAX_PIXELS:
            raise ImageRefused("too_many_pixels", f"{w}x{h}")
        exif = img.getexif()
        orientation = exif.get(_ORIENTATION, 1)
        if orientation not in range(1, 9):
            orientation = 1
        gps = _gps(exif)
        taken_at = _taken_at(exif)
        long_edge = max(w, h)
        largest = min(RENDITIONS["large"], long_edge)
        scale = largest / long_edge
        target = (max(1, round(w * scale)), max(1, round(h * scale)))
        if img.format in ("JPEG", "MPO") and scale < 1:
            img.draft("RGB" if img.mode == "RGB" else img.mode, target)  # DCT scaling: ≥ target
        img.load()
        frame = _to_working_mode(img, Image)
        large = _resize(frame, target, Image)
        del frame, img
        if orientation != 1:
            large = large.transpose(Image.Transpose(_TRANSPOSE[orientation]))
        large = _flatten(large, Image)
    except ImageRefused:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageRefused("too_many_pixels", str(exc)) from None
    except MemoryError:
        raise ImageRefused("too_many_pixels", "out of memory while decoding") from None
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error, EOFError…
        raise ImageRefused("undecodable", f"{type(exc).__name__}: {exc}") from None

    upright = (h, w) if orientation in (5, 6, 7, 8) else (w, h)
    # Encoding overlaps the smaller resizes: libwebp and Pillow's resampler release the GIL (the
    # JPEG encoder does not), so with 2+ cores the encodes run on a small pool of worker threads.
    pool = _pool()
    pending: dict[tuple[str, str], Any] = {}  # bytes, or a Future of them
    previous = large
    for name, edge in RENDITIONS.items():
        if name == "large":
            im = large
        else:
            pw, ph = previous.size
            s = min(1.0, edge / max(pw, ph))
            im = _resize(previous, (max(1, round(pw * s)), max(1, round(ph * s))), Image)
        im = _fresh(im)
        for fmt in formats:
            pending[(name, fmt)] = pool.submit(_encode, im, fmt) if pool else _encode(im, fmt)
        previous = im
    images = {key: (job.result() if pool else job) for key, job in pending.items()}
    return Rendered(images=images, width=upright[0], height=upright[1], gps=gps, taken_at=taken_at)


_TRANSPOSE = {2: 0, 3: 3, 4: 1, 5: 5, 6: 4, 7: 6, 8: 2}  # orientation → Image.Transpose value


def _to_working_mode(img, Image):
    """A mode Pillow resamples well: RGB, L, or RGBA (alpha flattened after the resize)."""
    mode = img.mode
    if mode in ("RGB", "L", "RGBA"):
        return img
    if mode.startswith("I;16") or mode in ("I", "F"):
        # 16-bit grey: scale to 8 bits (a plain convert would clip everything above 255 to white).
        # Mode I/F (32-bit) is read as 16-bit samples, the way PNG and TIFF store them.
        return img.convert("I").point(lambda v: v * (1 / 257), "L")
    if mode in ("P", "PA"):
        return img.convert("RGBA" if mode == "PA" or "transparency" in img.info else "RGB")
    if mode in ("LA", "La", "RGBa", "RGBX"):
        return img.convert("RGBA" if mode != "RGBX" else "RGB")
    if mode == "1":
        return img.convert("L")
    return img.convert("RGB")  # CMYK (Adobe inversion already handled by the JPEG plugin), YCbCr, LAB…


def _resize(img, size, Image):
    if img.size == size:
        return img
    return img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _flatten(img, Image):
    if img.mode == "RGBA":
        white = Image.new("RGB", img.size, (255, 255, 255))
        white.paste(img, mask=img.getchannel("A"))
        return white
    if img.mode != "RGB":
        return img.convert("RGB")
    return img


def _fresh(img):
    """A new image object holding only the pixels: no info (exif/icc/xmp/comment/dpi) of the source."""
    clean = img.copy()
    clean.info = {}
    return clean


def _encode(img, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "jpeg":
        img.save(buf, "JPEG", quality=JPEG_QUALITY, progressive=True, optimize=False, exif=b"", subsampling="4:2:0")
    elif fmt == "webp":
        img.save(buf, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD, exif=b"", icc_profile=None, xmp=b"")
    else:
        raise ValueError(f"unknown format {fmt!r}")
    return buf.getvalue()


# ------------------------------------------------------------------------------------- metadata


def _gps(exif) -> tuple[float, float] | None:
    try:
        g = exif.get_ifd(_GPS_IFD)
    except Exception:
        return None
    if not g:
        return None
    lat = _dms(g.get(2), g.get(1), "S")
    lon = _dms(g.get(4), g.get(3), "W")
    if lat is None or lon is None:
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or (lat == 0.0 and lon == 0.0):
        return None
    return round(lat, 7), round(lon, 7)


def _dms(value, ref, negative: str) -> float | None:
    try:
        if value is None:
            return None
        parts = [float(v) for v in (value if isinstance(value, (tuple, list)) else (value,))]
        if not parts or len(parts) > 3 or not all(math.isfinite(p) and p >= 0 for p in parts):
            return None
        deg = sum(p / (60.0**i) for i, p in enumerate(parts))
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    ref = (ref or "").strip("\x00 ").upper()
    return -deg if ref == negative else deg


def _taken_at(exif) -> str | None:
    try:
        sub = exif.get_ifd(_EXIF_IFD)
    except Exception:
        return None
    raw = sub.get(_DATETIME_ORIGINAL)
    if isinstance(raw, bytes):
        raw = raw.decode("ascii", "ignore")
    if not isinstance(raw, str):
        return None
    try:
        dt = datetime.strptime(raw.strip("\x00 ")[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset = sub.get(_OFFSET_TIME_ORIGINAL)
    if isinstance(offset, bytes):
        offset = offset.decode("ascii", "ignore")
    if isinstance(offset, str) and re.fullmatch(r"[+-](?:0\d|1[0-4]):[0-5]\d", offset.strip("\x00 ")):
        return dt.isoformat() + offset.strip("\x00 ")
    return dt.isoformat()
