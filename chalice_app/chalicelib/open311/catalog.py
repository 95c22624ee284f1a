"""Our categories as Open311 services: the list, each service's definition (its typed questions as
attributes) and the discovery document."""

from __future__ import annotations

from chalicelib.open311.wire import SPECIFICATION, Open311Error
from civic.domain import questions
from civic.domain.categories import Category, all_categories
from civic.i18n import text

# ---------------------------------------------------------------- services


def _keywords(category: Category) -> str:
    return ", ".join(category.keywords)


def notice(lang: str) -> str:
    """What a citizen can expect: the default working-time deadlines (civic.domain.sla)."""
    from civic.domain.sla import DEFAULT_POLICY

    normal = DEFAULT_POLICY["normal"]
    acc, res = normal.accept, normal.resolve
    unit_vi = {"hours": "giờ làm việc", "days": "ngày làm việc"}
    unit_en = {"hours": "working hours", "days": "working days"}
    return text(
        f"Phản ánh được đơn vị tiếp nhận trong {acc.amount:g} {unit_vi[acc.unit]} và xử lý trong "
        f"{res.amount:g} {unit_vi[res.unit]}; theo dõi bằng mã theo dõi (token).",
        f"A unit takes the report on within {acc.amount:g} {unit_en[acc.unit]} and resolves it within "
        f"{res.amount:g} {unit_en[res.unit]}; follow it with its tracking code (token).",
    ).get(lang)


def service(category: Category, lang: str) -> dict:
    return {
        "service_code": category.code,
        "service_name": category.name.get(lang),
        "description": category.description.get(lang),
        "metadata": bool(category.questions),
        "type": "realtime",
        "keywords": _keywords(category),
        "group": (category.group or category.name).get(lang),
    }


def services(lang: str) -> list[dict]:
    return [service(c, lang) for c in all_categories().values()]


def require_service(code: str | None) -> Category:
    category = all_categories().get(code or "")
    if category is None:
        raise Open311Error(404, text("Không có dịch vụ (service_code) này", "No service with this service_code"))
    return category


def service_definition(code: str, lang: str) -> dict:
    """The category's typed questions as GeoReport v2 attributes (civic.domain.questions.TYPES maps them)."""
    category = require_service(code)
    attributes = []
    for order, q in enumerate(category.questions, start=1):
        attribute = {
            "variable": True,
            "code": q.code,
            "datatype": questions.TYPES[q.type],
            "required": q.required,
            "datatype_description": "YYYY-MM-DD" if q.type == "date" else None,
            "order": order,
            "description": q.label.get(lang),
        }
        if q.choices:
            attribute["values"] = [{"key": o.key, "name": o.label.get(lang)} for o in q.choices]
        attributes.append(attribute)
    return {"service_code": category.code, "attributes": attributes}


def discovery(api_url: str, changeset: str, lang: str) -> dict:
    return {
        "changeset": changeset,
        "contact": text("Quản trị CivicBridge qua cổng hành chính của tỉnh/thành phố",
                        "CivicBridge operators, through the province or city's service desk").get(lang),
        "key_service": text("Khóa API do quản trị viên cấp cho từng ứng dụng (POST /v1/admin/open311/clients)",
                            "API keys are issued per client by administrators (POST /v1/admin/open311/clients)").get(lang),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": api_url.rstrip("/") + "/open311/v2",
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


