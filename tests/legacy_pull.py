"""The pull before the restructure (ga4kit/reporting/pull.py at cec7ee9), kept verbatim below as the
reference that tests/test_pull_equivalence.py compares the new pull with. Not used by ga4kit."""

# ruff: noqa

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable

from ga4kit import ids, money
from ga4kit.config.model import GoalsConfig
from ga4kit.errors import ApiError, Ga4kitError
from ga4kit.reporting import periods as P

PAGE = 250_000
MAX_RANGES = 4  # date ranges per report
MAX_BATCH = 5  # reports per batchRunReports
ALL = "(all)"
EVENT_METRICS = ("eventCount", "totalUsers", "eventValue", "keyEvents")
BASE_METRICS = ("totalUsers", "sessions")
EVENT_COLUMNS = ("event_count", "users", "value", "key_events")
BASE_COLUMNS = ("users", "sessions")


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
    previous period(s) of the same length in the same shape. ``start``/``end`` are the first property's
    window; every property's own is in its ``metadata`` (see :meth:`windows`).
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


def event_columns(segments) -> list[str]:
    """The columns of ``PullResult.events`` for these segments."""
    return ["property", "property_name", "period", "period_start", "period_end", *segments, "event",
            "goal_type", "goal_kind", "event_count", "users", "value", "currency", "key_events"]


def baseline_columns(segments) -> list[str]:
    """The columns of ``PullResult.baseline`` for these segments."""
    return ["property", "property_name", "period", "period_start", "period_end", *segments, *BASE_COLUMNS]


def property_ids(config: GoalsConfig, properties: list[str] | None = None) -> list[str]:
    """The properties a pull covers, normalised and each once, in the order given."""
    pids = [ids.property_id(p) for p in properties] if properties else [p.id for p in config.properties]
    return list(dict.fromkeys(pids))


def pull(config: GoalsConfig, clients, *, properties: list[str] | None = None, start: str | None = None,
         end: str | None = None, segments: list[str] | tuple[str, ...] | None = None, grain: str | None = None,
         compare_previous: bool = False, today: dt.date | None = None,
         progress: Callable[[str], None] | None = None,
         known: dict[str, PropertyMeta] | None = None, whole_periods: bool = False) -> PullResult:
    """Pull every declared goal's events and the baseline for each property (see module docstring).

    ``known``: PropertyMeta from an earlier pull of the same properties; their name, time zone and currency
    are reused instead of asking the Admin API again. ``whole_periods``: widen a week or month window to
    whole periods (for merging into a file).
    """
    import pandas as pd

    pids = property_ids(config, properties)
    if not pids:
        raise Ga4kitError("No property to pull.", "List properties in the goals file or pass -p PROPERTY_ID.")
    segments = tuple(config.report.segments if segments is None else segments)
    if len(segments) > 7:
        raise Ga4kitError(f"{len(segments)} segment dimensions; at most 7 fit beside the event and the date.",
                          "Pass fewer --segment options.")
    grain = grain or config.report.grain
    if grain not in P.GRAINS:
        raise Ga4kitError(f"Grain {grain!r} is not one of {', '.join(P.GRAINS)}.", None)
    start_s, end_s = start or config.report.start, end or config.report.end
    for value in (start_s, end_s):
        P.check(value)  # a typo must not cost API calls

    frames_e, frames_b, prev_e, prev_b = [], [], [], []
    result = PullResult(None, None, segments, grain, None, None)
    labels = {p.id: p.label for p in config.properties if p.label}
    for pid in pids:
        try:
            meta, cur, prev = _pull_property(config, clients, pid, segments, grain, start_s, end_s,
                                             compare_previous, today, result, (known or {}).get(pid),
                                             whole_periods, labels.get(pid))
        except Ga4kitError as exc:
            result.errors[pid] = exc
        else:
            result.metadata[pid] = meta
            frames_e.append(cur[0])
            frames_b.append(cur[1])
            if prev is not None:
                prev_e.append(prev[0])
                prev_b.append(prev[1])
        if progress:
            progress(pid)
    result.events = _concat(pd, frames_e, event_columns(segments))
    result.baseline = _concat(pd, frames_b, baseline_columns(segments))
    if compare_previous:
        result.previous_events = _concat(pd, prev_e, event_columns(segments))
        result.previous_baseline = _concat(pd, prev_b, baseline_columns(segments))
    return result


def _concat(pd, frames, columns):
    frames = [f for f in frames if len(f)]
    if not frames:
        out = _typed(pd, pd.DataFrame({c: [] for c in columns}))
    else:
        out = pd.concat(frames, ignore_index=True)[columns]
    if "key_events" in out:
        ke = out["key_events"].to_numpy(dtype="float64")
        if bool((ke == ke.round()).all()):  # GA4 answers whole key event counts: keep them integers
            out["key_events"] = out["key_events"].astype("int64")
    return out


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


def _typed(pd, df):
    for col in ("event_count", "users", "sessions"):
        if col in df:
            df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0).astype("int64")
    for col in ("value", "key_events"):
        if col in df:
            df[col] = pd.to_numeric(df[col], errors="coerce").fillna(0.0).astype("float64")
    for col in ("period_start", "period_end"):
        if col in df:
            df[col] = pd.to_datetime(df[col])
    return df


def _pull_property(config, clients, pid, segments, grain, start_s, end_s, compare_previous, today, result,
                   known: PropertyMeta | None, whole: bool, label: str | None):
    from google.analytics.admin_v1beta import types as at

    name = ids.property_name(pid)
    calls_before = len(clients.calls)
    if known is not None:
        meta = PropertyMeta(property=pid, name=known.name or label, time_zone=known.time_zone,
                            currency=known.currency)
    else:
        try:
            prop = clients.admin.get_property(request=at.GetPropertyRequest(name=name))
        except ApiError as exc:
            exc.resource = name
            raise
        meta = PropertyMeta(property=pid, name=prop.display_name or label, time_zone=prop.time_zone or None,
                            currency=prop.currency_code or None)
    day0 = today or P.today_in(meta.time_zone)
    start, end = P.resolve(start_s, day0), P.resolve(end_s, day0)
    if whole and start <= end:
        start, end = widen_to_whole_periods(start, end, grain, day0)
    meta.start, meta.end = start, end
    if result.start is None:
        result.start, result.end = start, end
    current = P.split(start, end, grain)
    wanted = list(current)
    previous: list[P.Period] = []
    if compare_previous:
        ps, pe = P.previous(start, end)
        meta.previous_start, meta.previous_end = ps, pe
        previous = P.split(ps, pe, grain)
        wanted += previous
    events, base = _fetch(config, clients, name, pid, segments, grain, wanted, meta)
    meta.api_calls = len(clients.calls) - calls_before
    cur_labels = {p.label for p in current}
    if not compare_previous:
        return meta, (events, base), None
    in_cur_e = events["period"].isin(cur_labels)
    in_cur_b = base["period"].isin(cur_labels)
    return (meta, (events[in_cur_e].reset_index(drop=True), base[in_cur_b].reset_index(drop=True)),
            (events[~in_cur_e].reset_index(drop=True), base[~in_cur_b].reset_index(drop=True)))


def _fetch(config, clients, name, pid, segments, grain, wanted, meta):
    """Build every report this property needs, send them in batches of five, and tidy the rows."""
    import pandas as pd
    from google.analytics.data_v1beta import types as dt_

    goal_names = [g.event for g in config.goals]
    event_filter = dt_.FilterExpression(filter=dt_.Filter(
        field_name="eventName", in_list_filter=dt_.Filter.InListFilter(values=goal_names, case_sensitive=True)))

    # (kind, segmented, date_ranges, periods-by-range-name) per report
    specs = []
    if grain == "day":
        span = [dt_.DateRange(start_date=str(min(p.start for p in wanted)),
                              end_date=str(max(p.end for p in wanted)), name="r0")]
        chunks = [(span, None)]
    else:
        chunks = []
        for i in range(0, len(wanted), MAX_RANGES):
            group = wanted[i:i + MAX_RANGES]
            ranges = [dt_.DateRange(start_date=str(p.start), end_date=str(p.end), name=f"r{i + j}")
                      for j, p in enumerate(group)]
            chunks.append((ranges, {f"r{i + j}": p for j, p in enumerate(group)}))
    for ranges, by_name in chunks:
        for kind in ("events", "baseline"):
            for segmented in ((True, False) if segments else (False,)):
                dims = (["date"] if grain == "day" else []) + (list(segments) if segmented else [])
                if kind == "events":
                    dims.append("eventName")
                metrics = EVENT_METRICS if kind == "events" else BASE_METRICS
                req = dt_.RunReportRequest(
                    property=name, date_ranges=ranges,
                    dimensions=[dt_.Dimension(name=d) for d in dims],
                    metrics=[dt_.Metric(name=m) for m in metrics],
                    dimension_filter=event_filter if kind == "events" else None,
                    order_bys=[dt_.OrderBy(dimension=dt_.OrderBy.DimensionOrderBy(dimension_name=d)) for d in dims],
                    limit=PAGE, return_property_quota=True,
                )
                specs.append((kind, segmented, req, by_name))

    responses = []
    for i in range(0, len(specs), MAX_BATCH):
        group = specs[i:i + MAX_BATCH]
        batch = dt_.BatchRunReportsRequest(property=name, requests=[s[2] for s in group])
        try:
            answer = clients.data.batch_run_reports(request=batch)
        except ApiError as exc:
            exc.resource = name
            raise
        for spec, rep in zip(group, answer.reports):
            rows = list(rep.rows)
            if rep.row_count > len(rows):
                rows = _paged_rows(clients, spec[2], name)
            responses.append((spec, rep, rows))

    goal_types = {g.event: g.type for g in config.goals}
    goal_kinds = {g.event: g.kind for g in config.goals}
    e_frames, b_frames = [], []
    for (kind, segmented, req, by_name), rep, rows in responses:
        _note_metadata(meta, rep)
        df = _rows_frame(pd, rep, rows)
        if len(df) == 0:
            continue
        if grain == "day":
            df["period_start"] = pd.to_datetime(df["date"], format="%Y%m%d")
            df["period_end"] = df["period_start"]
            df["period"] = df["period_start"].dt.strftime("%Y-%m-%d")
            df = df.drop(columns=["date"])
        else:
            col = "dateRange" if "dateRange" in df else None
            names = df[col] if col else pd.Series([next(iter(by_name))] * len(df), index=df.index)
            df["period"] = names.map({k: p.label for k, p in by_name.items()})
            df["period_start"] = pd.to_datetime(names.map({k: str(p.start) for k, p in by_name.items()}))
            df["period_end"] = pd.to_datetime(names.map({k: str(p.end) for k, p in by_name.items()}))
            if col:
                df = df.drop(columns=[col])
        df["property"] = pid
        df["property_name"] = meta.name
        df["currency"] = meta.currency
        for s in segments:
            if not segmented:
                df[s] = ALL
        if kind == "events":
            df = df.rename(columns={"eventName": "event", "eventCount": "event_count", "totalUsers": "users",
                                    "eventValue": "value", "keyEvents": "key_events"})
            df["goal_type"] = df["event"].map(goal_types)
            df["goal_kind"] = df["event"].map(goal_kinds)
            e_frames.append(_typed(pd, df))
        else:
            df = df.rename(columns={"totalUsers": "users"})
            b_frames.append(_typed(pd, df))
    events = _concat(pd, e_frames, event_columns(segments))
    base = _concat(pd, b_frames, baseline_columns(segments))
    # The report's own currency (metadata) wins over GetProperty's; amounts to its minor unit.
    events["currency"] = meta.currency
    events["value"] = money.round_money_column(events["value"], meta.currency)
    if grain == "day":
        # Only days inside a wanted period (the span may include none outside, but be strict).
        labels = {p.label for p in wanted}
        events = events[events["period"].isin(labels)].reset_index(drop=True)
        base = base[base["period"].isin(labels)].reset_index(drop=True)
    return events, base


def _rows_frame(pd, rep, rows):
    dims = [h.name for h in rep.dimension_headers]
    mets = [h.name for h in rep.metric_headers]
    data = {d: [r.dimension_values[i].value for r in rows] for i, d in enumerate(dims)}
    for i, m in enumerate(mets):
        data[m] = [r.metric_values[i].value for r in rows]
    return pd.DataFrame(data)


def _paged_rows(clients, req, name):
    """Fetch a report in pages ordered by every dimension; restart once if row_count moves mid-way."""
    for attempt in range(2):
        rows: list = []
        total = None
        offset = 0
        moved = False
        while True:
            page_req = type(req)(req)
            page_req.offset = offset
            page_req.limit = PAGE
            try:
                rep = clients.data.run_report(request=page_req)
            except ApiError as exc:
                exc.resource = name
                raise
            if total is None:
                total = rep.row_count
            elif rep.row_count != total:
                moved = True
                break
            rows.extend(rep.rows)
            offset += len(rep.rows)
            if not rep.rows or offset >= total:
                break
        if not moved:
            return rows
    raise Ga4kitError(
        f"GA4 changed the data for {name} while ga4kit was paging through it (row_count moved twice).",
        "Run the pull again; recent days settle within 72 hours, or pull a range that ends earlier.")


def _note_metadata(meta: PropertyMeta, rep) -> None:
    md = rep.metadata
    meta.subject_to_thresholding |= bool(getattr(md, "subject_to_thresholding", False))
    meta.sampled |= bool(len(getattr(md, "sampling_metadatas", []) or []))
    meta.data_loss_from_other_row |= bool(getattr(md, "data_loss_from_other_row", False))
    if getattr(md, "currency_code", ""):
        meta.currency = md.currency_code
    if getattr(md, "time_zone", ""):
        meta.time_zone = md.time_zone
    q = rep.property_quota
    if q is not None:
        for key in ("tokens_per_day", "tokens_per_hour", "concurrent_requests", "server_errors_per_project_per_hour",
                    "potentially_thresholded_requests_per_hour", "tokens_per_project_per_hour"):
            status = getattr(q, key, None)
            if status is not None and (status.consumed or status.remaining):
                meta.quota[key] = {"consumed": int(status.consumed), "remaining": int(status.remaining)}
