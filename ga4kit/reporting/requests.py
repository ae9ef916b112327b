"""The Data API requests of one property's pull: which reports, with which dimensions and date ranges,
grouped into batchRunReports calls.

Four reports per property: goal events by segment and over all traffic, and all users/sessions by segment
and over all traffic (without segments, only the two over all traffic). Users are asked for at the grain
they are reported at and never summed (GA4's user counts are not additive), so the period is part of
every report:

- day: the ``date`` dimension over one date range from the first to the last wanted day;
- week and month: the ``isoYearIsoWeek`` or ``yearMonth`` dimension over one date range per window (the
  current one, and the previous one with ``compare_previous``). GA4 counts a row's users over the row's
  days inside the range, so a week cut by the range's start or end (a range starting on a Wednesday) is
  exactly the clipped period :func:`ga4kit.reporting.periods.split` makes: one report, exact users per
  period, one request while the rows fit in a page;
- range: one date range per period (at most two).

Every report is ordered by all its dimensions, so paging through a report that does not fit in one page
is stable (see :mod:`ga4kit.reporting.pull`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ga4kit.constants import MAX_BATCH, PAGE_ROWS
from ga4kit.reporting.periods import Period

EVENT_METRICS = ("eventCount", "totalUsers", "eventValue", "keyEvents")
BASE_METRICS = ("totalUsers", "sessions")
EVENTS, BASELINE = "events", "baseline"
PERIOD_DIMENSION = {"day": "date", "week": "isoYearIsoWeek", "month": "yearMonth"}
RANGE_DIMENSION = "dateRange"  # GA4 adds it when a request has more than one date range
CURRENT, PREVIOUS = "current", "previous"  # date range names (the dateRange dimension's values)


@dataclass(frozen=True)
class Report:
    """One report of a property's pull, and how to tell each of its rows' period.

    ``period_keys`` maps a row's key to an index into the property's wanted periods: the values of
    ``period_dimensions`` joined with "|" ("" when there are none: the report's one period).
    """

    kind: str  # EVENTS or BASELINE
    segmented: bool
    request: Any  # google.analytics.data_v1beta.types.RunReportRequest
    period_dimensions: tuple[str, ...]
    period_keys: dict[str, int]


def build_reports(property_name: str, events: list[str], segments: tuple[str, ...], grain: str,
                  current: list[Period], previous: list[Period], *, page: int = PAGE_ROWS) -> list[Report]:
    """Every report one property's pull needs, for its ``current`` (and ``previous``) periods."""
    from google.analytics.data_v1beta import types as d

    ranges, period_dims, keys = _periods(grain, current, previous, d)
    event_filter = d.FilterExpression(filter=d.Filter(
        field_name="eventName", in_list_filter=d.Filter.InListFilter(values=list(events), case_sensitive=True)))
    dim = PERIOD_DIMENSION.get(grain)
    out = []
    for kind in (EVENTS, BASELINE):
        for segmented in ((True, False) if segments else (False,)):
            dims = ([dim] if dim else []) + (list(segments) if segmented else []) + (
                ["eventName"] if kind == EVENTS else [])
            request = d.RunReportRequest(
                property=property_name, date_ranges=ranges,
                dimensions=[d.Dimension(name=n) for n in dims],
                metrics=[d.Metric(name=m) for m in (EVENT_METRICS if kind == EVENTS else BASE_METRICS)],
                dimension_filter=event_filter if kind == EVENTS else None,
                order_bys=[d.OrderBy(dimension=d.OrderBy.DimensionOrderBy(dimension_name=n)) for n in dims],
                limit=page, return_property_quota=True,
            )
            out.append(Report(kind, segmented, request, period_dims, keys))
    return out


def batches(property_name: str, reports: list[Report]) -> list[tuple[list[Report], Any]]:
    """The reports in batchRunReports requests of at most five (GA4's limit)."""
    from google.analytics.data_v1beta import types as d

    out = []
    for i in range(0, len(reports), MAX_BATCH):
        group = reports[i:i + MAX_BATCH]
        out.append((group, d.BatchRunReportsRequest(property=property_name, requests=[r.request for r in group])))
    return out


def _periods(grain: str, current: list[Period], previous: list[Period], d) -> tuple[list, tuple, dict]:
    """(date ranges, period dimensions, key -> period index) for the wanted periods, current first."""
    wanted = current + previous
    if grain == "day":
        span = d.DateRange(start_date=str(min(p.start for p in wanted)), end_date=str(max(p.end for p in wanted)))
        return [span], ("date",), {p.start.strftime("%Y%m%d"): i for i, p in enumerate(wanted)}
    if grain == "range":
        names = [f"p{i}" for i in range(len(wanted))]
        ranges = [d.DateRange(start_date=str(p.start), end_date=str(p.end), name=n) for n, p in zip(names, wanted)]
        if len(wanted) == 1:
            return ranges, (), {"": 0}
        return ranges, (RANGE_DIMENSION,), {n: i for i, n in enumerate(names)}
    label = _iso_week if grain == "week" else _year_month
    windows = [(CURRENT, current)] + ([(PREVIOUS, previous)] if previous else [])
    ranges = [d.DateRange(start_date=str(ps[0].start), end_date=str(ps[-1].end), name=n) for n, ps in windows]
    keys: dict[str, int] = {}
    i = 0
    for name, ps in windows:
        for p in ps:
            keys[f"{name}|{label(p)}" if len(windows) > 1 else label(p)] = i
            i += 1
    dims = (RANGE_DIMENSION, PERIOD_DIMENSION[grain]) if len(windows) > 1 else (PERIOD_DIMENSION[grain],)
    return ranges, dims, keys


def _iso_week(p: Period) -> str:
    year, week, _ = p.start.isocalendar()
    return f"{year:04d}{week:02d}"


def _year_month(p: Period) -> str:
    return f"{p.start.year:04d}{p.start.month:02d}"
