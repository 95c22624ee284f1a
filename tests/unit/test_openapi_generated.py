"""openapi.yaml is generated from the edge models (chalice_app/chalicelib/schemas/) by `make openapi`."""

from pathlib import Path

from civic_dev import openapi

ROOT = Path(__file__).resolve().parents[2]


def test_committed_document_is_the_generated_one():
    committed = (ROOT / "openapi.yaml").read_text(encoding="utf-8")
    assert committed == openapi.render(), "openapi.yaml is stale: run make openapi"


def test_generation_is_deterministic():
    assert openapi.render() == openapi.render()


def test_limits_come_from_the_domain():
    """The models take their limits and kinds from the domain's constants, so the document follows them."""
    from civic.domain import moderation, reports, statuses, workflow

    schemas = openapi.build()["components"]["schemas"]
    submission = schemas["ReportSubmission"]["properties"]
    assert submission["description"]["maxLength"] == reports.MAX_DESCRIPTION
    assert submission["media"]["maxItems"] == reports.MAX_MEDIA
    assert schemas["MediaDeclaration"]["properties"]["content_type"]["enum"] == list(
        reports.PHOTO_TYPES + reports.VIDEO_TYPES
    )
    assert schemas["Status"]["enum"] == list(statuses.STATUSES)
    assert schemas["ActionName"]["enum"] == list(workflow.ACTIONS)
    assert schemas["FlagInput"]["properties"]["reason"]["enum"] == list(moderation.FLAG_REASONS)
