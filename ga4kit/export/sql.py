"""The queries behind exact chains and influence, written once in BigQuery's dialect over the GA4 export.

The export has one table per day, ``events_YYYYMMDD`` (``_TABLE_SUFFIX`` selects the days), one row per
event: ``event_date`` (the day in the property's time zone), ``event_timestamp`` (µs, UTC),
``event_name``, ``user_pseudo_id``, ``event_params`` (a repeated key/value record; the session is
``user_pseudo_id`` + the ``ga_session_id`` parameter) and nested records for the segments (``device``,
``geo``, ``traffic_source``, ``session_traffic_source_last_click``).

BigQuery runs this text as it is; :mod:`ga4kit.export.duck` runs the same text on DuckDB after sqlglot's
transpiler, so what is tested locally is what BigQuery receives. Only the table name differs between
sources. Everything computed per event stays in the engine: what comes back is one row per chain step
(or goal pair), segment and period.

Semantics (the same as GA4's closed funnels, :mod:`ga4kit.emulator.funnel` models them):

- each period is a funnel of its own over the events of its days (``event_date``);
- step 1 is reached at any event of its name; step k at an event of its name that comes after a reached
  step k-1 event of the same user (and, with a window, no more than the window after the latest such
  event). Taking the latest earlier step k-1 event decides it, so every step is one window function.
  Events with the same timestamp count as in order;
- a step's segment is the segment on the event that first reached the step for that user (GA4's funnel
  breakdown); "(all)" rows hold every user;
- ``seconds_from_previous``: from the reached step k-1 event that qualified the user's first step k event
  to that event; ``sessions``: the sessions from the user's first step 1 event to their first step k event,
  both included (1 = the same session), by GA4's own session count (the ``ga_session_number`` parameter:
  step k's number - step 1's + 1);
- influence: users are put in the segment of their first event in the period, so the users who did and
  did not do the micro goal split each segment's users exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ga4kit.constants import ALL
from ga4kit.errors import Ga4kitError

NOT_SET = "(not set)"

# Data API dimension -> the export field that holds it (session-scoped fields are on every event).
SEGMENT_FIELDS = {
    "sessionDefaultChannelGroup": "e.session_traffic_source_last_click.cross_channel_campaign.default_channel_group",
    "sessionSource": "e.session_traffic_source_last_click.manual_campaign.source",
    "sessionMedium": "e.session_traffic_source_last_click.manual_campaign.medium",
    "sessionCampaignName": "e.session_traffic_source_last_click.manual_campaign.campaign_name",
    "firstUserSource": "e.traffic_source.source",
    "firstUserMedium": "e.traffic_source.medium",
    "firstUserCampaignName": "e.traffic_source.name",
    "deviceCategory": "e.device.category",
    "operatingSystem": "e.device.operating_system",
    "browser": "e.device.web_info.browser",
    "country": "e.geo.country",
    "region": "e.geo.region",
    "city": "e.geo.city",
    "continent": "e.geo.continent",
    # The export writes WEB / ANDROID / IOS; the Data API answers web / Android / iOS.
    "platform": "CASE e.platform WHEN 'WEB' THEN 'web' WHEN 'ANDROID' THEN 'Android' WHEN 'IOS' THEN 'iOS' "
                "ELSE e.platform END",
}

_PROJECT = re.compile(r"^(?:[a-z][a-z0-9.-]{0,62}:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_DATASET = re.compile(r"^[A-Za-z0-9_]{1,1024}$")


@dataclass(frozen=True)
class Span:
    """A period of the report: its label and first and last day (``event_date`` text, YYYYMMDD)."""

    label: str
    first_day: str
    last_day: str


def table_name(project: str, dataset: str) -> str:
    """The wildcard table of a GA4 export dataset, quoted for BigQuery."""
    if not _PROJECT.match(project):
        raise Ga4kitError(f"{project!r} is not a Google Cloud project id.",
                          "Use bq://PROJECT.DATASET, e.g. bq://my-project.analytics_123456789.")
    if not _DATASET.match(dataset):
        raise Ga4kitError(f"{dataset!r} is not a BigQuery dataset name (letters, digits, underscores).",
                          "GA4 names its export dataset analytics_<property id>, e.g. analytics_123456789.")
    return f"`{project}.{dataset}.events_*`"


def segment_expressions(segments) -> list[str]:
    """The export expression of each segment dimension (Data API names)."""
    unknown = [s for s in segments if s not in SEGMENT_FIELDS]
    if unknown:
        raise Ga4kitError(f"Segment {', '.join(unknown)} cannot be read from the BigQuery export.",
                          f"Use one of {', '.join(sorted(SEGMENT_FIELDS))}.")
    return [SEGMENT_FIELDS[s] for s in segments]


def literal(text: str) -> str:
    """A BigQuery string literal."""
    return "'" + str(text).replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def _int(value: int | None) -> str:
    return "CAST(NULL AS INT64)" if value is None else str(int(value))


def _periods(spans: list[Span]) -> str:
    rows = ",\n    ".join(f"STRUCT({literal(s.label)} AS period, {literal(s.first_day)} AS first_day, "
                          f"{literal(s.last_day)} AS last_day)" for s in spans)
    return f"periods AS (\n  SELECT * FROM UNNEST([\n    {rows}\n  ])\n)"


def _events(table: str, spans: list[Span], seg_exprs: list[str], names: list[str] | None, sessions: bool) -> str:
    """Events of the periods' days with period, user, time, session and segment columns (``names``: only
    these event names)."""
    cols = ["p.period", "e.user_pseudo_id AS user_id", "e.event_name", "e.event_timestamp AS ts"]
    if sessions:
        cols.append("(SELECT ep.value.int_value FROM UNNEST(e.event_params) AS ep "
                    "WHERE ep.key = 'ga_session_number') AS session_number")
    cols += [f"IFNULL(CAST({x} AS STRING), {literal(NOT_SET)}) AS seg_{i}" for i, x in enumerate(seg_exprs)]
    first = min(s.first_day for s in spans)
    last = max(s.last_day for s in spans)
    where = [f"_TABLE_SUFFIX BETWEEN {literal(first)} AND {literal(last)}"]
    if names is not None:
        where.append(f"e.event_name IN ({', '.join(literal(n) for n in names)})")
    body = ",\n    ".join(cols)
    return (f"  SELECT\n    {body}\n  FROM {table} AS e\n"
            f"  JOIN periods AS p ON e.event_date BETWEEN p.first_day AND p.last_day\n"
            f"  WHERE " + "\n    AND ".join(where))


def _segs(n: int, prefix: str = "") -> str:
    return "".join(f", {prefix}seg_{i}" for i in range(n))


def _first_by(n: int, prefix: str = "") -> str:
    """The session number and segments of the earliest row (``MIN_BY(x, ts)``)."""
    cols = ["session_number", *(f"seg_{i}" for i in range(n))]
    return "".join(f", MIN_BY({prefix}{c}, {prefix}ts) AS {c}" for c in cols)


def _reached_first(depth: int, n: int) -> list[str]:
    """Without a window every step-k event after the user's first step k-1 event is reached, so each step is
    one join and one aggregate: the first reach ``first_k`` and the latest reached step k-1 event before it
    (``prior_k``, the step k-1 events from the first step k-2 event on)."""
    segs = _segs(n)
    key = "ON {a}.chain = {b}.chain AND {a}.period = {b}.period AND {a}.user_id = {b}.user_id"
    ctes = [f"first_1 AS (\n  SELECT chain, period, user_id, MIN(ts) AS ts{_first_by(n)}, "
            f"MIN_BY(session_number, ts) AS start_session\n"
            f"  FROM goal WHERE step_index = 1\n  GROUP BY chain, period, user_id\n)"]
    for k in range(2, depth + 1):
        ctes.append(
            f"first_{k} AS (\n  SELECT g.chain, g.period, g.user_id, MIN(g.ts) AS ts{_first_by(n, 'g.')}, "
            f"ANY_VALUE(f.start_session) AS start_session\n"
            f"  FROM goal AS g JOIN first_{k - 1} AS f {key.format(a='f', b='g')}\n"
            f"  WHERE g.step_index = {k} AND g.ts >= f.ts\n  GROUP BY g.chain, g.period, g.user_id\n)")
        since = (f"  JOIN first_{k - 2} AS b {key.format(a='b', b='f')}\n" if k > 2 else "")
        ctes.append(
            f"prior_{k} AS (\n  SELECT f.chain, f.period, f.user_id, MAX(g.ts) AS prior_ts\n"
            f"  FROM first_{k} AS f JOIN goal AS g {key.format(a='g', b='f')} AND g.step_index = {k - 1}\n{since}"
            f"  WHERE g.ts <= f.ts{' AND g.ts >= b.ts' if k > 2 else ''}\n"
            f"  GROUP BY f.chain, f.period, f.user_id\n)")
    parts = [f"  SELECT chain, period, user_id, 1 AS step_index, ts, session_number{segs}, "
             f"CAST(NULL AS INT64) AS prior_ts, start_session FROM first_1"]
    parts += [f"  SELECT f.chain, f.period, f.user_id, {k} AS step_index, f.ts, f.session_number{_segs(n, 'f.')}, "
              f"p.prior_ts, f.start_session\n  FROM first_{k} AS f JOIN prior_{k} AS p {key.format(a='p', b='f')}"
              for k in range(2, depth + 1)]
    return ctes + ["firsts AS (\n" + "\n  UNION ALL\n".join(parts) + "\n)"]


def _reached_windowed(depth: int, n: int) -> list[str]:
    """With a window, step k is reached at a step-k event whose latest earlier reached step k-1 event is
    within the window: one window function per step over the reached k-1 events and the step-k events."""
    segs = _segs(n)
    ctes = [f"reach_1 AS (\n  SELECT chain, period, user_id, ts, session_number{segs}, CAST(NULL AS INT64) AS prior_ts\n"
            f"  FROM goal WHERE step_index = 1\n)"]
    for k in range(2, depth + 1):
        ctes.append(
            f"reach_{k} AS (\n"
            f"  SELECT chain, period, user_id, ts, session_number{segs}, prior_ts FROM (\n"
            f"    SELECT *, MAX(IF(k = 0, ts, NULL)) OVER (PARTITION BY chain, period, user_id ORDER BY ts, k\n"
            f"      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prior_ts\n"
            f"    FROM (\n"
            f"      SELECT chain, period, user_id, ts, session_number{segs}, 0 AS k, CAST(NULL AS INT64) AS within_us "
            f"FROM reach_{k - 1}\n"
            f"      UNION ALL\n"
            f"      SELECT chain, period, user_id, ts, session_number{segs}, 1 AS k, within_us FROM goal "
            f"WHERE step_index = {k}\n"
            f"    ) AS candidates\n"
            f"  ) AS ordered\n"
            f"  WHERE k = 1 AND prior_ts IS NOT NULL AND (within_us IS NULL OR ts - prior_ts <= within_us)\n)")
    reached = "\n      UNION ALL\n".join(
        f"      SELECT chain, period, user_id, {k} AS step_index, ts, session_number{segs}, prior_ts FROM reach_{k}"
        for k in range(1, depth + 1))
    return ctes + [f"firsts AS (\n  SELECT chain, period, user_id, step_index, MIN(ts) AS ts{_first_by(n)}, "
            f"MIN_BY(prior_ts, ts) AS prior_ts\n"
            f"  FROM (\n{reached}\n  ) AS reached\n  GROUP BY chain, period, user_id, step_index\n)"]


def chains_sql(table: str, spans: list[Span], segments, chains) -> str:
    """Exact chains: per chain, period, segment value ("(all)" included) and step: the users who reached the
    step in order, the quartiles of the seconds from the previous step and of the sessions since step 1.

    ``chains``: [(name, [event, ...], within_us or None)] (the window applies between every two steps).
    Columns: chain, period, seg_0.., step_index, users, seconds_q1, seconds_median, seconds_q3,
    sessions_q1, sessions_median, sessions_q3.
    """
    seg_exprs = segment_expressions(segments)
    n = len(seg_exprs)
    steps = [(name, i + 1, event, within if i else None) for name, events, within in chains
             for i, event in enumerate(events)]
    depth = max(len(events) for _, events, _ in chains)
    names = sorted({event for _, _, event, _ in steps})
    step_rows = ",\n    ".join(f"STRUCT({literal(c)} AS chain, {i} AS step_index, {literal(e)} AS event_name, "
                               f"{_int(w)} AS within_us)" for c, i, e, w in steps)
    segs = _segs(n)
    ctes = [
        _periods(spans),
        f"steps AS (\n  SELECT * FROM UNNEST([\n    {step_rows}\n  ])\n)",
        # Only the chains' events are read past the scan.
        f"events AS (\n{_events(table, spans, seg_exprs, names, True)}\n)",
        f"goal AS (\n  SELECT s.chain, s.step_index, s.within_us, e.period, e.user_id, e.ts, e.session_number"
        f"{_segs(n, 'e.')}\n"
        f"  FROM events AS e JOIN steps AS s ON e.event_name = s.event_name\n)",
    ]
    windowed = any(w is not None for _, _, _, w in steps)
    ctes += _reached_windowed(depth, n) if windowed else _reached_first(depth, n)
    # Step 1's session number: carried along without a window, else the user's step 1 row.
    start = ("FIRST_VALUE(session_number) OVER (PARTITION BY chain, period, user_id ORDER BY step_index)"
             if windowed else "start_session")
    ctes += [
        # Sessions from step 1 to step k, both included: GA4 numbers each user's sessions (ga_session_number).
        f"measured AS (\n  SELECT chain, period, user_id, step_index{segs},\n"
        f"    CAST(ts - prior_ts AS FLOAT64) / 1000000 AS seconds,\n"
        f"    session_number - {start} + 1 AS sessions\n"
        f"  FROM firsts\n)",
        # Each row once per segment value and once for "(all)" (without segments, all rows are "(all)").
        f"expanded AS (\n  SELECT chain, period, step_index{segs}, seconds, sessions FROM measured\n"
        + (f"  UNION ALL\n  SELECT chain, period, step_index"
           + "".join(f", {literal(ALL)} AS seg_{i}" for i in range(n)) +
           ", seconds, sessions FROM measured\n" if n else "") + ")",
    ]
    ctes += _quartile_ctes(["chain", "period", "step_index", *(f"seg_{i}" for i in range(n))])
    keys = f"t.chain, t.period{_segs(n, 't.')}, t.step_index"
    on = " AND ".join(f"{{a}}.{c} = t.{c}" for c in ["chain", "period", "step_index", *(f"seg_{i}" for i in range(n))])
    stats = ",\n  ".join(
        f"{m}.lo_{q} + (t.{c}_h_{q} - FLOOR(t.{c}_h_{q})) * ({m}.hi_{q} - {m}.lo_{q}) AS {c}_{q}"
        for c, m in (("seconds", "a"), ("sessions", "b")) for q in QUARTILES)
    return ("WITH " + ",\n".join(ctes) +
            f"\nSELECT {keys}, t.users,\n  {stats}\n"
            f"FROM targets AS t\nLEFT JOIN seconds_stats AS a ON {on.format(a='a')}\n"
            f"LEFT JOIN sessions_stats AS b ON {on.format(a='b')}\n"
            f"ORDER BY {keys}\n")


QUARTILES = {"q1": 0.25, "median": 0.5, "q3": 0.75}


def _quartile_ctes(part_cols: list[str]) -> list[str]:
    """Exact quartiles of ``seconds`` and ``sessions`` per group of ``expanded``, as PERCENTILE_CONT gives
    them (numpy's default too): with h = (n - 1) * q, the value at rank floor(h) + 1 plus the fraction of h
    toward the next rank. BigQuery has PERCENTILE_CONT only as a window function, and six of those over
    every reached step cost DuckDB more than the rest of the query; here the seconds are ranked once
    (ROW_NUMBER) and the sessions, a few small numbers, are counted per value (a rank range each).
    ``targets`` holds each group's users and positions h; ``{seconds,sessions}_stats`` the values at the
    ranks around them (``lo_q1``, ``hi_q1``, ...)."""
    part = ", ".join(part_cols)
    on = " AND ".join(f"v.{c} = t.{c}" for c in part_cols)
    positions = ",\n    ".join(f"COUNT({c}) AS {c}_n, " + ", ".join(
        f"(COUNT({c}) - 1) * CAST({q} AS FLOAT64) AS {c}_h_{name}" for name, q in QUARTILES.items())
        for c in ("seconds", "sessions"))

    def stats(col: str, source: str) -> str:
        # A row with values at ranks (upto - c, upto] covers rank k when upto - c < k <= upto.
        def at(rank: str) -> str:
            return f"MAX(IF({rank} > v.upto - v.c AND {rank} <= v.upto, v.value, NULL))"

        picks = ",\n    ".join(
            f"{at(f'CAST(FLOOR(t.{col}_h_{q}) AS INT64) + 1')} AS lo_{q},\n    "
            f"{at(f'LEAST(CAST(FLOOR(t.{col}_h_{q}) AS INT64) + 2, t.{col}_n)')}"
            f" AS hi_{q}" for q in QUARTILES)
        return (f"{col}_stats AS (\n  SELECT {', '.join(f't.{c}' for c in part_cols)},\n    {picks}\n"
                f"  FROM targets AS t JOIN {source} AS v ON {on}\n  GROUP BY {', '.join(f't.{c}' for c in part_cols)}\n)")

    return [
        f"targets AS (\n  SELECT {part}, COUNT(*) AS users,\n    {positions}\n  FROM expanded GROUP BY {part}\n)",
        f"seconds_ranked AS (\n  SELECT {part}, seconds AS value, 1 AS c,\n"
        f"    ROW_NUMBER() OVER (PARTITION BY {part} ORDER BY seconds) AS upto\n"
        f"  FROM expanded WHERE seconds IS NOT NULL\n)",
        f"sessions_ranked AS (\n  SELECT {part}, value, c,\n"
        f"    SUM(c) OVER (PARTITION BY {part} ORDER BY value ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS upto\n"
        f"  FROM (\n    SELECT {part}, CAST(sessions AS FLOAT64) AS value, COUNT(*) AS c\n"
        f"    FROM expanded WHERE sessions IS NOT NULL GROUP BY {part}, value\n  ) AS counted\n)",
        stats("seconds", "seconds_ranked"),
        stats("sessions", "sessions_ranked"),
    ]


def influence_sql(table: str, spans: list[Span], segments, pairs) -> str:
    """Exact influence counts: per goal pair, period and segment value ("(all)" included): all_users,
    micro_users, macro_users, in_order_users (the micro goal, then the macro goal within the window) and
    other_macro_users (the macro goal without the micro goal).

    ``pairs``: [(micro, macro, within_us or None)].
    """
    seg_exprs = segment_expressions(segments)
    n = len(seg_exprs)
    segs = _segs(n)
    pair_rows = ",\n    ".join(f"STRUCT({literal(m)} AS micro, {literal(g)} AS macro, {_int(w)} AS within_us)"
                               for m, g, w in pairs)
    users_first = "".join(f", MIN_BY(seg_{i}, ts) AS seg_{i}" for i in range(n))
    all_segs = "".join(f", {literal(ALL)} AS seg_{i}" for i in range(n))
    on_segs = "".join(f" AND c.seg_{i} = t.seg_{i}" for i in range(n))
    ctes = [
        _periods(spans),
        f"pairs AS (\n  SELECT * FROM UNNEST([\n    {pair_rows}\n  ])\n)",
        f"events AS (\n{_events(table, spans, seg_exprs, None, False)}\n)",
        # Every user of a period, in the segment of their first event there.
        *(_counted_windowed(n, users_first) if any(w is not None for _, _, w in pairs)
          else _counted_first(n, users_first, pairs)),
        f"seg_totals AS (\n  SELECT period{segs}, COUNT(*) AS all_users FROM users GROUP BY period{segs}\n)",
        # Each user is in one segment value, so "(all)" is the sum over the values (no segments: the rows).
        f"totals AS (\n  SELECT period{segs}, all_users FROM seg_totals\n"
        + (f"  UNION ALL\n  SELECT period{all_segs}, SUM(all_users) FROM seg_totals GROUP BY period\n" if n else "")
        + ")",
        f"counted AS (\n  SELECT * FROM seg_counted\n"
        + (f"  UNION ALL\n  SELECT micro, macro, period{all_segs}, SUM(micro_users), SUM(macro_users), "
           f"SUM(in_order_users),\n    SUM(other_macro_users)\n  FROM seg_counted GROUP BY micro, macro, period\n"
           if n else "") + ")",
    ]
    return ("WITH " + ",\n".join(ctes) +
            f"\nSELECT p.micro, p.macro, t.period{_segs(n, 't.')}, t.all_users,\n"
            f"  IFNULL(c.micro_users, 0) AS micro_users, IFNULL(c.macro_users, 0) AS macro_users,\n"
            f"  IFNULL(c.in_order_users, 0) AS in_order_users, IFNULL(c.other_macro_users, 0) AS other_macro_users\n"
            f"FROM pairs AS p CROSS JOIN totals AS t\n"
            f"LEFT JOIN counted AS c ON c.micro = p.micro AND c.macro = p.macro AND c.period = t.period{on_segs}\n"
            f"ORDER BY p.macro, p.micro, t.period{_segs(n, 't.')}\n")


def _counted_first(n: int, users_first: str, pairs) -> list[str]:
    """Without a window a user did the macro goal after the micro goal when their last macro event is not
    before their first micro event. So one pass over the events gives each user's segment and first and
    last time of every goal (``users``), and each pair is one small aggregate over the users."""
    names = sorted({g for m, M, _ in pairs for g in (m, M)})
    col = {g: i for i, g in enumerate(names)}
    times = "".join(f",\n    MIN(IF(event_name = {literal(g)}, ts, NULL)) AS first_{i}, "
                    f"MAX(IF(event_name = {literal(g)}, ts, NULL)) AS last_{i}" for g, i in col.items())
    segs = _segs(n)
    per_pair = "\n  UNION ALL\n".join(
        f"  SELECT {literal(m)} AS micro, {literal(M)} AS macro, period{segs},\n"
        f"    SUM(IF(first_{col[m]} IS NULL, 0, 1)) AS micro_users, SUM(IF(last_{col[M]} IS NULL, 0, 1)) AS macro_users,\n"
        f"    SUM(IF(last_{col[M]} >= first_{col[m]}, 1, 0)) AS in_order_users,\n"
        f"    SUM(IF(last_{col[M]} IS NOT NULL AND first_{col[m]} IS NULL, 1, 0)) AS other_macro_users\n"
        f"  FROM users GROUP BY period{segs}" for m, M, _ in pairs)
    return [f"users AS (\n  SELECT period, user_id{users_first}{times}\n  FROM events GROUP BY period, user_id\n)",
            f"seg_counted AS (\n{per_pair}\n)"]


def _counted_windowed(n: int, users_first: str) -> list[str]:
    """With a window, per user and pair from the events (:func:`_in_order_windowed`), then by segment."""
    return [
        f"users AS (\n  SELECT period, user_id{users_first}\n  FROM events GROUP BY period, user_id\n)",
        *_in_order_windowed(),
        f"seg_counted AS (\n"
        f"  SELECT u.micro, u.macro, s.period{_segs(n, 's.')}, SUM(u.did_micro) AS micro_users,\n"
        f"    SUM(u.did_macro) AS macro_users, SUM(u.in_order) AS in_order_users,\n"
        f"    SUM(IF(u.did_macro = 1 AND u.did_micro = 0, 1, 0)) AS other_macro_users\n"
        f"  FROM per_user AS u JOIN users AS s ON s.period = u.period AND s.user_id = u.user_id\n"
        f"  GROUP BY u.micro, u.macro, s.period{_segs(n, 's.')}\n)",
    ]


def _in_order_windowed() -> list[str]:
    """With a window: a macro event counts when the latest micro event before it is within the window."""
    return [
        "marked AS (\n"
        "  SELECT p.micro, p.macro, p.within_us, e.period, e.user_id, e.ts, 0 AS k\n"
        "  FROM events AS e JOIN pairs AS p ON e.event_name = p.micro\n"
        "  UNION ALL\n"
        "  SELECT p.micro, p.macro, p.within_us, e.period, e.user_id, e.ts, 1 AS k\n"
        "  FROM events AS e JOIN pairs AS p ON e.event_name = p.macro\n)",
        "ordered AS (\n"
        "  SELECT *, MAX(IF(k = 0, ts, NULL)) OVER (PARTITION BY micro, macro, period, user_id ORDER BY ts, k\n"
        "    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prior_ts\n  FROM marked\n)",
        "per_user AS (\n"
        "  SELECT micro, macro, period, user_id, MAX(IF(k = 0, 1, 0)) AS did_micro, MAX(IF(k = 1, 1, 0)) AS did_macro,\n"
        "    MAX(IF(k = 1 AND prior_ts IS NOT NULL AND (within_us IS NULL OR ts - prior_ts <= within_us), 1, 0))"
        " AS in_order\n"
        "  FROM ordered GROUP BY micro, macro, period, user_id\n)",
    ]
