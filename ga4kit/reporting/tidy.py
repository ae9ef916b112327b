"""Turn every property's report tables into the pull's tidy frames, in one pass at the end of a pull.

Working per property cost most of a large pull: pandas' per-call overhead (map, astype, to_datetime on
a few hundred rows) times hundreds of properties. Here each column is built once for all properties:
plain lists are joined, each row's period becomes an index into one table of periods, and strings
become numbers with one numpy conversion per column.

Rows keep the order GA4 sent them in: property by property (in the pull's order), report by report
(by segment, then over all traffic), each report ordered by its dimensions.
"""

from __future__ import annotations

from typing import Any, Iterable

from ga4kit import money
from ga4kit.frames import columns as frame_columns
from ga4kit.constants import ALL
from ga4kit.reporting.requests import BASELINE, EVENTS

EVENT_RENAMES = {"eventCount": "event_count", "totalUsers": "users", "eventValue": "value", "keyEvents": "key_events"}
BASE_RENAMES = {"totalUsers": "users", "sessions": "sessions"}
INTEGERS = ("event_count", "users", "sessions")
FLOATS = ("value", "key_events")


def event_columns(segments) -> list[str]:
    """The columns of ``PullResult.events`` for these segments (documented in :mod:`ga4kit.frames`)."""
    return frame_columns("events", segments)


def baseline_columns(segments) -> list[str]:
    """The columns of ``PullResult.baseline`` for these segments (documented in :mod:`ga4kit.frames`)."""
    return frame_columns("baseline", segments)


def frames(pulls: list, segments: tuple[str, ...], goals: Iterable[Any]) -> dict[str, Any]:
    """{"events", "baseline", "previous_events", "previous_baseline"} from ``pulls``
    (:class:`ga4kit.reporting.pull.PropertyPull`, in the pull's order)."""
    goals = list(goals)
    out = {}
    for kind, columns in ((EVENTS, event_columns(segments)), (BASELINE, baseline_columns(segments))):
        table = _table(_gather(pulls, kind, segments), kind, segments, goals)
        for when, previous in (("", False), ("previous_", True)):
            out[f"{when}{kind}"] = _select(table, previous, kind, columns)
    return out


def empty(columns: list[str]):
    """The frame of a pull without rows, with the dtypes a pull with rows has: text as text (not float64,
    which a merge would then try to turn the existing rows' text into), dates as datetime64[us]."""
    import pandas as pd

    def column(name: str):
        if name in ("period_start", "period_end"):
            return pd.Series([], dtype="datetime64[us]")
        if name in INTEGERS or name == "key_events":
            return pd.Series([], dtype="int64")
        if name in FLOATS:
            return pd.Series([], dtype="float64")
        return pd.Series([], dtype=object).astype(str)  # str where pandas infers it for text, else object

    return pd.DataFrame({c: column(c) for c in columns})


class _Rows:
    """The rows of one kind over every property, column-wise, before conversion."""

    def __init__(self, segments):
        self.prop: list = []  # (property index, rows) runs
        self.codes: list = []  # numpy arrays: each row's index into ``periods``
        self.segments: dict[str, list[str]] = {s: [] for s in segments}
        self.metrics: dict[str, list[str]] = {}
        self.event: list[str] = []
        self.periods: list = []  # (label, start, end, is_previous) over every property
        self.properties: list = []  # (pid, name, currency)


def _gather(pulls: list, kind: str, segments: tuple[str, ...]) -> _Rows:
    import numpy as np

    acc = _Rows(segments)
    metrics = EVENT_RENAMES if kind == EVENTS else BASE_RENAMES
    acc.metrics = {m: [] for m in metrics}
    for pi, pp in enumerate(pulls):
        meta = pp.meta
        acc.properties.append((meta.property, meta.name, meta.currency))
        base = len(acc.periods)
        acc.periods.extend((p.label, p.start, p.end, i >= pp.current) for i, p in enumerate(pp.periods))
        for report, table in pp.tables:
            if report.kind != kind or not table.rows:
                continue
            n = table.rows
            acc.prop.append((pi, n))
            keys = _period_keys(report, table)
            lookup = report.period_keys
            codes = np.fromiter((lookup.get(k, -1) for k in keys), dtype=np.int64, count=n) if keys is not None \
                else np.full(n, lookup[""], dtype=np.int64)
            acc.codes.append(np.where(codes >= 0, codes + base, -1))
            for s in segments:
                acc.segments[s].extend(table.columns[s] if report.segmented else [ALL] * n)
            for m in metrics:
                acc.metrics[m].extend(table.columns[m])
            if kind == EVENTS:
                acc.event.extend(table.columns["eventName"])
    return acc


def _period_keys(report, table) -> list[str] | None:
    dims = report.period_dimensions
    if not dims:
        return None
    if len(dims) == 1:
        return table.columns[dims[0]]
    return ["|".join(parts) for parts in zip(*(table.columns[d] for d in dims))]


def _table(acc: _Rows, kind: str, segments, goals) -> tuple[dict, Any] | None:
    """(column -> values of every row in a wanted period, whether each row is of the previous window)."""
    import numpy as np

    if not acc.codes:
        return None
    codes = np.concatenate(acc.codes)
    prop = np.repeat(np.array([p for p, _ in acc.prop], dtype=np.int64), [n for _, n in acc.prop])
    keep = codes >= 0  # a day outside the wanted periods (the span is strict, but be sure)
    codes, prop = codes[keep], prop[keep]

    def pick(values) -> np.ndarray:
        return np.asarray(values, dtype=object)[keep]

    periods, props = acc.periods, acc.properties
    data: dict[str, Any] = {
        "property": np.array([p[0] for p in props], dtype=object)[prop],
        "property_name": np.array([p[1] for p in props], dtype=object)[prop],
        "period": np.array([p[0] for p in periods], dtype=object)[codes],
        "period_start": np.array([p[1] for p in periods], dtype="datetime64[us]")[codes],
        "period_end": np.array([p[2] for p in periods], dtype="datetime64[us]")[codes],
    }
    for s in segments:
        data[s] = pick(acc.segments[s])
    renames = EVENT_RENAMES if kind == EVENTS else BASE_RENAMES
    data.update({renames[m]: _number(acc.metrics[m], renames[m] in INTEGERS)[keep] for m in renames})
    if kind == EVENTS:
        event = pick(acc.event)
        types = {g.event: g.type for g in goals}
        kinds = {g.event: g.kind for g in goals}
        data["event"] = event
        data["goal_type"] = np.array([types.get(e) for e in event], dtype=object)
        data["goal_kind"] = np.array([kinds.get(e) for e in event], dtype=object)
        data["currency"] = np.array([p[2] for p in props], dtype=object)[prop]
        data["value"] = _round_money(data["value"], prop, [p[2] for p in props])
    return data, np.array([p[3] for p in periods], dtype=bool)[codes]


def _select(table, previous: bool, kind: str, columns: list[str]):
    """The frame of the current (or previous) window's rows."""
    import numpy as np
    import pandas as pd

    if table is None or not (table[1] == previous).any():
        return empty(columns)
    data, is_previous = table
    rows = is_previous == previous
    df = pd.DataFrame({c: data[c][rows] for c in columns})
    if kind == EVENTS:
        ke = df["key_events"].to_numpy()
        if bool((ke == np.round(ke)).all()):  # GA4 answers whole key event counts: keep them integers
            df["key_events"] = df["key_events"].astype("int64")
    return df


def _number(values: list[str], integer: bool):
    """GA4's metric strings as int64 or float64; what is not a number counts 0."""
    import numpy as np
    import pandas as pd

    try:
        out = np.array(values, dtype=np.int64 if integer else np.float64)
    except (TypeError, ValueError):
        out = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=np.float64)
        out = np.where(np.isnan(out), 0.0, out)
        return out.astype(np.int64) if integer else out
    if not integer:
        out[np.isnan(out)] = 0.0
    return out


def _round_money(values, prop, currencies: list[str | None]):
    """Amounts rounded to the minor unit of their property's currency."""
    import numpy as np

    digits = np.array([money.minor_units(c) for c in currencies], dtype=np.int64)[prop]
    out = values.copy()
    for d in np.unique(digits):
        mask = digits == d
        out[mask] = np.round(values[mask], int(d))
    return out
