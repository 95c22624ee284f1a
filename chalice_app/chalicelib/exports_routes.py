"""Open data and exports: GET /v1/exports (public) and GET /v1/staff/inbox/export (staff, CSV)."""

from __future__ import annotations

from functools import lru_cache

from chalice import Blueprint, Response

from chalicelib.http import CORS, authorizer, endpoint, ports, query, staff_member

bp = Blueprint(__name__)


@lru_cache(maxsize=1)
def _files():
    from civic.storage.opendata import S3OpenDataStore

    return S3OpenDataStore(ports.settings)


@bp.route("/v1/exports", methods=["GET"], cors=CORS)
@endpoint
def list_exports():
    from civic.exports import list_exports as listing

    return listing(_files(), query(bp.current_request), ports.settings.media_base_url)


@bp.route("/v1/staff/inbox/export", methods=["GET"], authorizer=authorizer, cors=CORS)
@endpoint
def export_inbox():
    from civic.i18n import local_day
    from civic.domain.reports import now_iso
    from civic.exports import staff_export

    request = bp.current_request
    member = staff_member(request)
    body, rows, total = staff_export(
        ports.store, member, query(request), ports.directory.tree, ports.settings, ports.due_state
    )
    return Response(
        body=body,
        status_code=200,
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="inbox-{local_day(now_iso())}.csv"',
            "Cache-Control": "no-store",
            "X-Export-Rows": str(rows),
            "X-Export-Total": str(total),
        },
    )
