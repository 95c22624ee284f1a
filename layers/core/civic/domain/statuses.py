"""The statuses of a report, as data in one place: their order, bilingual labels, which are open, how
they read on a map, and their Open311 status. Everything else (the workflow's guards, open data, Open311,
the web app through GET /v1/config) reads this table; adding a status is a row here and its transitions
in `workflow.py`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from civic.i18n import Text, text

Stage = Literal["new", "waiting", "working", "done"]


@dataclass(frozen=True)
class Status:
    code: str
    label: Text
    # new: not yet routed; waiting: a unit must accept it; working: being handled; done: closed for the citizen.
    stage: Stage
    open311: Literal["open", "closed"]
    colour: str  # map pins and badges

    @property
    def open(self) -> bool:
        return self.stage != "done"

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "label": self.label.as_dict(), "stage": self.stage, "open": self.open,
                "open311": self.open311, "colour": self.colour}


TABLE: tuple[Status, ...] = (
    Status("submitted", text("Đã gửi", "Submitted"), "new", "open", "#6b7280"),
    Status("needs_triage", text("Chờ phân loại", "Awaiting triage"), "waiting", "open", "#6b7280"),
    Status("routed", text("Đã chuyển đến đơn vị xử lý", "Sent to the handling unit"), "waiting", "open", "#2563eb"),
    Status("accepted", text("Đã tiếp nhận", "Accepted"), "working", "open", "#2563eb"),
    Status("refused", text("Từ chối", "Refused"), "done", "closed", "#991b1b"),
    Status("in_progress", text("Đang xử lý", "In progress"), "working", "open", "#b45309"),
    Status("pending_approval", text("Chờ phê duyệt", "Awaiting approval"), "working", "open", "#b45309"),
    Status("resolved", text("Đã có kết quả", "Resolved"), "done", "closed", "#15803d"),
    Status("closed", text("Đã đóng", "Closed"), "done", "closed", "#15803d"),
)
BY_CODE = {s.code: s for s in TABLE}

STATUSES = tuple(s.code for s in TABLE)
# Waiting for a unit to accept it; being handled. With "submitted": open.
WAITING_STATUSES = tuple(s.code for s in TABLE if s.stage == "waiting")
WORKING_STATUSES = tuple(s.code for s in TABLE if s.stage == "working")
OPEN_STATUSES = tuple(s.code for s in TABLE if s.open)
OPEN311_CLOSED = tuple(s.code for s in TABLE if s.open311 == "closed")


def label(code: str) -> Text:
    return BY_CODE[code].label
