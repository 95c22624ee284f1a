"""GET /v1/openapi.json: the API's OpenAPI 3.1 document (openapi.yaml at the repository root) as JSON.

Where the document comes from:
* in the repository (the local stack, tests): ``openapi.yaml`` at the root, read with PyYAML (a dev
  dependency), so the served document is always the file being edited;
* in Lambda: ``chalicelib/openapi.json``, which ``infra/package.sh`` writes from the YAML before
  ``chalice package`` (the Lambda package holds only ``chalice_app/``, and the layer has no YAML parser).

Parsed once per process.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from chalice import Blueprint

from chalicelib.http import CORS, endpoint, json_response

bp = Blueprint(__name__)

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[1] / "openapi.yaml"  # the repository root (absent in Lambda)
PACKAGED = HERE / "openapi.json"  # written by infra/package.sh


@lru_cache(maxsize=1)
def document() -> dict:
    if SOURCE.is_file():
        import yaml

        return yaml.safe_load(SOURCE.read_text(encoding="utf-8"))
    return json.loads(PACKAGED.read_text(encoding="utf-8"))


@bp.route("/v1/openapi.json", methods=["GET"], cors=CORS)
@endpoint
def openapi_document():
    return json_response(document())
