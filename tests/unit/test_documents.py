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


# ------------------------------------------------------------------ through the media pipeline


def evidence_upload(data: bytes):
    """An accepted report with one PDF evidence item declared by an officer, and its upload."""
    from dataclasses import replace

    from civic.domain.reports import MediaItem, new_report
    from civic.domain.submission import ReportSubmission
    from civic_dev.fakes import InMemoryReportStore
    from tests.unit.test_media import Blobs

    store = InMemoryReportStore()
    sub = ReportSubmission(category="traffic", description="Biển báo đổ", lat=21.0285, lon=105.8542)
    report, event = new_report(sub, citizen_id="citizen-1", tracking_code="HN-PDF001", now="2026-11-20T00:00:00.000Z")
    item = MediaItem("doc1", "document", "application/pdf", len(data), role="evidence", uploader="officer-1")
    store.create(replace(report, status="accepted", media=[item]), event)
    key = f"uploads/{report.id}/doc1"
    return store, report.id, key, Blobs({("up", key): data}, {("up", key): "officer-1"})


def process(store, key, blobs, size):
    from civic.services.media import Upload, process_upload
    from civic_dev.fakes import InMemoryPhotoRegistry

    return process_upload(Upload("up", key, size), store=store, blobs=blobs, photos=InMemoryPhotoRegistry(),
                          media_bucket="media", now="2026-11-20T00:01:00.000Z")


def test_pdf_evidence_is_published_clean_with_its_page_count():
    from civic.domain.reports import media_detail

    data = pdf(pages=4)
    store, report_id, key, blobs = evidence_upload(data)
    assert process(store, key, blobs, len(data)) == "ready"
    item = store.get(report_id).media[0]
    assert item.status == "ready" and item.pages == 4 and item.formats == ["application/pdf"]
    published = blobs.objects[("media", f"{item.renditions['document']}.pdf")]
    assert b"Nguyen Van An" not in published and len(PdfReader(io.BytesIO(published)).pages) == 4
    assert ("up", key) not in blobs.objects  # the original (with its metadata) is gone
    shown = media_detail(item, "https://cdn.test")
    assert shown["kind"] == "document" and shown["pages"] == 4
    assert shown["renditions"] == {"document": f"https://cdn.test/media/{report_id}/doc1/document.pdf"}
    # Evidence is not public on upload (it is, with the approved result).
    assert store.timeline(report_id)[-1].type == "media_added" and store.timeline(report_id)[-1].public is False


def test_an_encrypted_pdf_is_refused_with_a_reason_its_uploader_reads():
    data = pdf(build=lambda w: w.encrypt("secret", algorithm="RC4-128"))
    store, report_id, key, blobs = evidence_upload(data)
    assert process(store, key, blobs, len(data)) == "refused:pdf_encrypted"
    item = store.get(report_id).media[0]
    assert item.status == "refused" and item.reason["code"] == "pdf_encrypted"
    assert "mật khẩu" in item.reason["vi"] and "encrypted" in item.reason["en"]
    assert not [k for k in blobs.objects if k[0] == "media"] and ("up", key) not in blobs.objects


def test_the_upload_policy_allows_a_pdf_only_as_evidence(monkeypatch):
    """The presigned POST (boto3's real policy, signed offline) pins the declared type; only the evidence
    form may declare a PDF, and then within the document size limit."""
    import base64
    import json
    from dataclasses import replace

    from civic.adapters.s3.uploads import S3UploadSigner
    from civic.domain.errors import DomainError
    from civic.domain.inputs import EvidenceRequest
    from civic.domain.reports import new_report
    from civic.domain.submission import ReportSubmission
    from civic.services import intake, staff
    from civic.settings import Settings
    from civic_dev.fakes import InMemoryReportStore
    from tests.unit.test_workflow import TREE

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings = Settings(uploads_bucket="uploads", media_base_url="https://cdn.test")
    signer = S3UploadSigner(settings)
    pdf_media = {"content_type": "application/pdf", "size": 50_000}

    # A citizen's report: refused before anything is stored or signed.
    with pytest.raises(DomainError) as err:
        intake.parse_submission({"category": "traffic", "description": "Ổ gà", "lat": 21.03, "lon": 105.85,
                                 "media": [pdf_media]}, settings)
    assert "media.0.content_type" in err.value.fields and "PDF" not in err.value.fields["media.0.content_type"].en

    store = InMemoryReportStore()
    sub = ReportSubmission(category="traffic", description="Ổ gà", lat=21.0, lon=105.8)
    report, event = new_report(sub, citizen_id="citizen", tracking_code="HN-PDF002", now="2026-11-20T01:00:00.000Z")
    store.create(replace(report, status="accepted", unit_code="W1"), event)
    officer = staff.StaffMember("officer-1", "officer", ("W1",))
    answer = staff.request_evidence(store, signer, officer, report.id, EvidenceRequest.parse({"media": [pdf_media]}), TREE, settings,
                                    "t")
    policy = json.loads(base64.b64decode(answer["uploads"][0]["fields"]["policy"]))
    assert {"Content-Type": "application/pdf"} in policy["conditions"]
    assert ["content-length-range", 1, 50_000] in policy["conditions"]
    # Over the document limit, or an unknown type: a bilingual 400/413 naming the field, nothing stored.
    version = store.get(report.id).version
    for media, field in (({"content_type": "application/pdf", "size": settings.max_upload_bytes_document + 1}, "media.0.size"),
                         ({"content_type": "application/x-msdownload", "size": 10}, "media.0.content_type")):
        with pytest.raises(DomainError) as err:
            staff.request_evidence(store, signer, officer, report.id, EvidenceRequest.parse({"media": [media]}), TREE, settings, "t")
        assert field in err.value.fields and err.value.fields[field].vi
    assert "PDF" in err.value.fields["media.0.content_type"].en
    assert store.get(report.id).version == version
