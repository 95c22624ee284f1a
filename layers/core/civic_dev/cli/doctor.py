"""`civic doctor`: check a deployment end to end and print a checklist of what to fix.

An operator who set up a province wants one command that says whether a citizen's report will reach
someone: every ward has a boundary and a receiving unit with staff, every category routes somewhere from
every ward, the deadlines can be computed, messages can leave, and nothing is stuck in a dead-letter
queue. Each line is ✔ (fine), ! (a warning) or ✘ (a citizen's report would be lost or unanswered), in
Vietnamese and English. Exit code 0 when there is no ✘, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

from civic.domain.units import LOCAL_KINDS
from civic_dev.cli.target import add_arguments, fail, resolve

SHOWN = 8  # names listed per finding; the count is always whole


@dataclass
class Finding:
    level: str  # ok | warn | fail
    vi: str
    en: str
    items: list[str] = field(default_factory=list)

    def line(self) -> str:
        mark = {"ok": "✔", "warn": "!", "fail": "✘"}[self.level]
        more = f" (+{len(self.items) - SHOWN})" if len(self.items) > SHOWN else ""
        listed = f": {', '.join(self.items[:SHOWN])}{more}" if self.items else ""
        return f"{mark} {self.vi} / {self.en}{listed}"


def _check(ok: bool, items: list[str], good: tuple[str, str], bad: tuple[str, str], level: str = "fail") -> Finding:
    return Finding("ok", *good) if ok else Finding(level, *bad, items=sorted(items))


def routing_findings(tree, rules, locator, categories: Iterable[str], staff_of: Callable[[str], list[tuple[str, str]]],
                     point_of: Callable[[str], tuple[float, float] | None]) -> list[Finding]:
    """The routing checks, pure over their inputs: boundaries, receiving units and their staff."""
    from civic.services.routing import locate

    leaves = sorted(code for code, unit in tree.by_code.items() if unit.kind in LOCAL_KINDS)
    points = {code: point_of(code) for code in leaves}
    no_boundary = [code for code, point in points.items() if point is None]
    out = [_check(not no_boundary, no_boundary,
                  (f"Cả {len(leaves)} phường/xã đều có ranh giới", f"All {len(leaves)} wards/communes have a boundary"),
                  ("Phường/xã chưa có ranh giới (phản ánh ở đó sẽ chờ phân loại)",
                   "Wards/communes without a boundary (their reports wait for triage)"))]
    unrouted, handlers = [], set()
    for code, point in points.items():
        if point is None:
            continue
        for category in categories:
            decision, _ = locate(locator, tree, rules, point[0], point[1], category)
            if decision.handler is None or decision.handler not in tree:
                unrouted.append(f"{code}×{category}")
            else:
                handlers.add(decision.handler)
    out.append(_check(not unrouted, unrouted,
                      ("Mọi lĩnh vực đều có đơn vị nhận ở mọi phường/xã", "Every category routes to a unit from every ward"),
                      ("Không có đơn vị nhận (phường×lĩnh vực)", "No receiving unit (ward×category)")))
    staffed = {code: {role for _, role in staff_of(code)} for code in sorted(handlers)}
    no_officer = [code for code, roles in staffed.items() if "officer" not in roles]
    no_leader = [code for code, roles in staffed.items() if "leader" not in roles]
    out.append(_check(not no_officer, no_officer,
                      (f"Cả {len(staffed)} đơn vị nhận đều có cán bộ", f"All {len(staffed)} receiving units have an officer"),
                      ("Đơn vị nhận chưa có cán bộ (không ai được báo): civic staff set EMAIL --role officer --unit CODE",
                       "Receiving units without an officer (nobody is told): civic staff set EMAIL --role officer --unit CODE")))
    out.append(_check(not no_leader, no_leader,
                      ("Mọi đơn vị nhận đều có lãnh đạo", "Every receiving unit has a leader"),
                      ("Đơn vị nhận chưa có lãnh đạo (không ai phê duyệt, nhận cảnh báo quá hạn)",
                       "Receiving units without a leader (nobody approves or hears of overdue reports)"), level="warn"))
    return out


def _deadlines_finding(tree) -> Finding:
    from civic.clock import now_iso
    from civic.services.routing import report_deadlines

    leaf = next((code for code, unit in sorted(tree.by_code.items()) if unit.kind in LOCAL_KINDS), None)
    try:
        accept, resolve_by = report_deadlines(tree, "other", "normal", leaf, now_iso())
    except Exception as exc:  # noqa: BLE001 - any failure here is the finding
        return Finding("fail", "Không tính được hạn xử lý", "Deadlines cannot be computed", [type(exc).__name__])
    return Finding("ok", f"Lịch làm việc và thời hạn nạp được (phản ánh mới hôm nay: tiếp nhận trước {accept[:16]}Z)",
                   f"The working calendar and SLA policy load (a report now: accept by {accept[:16]}Z, "
                   f"resolve by {resolve_by[:10]})")


def _queue_findings(target) -> list[Finding]:
    sqs = target.client("sqs")
    out = []
    for name in ("NOTIFY_DLQ_URL", "FAILED_EVENTS_QUEUE_URL"):  # where failures wait for an operator
        url = target.env.get(name)
        if not url:
            continue
        try:
            depth = int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
                        ["Attributes"]["ApproximateNumberOfMessages"])
        except Exception as exc:  # noqa: BLE001
            out.append(Finding("warn", f"Không đọc được hàng đợi {name}", f"Cannot read queue {name}", [type(exc).__name__]))
            continue
        if depth:
            out.append(Finding("fail", f"{depth} tin trong {name}: xem `civic dlq`",
                               f"{depth} messages in {name}: see `civic dlq`"))
        else:
            out.append(Finding("ok", f"{name} trống", f"{name} is empty"))
    return out


def _sender_finding(target, sender: str) -> Finding:
    try:
        found = target.client("ses").get_identity_verification_attributes(Identities=[sender, sender.split("@")[-1]])
    except Exception as exc:  # noqa: BLE001
        return Finding("warn", "Không kiểm tra được email gửi đi", "Cannot check the email sender", [type(exc).__name__])
    states = {v.get("VerificationStatus") for v in found.get("VerificationAttributes", {}).values()}
    if "Success" in states:
        return Finding("ok", f"Địa chỉ gửi email {sender} đã xác minh", f"The email sender {sender} is verified")
    return Finding("fail", f"Địa chỉ gửi email {sender} chưa xác minh trong SES (không gửi được email)",
                   f"The email sender {sender} is not verified in SES (no email can leave)")


def _alarms_finding(target) -> Finding:
    try:
        alarms = target.client("cloudwatch").describe_alarms(MaxRecords=100).get("MetricAlarms", [])
    except Exception as exc:  # noqa: BLE001
        return Finding("warn", "Không đọc được cảnh báo CloudWatch", "Cannot read CloudWatch alarms", [type(exc).__name__])
    firing = [a["AlarmName"] for a in alarms if a.get("StateValue") == "ALARM"]
    if not alarms:
        return Finding("warn", "Chưa có cảnh báo CloudWatch nào", "No CloudWatch alarms exist")
    if firing:
        return Finding("fail", "Cảnh báo đang bật", "Alarms firing", firing)
    return Finding("ok", f"{len(alarms)} cảnh báo CloudWatch, không cái nào đang bật", f"{len(alarms)} alarms, none firing")


def run_checks(target) -> list[Finding]:
    settings = target.settings()  # binds the models to the target's tables
    from civic.adapters.dynamo.notify import DynamoNotifyStore
    from civic.adapters.dynamo.units import DynamoUnitStore
    from civic.adapters.s3.routing_index import IndexCache, NoRoutingIndex
    from civic.domain.categories import all_categories
    from civic.services.routing import ArtifactLocator

    units = DynamoUnitStore()
    tree, rules = units.tree(), units.rules()
    out = [Finding("ok" if tree.by_code else "fail", f"{len(tree.by_code)} đơn vị, {len(rules)} quy tắc định tuyến",
                   f"{len(tree.by_code)} units, {len(rules)} routing rules")]
    try:
        cache = IndexCache(target.client("s3"), settings.config_bucket, check_interval=0)
        artifact = cache.get()
    except NoRoutingIndex:
        out.append(Finding("fail", "Chưa công bố ranh giới: civic boundaries import FILE",
                           "No boundaries published: civic boundaries import FILE"))
        return out + [_deadlines_finding(tree), *_queue_findings(target), _sender_finding(target, settings.email_sender),
                      _alarms_finding(target)]
    pointer = cache.pointer or {}
    out.append(Finding("ok", f"Ranh giới phiên bản {artifact.version[:12]}, lập lúc {pointer.get('built_at')}",
                       f"Boundaries version {artifact.version[:12]}, built {pointer.get('built_at')}"))

    def point_of(code: str) -> tuple[float, float] | None:
        geometry = artifact.admin.geometry(code)
        if geometry is None:
            return None
        inside = geometry.representative_point()
        return inside.y, inside.x

    notify = DynamoNotifyStore()
    locator = ArtifactLocator(artifact, snap_distance_m=settings.snap_distance_m)
    out += routing_findings(tree, rules, locator, list(all_categories()), notify.staff_of, point_of)
    out += [_deadlines_finding(tree), *_queue_findings(target), _sender_finding(target, settings.email_sender),
            _alarms_finding(target)]
    return out


def _doctor(args: argparse.Namespace) -> int:
    target = resolve(args)
    try:
        findings = run_checks(target)
    except Exception as exc:  # noqa: BLE001 - the deployment itself is unreachable: say so plainly
        return fail(f"cannot check {target.description}: {type(exc).__name__}: {exc}")
    if args.json:
        print(json.dumps({"target": target.description, "findings": [asdict(f) for f in findings]},
                         ensure_ascii=False, indent=2))
    else:
        print(f"civic doctor — {target.description}")
        for finding in findings:
            print(finding.line())
        failed = sum(f.level == "fail" for f in findings)
        warned = sum(f.level == "warn" for f in findings)
        print(f"{failed} lỗi, {warned} cảnh báo / {failed} to fix, {warned} warnings")
    return 1 if any(f.level == "fail" for f in findings) else 0


def register(sub) -> None:
    doctor = sub.add_parser("doctor", help="check a deployment end to end and print what to fix")
    doctor.add_argument("--json", action="store_true", help="print the findings as JSON")
    add_arguments(doctor)
    doctor.set_defaults(func=_doctor)
