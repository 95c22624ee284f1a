"""Open data and exports: GET /v1/exports (public) and GET /v1/staff/inbox/export (staff, CSV)."""

from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.http import CORS, authorizer, endpoint, query, staff_member
from civic.bootstrap import services

bp = Blueprint(__name__)


@bp.route("/v1/exports", methods=["GET"], cors=CORS)
@endpoint
def list_exports():
    from civic.services.exports import list_exports as listing

    return listing(services().open_data, query(bp.current_request), services().settings.media_base_url)


@bp.route("/v1/staff/inbox/export", methods=["GET"], authorizer=authorizer, cors=CORS)
@endpoint
def export_inbox():
    from civic.clock import local_day, now_iso
    from civic.services.exports import staff_export

    request = bp.current_request
    member = staff_member(request)
    body, rows, total = staff_export(
        services().store, member, query(request), services().directory.tree, services().settings, services().due_state
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
