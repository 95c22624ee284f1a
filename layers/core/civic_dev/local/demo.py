"""Demo data for the local stack: a SYNTHETIC sample city, its wards, users and public reports.

The wards are a 3×3 tessellation of rectangles over central Hà Nội's coordinates — not real
administrative boundaries — so every name says "(tổng hợp / synthetic)".
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from civic.clock import iso_utc
from civic.domain.categories import all_categories
from civic.domain.reports import (
    Report,
    TimelineEvent,
    change,
    new_report,
    new_tracking_code,
)
from civic.domain.submission import ReportSubmission

CITY = {"code": "DEMO", "name_vi": "Thành phố Mẫu (tổng hợp)", "name_en": "Sample City (synthetic)"}
# south, west, north, east of the sample city; 3 rows × 3 columns of wards.
CITY_BBOX = (20.98, 105.78, 21.07, 105.90)
ROWS = COLS = 3
PASSWORD = "Demo@2026!"


@dataclass
class DemoUser:
    username: str
    email: str
    role: str
    unit: str | None
    name: str


def wards() -> list[dict]:
    south, west, north, east = CITY_BBOX
    dlat, dlon = (north - south) / ROWS, (east - west) / COLS
    out = []
    for row in range(ROWS):
        for col in range(COLS):
            n = row * COLS + col + 1
            s, w = south + row * dlat, west + col * dlon
            out.append(
                {
                    "code": f"DEMO-W{n:02d}",
                    "name_vi": f"Phường Mẫu {n} (tổng hợp)",
                    "name_en": f"Sample Ward {n} (synthetic)",
                    "ring": [[w, s], [w + dlon, s], [w + dlon, s + dlat], [w, s + dlat], [w, s]],
                    "center": (s + dlat / 2, w + dlon / 2),
                }
            )
    return out


# Specialised agencies of the sample city, and the rules that send categories to them.
AGENCIES = [
    {"code": "DEMO-EVN", "name_vi": "Công ty Điện lực Thành phố Mẫu (tổng hợp)",
     "name_en": "Sample City Power Company (synthetic)", "kind": "company", "categories": ["electricity"],
     "contact": {"phone": "1900 0000"}},
    {"code": "DEMO-SVHDL", "name_vi": "Sở Văn hóa và Du lịch (tổng hợp)",
     "name_en": "Department of Culture and Tourism (synthetic)", "kind": "department", "categories": ["culture_tourism"]},
]
RULES = [
    # The power company's service area (its own boundary) takes electricity reports: the pole in
    # the middle of a widened road goes to it, not to the ward.
    {"id": "electricity-to-evn", "category": "electricity", "scope": "boundary", "target": "DEMO-EVN",
     "note": "Điện, chiếu sáng → Điện lực"},
    # Heritage and tourism problems anywhere in the city go to the department.
    {"id": "culture-to-svhdl", "category": "culture_tourism", "scope": "ancestor", "where": "DEMO",
     "target": "DEMO-SVHDL", "note": "Văn hóa, du lịch → Sở VHDL"},
]
WARD_CATEGORIES = ["urban_order", "traffic", "livelihood", "environment", "security", "other"]


def boundaries_geojson() -> dict:
    """The wards (admin units) and the power company's service area (the whole city)."""
    south, west, north, east = CITY_BBOX
    evn_ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    features = [
        {
            "type": "Feature",
            "properties": {"unit_code": w["code"], "name_vi": w["name_vi"], "name_en": w["name_en"], "synthetic": True},
            "geometry": {"type": "Polygon", "coordinates": [w["ring"]]},
        }
        for w in wards()
    ]
    features.append(
        {"type": "Feature", "properties": {"unit_code": "DEMO-EVN", "synthetic": True},
         "geometry": {"type": "Polygon", "coordinates": [evn_ring]}}
    )
    return {"type": "FeatureCollection", "name": "demo-wards-synthetic", "features": features}


def handler_for(category: str, ward_code: str) -> str:
    """Who the demo rules send a report to (mirrors RULES, for the pre-built demo history)."""
    return {"electricity": "DEMO-EVN", "culture_tourism": "DEMO-SVHDL"}.get(category, ward_code)


def users() -> list[DemoUser]:
    out = [
        DemoUser("citizen1", "citizen1@demo.civicbridge.vn", "citizen", None, "Nguyễn Văn An"),
        DemoUser("citizen2", "citizen2@demo.civicbridge.vn", "citizen", None, "Trần Thị Bình"),
        DemoUser("coordinator", "coordinator@demo.civicbridge.vn", "coordinator", "DEMO", "Điều phối viên"),
        DemoUser("admin", "admin@demo.civicbridge.vn", "admin", "DEMO", "Quản trị viên"),
        DemoUser("moderator", "moderator@demo.civicbridge.vn", "moderator", None, "Kiểm duyệt viên"),
    ]
    for w in wards():
        n = w["code"][-2:]
        out.append(DemoUser(f"officer{n}", f"officer{n}@demo.civicbridge.vn", "officer", w["code"], f"Cán bộ phường {n}"))
        out.append(DemoUser(f"leader{n}", f"leader{n}@demo.civicbridge.vn", "leader", w["code"], f"Lãnh đạo phường {n}"))
    # The agencies the demo rules route to have staff too, or their reports would reach nobody (civic doctor).
    for code, slug, name in (("DEMO-EVN", "evn", "Điện lực"), ("DEMO-SVHDL", "svhdl", "Sở Văn hóa")):
        out.append(DemoUser(f"officer-{slug}", f"officer.{slug}@demo.civicbridge.vn", "officer", code, f"Cán bộ {name}"))
        out.append(DemoUser(f"leader-{slug}", f"leader.{slug}@demo.civicbridge.vn", "leader", code, f"Lãnh đạo {name}"))
    return out


# The lifecycle paths demo reports take, ending in the state they show.
_PATHS = {
    "submitted": [],
    "routed": ["routed"],
    "accepted": ["routed", "accepted"],
    "in_progress": ["routed", "accepted", "in_progress"],
    "resolved": ["routed", "accepted", "in_progress", "resolved"],
    "closed": ["routed", "accepted", "in_progress", "resolved", "closed"],
    "refused": ["routed", "refused"],
    "pending_approval": ["routed", "accepted", "in_progress", "pending_approval"],
}
# The timeline event each step is written as (the workflow's action names).
_EVENT_OF = {"routed": "routed", "accepted": "accept", "in_progress": "assign", "pending_approval": "resolve",
             "resolved": "resolve", "closed": "closed", "refused": "refuse"}
_ANSWER = "Đơn vị đã kiểm tra hiện trường, xử lý xong và khôi phục hiện trạng."
_DESCRIPTIONS = {
    "urban_order": "Quán nước lấn chiếm toàn bộ vỉa hè, người đi bộ phải xuống lòng đường.",
    "traffic": "Ổ gà lớn giữa làn đường, xe máy đi qua rất nguy hiểm vào ban đêm.",
    "livelihood": "Nước sinh hoạt mất ba ngày liền, chưa có thông báo từ đơn vị cấp nước.",
    "environment": "Rác thải tập kết trên vỉa hè nhiều ngày không được thu gom, bốc mùi.",
    "security": "Nhóm thanh niên tụ tập gây ồn ào sau 23 giờ.",
    "electricity": "Cột điện nằm giữa đường sau khi mở rộng, chưa được di dời.",
    "culture_tourism": "Biển chỉ dẫn tại điểm di tích bị hỏng, khách du lịch khó tìm lối vào.",
    "other": "Thanh sắt nhọn nhô lên trên vỉa hè, dễ gây tai nạn cho người đi bộ.",
}


DEFAULT_REPORTS = 27
# Reports beyond the default 27 (`civic local --demo-reports N`) also take this path: rated by the author.
_RATED_PATH = ["routed", "accepted", "in_progress", "resolved", "rated"]


def demo_reports(citizen_ids: list[str], tracking_prefix: str, now: datetime, seed: int = 7,
                 count: int = DEFAULT_REPORTS):
    """(report, events) pairs: public reports in several states spread over the wards, with the
    deadlines the route function would have set (working time). The first 27 are always the same
    mix; more (for statistics) add rated results."""
    from civic.domain.categories import all_categories as cats
    from civic.domain.units import UnitTree, parse_unit
    from civic.services.routing import report_deadlines

    tree = UnitTree(parse_unit(u, cats()) for u in units())

    def deadlines(unit_code: str, category: str, start: str) -> tuple[str, str]:
        return report_deadlines(tree, category, "normal", unit_code, start)

    rng = random.Random(seed)
    codes = list(all_categories())
    states = list(_PATHS)
    out = []
    extended = states + ["rated"]
    all_wards = wards()
    for i in range(count):
        ward = all_wards[i % len(all_wards)]
        lat, lon = ward["center"]
        category = codes[i % len(codes)]
        state = states[i % len(states)] if i < DEFAULT_REPORTS else extended[i % len(extended)]
        created = now - timedelta(days=rng.randint(1, 40), hours=rng.randint(0, 23), minutes=rng.randint(0, 59))
        submission = ReportSubmission(
            category=category,
            description=_DESCRIPTIONS[category],
            lat=round(lat + rng.uniform(-0.01, 0.01), 6),
            lon=round(lon + rng.uniform(-0.012, 0.012), 6),
            address=f"Số {rng.randint(1, 200)}, phố Mẫu {i + 1}",
        )
        report, first = new_report(
            submission,
            citizen_id=citizen_ids[i % len(citizen_ids)],
            tracking_code=new_tracking_code(tracking_prefix),
            now=iso_utc(created),
        )
        events = [first]
        at = created
        for step in _PATHS.get(state, _RATED_PATH):
            at += timedelta(hours=rng.randint(2, 30))
            stamp = iso_utc(at)
            data = {}
            updates = {"status": step}
            if step == "routed":
                handler = handler_for(category, ward["code"])
                accept_due, due = deadlines(handler, category, stamp)
                data = {"unit_code": handler, "admin_unit": ward["code"], "accept_due_at": accept_due, "due_at": due}
                updates.update(unit_code=handler, routed_at=stamp, accept_due_at=accept_due, due_at=due)
            elif step == "accepted":
                updates["accepted_at"] = stamp
            elif step == "in_progress":
                updates["assignee"] = "demo-team"
            elif step == "refused":
                data = {"reason": {"code": "incomplete", "vi": "Nội dung chưa đủ thông tin để xử lý",
                                   "en": "Not enough information to act on"}}
            elif step in ("resolved", "pending_approval"):
                data = {"answer": {"text": _ANSWER}, "evidence": []}
                updates.update(answer=_ANSWER, resolved_by="demo-officer")
                if step == "resolved":
                    updates["resolved_at"] = stamp
            elif step == "rated":
                satisfied = rng.random() < 0.7
                stars = rng.randint(4, 5) if satisfied else rng.randint(1, 3)
                updates = {"status": "closed", "rating": {"satisfied": satisfied, "stars": stars, "at": stamp}}
                data = {"satisfied": satisfied, "stars": stars}
            # What the core writes into these events for statistics (civic.domain.stats).
            data = {"category": category, **({"unit_code": report.unit_code} if report.unit_code else {}), **data}
            if step == "resolved":
                data.update(submitted_at=report.created_at, due_at=report.due_at)
            report = change(report, at=stamp, **updates)
            role = "system" if step in ("routed", "closed") else "citizen" if step == "rated" else "officer"
            public = step != "pending_approval"  # a result is public once approved
            events.append(
                TimelineEvent(report.id, report.version, _EVENT_OF.get(step, step), stamp, role, None, public,
                              updates["status"], data)
            )
        out.append((report, events))
    return out


def units() -> list[dict]:
    city = {**CITY, "parent_code": None, "kind": "city", "categories": [], "synthetic": True}
    return (
        [city]
        + [{**a, "parent_code": CITY["code"], "synthetic": True} for a in AGENCIES]
        + [
            {
                "code": w["code"],
                "name_vi": w["name_vi"],
                "name_en": w["name_en"],
                "parent_code": CITY["code"],
                "kind": "ward",
                "categories": WARD_CATEGORIES,
                "synthetic": True,
                "requires_approval": True,  # the ward leader approves results before they are published
            }
            for w in wards()
        ]
    )


def seed(env: dict, endpoint_url: str, region: str, tracking_prefix: str, reports: int = DEFAULT_REPORTS) -> list[dict]:
    """Load everything into the running local AWS; returns the demo logins."""
    import boto3

    from civic.adapters.dynamo import models
    from civic.adapters.dynamo.reports import DynamoReportStore
    from civic.settings import Settings

    settings = Settings(**{k.lower(): v for k, v in env.items() if k.lower() in Settings.model_fields})
    models.bind(settings)
    from civic.adapters.dynamo.units import DynamoUnitStore
    from civic.adapters.s3.routing_index import publish_collection
    from civic.domain.units import UnitTree, parse_rule, parse_unit

    unit_store = DynamoUnitStore()
    parsed = [parse_unit(u, all_categories()) for u in units()]
    for unit in parsed:
        unit_store.put(unit)
    for rule in RULES:
        unit_store.put_rule(parse_rule(rule, all_categories()))
    # The boundaries go through the same validation and index build as an operator's upload.
    s3 = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
    status = publish_collection(
        boundaries_geojson(), UnitTree(parsed), client=s3, bucket=settings.config_bucket,
        source_key="seed:demo-wards-synthetic",
    )
    if not status["ok"]:
        raise RuntimeError(f"demo boundaries refused: {status['report']}")

    cognito = boto3.client("cognito-idp", endpoint_url=endpoint_url, region_name=region)
    logins, citizen_ids = [], []
    for user in users():
        created = cognito.admin_create_user(
            UserPoolId=settings.user_pool_id,
            Username=user.email,  # the pool signs people in by email (or phone)
            UserAttributes=[
                {"Name": "email", "Value": user.email},
                {"Name": "email_verified", "Value": "true"},
                {"Name": "name", "Value": user.name},
            ],
            MessageAction="SUPPRESS",
        )
        cognito.admin_set_user_password(
            UserPoolId=settings.user_pool_id, Username=user.email, Password=PASSWORD, Permanent=True
        )
        cognito.admin_add_user_to_group(UserPoolId=settings.user_pool_id, Username=user.email, GroupName=user.role)
        sub = next(a["Value"] for a in created["User"]["Attributes"] if a["Name"] == "sub")
        prefs = notification_preferences(user)
        models.UserModel(
            user_id=sub, role=user.role, units=[user.unit] if user.unit else [], display_name=user.name, email=user.email,
            verified=verified_contacts(user.email, prefs), **prefs,
        ).save()
        _index_for_notifications(sub, user)
        if user.role == "citizen":
            citizen_ids.append(sub)
        logins.append({"username": user.email, "password": PASSWORD, "role": user.role, "unit": user.unit})

    store = DynamoReportStore()
    for report, events in demo_reports(citizen_ids, tracking_prefix, datetime.now(UTC), count=reports):
        # Write the final state and its whole history, as the lifecycle would have.
        store.create(_at_version(report, 1, events[0]), events[0])
        for previous, event in zip(range(1, len(events)), events[1:]):
            store.save(_at_version(report, event.seq, event), previous, event)
    return logins


def open311_client() -> str:
    """One Open311 client for the demo (models already bound by `seed`); returns its API key."""
    from civic.adapters.dynamo.open311 import Open311Store
    from civic.clock import utc_now

    created = Open311Store().create_client("Demo Open311 client (synthetic)", None, iso_utc(utc_now()))
    return created["api_key"]


# Where the demo citizens live (their registered home area: alerts for that ward reach them).
HOMES = {"citizen1": "DEMO-W01", "citizen2": "DEMO-W05"}


def notification_preferences(user: DemoUser) -> dict:
    """Demo notification settings: citizens on every channel with synthetic contacts, one synthetic
    Android push token and no quiet hours (so the local story works at any hour); staff on the in-app
    inbox and email."""
    if user.role != "citizen":
        return {"channels": ["inbox", "email"], "language": "vi"}
    n = user.username[-1]
    return {"channels": ["inbox", "email", "sms", "push", "zalo"], "language": "vi", "phone": f"+8490000000{n}",
            "zalo_user_id": f"zalo-{user.username}", "home_unit": HOMES.get(user.username),
            "devices": [{"platform": "android", "token": f"demo-fcm-{user.username}"}],
            "quiet_start": "", "quiet_end": ""}


def verified_contacts(email: str, prefs: dict) -> set[str]:
    """The demo people's synthetic contacts count as confirmed (as if each had answered its
    verification message), so the local story notifies them on every channel at once."""
    from civic.domain.contacts import contact_key

    found = {"email": email, "sms": prefs.get("phone"), "zalo": prefs.get("zalo_user_id")}
    return {contact_key(channel, address) for channel, address in found.items() if address}


def _index_for_notifications(user_id: str, user: DemoUser) -> None:
    from civic.adapters.dynamo.notify import DynamoNotifyStore

    store = DynamoNotifyStore()
    if user.role in ("officer", "leader") and user.unit:
        store.index_staff(user_id, user.role, [user.unit])
    elif user.role == "citizen" and HOMES.get(user.username):
        store.index_area(HOMES[user.username], user_id, "home", iso_utc(datetime.now(UTC)))


def _at_version(report: Report, version: int, event: TimelineEvent) -> Report:
    """The report as it stood after `event` (status and unit as of then)."""
    from dataclasses import replace

    unit = report.unit_code if version > 1 else None
    return replace(report, version=version, status=event.status, unit_code=unit, updated_at=event.at, media=[])
