"""Pull goal event counts and users from the GA4 Data API into tidy DataFrames.

Per property (:func:`pull_property`): one Admin GetProperty (time zone and currency, to resolve relative
dates as GA4 does; skipped when an earlier pull's metadata is passed as ``known``) and one batchRunReports
holding the reports :mod:`ga4kit.reporting.requests` builds (one request while the rows fit in a page, at
every grain). Users are requested at the grain they are reported at and never summed: GA4's user counts
are not additive. A report whose rows do not fit in one page is fetched again with runReport in pages of
250,000 rows ordered by every dimension, and ``row_count`` must not move between pages. Rows are read
from the raw protobuf messages (:mod:`ga4kit.reporting.responses`) and every property's rows become the
tidy frames in one pass at the end (:mod:`ga4kit.reporting.tidy`).

Properties are pulled concurrently (:mod:`ga4kit.executor`: ``concurrency`` at once, at most 10 Data API
requests in flight per property); results keep the order of the properties given, and a property that
fails is in ``errors`` without stopping the others.

Every property resolves relative dates ("7daysAgo") in its own time zone, so each has its own window
(``PropertyMeta.start``/``end``), computed from its own today and nothing else. With ``whole_periods``
(what ``pull --merge`` asks for) a week or month window is widened to whole periods: the start back to
its week's Monday or month's first day, and the end forward to its period's last day when that day is
past; a merged file then never holds two versions of one period. A property listed twice (``400000001``
and ``properties/400000001``) is pulled once.

Columns: ``property_name`` is the property's display name in GA4 (GetProperty), falling back to the goals
file's label when GA4 has none: it is what people see in the GA4 UI, and the same whichever goals file
pulled it. ``currency`` is the property's currency (ISO 4217); ``value`` is rounded to its minor unit
(2 decimals for EUR, 0 for JPY) with :mod:`ga4kit.money`. ``key_events`` is int64 when GA4 answers whole
numbers (it does for counts), float64 otherwise.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any, Callable

from ga4kit import ids
from ga4kit.config.model import GoalsConfig
from ga4kit.constants import ALL, GRAINS, MAX_SEGMENTS, PAGE_ROWS
from ga4kit.errors import ApiError, Ga4kitError
from ga4kit.executor import DEFAULT_CONCURRENCY, Done, guard, run_per_property
from ga4kit.properties import get_property, property_ids
from ga4kit.reporting import periods as P
from ga4kit.reporting import requests as R
from ga4kit.reporting import tidy
from ga4kit.reporting.quota_share import PropertyBudget, QuotaShare, answer_tokens, probe_request
from ga4kit.reporting.responses import Table, fold_notes, join_pages, raw, read_report
from ga4kit.reporting.tidy import baseline_columns, event_columns

__all__ = ["ALL", "PAGE", "PropertyMeta", "PropertyPull", "PullResult", "PullSpec", "assemble", "baseline_columns",
           "event_columns", "pull", "pull_property", "spec_for", "widen_to_whole_periods"]

PAGE = PAGE_ROWS  # rows per page (a module attribute, so a test can make pages small)


@dataclass
class PropertyMeta:
    """What a pull learnt about one property, and the window it pulled (resolved in the property's zone)."""

    property: str
    name: str | None = None  # display name in GA4 (else the goals file's label)
    time_zone: str | None = None
    currency: str | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    previous_start: dt.date | None = None  # with compare_previous
    previous_end: dt.date | None = None
    subject_to_thresholding: bool = False
    sampled: bool = False
    data_loss_from_other_row: bool = False
    quota: dict = field(default_factory=dict)  # name -> {"consumed": n, "remaining": n}
    api_calls: int = 0
    tokens_used: int = 0  # hourly tokens this pull's Data API requests cost (GA4's own count)
    tokens_left: int | None = None  # the property's hourly tokens left after its last request

    def as_dict(self) -> dict:
        """JSON-ready: dates as ISO text."""
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in self.__dict__.items()}


@dataclass
class PullResult:
    """Tidy frames for every property that answered, and the error of every property that did not.

    ``events``: property, property_name, period, period_start, period_end, <segments>, event, goal_type,
    goal_kind, event_count, users, value, currency, key_events. ``baseline``: property, property_name,
    period, period_start, period_end, <segments>, users, sessions. Rows over all traffic hold "(all)" in
    every segment column. With ``compare_previous``, ``previous_events``/``previous_baseline`` hold the
    previous period(s) of the same length in the same shape. Each property's own window is in its
    ``metadata`` (see :meth:`windows`); ``start``/``end`` span them all (the earliest start, the latest
    end), for a title, never for one property's rows.
    """

    events: Any
    baseline: Any
    segments: tuple[str, ...]
    grain: str
    start: dt.date | None
    end: dt.date | None
    metadata: dict[str, PropertyMeta] = field(default_factory=dict)
    errors: dict[str, Ga4kitError] = field(default_factory=dict)
    previous_events: Any = None
    previous_baseline: Any = None

    def windows(self, previous: bool = False) -> dict[str, tuple[dt.date, dt.date]]:
        """{property: (start, end)} of every property that answered (``previous``: the previous period)."""
        if previous:
            return {pid: (m.previous_start, m.previous_end) for pid, m in self.metadata.items()
                    if m.previous_start is not None}
        return {pid: (m.start, m.end) for pid, m in self.metadata.items() if m.start is not None}


@dataclass(frozen=True)
class PullSpec:
    """What a pull asks every property for. Dates are as given: each property resolves them itself."""

    events: tuple[str, ...]
    segments: tuple[str, ...]
    grain: str
    start: str | dt.date
    end: str | dt.date
    compare_previous: bool = False
    whole_periods: bool = False
    today: dt.date | None = None  # every property's today (default: the date in its time zone)
    now: dt.datetime | None = None  # the moment each property's today is taken at (default: the clock)
    starts: Mapping[str, str | dt.date] = field(default_factory=dict)  # a property's own start (incremental)


@dataclass(frozen=True)
class PropertyPull:
    """One property's pull: its metadata, its today, its periods (current, then previous) and its tables."""

    meta: PropertyMeta
    today: dt.date
    periods: tuple[P.Period, ...]
    current: int  # how many of ``periods`` are the current window's
    tables: tuple[tuple[R.Report, Table], ...]


def spec_for(config: GoalsConfig, *, start=None, end=None, segments=None, grain=None, compare_previous=False,
             whole_periods=False, today=None, now=None, starts=None) -> PullSpec:
    """The pull's spec from the goals file and the overrides; raises Ga4kitError before any API call."""
    segments = tuple(config.report.segments if segments is None else segments)
    if len(segments) > MAX_SEGMENTS:
        raise Ga4kitError(f"{len(segments)} segment dimensions; at most {MAX_SEGMENTS} fit beside the event and "
                          "the date.", "Pass fewer --segment options.")
    grain = grain or config.report.grain
    if grain not in GRAINS:
        raise Ga4kitError(f"Grain {grain!r} is not one of {', '.join(GRAINS)}.", None)
    start, end = start or config.report.start, end or config.report.end
    starts = {ids.property_id(pid): value for pid, value in (starts or {}).items()}
    for value in (start, end, *starts.values()):
        P.check(value)  # a typo must not cost API calls
    return PullSpec(tuple(g.event for g in config.goals), segments, grain, start, end, compare_previous,
                    whole_periods, today, now, starts)


def pull(config: GoalsConfig, clients, *, properties: list[str] | None = None, start: str | None = None,
         end: str | None = None, segments: list[str] | tuple[str, ...] | None = None, grain: str | None = None,
         compare_previous: bool = False, today: dt.date | None = None,
         progress: Callable[[str], None] | None = None,
         known: dict[str, PropertyMeta] | None = None, whole_periods: bool = False,
         now: dt.datetime | None = None, concurrency: int = DEFAULT_CONCURRENCY,
         starts: Mapping[str, str | dt.date] | None = None, max_quota_share: float | None = None) -> PullResult:
    """Pull every declared goal's events and the baseline for each property (see module docstring).

    ``known``: PropertyMeta from an earlier pull of the same properties; their name, time zone and currency
    are reused instead of asking the Admin API again. ``whole_periods``: widen a week or month window to
    whole periods (for merging into a file). ``today`` fixes every property's today; ``now`` fixes the
    moment instead, each property taking its today from it in its own time zone. ``progress(pid)`` is
    called as each property finishes. ``concurrency``: properties pulled at once. ``starts``:
    {property: first day} for properties that start elsewhere than ``start`` (an incremental pull); such a
    start after the property's end is moved to its end. ``max_quota_share``: stop a property before this
    run uses more than this share of its hourly tokens (:mod:`ga4kit.reporting.quota_share`); a property
    stopped so is in ``errors`` with a :class:`~ga4kit.reporting.quota_share.QuotaShareReached`.
    """
    pids = property_ids(config, properties)
    if not pids:
        raise Ga4kitError("No property to pull.", "List properties in the goals file or pass -p PROPERTY_ID.")
    spec = spec_for(config, start=start, end=end, segments=segments, grain=grain,
                    compare_previous=compare_previous, whole_periods=whole_periods, today=today, now=now,
                    starts=starts)
    share = QuotaShare(max_quota_share) if max_quota_share is not None else None
    clients = guard(clients)
    labels = {p.id: p.label for p in config.properties if p.label}
    known = known or {}

    def one(pid: str) -> PropertyPull:
        return pull_property(spec, clients, pid, known=known.get(pid), label=labels.get(pid),
                             budget=share.for_property(pid) if share else None)

    done = run_per_property(pids, one, max_workers=concurrency,
                            on_done=(lambda d: progress(d.item)) if progress else None)
    return assemble(spec, config, done)


def assemble(spec: PullSpec, config: GoalsConfig, done: list[Done]) -> PullResult:
    """The PullResult of every property's outcome (in the pull's order): frames built in one pass."""
    pulls = [d.value for d in done if d is not None and d.ok]
    errors = {d.item: d.error for d in done if d is not None and not d.ok}
    frames = tidy.frames(pulls, spec.segments, config.goals)
    metas = {p.meta.property: p.meta for p in pulls}
    return PullResult(
        events=frames["events"], baseline=frames["baseline"], segments=spec.segments, grain=spec.grain,
        start=min((m.start for m in metas.values()), default=None),
        end=max((m.end for m in metas.values()), default=None), metadata=metas, errors=errors,
        previous_events=frames["previous_events"] if spec.compare_previous else None,
        previous_baseline=frames["previous_baseline"] if spec.compare_previous else None,
    )


def pull_property(spec: PullSpec, clients, pid: str, *, known: PropertyMeta | None = None,
                  label: str | None = None, budget: PropertyBudget | None = None) -> PropertyPull:
    """One property's pull (raises ApiError/Ga4kitError): its own today, window, requests and tables.
    ``budget``: the property's share of its hourly tokens (raises QuotaShareReached past it)."""
    name = ids.property_name(pid)
    calls = _Calls(budget)
    found = known_meta(pid, known, label) if known is not None else fetch_meta(clients, pid, label, calls)
    today = spec.today or _today(found.time_zone, spec.now)
    start, end = window(spec, today, pid)
    current = P.split(start, end, spec.grain)
    previous: list[P.Period] = []
    prev_window = (None, None)
    if spec.compare_previous:
        prev_window = P.previous(start, end)
        previous = P.split(*prev_window, spec.grain)
    reports = R.build_reports(name, list(spec.events), spec.segments, spec.grain, current, previous, page=PAGE)
    if budget is not None:
        days = current + previous
        calls.probe = (clients.data.run_report, probe_request(name, min(p.start for p in days),
                                                              max(p.end for p in days)))
    tables = fetch_tables(clients, name, reports, calls)
    notes = fold_notes([t.notes for _, t in tables])
    meta = dataclasses.replace(
        found, time_zone=notes.time_zone or found.time_zone, currency=notes.currency or found.currency,
        start=start, end=end, previous_start=prev_window[0], previous_end=prev_window[1],
        subject_to_thresholding=notes.subject_to_thresholding, sampled=notes.sampled,
        data_loss_from_other_row=notes.data_loss_from_other_row, quota=dict(notes.quota), api_calls=calls.n,
        tokens_used=calls.tokens, tokens_left=calls.left)
    return PropertyPull(meta, today, tuple(current + previous), len(current), tuple(tables))


def _today(time_zone: str | None, now: dt.datetime | None) -> dt.date:
    return P.today_in(time_zone) if now is None else P.today_in(time_zone, now)


def window(spec: PullSpec, today: dt.date, pid: str | None = None) -> tuple[dt.date, dt.date]:
    """The property's window: the spec's dates (or its own start) resolved against its today (widened
    when asked). Its own start, when after its end, moves to the end: nothing newer is asked for."""
    end = P.resolve(spec.end, today)
    own = spec.starts.get(pid) if pid is not None else None
    start = P.resolve(spec.start, today) if own is None else min(P.resolve(own, today), end)
    if spec.whole_periods and start <= end:
        start, end = widen_to_whole_periods(start, end, spec.grain, today)
    return start, end


def widen_to_whole_periods(start: dt.date, end: dt.date, grain: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """``start``..``end`` widened to whole weeks (Monday to Sunday) or months: the start back to its
    period's first day, the end to its period's last day if that day is before ``today``."""
    if grain == "week":
        first = start - dt.timedelta(days=start.weekday())
        last = end + dt.timedelta(days=6 - end.weekday())
    elif grain == "month":
        first = start.replace(day=1)
        last = (end.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    else:
        return start, end
    return first, (last if last < today else end)


# --- calls ---------------------------------------------------------------------------------------------

class _Calls:
    """The API calls one property's pull made (threads share the clients, so each pull counts its own),
    the hourly tokens its Data API requests cost, and its share of them (``budget``)."""

    def __init__(self, budget: PropertyBudget | None = None) -> None:
        self.n = 0
        self.tokens = 0
        self.left: int | None = None
        self.budget = budget
        self.probe: tuple[Callable, Any] | None = None  # (method, request) pricing the first request

    def data(self, method: Callable, request: Any, resource: str, *, reports: int = 1) -> Any:
        """A Data API request of ``reports`` reports: checked against the budget first, its cost counted."""
        if self.budget is not None:
            if not self.budget.priced and self.probe is not None:
                self._count(self.send(*self.probe, resource), 1)
            self.budget.check(reports)
        answer = self.send(method, request, resource)
        self._count(answer, reports)
        return answer

    def _count(self, answer: Any, reports: int) -> None:
        used, left = answer_tokens(raw(answer))
        self.tokens += used
        self.left = left if left is not None else self.left
        if self.budget is not None:
            self.budget.record(used, reports, left)

    def send(self, method: Callable, request: Any, resource: str) -> Any:
        self.n += 1
        try:
            return method(request=request)
        except ApiError as exc:
            exc.resource = resource
            raise


def known_meta(pid: str, known: PropertyMeta, label: str | None) -> PropertyMeta:
    return PropertyMeta(property=pid, name=known.name or label, time_zone=known.time_zone, currency=known.currency)


def fetch_meta(clients, pid: str, label: str | None, calls: _Calls) -> PropertyMeta:
    """Name, time zone and currency from the Admin API's GetProperty (:func:`ga4kit.properties.get_property`)."""
    info = calls.send(lambda request: get_property(clients, pid), None, ids.property_name(pid))
    return PropertyMeta(property=pid, name=info.display_name or label, time_zone=info.time_zone,
                        currency=info.currency)


def fetch_tables(clients, name: str, reports: list[R.Report], calls: _Calls) -> list[tuple[R.Report, Table]]:
    """Send the reports in batches of five; a report with more rows than a page is paged through."""
    out = []
    for group, batch in R.batches(name, reports):
        answer = raw(calls.data(clients.data.batch_run_reports, batch, name, reports=len(group)))
        for report, response in zip(group, answer.reports):
            table = read_report(response)
            if table.row_count > table.rows:
                table = fetch_pages(clients, report.request, name, calls)
            out.append((report, table))
    return out


def fetch_pages(clients, request: Any, name: str, calls: _Calls) -> Table:
    """A report in pages ordered by every dimension; restarted once if ``row_count`` moves mid-way."""
    for _attempt in range(2):
        pages = _pages(clients, request, name, calls)
        if pages is not None:
            return join_pages(pages)
    raise Ga4kitError(
        f"GA4 changed the data for {name} while ga4kit was paging through it (row_count moved twice).",
        "Run the pull again; recent days settle within 72 hours, or pull a range that ends earlier.")


def _pages(clients, request: Any, name: str, calls: _Calls) -> list[Table] | None:
    """Every page of the report, or None when ``row_count`` moved between two pages."""
    pages: list[Table] = []
    offset = 0
    while True:
        page_request = type(request)(request)
        page_request.offset = offset
        page_request.limit = PAGE
        page = read_report(raw(calls.data(clients.data.run_report, page_request, name)))
        if pages and page.row_count != pages[0].row_count:
            return None
        pages.append(page)
        offset += page.rows
        if not page.rows or offset >= page.row_count:
            return pages
