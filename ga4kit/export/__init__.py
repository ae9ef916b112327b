"""Exact chains and influence from the GA4 BigQuery export (event level, per user).

``export_chains(config, SOURCE)`` runs the two queries of :mod:`ga4kit.export.sql` (written in BigQuery's
dialect) on SOURCE: local export files (NDJSON or Parquet) with DuckDB in-process
(:mod:`ga4kit.export.duck`, through sqlglot's transpiler), or ``bq://PROJECT.DATASET`` in BigQuery
(:mod:`ga4kit.export.bigquery`). Only aggregated rows come back. Needs the ``export`` extra
(``pip install "ga4kit[export]"``: duckdb, sqlglot, google-cloud-bigquery).

Results: ``chains`` (one row per chain, period, segment value and step: in-order users, rates, the
quartiles of the time from the previous step and of the sessions since step 1) and ``influence`` (the
table of :func:`ga4kit.influence.influence_table`, exact: ``estimated`` is False).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import ga4kit.frames as F
from ga4kit.config.model import GoalsConfig
from ga4kit.constants import ALL
from ga4kit.errors import Ga4kitError
from ga4kit.influence import MIN_USERS, influence_table, ranked
from ga4kit.reporting import periods as P

_PROPERTY = re.compile(r"analytics_(\d+)")



@dataclass
class ExportResult:
    chains: Any
    influence: Any
    segments: tuple[str, ...]
    grain: str
    start: dt.date
    end: dt.date
    within: int | None
    source: str
    property: str
    sql: dict[str, str] = field(default_factory=dict)  # query name -> the BigQuery text that ran
    bytes_processed: int | None = None  # BigQuery only

    def meta(self) -> dict:
        return {"title": "GA4 goals and conversion chains (BigQuery export)", "source": self.source,
                "property": self.property, "range": f"{self.start} to {self.end}", "grain": self.grain,
                "segments": list(self.segments), "within_seconds": self.within,
                **({"bytes_processed": self.bytes_processed} if self.bytes_processed is not None else {})}


def open_source(source: str, *, credentials_file: str | None = None):
    """The runner for SOURCE: BigQuery for ``bq://PROJECT.DATASET``, DuckDB for local files."""
    _check_installed(source)
    if str(source).startswith("bq://"):
        from ga4kit.export.bigquery import BigQueryRunner

        return BigQueryRunner(str(source), credentials_file=credentials_file)
    from ga4kit.export.duck import DuckDBRunner

    return DuckDBRunner(source)


def _check_installed(source: str) -> None:
    import importlib.util

    needed = ["sqlglot", "google.cloud.bigquery"] if str(source).startswith("bq://") else ["duckdb", "sqlglot"]
    missing = [m for m in needed if importlib.util.find_spec(m.split(".")[0]) is None
               or (m.startswith("google.") and _missing_google(m))]
    if missing:
        raise Ga4kitError(f"Reading the export needs {', '.join(missing)}, which is not installed.",
                          'Install the extra: pip install "ga4kit[export]".')


def _missing_google(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is None
    except ModuleNotFoundError:
        return True


def export_chains(config: GoalsConfig, source: str, *, start: str | None = None, end: str | None = None,
                  segments: tuple[str, ...] | None = None, grain: str | None = None, within: int | None = None,
                  min_users: int = MIN_USERS, today: dt.date | None = None, runner=None,
                  credentials_file: str | None = None) -> ExportResult:
    """Exact chains and influence from the export at ``source`` (see the module docstring).

    Relative dates ("28daysAgo") resolve against ``today`` (default: today in UTC); ``within``: seconds
    allowed between two steps of a chain and from a micro goal to a macro goal (None: no limit).
    ``runner``: anything with ``table`` and ``run(sql) -> DataFrame`` (default: from ``source``).
    """
    from ga4kit.export.sql import Span, chains_sql, influence_sql, segment_expressions

    segs = tuple(config.report.segments if segments is None else segments)
    segment_expressions(segs)  # an unknown segment fails before any query
    grain = grain or config.report.grain
    day0 = today or dt.datetime.now(dt.timezone.utc).date()
    s_text, e_text = start or config.report.start, end or config.report.end
    P.check_order(s_text, e_text, today=day0, end_is_default=end is None)
    first, last = P.resolve(s_text, day0), P.resolve(e_text, day0)
    periods = P.split(first, last, grain)
    if within is not None and within <= 0:
        raise Ga4kitError(f"The window must be positive, not {within} seconds.", "Pass --within 7d, 24h or 30m.")
    spans = [Span(p.label, p.start.strftime("%Y%m%d"), p.end.strftime("%Y%m%d")) for p in periods]
    own = runner is None
    runner = runner or open_source(source, credentials_file=credentials_file)
    pid = _property(config, source)
    within_us = within * 1_000_000 if within else None
    sql: dict[str, str] = {}
    try:
        chains = None
        if config.chains:
            sql["chains"] = chains_sql(runner.table, spans, segs,
                                       [(c.name, list(c.steps), within_us) for c in config.chains])
            chains = _chains(config, runner.run(sql["chains"]), periods, segs, pid)
        pairs = [(m.event, g.event, within_us) for g in config.macro_goals for m in config.micro_goals]
        table = None
        if pairs:
            sql["influence"] = influence_sql(runner.table, spans, segs, pairs)
            table = _influence(runner.run(sql["influence"]), periods, segs, pid, within, min_users)
    finally:
        if own:
            runner.close()
    if chains is None and table is None:
        raise Ga4kitError("The goals file declares no chains and no micro and macro goals: nothing to compute.",
                          "Declare chains, or micro and macro goals.")
    return ExportResult(chains if chains is not None else _empty_chains(segs),
                        table if table is not None else _empty_influence(segs), segs, grain, first, last, within,
                        getattr(runner, "description", str(source)), pid, sql,
                        getattr(runner, "bytes_processed", None))


def _property(config: GoalsConfig, source: str) -> str:
    """The GA4 property the export belongs to: from an ``analytics_<id>`` dataset or path, else the goals
    file's only property, else "export"."""
    m = _PROPERTY.search(str(source))
    if m:
        return m.group(1)
    if len(config.properties) == 1:
        return config.properties[0].id
    return "export"


def _seg_names(frame, segs):
    return frame.rename(columns={f"seg_{i}": s for i, s in enumerate(segs)})


def _chains(config: GoalsConfig, rows, periods, segs, pid: str):
    """Every step of every chain for each period and segment value seen (0 users where none got there),
    with rates and drop-off."""
    import numpy as np
    import pandas as pd

    rows = _seg_names(rows, segs)
    goal_types = {g.event: g.type for g in config.goals}
    by_label = {p.label: p for p in periods}
    frames = []
    for chain in config.chains:
        got = rows[rows["chain"] == chain.name]
        groups = got[["period", *segs]].drop_duplicates()
        steps = pd.DataFrame({"step_index": np.arange(1, len(chain.steps) + 1), "step": list(chain.steps)})
        grid = groups.merge(steps, how="cross")
        grid["chain"] = chain.name
        frame = grid.merge(got.drop(columns=["chain"]), on=["period", *segs, "step_index"], how="left")
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True) if frames else rows.iloc[0:0]
    if not len(out):
        return _empty_chains(segs)
    out["users_exact"] = out["users"].fillna(0).astype("int64")
    keys = ["chain", "period", *segs]
    out = out.sort_values([*keys, "step_index"], kind="stable").reset_index(drop=True)
    grouped = out.groupby(keys, sort=False)["users_exact"]
    prev = grouped.shift(1)
    first = grouped.transform("first")
    last = grouped.transform("last")
    users = out["users_exact"].astype("float64")
    out["rate_exact"] = np.where(prev > 0, users / prev, np.nan)
    out["rate_from_first"] = np.where(first > 0, users / first, np.nan)
    out["drop_off"] = (prev - users).astype("Int64")
    out["macro_share_exact"] = np.where(users > 0, last / users, np.nan)
    out["goal_type"] = out["step"].map(goal_types)
    out["property"] = pid
    out["period_start"] = pd.to_datetime(out["period"].map({k: p.start for k, p in by_label.items()}))
    out["period_end"] = pd.to_datetime(out["period"].map({k: p.end for k, p in by_label.items()}))
    out = out.rename(columns={"seconds_q1": "seconds_from_previous_q1",
                              "seconds_median": "seconds_from_previous_median",
                              "seconds_q3": "seconds_from_previous_q3"})
    out = out[F.columns("export_chains", segs)]
    # "(all)" first, then segment values in order, as the Data API's chains list them.
    order = out[list(segs)].eq(ALL).all(axis=1) if segs else pd.Series(True, index=out.index)
    out = out.assign(_all=~order).sort_values(["chain", "period", "_all", *segs, "step_index"], kind="stable")
    return out.drop(columns="_all").reset_index(drop=True)


def _influence(rows, periods, segs, pid: str, within, min_users: int):
    import pandas as pd

    rows = _seg_names(rows, segs)
    counts = rows[["period", *segs, "micro", "macro", "all_users", "micro_users", "macro_users", "in_order_users",
                   "other_macro_users"]].copy()
    for c in ("all_users", "micro_users", "macro_users", "in_order_users", "other_macro_users"):
        counts[c] = counts[c].fillna(0).astype("int64")
    counts.insert(0, "property", pid)
    table = influence_table(counts, min_users=min_users)
    table.insert(table.columns.get_loc("macro") + 1, "within_seconds", pd.array([within] * len(table), dtype="Int64"))
    return ranked(table, ["property", "period", *segs, "macro"])[F.columns("influence", segs)]


def _empty_chains(segs):
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype="object") for c in F.columns("export_chains", segs)})


def _empty_influence(segs):
    import pandas as pd

    counts = pd.DataFrame({c: pd.Series(dtype="object") for c in ["property", "period", *segs, "micro", "macro"]})
    for c in ("all_users", "micro_users", "macro_users", "in_order_users", "other_macro_users"):
        counts[c] = pd.Series(dtype="int64")
    table = influence_table(counts)
    table.insert(table.columns.get_loc("macro") + 1, "within_seconds", pd.Series(dtype="Int64"))
    return table[F.columns("influence", segs)]
