"""What a client reads first: health, the deployment's configuration, the categories, and
GET /v1/openapi.json, the API's OpenAPI 3.1 document (openapi.yaml at the repository root) as JSON.

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

from chalicelib.http import CORS, endpoint, json_response, language, query
from civic import __version__
from civic.bootstrap import services
from civic.domain import moderation, reports, statuses, wording
from civic.services import intake

bp = Blueprint(__name__)

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parents[2] / "openapi.yaml"  # the repository root (absent in Lambda)
PACKAGED = HERE.parent / "openapi.json"  # written by infra/package.sh


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


@bp.route("/v1/health", methods=["GET"], cors=CORS)
@endpoint
def health():
    return {"status": "ok", "version": __version__}


@bp.route("/v1/config", methods=["GET"], cors=CORS)
@endpoint
def public_config():
    s = services().settings
    return {
        "region": s.aws_region,
        "user_pool_id": s.user_pool_id,
        "user_pool_client_id": s.user_pool_client_id,
        "cognito_endpoint_url": s.cognito_endpoint,
        "tracking_prefix": s.tracking_prefix,
        "service_bbox": list(s.service_bbox),
        "feed_default_bbox": list(s.feed_default_bbox or s.service_bbox),
        # The deployment: its name, where maps open, and the base map (none: boundaries and markers only).
        "province_name": {"vi": s.province_name_vi, "en": s.province_name_en or s.province_name_vi},
        "map_center": list(s.map_center) if s.map_center else None,
        "map_zoom": s.map_zoom,
        "tile_url": s.tile_url or None,
        "tile_attribution": s.tile_attribution or None,
        "languages": ["vi", "en"],
        # Kinds the web app shows, from the domain's tables (never re-declared in JavaScript).
        "statuses": [s.as_dict() for s in statuses.TABLE],
        "flag_reasons": [{"code": c, "label": label.as_dict()} for c, label in moderation.FLAG_REASONS.items()],
        # What each upload form accepts (PDF documents are evidence only).
        "media_types": {role: list(types) for role, types in reports.MEDIA_TYPES.items()},
        **wording.as_config(),  # how timeline events and the actors' roles read
    }


@bp.route("/v1/categories", methods=["GET"], cors=CORS)
@endpoint
def categories():
    return intake.categories(language(bp.current_request))


@bp.route("/v1/boundaries", methods=["GET"], cors=CORS)
@endpoint
def boundaries_in_box():
    """The published administrative boundaries in a box, simplified, with names: the base map where
    there is no tile server (the local stack). They change only when boundaries are published."""
    from civic.domain.ports import RoutingIndexMissing
    from civic.services.units import outlines

    d = services().directory
    params = query(bp.current_request)
    try:
        artifact = d.artifact()
    except RoutingIndexMissing:
        artifact = None
    return json_response(outlines(artifact, d.tree, params), headers={"Cache-Control": "public, max-age=300"})
