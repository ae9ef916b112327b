"""``--max-quota-share F``: stop a property's pull before this run uses more than F of its hourly tokens.

GA4 gives every property a budget of tokens per hour (40,000 on a standard property, 400,000 on 360) shared
by every tool that reports on it: a dashboard, a connector, this pull. A scheduled back-fill that takes
them all leaves the others failing with RESOURCE_EXHAUSTED for the rest of the hour, so a run can be told
to keep to a share.

The rule, per property: before each Data API request, ``used + estimate > F x hourly`` stops the property
(:class:`QuotaShareReached`: "skipped for quota"; nothing of it is written, the other properties go on and
the run is partial). ``used``: the tokens this run's requests for the property cost, as GA4 reports them
with every answer (``property_quota.tokens_per_hour.consumed``, asked for on every request). ``hourly``:
400,000 once an answer shows more tokens left than a standard property has (``remaining + consumed >
40,000``), else 40,000; a 360 property that has used most of its hour is taken for a standard one, which
only makes the run stop sooner.

The estimate: GA4 does not publish what a request costs, only that it grows with the data scanned and the
request's complexity. Before a property's first request (nothing known yet) the run sends one small probe,
a one-row, one-metric report over the same days, whose cost is mostly the data it scans; each report of
the next request is estimated at the probe's cost. After that each report is estimated at what the
previous request cost per report. The probe costs a few tokens and counts as used; the real reports have
more dimensions and rows than the probe, so the first estimate can be a few tokens short, never more than
one request's worth: every answer's real cost is counted before the next request is checked.
"""

from __future__ import annotations

import math
from typing import Any

from ga4kit.errors import Ga4kitError

STANDARD_TOKENS_PER_HOUR = 40_000
PREMIUM_TOKENS_PER_HOUR = 400_000


class QuotaShareReached(Ga4kitError):
    """A property stopped before its next request would take the run past its share of the hour's tokens."""

    status = "QUOTA_SHARE_REACHED"

    def __init__(self, message: str, hint: str | None = None, *, tokens_used: int = 0,
                 tokens_left: int | None = None):
        super().__init__(message, hint)
        self.tokens_used = tokens_used  # what the property's requests of this run cost before it stopped
        self.tokens_left = tokens_left  # the property's hourly tokens left, as GA4 last said


def check_share(share: float) -> float:
    """``share`` if it is a fraction in (0, 1]; raises Ga4kitError otherwise (before any API call)."""
    try:
        value = float(share)
    except (TypeError, ValueError):
        value = math.nan
    if not 0 < value <= 1:
        raise Ga4kitError(f"--max-quota-share {share!r} is not a share of the hour's tokens.",
                          "Give a fraction above 0 and at most 1, e.g. 0.25 to use at most a quarter of each "
                          "property's hourly tokens.")
    return value


def answer_tokens(answer: Any) -> tuple[int, int | None]:
    """(tokens consumed, tokens left this hour) of a RunReportResponse or BatchRunReportsResponse (raw
    protobuf): the consumed tokens of all its reports, the remaining of the last that says."""
    reports = list(answer.reports) if hasattr(answer, "reports") else [answer]
    used, left = 0, None
    for r in reports:
        if r.HasField("property_quota"):
            q = r.property_quota.tokens_per_hour
            used += int(q.consumed)
            left = int(q.remaining)
    return used, left


def probe_request(property_name: str, start, end) -> Any:
    """The small request that prices a property's first request: one metric, one row, the pull's days."""
    from google.analytics.data_v1beta import types as d

    return d.RunReportRequest(property=property_name, date_ranges=[d.DateRange(start_date=str(start),
                                                                                end_date=str(end))],
                              metrics=[d.Metric(name="eventCount")], limit=1, return_property_quota=True)


class PropertyBudget:
    """One property's share of its hourly tokens in one run (see the module docstring)."""

    def __init__(self, pid: str, share: float):
        self.pid = pid
        self.share = share
        self.used = 0
        self.hourly = STANDARD_TOKENS_PER_HOUR
        self.per_report: int | None = None  # the estimate of one report's cost; None until an answer came
        self.left: int | None = None  # the property's hourly tokens left after the last answer

    @property
    def limit(self) -> int:
        return math.floor(self.share * self.hourly)

    @property
    def priced(self) -> bool:
        return self.per_report is not None

    def record(self, tokens: int, reports: int, left: int | None) -> None:
        """An answer came: count its cost and learn the estimate (and the property's hourly tokens)."""
        self.used += tokens
        if tokens:
            self.per_report = max(1, math.ceil(tokens / max(1, reports)))
        elif self.per_report is None:
            self.per_report = 1
        if left is not None:
            self.left = left
            if left + tokens > STANDARD_TOKENS_PER_HOUR:
                self.hourly = PREMIUM_TOKENS_PER_HOUR

    def check(self, reports: int) -> None:
        """Raise QuotaShareReached unless a request of ``reports`` reports fits in the share."""
        estimate = reports * (self.per_report or 1)
        if self.used + estimate > self.limit:
            raise QuotaShareReached(
                f"Property {self.pid} skipped for quota: this run has used {self.used:,} tokens of the "
                f"property's hour and its next request would cost about {estimate:,}, past the "
                f"{self.limit:,} allowed (--max-quota-share {self.share:g} of {self.hourly:,} tokens per hour).",
                "Nothing of this property was written. Run again later (GA4 frees the tokens within the hour) "
                "or allow a larger share.", tokens_used=self.used, tokens_left=self.left)


class QuotaShare:
    """``max_quota_share`` for a run: a :class:`PropertyBudget` per property."""

    def __init__(self, share: float):
        self.share = check_share(share)

    def for_property(self, pid: str) -> PropertyBudget:
        return PropertyBudget(pid, self.share)

