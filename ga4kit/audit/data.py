"""The Data API side of an audit: five reports in one batchRunReports request per property.

Each report serves several checks (``reads`` of each check says which):

==========  =====================================================  ========  ================================
report      dimensions -> metrics                                  days      checks
==========  =====================================================  ========  ================================
traffic     sessionDefaultChannelGroup, sessionSource -> sessions  28        Unassigned, direct, self-referrals,
                                                                             payment gateways, paid search
events      date, eventName, platform, hostName -> eventCount      56        zero-event days, drops, silent
                                                                             streams, foreign hostnames, key
                                                                             events that never fired
pii_pages   pagePathPlusQueryString -> eventCount, only paths       28        personal data in URLs
            that may hold an e-mail address or a phone number
purchases   transactionId -> eventCount, purchaseRevenue           28        transaction ids, revenue
            (purchase events)
landing     landingPage -> sessions, only "(not set)"              28        "(not set)" landing pages
==========  =====================================================  ========  ================================

Days end yesterday in the property's time zone (today is still coming in); "28" is yesterday and the 27
days before it, "56" adds the 28 before those (the reference for drops). Rows come back as small pandas
frames, metrics as numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ga4kit.constants import PAGE_ROWS

# Paths that may hold personal data, as GA4 (RE2) and the emulator (Python re) both read them: an "@" or
# its encoding, a parameter named like a phone number, or a parameter value starting with "+" and a digit.
PII_CANDIDATE = r"@|%40|[?&;](phone|tel|telephone|mobile|handy|cell|fax|whatsapp)[a-z_]*=|=(\+|%2b)[0-9]"


@dataclass(frozen=True)
class ReportSpec:
    name: str
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    days: int  # the report covers the ``days`` days ending yesterday
    limit: int = PAGE_ROWS
    order_by: str | None = None  # a metric, descending


REPORTS = (
    ReportSpec("traffic", ("sessionDefaultChannelGroup", "sessionSource"), ("sessions",), 28, order_by="sessions"),
    ReportSpec("events", ("date", "eventName", "platform", "hostName"), ("eventCount",), 56),
    ReportSpec("pii_pages", ("pagePathPlusQueryString",), ("eventCount",), 28, limit=1000, order_by="eventCount"),
    ReportSpec("purchases", ("transactionId",), ("eventCount", "purchaseRevenue"), 28, order_by="eventCount"),
    ReportSpec("landing", ("landingPage",), ("sessions",), 28),
)


@dataclass
class Report:
    """One report's rows and what GA4 said about them."""

    name: str
    frame: pd.DataFrame
    start: dt.date
    end: dt.date
    thresholded: bool = False
    truncated: bool = False  # more rows than were returned (row_count > rows)
    row_count: int = 0


@dataclass
class AuditData:
    """The reports of one property, by name, and what they cost."""

    reports: dict[str, Report] = field(default_factory=dict)
    tokens: int = 0
    requests: int = 0
    currency: str | None = None


def _filter(spec: ReportSpec, d: Any) -> Any:
    def string(field_name: str, value: str, match: str = "EXACT", case: bool = True):
        return d.FilterExpression(filter=d.Filter(field_name=field_name, string_filter=d.Filter.StringFilter(
            value=value, match_type=d.Filter.StringFilter.MatchType[match], case_sensitive=case)))

    if spec.name == "pii_pages":
        return string("pagePathPlusQueryString", PII_CANDIDATE, "PARTIAL_REGEXP", case=False)
    if spec.name == "purchases":
        return string("eventName", "purchase")
    if spec.name == "landing":
        return d.FilterExpression(filter=d.Filter(field_name="landingPage", in_list_filter=d.Filter.InListFilter(
            values=["(not set)"], case_sensitive=True)))
    return None


def build_batch(property_name: str, today: dt.date, specs=REPORTS) -> Any:
    """The BatchRunReportsRequest of the audit's reports (at most five) for a property whose today is ``today``."""
    from google.analytics.data_v1beta import types as d

    requests = []
    for spec in specs:
        start, end = window(spec, today)
        requests.append(d.RunReportRequest(
            property=property_name, dimensions=[d.Dimension(name=n) for n in spec.dimensions],
            metrics=[d.Metric(name=m) for m in spec.metrics],
            date_ranges=[d.DateRange(start_date=start.isoformat(), end_date=end.isoformat())],
            dimension_filter=_filter(spec, d), limit=spec.limit, return_property_quota=True,
            order_bys=[d.OrderBy(metric=d.OrderBy.MetricOrderBy(metric_name=spec.order_by), desc=True)]
            if spec.order_by else [],
        ))
    return d.BatchRunReportsRequest(property=property_name, requests=requests)


def window(spec: ReportSpec, today: dt.date) -> tuple[dt.date, dt.date]:
    end = today - dt.timedelta(days=1)
    return end - dt.timedelta(days=spec.days - 1), end


def read_batch(answer: Any, today: dt.date, specs=REPORTS) -> AuditData:
    """The reports of a BatchRunReportsResponse, in the order of ``specs``."""
    from ga4kit.reporting.responses import raw, read_report

    out = AuditData(requests=1)
    for spec, response in zip(specs, raw(answer).reports):
        table = read_report(response)
        frame = pd.DataFrame({**{d: np.array(table.columns.get(d, []), dtype=object) for d in spec.dimensions},
                              **{m: _numbers(table.columns.get(m, [])) for m in spec.metrics}})
        start, end = window(spec, today)
        out.reports[spec.name] = Report(spec.name, frame, start, end, thresholded=table.notes.subject_to_thresholding,
                                        truncated=table.row_count > table.rows, row_count=table.row_count)
        out.tokens += _tokens(table.notes.quota)
        out.currency = out.currency or table.notes.currency
    return out


def _numbers(values: list[str]) -> np.ndarray:
    """GA4's metric strings as floats (anything not a number: 0)."""
    try:
        return np.array(values, dtype=float)
    except ValueError:
        return pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").fillna(0.0).to_numpy(dtype=float)


def _tokens(quota: dict) -> int:
    """The tokens a response says its request consumed (the property quota's per-day consumption)."""
    for name in ("tokens_per_day", "tokens_per_hour"):
        if name in quota:
            return int(quota[name].get("consumed", 0))
    return 0
