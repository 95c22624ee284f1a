"""GET /v1/stats/*: the statistics dashboard (civic.services.stats). Public totals without `unit`; a unit's
figures, the unit ranking and the map for staff of that unit or above it, and admins."""

from __future__ import annotations

from chalice import Blueprint

from chalicelib.http import CORS, endpoint, groups, json_response, query
from civic.bootstrap import services

bp = Blueprint(__name__)




def _viewer(request):
    """Who asks, from an optional bearer token (these routes are public without `unit`)."""
    from civic.auth import InvalidToken, bearer_token
    from civic.domain.errors import unauthenticated
    from civic.services.stats import Viewer

    token = bearer_token(request.headers)
    if not token:
        return Viewer()
    try:
        found = services().verifier.verify(token)
    except InvalidToken:
        raise unauthenticated() from None
    sub, roles = found.get("sub"), groups(found)
    if "admin" in roles:
        return Viewer(sub, "admin")
    from civic.services.staff import member_from

    member = member_from(sub, roles, services().staff_directory.units_of(sub)) if roles else None
    return Viewer(sub, member.role, member.units) if member else Viewer(sub, "citizen")


def _answer(use_case, **extra):
    from civic.domain.stats import today_local

    request = bp.current_request
    return use_case(services().stats_store, query(request), services().directory.tree, _viewer(request), today_local(), **extra)


@bp.route("/v1/stats/summary", methods=["GET"], cors=CORS)
@endpoint
def stats_summary():
    from civic.services import stats
    return _answer(stats.summary, min_ratings=services().settings.min_ratings)


@bp.route("/v1/stats/units", methods=["GET"], cors=CORS)
@endpoint
def stats_units():
    from civic.services import stats
    return _answer(stats.units, min_ratings=services().settings.min_ratings)


@bp.route("/v1/stats/categories", methods=["GET"], cors=CORS)
@endpoint
def stats_categories():
    from civic.services import stats
    return _answer(stats.categories)


@bp.route("/v1/stats/timeseries", methods=["GET"], cors=CORS)
@endpoint
def stats_timeseries():
    from civic.services import stats
    return _answer(stats.timeseries)


@bp.route("/v1/stats/heatmap", methods=["GET"], cors=CORS)
@endpoint
def stats_heatmap():
    from civic.services import stats
    return _answer(stats.heatmap)


@bp.route("/v1/stats/map", methods=["GET"], cors=CORS)
@endpoint
def stats_map():
    from civic.services import stats
    return _answer(stats.choropleth, geometry_of=services().directory.geometry, min_ratings=services().settings.min_ratings)


@bp.route("/v1/stats/tree", methods=["GET"], cors=CORS)
@endpoint
def stats_tree():
    from civic.services import stats

    request = bp.current_request
    return stats.unit_choices(query(request), services().directory.tree, _viewer(request))


@bp.route("/v1/stats/points", methods=["GET"], cors=CORS)
@endpoint
def stats_points():
    from civic.domain.stats import today_local
    from civic.services import stats

    request = bp.current_request
    return stats.report_points(services().store, query(request), services().directory.tree, _viewer(request),
                               today_local())


@bp.route("/v1/stats/figures", methods=["GET"], cors=CORS)
@endpoint
def stats_figures():
    """What each figure means, once (civic.domain.stats.figures): the dashboards show it on hover."""
    from civic.domain.stats import figure_definitions

    _no_params(bp.current_request)
    min_ratings = services().settings.min_ratings
    return json_response({"min_ratings": min_ratings, "figures": figure_definitions(min_ratings)},
                         headers={"Cache-Control": "public, max-age=3600"})


def _no_params(request) -> None:
    from civic.domain.errors import Invalid
    from civic.i18n import text

    unknown = sorted(query(request))
    if unknown:
        raise Invalid("unknown_parameter", text("Tham số không được hỗ trợ", "Unknown query parameter"),
                      {name: text("Không hỗ trợ", "Not supported") for name in unknown})
