"""Open311 GeoReport v2: the wire format of one audience, kept at the edge with its routes.

`wire` (errors, XML/JSON, W3C dates), `catalog` (categories as services), `submissions` (POST forms),
`requests` (reports as service requests, the listing's query, updates) and `routes` (the blueprint).
The names below are what the routes and the tests use, as `open311.<name>`.
"""

from chalicelib.open311.catalog import discovery, notice, service_definition, services
from chalicelib.open311.requests import (
    DETAILED_STATUSES,
    MAX_ROWS,
    MAX_WINDOW_DAYS,
    REFUSAL_STATUS,
    detailed_status,
    local_days,
    matches,
    media_url,
    now_utc,
    open_or_closed,
    parse_flag,
    parse_request_query,
    public_notes,
    published,
    request_updates,
    service_request,
    valid_request_id,
)
from chalicelib.open311.submissions import (
    Upload,
    citizen_id,
    created,
    display_name,
    parse_form,
    parse_multipart,
    parse_submission,
    parse_update,
    token_answer,
    update_created,
)
from chalicelib.open311.wire import (
    FORMATS,
    Open311Error,
    bad,
    from_domain_error,
    parse_w3c,
    render,
    render_error,
    split_format,
    w3c,
)

__all__ = [
    "DETAILED_STATUSES", "FORMATS", "MAX_ROWS", "MAX_WINDOW_DAYS", "REFUSAL_STATUS", "Open311Error", "bad",
    "citizen_id", "created", "detailed_status", "discovery", "display_name", "from_domain_error", "local_days",
    "matches", "media_url", "notice", "now_utc", "open_or_closed", "parse_flag", "parse_form", "parse_request_query",
    "parse_multipart", "parse_submission", "parse_update", "update_created", "parse_w3c", "Upload", "public_notes", "published", "render", "render_error", "request_updates",
    "service_definition", "service_request", "services", "split_format", "token_answer", "valid_request_id", "w3c",
]
