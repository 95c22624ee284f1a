"""Edge models (chalicelib.schemas) validate bodies into the domain's bilingual `invalid_request`."""

import pytest

from civic.domain.errors import Invalid
from civic_dev.local.loader import load_chalice_app
from tests.unit.test_openapi import ROOT


@pytest.fixture(scope="module")
def edge():
    load_chalice_app(ROOT / "chalice_app")
    from chalicelib.http import parsed_body
    from chalicelib.schemas.bodies import Open311ClientInput

    class Request:
        def __init__(self, raw: str):
            self.raw_body = raw.encode()

    return lambda raw: parsed_body(Request(raw), Open311ClientInput)


def test_open311_client_body_is_validated_with_per_field_messages(edge):
    with pytest.raises(Invalid) as refused:
        edge('{"name": "  ", "contact": 5, "extra": 1}')
    assert refused.value.code == "invalid_request"
    assert set(refused.value.body("en")["error"]["fields"]) == {"name", "contact", "extra"}
    with pytest.raises(Invalid) as not_json:
        edge("{")
    assert not_json.value.code == "invalid_json"


def test_open311_client_body_is_trimmed_and_contact_may_be_null(edge):
    client = edge('{"name": " Ứng dụng phường ", "contact": null}')
    assert (client.name, client.contact) == ("Ứng dụng phường", None)
