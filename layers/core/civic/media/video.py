"""MP4/MOV containers: check the box structure and blank out metadata without re-encoding.

Location and device data live in `udta` and `meta` boxes (e.g. ©xyz holds GPS). Those boxes are
renamed `free` and their content overwritten with zeros: every size and offset stays the same, so
the sample tables (stco/co64) stay valid and the file plays exactly as before, and no byte of the
metadata is left in the file.
"""

from __future__ import annotations

import struct

# Boxes whose children we walk to find metadata; the metadata boxes themselves are blanked whole.
CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf"}
METADATA = {b"udta", b"meta"}
MAX_DEPTH = 8


class BadContainer(ValueError):
    pass


def _boxes(data: bytearray, start: int, end: int):
    """(offset, header length, size, type) of each box between start and end; checks bounds."""
    pos = start
    while pos < end:
        if end - pos < 8:
            raise BadContainer("truncated box header")
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if end - pos < 16:
                raise BadContainer("truncated large box header")
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise BadContainer(f"box {kind!r} overruns its parent")
        yield pos, header, size, kind
        pos += size


def _blank(data: bytearray, pos: int, header: int, size: int) -> None:
    data[pos + 4 : pos + 8] = b"free"
    data[pos + header : pos + size] = bytes(size - header)


def strip_metadata(raw: bytes) -> tuple[bytes, int]:
    """The same file with every udta/meta box under moov blanked; and how many were blanked."""
    data = bytearray(raw)
    blanked = 0

    def walk(start: int, end: int, depth: int) -> None:
        nonlocal blanked
        if depth > MAX_DEPTH:
            raise BadContainer("boxes nested too deeply")
        for pos, header, size, kind in _boxes(data, start, end):
            if kind in METADATA and depth > 0:
                _blank(data, pos, header, size)
                blanked += 1
            elif kind in CONTAINERS:
                walk(pos + header, pos + size, depth + 1)

    top = list(_boxes(data, 0, len(data)))
    kinds = {kind for _, _, _, kind in top}
    if b"moov" not in kinds:
        raise BadContainer("no moov box: not a playable MP4/MOV")
    for pos, header, size, kind in top:
        if kind == b"moov":
            walk(pos + header, pos + size, 1)
        elif kind in METADATA:  # a top-level meta box (seen in some MOV files)
            _blank(data, pos, header, size)
            blanked += 1
    return bytes(data), blanked
