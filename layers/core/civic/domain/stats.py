"""Statistics, pure: timeline event → counter deltas per series and day; day items → API answers.

Series (the `pk` of a Stats item) and what they cover:
  ALL                   the whole system
  C#<category>          one category
  U#<unit>              one unit, counted for the unit and every unit above it (the tree's ancestors)
  U#<unit>#C#<category> one unit × one category (also up the tree)
Each series has one item per day (`sk` = D#YYYY-MM-DD, the day in Asia/Ho_Chi_Minh) holding counters,
and one gauge item (`sk` = GAUGE) holding the number of reports open in it now.

Which event counts what (the event's own time decides the day):
  submitted            received (+ the hour-of-day histogram) in ALL and its category: when people send feedback
  routed               routed everywhere; received (+ hour) in the unit chain the report enters
  transfer             transferred in the sending unit's chain (and ALL/category); received (+ hour) in the units
                       of the receiving chain that were not already in the sending chain (a transfer between two
                       wards is not a new report for their city)
  accept / refuse      accepted / refused in the handling unit's chain
  resolve (status resolved) or approve — the result becoming public:
                       resolved; handling time = event time − submission time (wall-clock hours: sum and a
                       log-scale histogram for percentiles); on_time when resolved at or before the resolution
                       deadline in force (`due_at` in the event); a report without a deadline is not on time
  overdue              overdue (the SLA schedule's mark: a deadline in force was missed)
  rated                rated, satisfied (when satisfied)
  rating_changed       the previous rating is taken back on its own day, the new one counted on this day
  reopen               (only the gauge: the report is open again)
A reopened report that is resolved again counts as resolved again (a second published result).

The gauge `open` rises when a report enters a series (submitted in ALL/category; routed or transferred
into a unit) or is reopened, and falls when it leaves (resolved, refused, transferred out).
The gauge `overdue_open` rises with the SLA schedule's `overdue` mark and falls with any event that
takes the mark away (`overdue_cleared` in its data: a new deadline, a result, a refusal, a transfer, an
answered question), in the chain of the unit the report was in: reports overdue and still open now.

Every figure comes from the event image alone: the core writes `category`, `unit_code`, `submitted_at`,
`due_at` and the previous rating into the events (workflow, routing, intake, sla_watch).

The figures shown to people are defined once, in FIGURES (a bilingual label and definition each,
served by the API); `summary_answer` and `unit_row` compute them for the API, the map and open data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from civic.clock import LOCAL_TZ, local_day
from civic.i18n import Text, text

ALL = "ALL"
GAUGE = "GAUGE"
COUNTERS = ("received", "routed", "accepted", "refused", "transferred", "resolved", "on_time", "overdue", "rated",
            "satisfied")
HANDLING_SUM = "h_sum"  # seconds from submission to the published result, summed
HANDLING_N = "h_n"  # results whose handling time is known
OPEN = "open"
OVERDUE_OPEN = "overdue_open"  # gauge: reports overdue and still open now
OVERDUE_CLEARED = "overdue_cleared"  # event data: this event took the report's overdue mark away
# Event types the stats function reads (the stream filter in infra/template.yaml lists the same).
COUNTED_TYPES = ("submitted", "routed", "transfer", "accept", "refuse", "resolve", "approve", "overdue", "rated",
                 "rating_changed", "reopen")


def counted(event_type: str, data: Mapping[str, Any]) -> bool:
    """Whether the stats function counts an event: a counted type, or any event that takes an overdue
    mark away (the stream filter in infra/template.yaml passes the same two kinds)."""
    return event_type in COUNTED_TYPES or bool(data.get(OVERDUE_CLEARED))

# Handling-time histogram: bucket 0 is [0, 0.25 h); bucket i ≥ 1 is [0.25·R^(i-1), 0.25·R^i) hours with
# R = 2^(1/4), so a percentile read from it is within ±9% (√R) of the exact one; 80 buckets reach 25 years.
HIST_BASE_HOURS = 0.25
HIST_RATIO = 2 ** 0.25
HIST_BUCKETS = 80


def hist_attr(bucket: int) -> str:
    return f"hb{bucket:02d}"


def hour_attr(hour: int) -> str:
    return f"hr{hour:02d}"


def scope_unit(unit: str) -> str:
    return f"U#{unit}"


def scope_category(category: str) -> str:
    return f"C#{category}"


def scope_unit_category(unit: str, category: str) -> str:
    return f"U#{unit}#C#{category}"


def scope_of(unit: str | None, category: str | None) -> str:
    if unit and category:
        return scope_unit_category(unit, category)
    if unit:
        return scope_unit(unit)
    if category:
        return scope_category(category)
    return ALL


def day_key(day: str) -> str:
    return f"D#{day}"


def _utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)


def local(iso: str) -> datetime:
    return _utc(iso).astimezone(LOCAL_TZ)




def bucket_of(hours: float) -> int:
    if hours < HIST_BASE_HOURS:
        return 0
    index = int(math.floor(math.log(hours / HIST_BASE_HOURS, HIST_RATIO))) + 1
    # Guard against floating error at exact bucket edges.
    while index > 1 and hours < HIST_BASE_HOURS * HIST_RATIO ** (index - 1):
        index -= 1
    while hours >= HIST_BASE_HOURS * HIST_RATIO ** index:
        index += 1
    return min(index, HIST_BUCKETS - 1)


def bucket_bounds(bucket: int) -> tuple[float, float]:
    if bucket == 0:
        return 0.0, HIST_BASE_HOURS
    return HIST_BASE_HOURS * HIST_RATIO ** (bucket - 1), HIST_BASE_HOURS * HIST_RATIO ** bucket


def bucket_value(bucket: int) -> float:
    """The figure reported for a bucket: its geometric middle (half of the first bucket's width)."""
    low, high = bucket_bounds(bucket)
    return HIST_BASE_HOURS / 2 if bucket == 0 else math.sqrt(low * high)


def percentile(hist: Mapping[int, int], p: float) -> float | None:
    """Nearest-rank percentile (0 < p ≤ 1) of the values a histogram counts, in hours; None when empty."""
    total = sum(n for n in hist.values() if n > 0)
    if total == 0:
        return None
    rank = max(1, math.ceil(p * total - 1e-9))
    seen = 0
    for bucket in sorted(hist):
        seen += max(hist[bucket], 0)
        if seen >= rank:
            return round(bucket_value(bucket), 2)
    return round(bucket_value(max(hist)), 2)  # pragma: no cover - unreachable


# ---------------------------------------------------------------- the figures

# Weights and why (README, "Statistics"): what citizens say counts most; whether the legal deadline
# was kept next; raw speed least, because on-time already rewards most of it.
INDEX_WEIGHTS = {"satisfied": 0.5, "on_time": 0.3, "speed": 0.2}
# Speed score = REF / (REF + median hours): 1 for instant, 0.5 at 240 h (10 days, the normal
# resolution deadline of 10 working days), 0.33 at 480 h; it never reaches 0.
SPEED_REFERENCE_HOURS = 240.0
# Below this many ratings a satisfied share (and the index built on it) says more about chance than
# about the unit: the answer says "not enough ratings (n = …)" instead (setting MIN_RATINGS).
DEFAULT_MIN_RATINGS = 5


@dataclass(frozen=True)
class Figure:
    code: str
    label: Text
    definition: Text


def figures(min_ratings: int = DEFAULT_MIN_RATINGS) -> list[Figure]:
    """Every figure the dashboards, the map and open data show: one definition each (served by the API,
    shown on hover). The code below computes exactly what these sentences say."""
    n = min_ratings
    return [
        Figure("received", text("Tiếp nhận", "Received"),
               text("Số phản ánh gửi đến (với một đơn vị: được chuyển đến đơn vị hoặc cấp dưới) trong kỳ.",
                    "Reports sent in (for a unit: routed or transferred to it or a unit below it) in the period.")),
        Figure("resolved", text("Đã xử lý", "Resolved"),
               text("Số kết quả xử lý được công bố trong kỳ.", "Results published in the period.")),
        Figure("processed_rate", text("Tỉ lệ đã xử lý", "Processed"),
               text("(Kết quả công bố + phản ánh bị từ chối) ÷ phản ánh tiếp nhận, trong kỳ.",
                    "(Results published + reports refused) ÷ reports received, in the period.")),
        Figure("overdue_open", text("Đang quá hạn", "Overdue now"),
               text("Phản ánh đã quá hạn xử lý mà vẫn chưa xong, tính đến hiện tại.",
                    "Reports past their deadline and still open, right now.")),
        Figure("on_time_rate", text("Tỉ lệ đúng hạn", "On time"),
               text("Kết quả công bố đúng hạn trong kỳ ÷ (kết quả công bố trong kỳ + phản ánh đang quá hạn chưa xử lý "
                    "xong). Phản ánh quá hạn còn mở kéo tỉ lệ xuống.",
                    "Results published by their deadline in the period ÷ (results published in the period + reports "
                    "overdue and still open). Overdue open reports pull it down.")),
        Figure("satisfied_rate", text("Tỉ lệ hài lòng", "Satisfied"),
               text(f"Đánh giá hài lòng ÷ số đánh giá trong kỳ; cần ít nhất {n} đánh giá.",
                    f"Satisfied ratings ÷ ratings in the period; needs at least {n} ratings.")),
        Figure("median_hours", text("Trung vị thời gian xử lý (giờ)", "Median handling time (hours)"),
               text("Một nửa số kết quả được công bố trong chừng này giờ kể từ khi gửi (giờ thực, không phải giờ "
                    "làm việc).", "Half the results were published within this many hours of submission "
                    "(wall-clock hours, not working hours).")),
        Figure("satisfaction_index", text("Chỉ số hài lòng", "Satisfaction index"),
               text(f"0–100: 50% tỉ lệ hài lòng, 30% tỉ lệ đúng hạn, 20% tốc độ (240 ÷ (240 + trung vị giờ xử lý)). "
                    f"Chỉ tính khi có ít nhất {n} đánh giá.",
                    f"0–100: 50% satisfied share, 30% on-time rate, 20% speed (240 ÷ (240 + median handling hours)). "
                    f"Only with at least {n} ratings.")),
    ]


def figure_definitions(min_ratings: int = DEFAULT_MIN_RATINGS) -> dict[str, dict[str, dict[str, str]]]:
    """FIGURES as the API serves them: code → {label, definition}, each {vi, en}."""
    return {f.code: {"label": f.label.as_dict(), "definition": f.definition.as_dict()} for f in figures(min_ratings)}


def on_time_rate(on_time: int, resolved: int, overdue_open: int) -> float | None:
    """Results on time ÷ (results + reports overdue and still open); None when both are 0."""
    return _rate(on_time, resolved + max(overdue_open, 0))


def satisfied_rate(satisfied: int, rated: int, min_ratings: int = DEFAULT_MIN_RATINGS) -> float | None:
    """Satisfied ÷ rated, only from `min_ratings` ratings up (None below)."""
    return _rate(satisfied, rated) if rated >= max(min_ratings, 1) else None


def satisfaction_index(
    satisfied: int, rated: int, on_time: int, resolved: int, median_hours: float | None,
    overdue_open: int = 0, min_ratings: int = DEFAULT_MIN_RATINGS,
) -> float | None:
    """0..100: 50% satisfied share of ratings, 30% on-time rate (on_time_rate: overdue open reports
    count against it), 20% speed score of the median handling time. None below `min_ratings` ratings:
    without what citizens say there is no satisfaction index (no score from speed alone). A part
    without data (no results and nothing overdue, no handling time) leaves it and the other weights
    are scaled up."""
    share = satisfied_rate(satisfied, rated, min_ratings)
    if share is None:
        return None
    parts: list[tuple[float, float]] = [(INDEX_WEIGHTS["satisfied"], share)]
    kept = on_time_rate(on_time, resolved, overdue_open)
    if kept is not None:
        parts.append((INDEX_WEIGHTS["on_time"], kept))
    if median_hours is not None:
        parts.append((INDEX_WEIGHTS["speed"], SPEED_REFERENCE_HOURS / (SPEED_REFERENCE_HOURS + max(median_hours, 0.0))))
    weight = sum(w for w, _ in parts)
    return round(100 * sum(w * min(max(v, 0.0), 1.0) for w, v in parts) / weight, 1)


def colour(index: float | None) -> str:
    if index is None:
        return "grey"
    return "green" if index >= 75 else "amber" if index >= 50 else "red"


COLOUR_TEXT = {
    "green": ("Tốt", "Good"),
    "amber": ("Cần cải thiện", "Needs improvement"),
    "red": ("Kém", "Poor"),
    "grey": ("Chưa đủ đánh giá", "Not enough ratings"),
}


# ---------------------------------------------------------------- event → deltas


@dataclass
class Delta:
    """Increments of one item: a series' day item (`day` set) or its gauge (`day` None)."""

    scope: str
    day: str | None
    add: dict[str, int] = field(default_factory=dict)

    @property
    def sk(self) -> str:
        return day_key(self.day) if self.day else GAUGE


class _Deltas:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str | None], dict[str, int]] = {}

    def add(self, scopes: Iterable[str], day: str | None, **counts: int) -> None:
        for scope in scopes:
            item = self.items.setdefault((scope, day), {})
            for name, value in counts.items():
                item[name] = item.get(name, 0) + value

    def result(self) -> list[Delta]:
        out = []
        for (scope, day), counts in self.items.items():
            counts = {k: v for k, v in counts.items() if v != 0}
            if counts:
                out.append(Delta(scope, day, counts))
        return out  # in insertion order: deterministic for the same event


def _unit_scopes(chain: list[str], category: str | None) -> list[str]:
    out = [scope_unit(u) for u in chain]
    if category:
        out += [scope_unit_category(u, category) for u in chain]
    return out


def _top_scopes(category: str | None) -> list[str]:
    return [ALL] + ([scope_category(category)] if category else [])


def event_deltas(
    event_type: str,
    at: str,
    status: str | None,
    data: Mapping[str, Any],
    chain: Callable[[str | None], list[str]],
) -> list[Delta]:
    """What one timeline event adds to which items. `chain(unit)` is the unit and its ancestors
    (empty for None). Pure and deterministic: the same event always gives the same deltas."""
    out = _Deltas()
    category = data.get("category") or None
    unit = data.get("unit_code") or None
    at_utc = _utc(at)
    moment = at_utc.astimezone(LOCAL_TZ)
    day, hour = moment.date().isoformat(), moment.hour
    top = _top_scopes(category)

    if event_type == "submitted":
        out.add(top, day, received=1, **{hour_attr(hour): 1})
        out.add(top, None, open=1)
    elif event_type == "routed":
        units = _unit_scopes(chain(unit), category)
        out.add(top + units, day, routed=1)
        out.add(units, day, received=1, **{hour_attr(hour): 1})
        out.add(units, None, open=1)
    elif event_type == "transfer":
        source = chain(data.get("from_unit") or unit)
        target = chain(data.get("to_unit"))
        out.add(top + _unit_scopes(source, category), day, transferred=1)
        entering = [u for u in target if u not in source]
        leaving = [u for u in source if u not in target]
        out.add(_unit_scopes(entering, category), day, received=1, **{hour_attr(hour): 1})
        out.add(_unit_scopes(entering, category), None, open=1)
        out.add(_unit_scopes(leaving, category), None, open=-1)
    elif event_type == "accept":
        out.add(top + _unit_scopes(chain(unit), category), day, accepted=1)
    elif event_type == "refuse":
        scopes = top + _unit_scopes(chain(unit), category)
        out.add(scopes, day, refused=1)
        out.add(scopes, None, open=-1)
    elif (event_type == "resolve" and status == "resolved") or event_type == "approve":
        scopes = top + _unit_scopes(chain(unit), category)
        counts = {"resolved": 1}
        due = data.get("due_at")
        if due and at_utc <= _utc(due):
            counts["on_time"] = 1
        submitted = data.get("submitted_at")
        if submitted:
            seconds = max(0, int(round((at_utc - _utc(submitted)).total_seconds())))
            counts.update({HANDLING_N: 1, HANDLING_SUM: seconds, hist_attr(bucket_of(seconds / 3600)): 1})
        out.add(scopes, day, **counts)
        out.add(scopes, None, open=-1)
    elif event_type == "overdue":
        out.add(top + _unit_scopes(chain(unit), category), day, overdue=1)
        out.add(top + _unit_scopes(chain(unit), category), None, **{OVERDUE_OPEN: 1})
    elif event_type in ("rated", "rating_changed"):
        scopes = top + _unit_scopes(chain(unit), category)
        previous = data.get("previous")
        if event_type == "rating_changed" and isinstance(previous, Mapping) and previous.get("at"):
            out.add(scopes, local_day(previous["at"]), rated=-1, satisfied=-int(bool(previous.get("satisfied"))))
        elif event_type == "rating_changed":
            return []  # an old event without the previous rating: it cannot be re-attributed, so it is left out
        out.add(scopes, day, rated=1, satisfied=int(bool(data.get("satisfied"))))
    elif event_type == "reopen":
        out.add(top + _unit_scopes(chain(unit), category), None, open=1)
    if data.get(OVERDUE_CLEARED):
        # Off the overdue gauge of the unit it was overdue in (the sender, for a transfer).
        out.add(top + _unit_scopes(chain(data.get("from_unit") or unit), category), None, **{OVERDUE_OPEN: -1})
    return out.result()


# ---------------------------------------------------------------- day items → answers


@dataclass
class Totals:
    counts: dict[str, int] = field(default_factory=lambda: {c: 0 for c in COUNTERS})
    handling_sum: int = 0
    handling_n: int = 0
    hist: dict[int, int] = field(default_factory=dict)
    hours: list[int] = field(default_factory=lambda: [0] * 24)

    def median(self) -> float | None:
        return percentile(self.hist, 0.5)

    def p90(self) -> float | None:
        return percentile(self.hist, 0.9)

    def mean(self) -> float | None:
        return round(self.handling_sum / self.handling_n / 3600, 2) if self.handling_n else None

    def index(self, overdue_open: int = 0, min_ratings: int = DEFAULT_MIN_RATINGS) -> float | None:
        c = self.counts
        return satisfaction_index(c["satisfied"], c["rated"], c["on_time"], c["resolved"], self.median(),
                                  overdue_open, min_ratings)


def fold(items: Iterable[Mapping[str, int]]) -> Totals:
    """Sum day items (attribute → int) into totals."""
    totals = Totals()
    for item in items:
        for name, value in item.items():
            if name in totals.counts:
                totals.counts[name] += int(value)
            elif name == HANDLING_SUM:
                totals.handling_sum += int(value)
            elif name == HANDLING_N:
                totals.handling_n += int(value)
            elif name.startswith("hb") and name[2:].isdigit():
                bucket = int(name[2:])
                totals.hist[bucket] = totals.hist.get(bucket, 0) + int(value)
            elif name.startswith("hr") and name[2:].isdigit():
                totals.hours[int(name[2:])] += int(value)
    return totals


def _rate(part: int, whole: int) -> float | None:
    return round(min(max(part / whole, 0.0), 1.0), 4) if whole > 0 else None


def summary_answer(
    totals: Totals, scope: dict[str, Any], gauges: Mapping[str, int] | None = None,
    min_ratings: int = DEFAULT_MIN_RATINGS,
) -> dict[str, Any]:
    c = totals.counts
    handled = c["resolved"] + c["refused"]
    overdue_open = max(int((gauges or {}).get(OVERDUE_OPEN, 0)), 0)
    answer = {
        "scope": scope,
        **{name: c[name] for name in COUNTERS},
        "processed_rate": _rate(handled, c["received"]),
        "on_time_rate": on_time_rate(c["on_time"], c["resolved"], overdue_open),
        "satisfied_rate": satisfied_rate(c["satisfied"], c["rated"], min_ratings),
        "handling_hours": (
            {"median": totals.median(), "p90": totals.p90(), "mean": totals.mean()} if totals.handling_n else None
        ),
        "satisfaction_index": totals.index(overdue_open, min_ratings),
        "overdue_open": overdue_open,
        "min_ratings": min_ratings,
    }
    if gauges is not None:
        answer["open"] = max(int(gauges.get(OPEN, 0)), 0)
    return answer


def unit_row(totals: Totals, overdue_open: int = 0, min_ratings: int = DEFAULT_MIN_RATINGS) -> dict[str, Any]:
    c = totals.counts
    overdue_open = max(overdue_open, 0)
    return {
        "received": c["received"],
        "resolved": c["resolved"],
        "overdue_open": overdue_open,
        "on_time_rate": on_time_rate(c["on_time"], c["resolved"], overdue_open),
        "median_hours": totals.median(),
        "p90_hours": totals.p90(),
        "rated": c["rated"],
        "satisfied_rate": satisfied_rate(c["satisfied"], c["rated"], min_ratings),
        "satisfaction_index": totals.index(overdue_open, min_ratings),
    }


def rank_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """Satisfaction index, highest first, units without one last; then by code."""
    index = row.get("satisfaction_index")
    return (index is None, -(index or 0), row.get("unit", ""))


def heatmap_cells(days: Iterable[tuple[str, Mapping[str, int]]]) -> list[list[int]]:
    """7 × 24 submissions by weekday (Monday first) × hour, from (day, item) pairs."""
    cells = [[0] * 24 for _ in range(7)]
    for day, item in days:
        weekday = date.fromisoformat(day).weekday()
        for hour in range(24):
            cells[weekday][hour] += int(item.get(hour_attr(hour), 0))
    return cells


INTERVALS = ("day", "week", "month")
METRICS = ("received", "resolved", "on_time", "overdue", "satisfied")


def interval_start(day: date, interval: str) -> date:
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def timeseries_points(days: Iterable[tuple[str, Mapping[str, int]]], metric: str, interval: str,
                      start: date, end: date) -> list[dict[str, Any]]:
    """Every interval from `start` to `end` (zeros included); a point's start is the interval's own
    first day (Monday, the 1st), clipped to `start`."""
    values: dict[date, int] = {}
    for day, item in days:
        key = max(interval_start(date.fromisoformat(day), interval), start)
        values[key] = values.get(key, 0) + int(item.get(metric, 0))
    points, cursor = [], start
    while cursor <= end:
        points.append({"start": cursor.isoformat(), "value": values.get(cursor, 0)})
        if interval == "day":
            cursor = cursor + timedelta(days=1)
        elif interval == "week":
            cursor = interval_start(cursor, "week") + timedelta(days=7)
        else:
            cursor = (cursor.replace(day=1) + timedelta(days=32)).replace(day=1)
    return points


def today_local(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(LOCAL_TZ).date()


def accumulate(deltas: Iterable[Delta], into: dict[tuple[str, str], dict[str, int]] | None = None
               ) -> dict[tuple[str, str], dict[str, int]]:
    """Sum deltas per item key (pk, sk): what the counters hold after all of them (`civic stats rebuild`)."""
    items = into if into is not None else {}
    for delta in deltas:
        item = items.setdefault((delta.scope, delta.sk), {})
        for name, value in delta.add.items():
            item[name] = item.get(name, 0) + value
    return items
