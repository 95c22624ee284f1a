"""PDF documents as evidence: check one, and publish a rewritten copy without its metadata.

``clean_pdf(data, declared_type=...)`` returns a :class:`Document` (the bytes to publish, the page
count) or raises :class:`DocumentRefused` with a stable ``code`` (see ``REFUSALS``):

* ``empty``: zero bytes. ``too_large``: more than ``max_bytes``.
* ``type_mismatch``: the bytes do not start with the PDF signature ``%PDF-`` (readers accept it
  anywhere in the first KB; we do not, so a file cannot be an image and a PDF at once), or the
  declared type is not ``application/pdf``.
* ``undecodable``: pypdf cannot read its structure (or it has no page, or too many objects).
* ``pdf_encrypted``: any encryption, an empty user password included: nothing in it can be checked.
* ``too_many_pages``: more than ``max_pages`` pages (counted through the page tree, not ``/Count``).
* ``pdf_active_content``: JavaScript (``/JS``, ``/JavaScript``, an action ``/S /JavaScript``), actions
  that leave the document (``/Launch``, ``/GoToR``, ``/GoToE``, ``/ImportData``, ``/SubmitForm``),
  XFA forms, rich media or 3D annotations — anywhere: every object of the cross-reference table
  and everything reachable from the trailer is walked, with names as pypdf decodes them (so
  ``/Java#53cript`` is ``/JavaScript``).
* ``pdf_embedded_files``: attached files (``/EmbeddedFiles``, ``/EF``, an ``/EmbeddedFile`` stream, a
  ``/FileAttachment`` annotation).

The published copy is not the upload: it is a new file that pypdf writes from the pages alone, so
the catalogue (document-level actions, name trees, outlines, the XMP packet) is left behind, the
``/Info`` dictionary is not written, and ``/Metadata`` (XMP) and ``/PieceInfo`` are removed from
every page and resource that carried them. Bytes after the file's end never reach the copy.

Importing this module does not import pypdf (the media handler's import stays cheap).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from civic.media import Refused

PDF_TYPE = "application/pdf"
SIGNATURE = b"%PDF-"
MAX_BYTES = 20 * 1024 * 1024
MAX_PAGES = 50  # an official answer is a few pages; a scanned file of hundreds is not evidence of one case
MAX_OBJECTS = 200_000  # bounds the walk of a hostile file
REFUSALS = (
    "empty", "too_large", "type_mismatch", "undecodable", "pdf_encrypted", "too_many_pages",
    "pdf_active_content", "pdf_embedded_files",
)

_ACTIVE_KEYS = {"/JS", "/JavaScript", "/XFA", "/RichMediaContent", "/RichMediaSettings"}
_ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/GoToR", "/GoToE", "/ImportData", "/SubmitForm", "/RichMediaExecute"}
_ACTIVE_SUBTYPES = {"/RichMedia", "/3D"}
_EMBEDDED_KEYS = {"/EmbeddedFiles", "/EF"}
_PRIVATE_KEYS = ("/Metadata", "/PieceInfo")


class DocumentRefused(Refused):
    """A PDF is refused."""

    REFUSALS = REFUSALS


@dataclass(frozen=True)
class Document:
    data: bytes  # the copy to publish: the pages only, no Info, no XMP
    pages: int


def clean_pdf(
    data: bytes, *, declared_type: str = PDF_TYPE, max_bytes: int = MAX_BYTES, max_pages: int = MAX_PAGES,
) -> Document:
    """Check a PDF and rewrite it without metadata; see the module doc for every refusal."""
    if not data:
        raise DocumentRefused("empty")
    if len(data) > max_bytes:
        raise DocumentRefused("too_large", f"{len(data)} bytes > {max_bytes}")
    if declared_type != PDF_TYPE or not data.startswith(SIGNATURE):
        raise DocumentRefused("type_mismatch", f"declared {declared_type}, starts with {data[:8]!r}")
    from pypdf import PdfReader, PdfWriter

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise DocumentRefused("pdf_encrypted")
        pages = len(reader.pages)
        if pages == 0:
            raise DocumentRefused("undecodable", "no pages")
        if pages > max_pages:
            raise DocumentRefused("too_many_pages", f"{pages} > {max_pages}")
        _refuse_active(reader)
        writer = PdfWriter()
        for page in reader.pages:
            _strip_private(page)  # before the copy, so the packets are never cloned into it
            writer.add_page(page)
        writer.metadata = None  # no /Info at all (pypdf would otherwise write its /Producer)
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
        out = io.BytesIO()
        writer.write(out)
    except DocumentRefused:
        raise
    except RecursionError:
        raise DocumentRefused("undecodable", "nested too deeply") from None
    except MemoryError:
        raise DocumentRefused("undecodable", "out of memory while reading") from None
    except Exception as exc:  # pypdf raises PdfReadError, ValueError, KeyError, struct.error…
        raise DocumentRefused("undecodable", f"{type(exc).__name__}: {exc}") from None
    return Document(out.getvalue(), pages)


def _objects(reader: Any):
    """Every object the file declares or reaches: the cross-reference table (object streams too),
    then everything reachable from the trailer; each indirect object once, direct ones walked in place."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    seen: set[tuple[int, int]] = set()
    roots: list[Any] = [reader.trailer]
    for generation, table in reader.xref.items():
        roots += [IndirectObject(num, generation, reader) for num in table]
    roots += [IndirectObject(num, 0, reader) for num in reader.xref_objStm]
    stack = list(reversed(roots))
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            key = (obj.idnum, obj.generation)
            if key in seen:
                continue
            seen.add(key)
            if len(seen) > MAX_OBJECTS:
                raise DocumentRefused("undecodable", f"more than {MAX_OBJECTS} objects")
            obj = obj.get_object()
        if isinstance(obj, DictionaryObject):  # stream objects are dictionaries too (their data is not read)
            yield obj
            stack.extend(obj.values())
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)


def _refuse_active(reader: Any) -> None:
    for d in _objects(reader):
        keys = set(d.keys())
        kind, subtype, action = d.get("/Type"), d.get("/Subtype"), d.get("/S")
        if keys & _EMBEDDED_KEYS or kind == "/EmbeddedFile" or subtype == "/FileAttachment":
            raise DocumentRefused("pdf_embedded_files")
        if keys & _ACTIVE_KEYS or action in _ACTIVE_ACTIONS or subtype in _ACTIVE_SUBTYPES:
            raise DocumentRefused("pdf_active_content", str(action or subtype or sorted(keys & _ACTIVE_KEYS)))


def _strip_private(page: Any) -> None:
    """Remove XMP packets and applications' private data from a page and all it uses (not its parents)."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

    seen: set[int] = set()
    stack = [page]
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            obj = obj.get_object()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, DictionaryObject):
            for key in _PRIVATE_KEYS:
                obj.pop(key, None)
            stack.extend(v for k, v in obj.items() if k != "/Parent")
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
