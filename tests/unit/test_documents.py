"""PDF evidence (civic.media.documents): small PDFs built here with pypdf, each check on its own."""

import io
import re

import pytest
from pypdf import PdfReader, PdfWriter
from pypdf.actions import JavaScript
from pypdf.generic import DictionaryObject, NameObject, StreamObject, TextStringObject

from civic.media.documents import MAX_PAGES, DocumentRefused, clean_pdf

XMP = b"""<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description
 xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>Tran Thi Bich</dc:creator></rdf:Description>
</rdf:RDF></x:xmpmeta><?xpacket end="w"?>"""


def pdf(pages=2, *, author="Nguyen Van An", build=None) -> bytes:
    """A small PDF: blank pages, an Info dictionary, an XMP packet on the catalogue and on page 1."""
    w = PdfWriter()
    for _ in range(pages):
        w.add_blank_page(595, 842)
    w.add_metadata({"/Author": author, "/Title": "Biên bản kiểm tra"})
    for holder in (w.root_object, w.pages[0]):
        xmp = StreamObject()
        xmp.set_data(XMP)
        xmp[NameObject("/Type")] = NameObject("/Metadata")
        xmp[NameObject("/Subtype")] = NameObject("/XML")
        holder[NameObject("/Metadata")] = w._add_object(xmp)
    if build:
        build(w)
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def refused(data: bytes, **kwargs) -> str:
    with pytest.raises(DocumentRefused) as exc:
        clean_pdf(data, **kwargs)
    return exc.value.code


def test_a_plain_pdf_is_published_without_info_or_xmp_and_keeps_its_pages():
    original = pdf(pages=3)
    assert b"Nguyen Van An" in original and b"Tran Thi Bich" in original
    doc = clean_pdf(original)
    assert doc.pages == 3 and doc.data.startswith(b"%PDF-")
    # Neither the Info dictionary nor any XMP packet is left, in any form.
    assert b"Nguyen Van An" not in doc.data and b"Tran Thi Bich" not in doc.data
    assert b"/Metadata" not in doc.data and b"/Info" not in doc.data and b"xpacket" not in doc.data
    reread = PdfReader(io.BytesIO(doc.data))
    assert len(reread.pages) == 3 and reread.metadata is None and reread.xmp_metadata is None
    assert reread.pages[0].mediabox.width == 595


def test_an_encrypted_pdf_is_refused_even_with_an_empty_user_password():
    for user_password in ("secret", ""):
        data = pdf(build=lambda w, p=user_password: w.encrypt(p, "owner", algorithm="RC4-128"))
        assert refused(data) == "pdf_encrypted"


def test_javascript_anywhere_is_refused():
    open_action = pdf(build=lambda w: w.add_open_action(JavaScript("app.alert('x')")))
    assert refused(open_action) == "pdf_active_content"

    def page_action(w):  # on a page's additional actions, with the name escaped as #53
        aa = DictionaryObject({NameObject("/O"): DictionaryObject({
            NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("this.print()")})})
        w.pages[1][NameObject("/AA")] = aa

    escaped = pdf(build=page_action).replace(b"/S /JavaScript", b"/S /Java#53cript")
    assert b"/Java#53cript" in escaped
    assert refused(escaped) == "pdf_active_content"


def test_a_launch_action_is_refused():
    def launch(w):
        w.root_object[NameObject("/OpenAction")] = DictionaryObject({
            NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("cmd.exe")})

    assert refused(pdf(build=launch)) == "pdf_active_content"


def test_embedded_files_are_refused():
    assert refused(pdf(build=lambda w: w.add_attachment("payload.exe", b"MZ\x90\x00"))) == "pdf_embedded_files"


def test_too_many_pages_are_refused():
    assert clean_pdf(pdf(pages=MAX_PAGES)).pages == MAX_PAGES
    assert refused(pdf(pages=MAX_PAGES + 1)) == "too_many_pages"
    assert refused(pdf(pages=3), max_pages=2) == "too_many_pages"


def test_a_file_that_is_not_a_pdf_is_refused_whatever_its_name():
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buf, "JPEG")
    assert refused(buf.getvalue()) == "type_mismatch"  # a photo named .pdf
    assert refused(b"<html><script>alert(1)</script></html>") == "type_mismatch"
    assert refused(b"  %PDF-1.7 preceded by junk") == "type_mismatch"  # the signature must come first
    assert refused(pdf(), declared_type="image/jpeg") == "type_mismatch"
    assert refused(b"%PDF-1.7\n1 0 obj << /Type /Catalog") == "undecodable"  # truncated
    assert refused(b"") == "empty"
    assert refused(pdf(), max_bytes=100) == "too_large"


def test_bytes_after_the_end_never_reach_the_published_copy():
    doc = clean_pdf(pdf() + b"\nPK\x03\x04 a zip riding along")
    assert b"PK\x03\x04" not in doc.data and re.search(rb"%%EOF\s*$", doc.data)
