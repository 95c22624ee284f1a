"""Photo rendition benchmark, printed side by side (``.venv/bin/python bench/bench_media.py``).

Input: a 12-megapixel phone-like JPEG (4032×3024, gradient + noise + shapes so it compresses like a
photo, EXIF GPS and Orientation=6), generated deterministically into build/bench/ and cached.

(a) wall time of the three renditions (large 1600 / card 640 / thumb 200, JPEG only, metadata
    stripped, GPS read) in one call: civic.media.imaging.render vs the straightforward Pillow way (open,
    exif_transpose, resize each size from full resolution with LANCZOS, save) vs pyvips
    (``thumbnail_buffer`` per size — the reference pyvips way: shrink-on-load + autorotate — saved
    with ``keep=none``); median of ``--runs`` after a warm-up, with ratios. Also ours with JPEG+WebP.
(b) peak memory: max RSS delta (``resource.getrusage``) of rendering one such photo, in a fresh
    subprocess (Pillow imported before the baseline is taken).
(c) import time, fresh process, of functions/media/handler.py (loaded by path with importlib) vs
    ``import boto3`` alone: median of ``--import-runs`` (perf_counter inside the child).

Targets: ours ≥ 2.5× faster than naive Pillow and no slower than pyvips; < 200 MB; import ≤ 1.7×.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchlib import against_boto3

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
CACHE = ROOT / "build" / "bench"
PHOTO = CACHE / "phone_4032x3024_o6.jpg"
SIZES = {"large": 1600, "card": 640, "thumb": 200}
GPS = (21.0285, 105.8542)  # Hoàn Kiếm, Hà Nội


# ------------------------------------------------------------------------------------ the input


def phone_photo() -> bytes:
    """The cached benchmark photo (built once, deterministically)."""
    if PHOTO.is_file():
        return PHOTO.read_bytes()
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    w, h = 4032, 3024
    rng = np.random.default_rng(20240601)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack(
        [
            60 + 140 * (x / w) + 30 * np.sin(y / 170.0),
            90 + 100 * (y / h) + 25 * np.cos(x / 230.0),
            150 - 80 * (x / w) * (y / h) + 20 * np.sin((x + y) / 310.0),
        ],
        axis=-1,
    )
    img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(img)
    for _ in range(160):  # "objects": boxes, discs, lines of varied colour
        x0, y0 = int(rng.integers(0, w - 50)), int(rng.integers(0, h - 50))
        x1, y1 = x0 + int(rng.integers(40, 900)), y0 + int(rng.integers(40, 700))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        kind = int(rng.integers(0, 3))
        if kind == 0:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        elif kind == 1:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.line((x0, y0, x1, y1), fill=colour, width=int(rng.integers(2, 30)))
    img = img.filter(ImageFilter.GaussianBlur(1.2))  # lens softness
    arr = np.asarray(img).astype(np.int16)
    arr += rng.normal(0, 6.0, arr.shape).astype(np.int16)  # sensor noise
    arr += (rng.normal(0, 10.0, (h // 8, w // 8, 1)).repeat(8, 0).repeat(8, 1)).astype(np.int16)  # texture
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")

    exif = Image.Exif()
    exif[0x010F] = "BenchPhone"  # Make
    exif[0x0110] = "Model 12"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90° CW to view
    exif[0x013B] = "CANARY-ARTIST"  # Artist
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = "2024:06:01 09:30:15"  # DateTimeOriginal
    sub[0x9011] = "+07:00"  # OffsetTimeOriginal
    gps = exif.get_ifd(0x8825)
    gps[1], gps[3] = "N", "E"
    gps[2] = _dms(GPS[0])
    gps[4] = _dms(GPS[1])
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92, exif=exif.tobytes(), subsampling="4:2:0")
    CACHE.mkdir(parents=True, exist_ok=True)
    PHOTO.write_bytes(buf.getvalue())
    return buf.getvalue()


def _dms(value: float) -> tuple[float, float, float]:
    d = int(value)
    m = int((value - d) * 60)
    return float(d), float(m), round((value - d - m / 60) * 3600, 4)


# ----------------------------------------------------------------------------- the three ways


def ours(data: bytes, formats=("jpeg",)):
    from civic.media.imaging import render

    r = render(data, declared_type="image/jpeg", formats=formats)
    return r.images, r.gps


def naive_pillow(data: bytes):
    """The straightforward way: full decode, transpose, resize each size from full resolution."""
    from PIL import Image, ImageOps

    img = Image.open(io.BytesIO(data))
    gps_ifd = img.getexif().get_ifd(0x8825)
    gps = None
    if gps_ifd:
        lat = sum(float(v) / 60**i for i, v in enumerate(gps_ifd[2])) * (-1 if gps_ifd[1] == "S" else 1)
        lon = sum(float(v) / 60**i for i, v in enumerate(gps_ifd[4])) * (-1 if gps_ifd[3] == "W" else 1)
        gps = (lat, lon)
    img = ImageOps.exif_transpose(img).convert("RGB")
    out = {}
    for name, edge in SIZES.items():
        s = min(1.0, edge / max(img.size))
        small = img.resize((round(img.width * s), round(img.height * s)), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        small.save(buf, "JPEG", quality=80, progressive=True)  # no exif= given: metadata not copied
        out[(name, "jpeg")] = buf.getvalue()
    return out, gps


def vips(data: bytes):
    """pyvips' reference way: thumbnail_buffer per size (shrink-on-load, autorotate), keep=none."""
    import pyvips
    from PIL import Image

    header = pyvips.Image.new_from_buffer(data, "", access="sequential")
    gps = None
    if "exif-data" in header.get_fields():
        g = Image.Exif()
        g.load(header.get("exif-data"))
        ifd = g.get_ifd(0x8825)
        if ifd:
            lat = sum(float(v) / 60**i for i, v in enumerate(ifd[2])) * (-1 if ifd[1] == "S" else 1)
            lon = sum(float(v) / 60**i for i, v in enumerate(ifd[4])) * (-1 if ifd[3] == "W" else 1)
            gps = (lat, lon)
    out = {}
    for name, edge in SIZES.items():
        thumb = pyvips.Image.thumbnail_buffer(data, edge, height=edge, size="down")
        out[(name, "jpeg")] = thumb.jpegsave_buffer(Q=80, interlace=True, keep="none")
    return out, gps


def have_pyvips() -> str | None:
    try:
        import pyvips

        return f"libvips {pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"
    except Exception:  # ImportError, or the shared library missing (OSError)
        return None


def timeit(fn, data: bytes, runs: int) -> float:
    fn(data)  # warm-up: imports, plugin registration, allocator
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(data)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def describe(out: dict) -> str:
    from PIL import Image

    sizes = []
    for (_name, _fmt), blob in out.items():
        if _fmt == "jpeg":
            sizes.append("{}x{}".format(*Image.open(io.BytesIO(blob)).size))
    return " ".join(sizes) + f"  {sum(len(b) for b in out.values()) // 1024} KB"


# -------------------------------------------------------------------------------- memory, import

MEMORY_CHILD = """
import resource, sys
from PIL import Image  # noqa: F401  (the baseline includes Pillow itself)
import civic.media.imaging
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
civic.media.imaging.render(data, declared_type="image/jpeg", formats=tuple(sys.argv[2].split(",")))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before, after)
"""

NAIVE_MEMORY_CHILD = """
import resource, sys, io
from PIL import Image, ImageOps
sys.path.insert(0, sys.argv[2])
import bench_media
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
bench_media.naive_pillow(data)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(before, after)
"""


# Linux carries ru_maxrss across fork/vfork + exec (the child starts with its parent's high-water
# mark), so the measuring process is started from a small launcher, not from this big process.
LAUNCHER = "import subprocess, sys; sys.exit(subprocess.run(sys.argv[1:]).returncode)"


def peak_memory(child: str, *args: str) -> tuple[float, float]:
    cmd = [PY, "-c", LAUNCHER, PY, "-c", child, *args]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    before, after = (int(v) for v in out.stdout.split())
    return (after - before) / 1024, before / 1024  # ru_maxrss is in KiB on Linux


HANDLER_IMPORT = """
import importlib.util
spec = importlib.util.spec_from_file_location("media_handler", {path!r})
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
assert "PIL" not in __import__("sys").modules, "PIL imported by the handler"
"""


def bench_imports(runs: int) -> tuple[float, float]:
    return against_boto3(HANDLER_IMPORT.format(path=str(ROOT / "functions" / "media" / "handler.py")), runs)


# ------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=7, help="timed renders per way (default 7, median)")
    ap.add_argument("--import-runs", type=int, default=5, help="fresh processes per import measurement")
    args = ap.parse_args(argv)

    import PIL

    t0 = time.perf_counter()
    data = phone_photo()
    built = time.perf_counter() - t0
    vips_version = have_pyvips()
    print(
        f"input: {PHOTO.relative_to(ROOT)}  4032x3024, Orientation=6, GPS, {len(data) / 1e6:.1f} MB"
        f"{f'  (generated in {built:.1f} s)' if built > 0.5 else '  (cached)'}"
    )
    print(
        f"python {sys.version.split()[0]}   Pillow {PIL.__version__}   "
        f"{vips_version or 'pyvips not installed'}   cpus: {os.cpu_count()}"
    )

    print(f"(a) three renditions (1600/640/200 JPEG q80 progressive, metadata stripped, GPS read), median of {args.runs}")
    rows = [("civic.media.imaging.render", ours), ("naive Pillow", naive_pillow)]
    if vips_version:
        rows.append(("pyvips thumbnail_buffer x3", vips))
    results = {}
    for label, fn in rows:
        out, gps = fn(data)
        t = timeit(fn, data, args.runs)
        results[label] = t
        gps_s = f"{gps[0]:.4f},{gps[1]:.4f}" if gps else "none"
        print(f"    {label:<28}{t * 1000:>8.1f} ms   gps {gps_s:<18} {describe(out)}")
    mine = results["civic.media.imaging.render"]
    print(f"    ratio naive Pillow / ours: {results['naive Pillow'] / mine:.2f}x   (target >= 2.5x)")
    if vips_version:
        print(f"    ratio pyvips / ours:       {results['pyvips thumbnail_buffer x3'] / mine:.2f}x   (target >= 1.0x)")
    else:
        print("    pyvips not installed (pip install '.[bench]')")
    both = timeit(lambda d: ours(d, ("jpeg", "webp")), data, args.runs)
    out, _ = ours(data, ("jpeg", "webp"))
    webp_kb = sum(len(b) for (_n, f), b in out.items() if f == "webp") // 1024
    print(f"    {'ours, JPEG + WebP':<28}{both * 1000:>8.1f} ms   (info; WebP total {webp_kb} KB)")

    print("(b) peak memory of rendering one photo (max RSS delta, fresh process)")
    delta, base = peak_memory(MEMORY_CHILD, str(PHOTO), "jpeg,webp")
    print(f"    {'civic.media.imaging.render':<28}{delta:>8.1f} MB   (JPEG+WebP; baseline {base:.0f} MB; target < 200 MB)")
    delta, base = peak_memory(NAIVE_MEMORY_CHILD, str(PHOTO), str(Path(__file__).parent))
    print(f"    {'naive Pillow':<28}{delta:>8.1f} MB   (JPEG; baseline {base:.0f} MB)")

    print(f"(c) import time in a fresh process, median of {args.import_runs}")
    try:
        handler_t, boto_t = bench_imports(args.import_runs)
    except RuntimeError as exc:
        print(f"    functions/media/handler.py could not be imported: {str(exc).strip().splitlines()[-1]}")
    else:
        print(f"    {'functions/media/handler.py':<28}{handler_t * 1000:>8.1f} ms")
        print(f"    {'import boto3':<28}{boto_t * 1000:>8.1f} ms")
        print(f"    ratio handler / boto3: {handler_t / boto_t:.2f}x   (target <= 1.7x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
