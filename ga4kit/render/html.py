"""One self-contained HTML report: funnel charts, goal table, trends, flags and data notes.

Everything is inline (CSS in a <style> block, charts as inline SVG drawn here in Python): no JavaScript,
no web fonts, no external URL, so the page opens offline, can be mailed as an attachment and archived.
Every piece of text from data or configuration goes through ``html.escape``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from ga4kit.atomic import write_text
from ga4kit.constants import ALL
from ga4kit.render.numbers import MISSING, fmt_count, fmt_rate, format_value
from ga4kit.render.text import PARTIAL_MARK, view

KNOWN_COLUMNS = {"property", "chain", "period", "period_start", "period_end", "step_index", "step", "goal_type",
                "goal_kind", "users", "events", "rate_from_previous", "rate_from_first", "drop_off",
                "drop_off_rate", "all_users", "rate_over_all_users", "macro_per_step_user", "users_prev",
                "change_abs", "change_pct", "change_note", "partial", "users_exact", "rate_exact",
                "macro_share_exact", "event", "value", "key_events", "event_count", "flag", "severity", "message",
                "sessions"}

CSS = """
:root{--ink:#1f2933;--muted:#616e7c;--line:#e4e7eb;--bg:#f5f7fa;--card:#fff;--micro:#3e7cb1;--second:#9aa5b1;
--macro:#2f9e44;--err:#c92a2a;--warn:#e67700;--info:#1971c2}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#243b53;color:#fff;padding:22px 32px}
header h1{margin:0 0 4px;font-size:22px;font-weight:600}
header p{margin:0;color:#d9e2ec}
main{max-width:1180px;margin:0 auto;padding:8px 24px 40px}
h2{font-size:18px;margin:28px 0 10px;border-bottom:2px solid var(--line);padding-bottom:4px}
h3{font-size:15px;margin:18px 0 8px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.card h4{margin:0 0 6px;font-size:14px}
.card .sub{color:var(--muted);font-size:12px;margin:0 0 6px}
svg{display:block;max-width:100%;height:auto}
svg text{font:12px -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;fill:var(--ink)}
svg .muted{fill:var(--muted)}
table{border-collapse:collapse;width:100%;background:var(--card);font-size:13px}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#eef2f6;font-weight:600;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;color:#fff;font-size:11px;font-weight:600}
.error{background:var(--err)}.warning{background:var(--warn)}.info{background:var(--info)}
.up{color:var(--macro)}.down{color:var(--err)}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;background:var(--card);
border:1px solid var(--line);border-radius:8px;padding:12px 14px}
dl.meta dt{color:var(--muted)}dl.meta dd{margin:0}
.legend span{display:inline-block;margin-right:14px;font-size:12px;color:var(--muted)}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:4px;vertical-align:-1px}
.ok{color:var(--muted)}
ul.kv{margin:0;padding-left:18px}
footer{color:var(--muted);font-size:12px;text-align:center;padding:20px}
"""

# Plain colours: CSS variables are not reliable inside SVG presentation attributes.
COLORS = {"micro": "#3e7cb1", "secondary": "#9aa5b1", "macro": "#2f9e44"}


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _num(v: Any) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def _fmt_int(v: Any) -> str:
    f = _num(v)
    return MISSING if math.isnan(f) else fmt_count(f)


def _fmt_pct(v: Any, signed: bool = False) -> str:
    f = _num(v)
    return MISSING if math.isnan(f) else fmt_rate(f, signed=signed)


def _segment_columns(frame: pd.DataFrame, segments: Sequence[str] | None) -> list[str]:
    if segments is not None:
        return [s for s in segments if s in frame.columns]
    return [c for c in frame.columns if c not in KNOWN_COLUMNS]


def _segment_label(values: Sequence[str]) -> str:
    vals = [str(v) for v in values]
    if not vals or all(v == ALL for v in vals):
        return "All users"
    return " · ".join(v for v in vals if v != ALL)


def _latest(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of each property's latest period (charts show one period; the tables keep them all)."""
    if frame.empty or "period_start" not in frame:
        return frame
    ps = pd.to_datetime(frame["period_start"])
    last = ps.groupby(frame["property"]).transform("max")
    return frame[ps == last]


# ----------------------------------------------------------------------------------------- charts

def funnel_svg(steps: pd.DataFrame, *, width: int = 640) -> str:
    """Horizontal bars, one per step, lengths proportional to users; rates and changes as labels."""
    label_w, value_w, bar_h, gap, top = 130, 270, 24, 10, 6
    bar_area = width - label_w - value_w
    steps = steps.sort_values("step_index")
    top_users = max([_num(u) for u in steps["users"]] + [0.0])
    height = top + len(steps) * (bar_h + gap)
    parts = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="funnel">']
    for i, r in enumerate(steps.itertuples(index=False)):
        y = top + i * (bar_h + gap)
        users = _num(r.users)
        w = 0.0 if not top_users or math.isnan(users) else max(users / top_users * bar_area, 0.0)
        kind = "macro" if r.goal_type == "macro" else ("secondary" if getattr(r, "goal_kind", None) == "secondary"
                                                     else "micro")
        prev_rate = _num(getattr(r, "rate_from_previous", math.nan))
        tip = f"{r.step}: {_fmt_int(users)} users"
        if not math.isnan(prev_rate):
            tip += f", {_fmt_pct(prev_rate)} of the previous step"
        parts.append(f'<g><title>{esc(tip)}</title>')
        name = str(r.step) if len(str(r.step)) <= 22 else str(r.step)[:21] + "…"  # full name in the tooltip
        parts.append(f'<text x="{label_w - 8}" y="{y + bar_h * 0.68:.1f}" text-anchor="end">{esc(name)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{bar_area}" height="{bar_h}" rx="3" fill="#eef2f6"/>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="3" '
                     f'fill="{COLORS[kind]}" class="bar"/>')
        exact = _num(getattr(r, "users_exact", math.nan))
        if not math.isnan(exact) and top_users:
            # The closed (in-order) funnel as a dark strip along the bottom of the open bar.
            parts.append(f'<rect x="{label_w}" y="{y + bar_h - 6}" width="{max(exact / top_users * bar_area, 0):.1f}"'
                         f' height="6" fill="#243b53" class="exact"><title>{esc(f"in order: {_fmt_int(exact)}")}'
                         f'</title></rect>')
        text = _fmt_int(users)
        if i and not math.isnan(prev_rate):
            text += f" · {_fmt_pct(prev_rate)}"
        if not math.isnan(exact):
            text += f" · in order {_fmt_int(exact)}"
        change = _num(getattr(r, "change_pct", math.nan))
        extra = ""
        if not math.isnan(change):
            color = "#2f9e44" if change >= 0 else "#c92a2a"
            extra = f' <tspan fill="{color}">{esc(_fmt_pct(change, signed=True))} vs prev</tspan>'
        parts.append(f'<text x="{label_w + bar_area + 8}" y="{y + bar_h * 0.68:.1f}">{esc(text)}{extra}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def trend_svg(points: pd.DataFrame, *, width: int = 540, height: int = 120, value: str = "event_count") -> str:
    """A line of ``value`` over ``period_start``; zero days show as drops to the axis."""
    pts = points.sort_values("period_start")
    xs = pd.to_datetime(pts["period_start"])
    ys = [_num(v) for v in pts[value]]
    left, right, top, bottom = 44, 12, 10, 22
    w, h = width - left - right, height - top - bottom
    ymax = max([y for y in ys if not math.isnan(y)] + [0.0]) or 1.0
    n = len(ys)
    coords = []
    for i, y in enumerate(ys):
        x = left + (w * i / (n - 1) if n > 1 else w / 2)
        yy = top + h - (0.0 if math.isnan(y) else y) / ymax * h
        coords.append((x, yy))
    first, last = (xs.iloc[0], xs.iloc[-1]) if n else (None, None)
    parts = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="trend">',
             f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#cbd2d9"/>',
             f'<line x1="{left}" y1="{top}" x2="{left + w}" y2="{top}" stroke="#eef2f6"/>',
             f'<text x="{left - 6}" y="{top + 4}" text-anchor="end" class="muted">{esc(_fmt_int(ymax))}</text>',
             f'<text x="{left - 6}" y="{top + h + 4}" text-anchor="end" class="muted">0</text>']
    if n > 1:
        pl = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{pl}" fill="none" stroke="#3e7cb1" stroke-width="1.8" '
                     f'stroke-linejoin="round"/>')
    for (x, y), v, d in zip(coords, ys, xs):
        # Small dots give each period a tooltip; zeros in red catch the eye.
        color = "#c92a2a" if v == 0 else "#3e7cb1"
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{2.2 if n > 1 else 3.5}" fill="{color}">'
                     f'<title>{esc(f"{d:%Y-%m-%d}: {_fmt_int(v)}")}</title></circle>')
    if n:
        parts.append(f'<text x="{left}" y="{height - 6}" class="muted">{esc(f"{first:%Y-%m-%d}")}</text>')
        parts.append(f'<text x="{left + w}" y="{height - 6}" text-anchor="end" class="muted">'
                     f'{esc(f"{last:%Y-%m-%d}")}</text>')
    parts.append("</svg>")
    return "".join(parts)


# ----------------------------------------------------------------------------------------- sections

def _table(frame: pd.DataFrame, *, max_rows: int = 2000, currencies: Mapping[str, Any] | None = None) -> str:
    if frame.empty:
        return '<p class="ok">No rows.</p>'
    shown = frame.head(max_rows)
    numeric = {c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c].dtype)}
    head = "".join(f"<th>{esc(c)}</th>" for c in shown.columns)
    rows = []
    for rec in shown.itertuples(index=False):
        cells = []
        cur = (currencies or {}).get(str(getattr(rec, "property", ""))) if "property" in shown else None
        for c, v in zip(shown.columns, rec):
            text = format_value(c, v, cur)
            if c == "severity":
                cells.append(f'<td><span class="badge {esc(v)}">{esc(v)}</span></td>')
            elif c == "change_pct" and text != MISSING:
                cls = "up" if _num(v) >= 0 else "down"
                cells.append(f'<td class="num {cls}">{esc(text)}</td>')
            else:
                cells.append(f'<td class="num">{esc(text)}</td>' if c in numeric else f"<td>{esc(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    more = f'<p class="ok">{len(frame) - len(shown):,} more rows in the data files.</p>' \
        if len(frame) > len(shown) else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{more}"


def _chains_section(chains: pd.DataFrame, segments: list[str], labels: Mapping[str, str]) -> str:
    if chains is None or chains.empty:
        return "<h2>Chains</h2><p class=\"ok\">No chains declared or no data.</p>"
    out = ["<h2>Chains</h2>",
           '<p class="legend"><span><i style="background:var(--micro)"></i>milestone</span>'
           '<span><i style="background:var(--second)"></i>secondary</span>'
           '<span><i style="background:var(--macro)"></i>macro goal</span>'
           + ('<span><i style="background:#243b53"></i>in order (closed funnel)</span>'
              if "users_exact" in chains else "") +
           '<span>bar label: users · share of the previous step (open counts) · change vs previous period'
           '</span></p>']
    latest = _latest(chains)
    for (chain_name, prop), per_chain in latest.groupby(["chain", "property"], sort=False):
        prop = str(prop)
        first_step = per_chain[per_chain["step_index"] == 1]
        period = str(first_step["period"].iloc[0]) if len(first_step) else ""
        if len(first_step) and "partial" in first_step and bool(first_step["partial"].iloc[0]):
            period += PARTIAL_MARK + ": includes today or later days, counts incomplete"
        out.append(f"<h3>{esc(chain_name)} · {esc(labels.get(prop, prop))}</h3>"
                   f"<p class=\"sub\">period {esc(period)}</p>"
                   "<div class=\"grid\">")
        if segments:
            groups = list(per_chain.groupby(segments, sort=False))
        else:
            groups = [((), per_chain)]
        # "All users" first, then segments by the users of their first step, largest first.
        def order(kv):
            key = kv[0] if isinstance(kv[0], tuple) else (kv[0],)
            steps = kv[1]
            first_users = steps.loc[steps["step_index"] == 1, "users"]
            return (not all(str(v) == ALL for v in key), -_num(first_users.iloc[0]) if len(first_users) else 0,
                    _segment_label(key))
        groups.sort(key=order)
        for key, steps in groups:
            key = key if isinstance(key, tuple) else (key,)
            steps = steps.sort_values("step_index")
            first, last = steps.iloc[0], steps.iloc[-1]
            overall = _num(last["users"]) / _num(first["users"]) if _num(first["users"]) else math.nan
            sub = (f'{esc(_fmt_int(first.get("all_users", math.nan)))} users in segment · '
                   f'first → last step {esc(_fmt_pct(overall))}')
            out.append(f'<figure class="card"><h4>{esc(_segment_label(key))}</h4><p class="sub">{sub}</p>'
                       f'{funnel_svg(steps)}</figure>')
        out.append("</div>")
    return "".join(out)


def _trends_section(trend: pd.DataFrame | None, segments: list[str], labels: Mapping[str, str],
                    goals: pd.DataFrame | None) -> str:
    if trend is None or trend.empty:
        return ""
    t = trend.copy()
    segments = [s for s in segments if s in t.columns]  # a trend pulled without segments has none
    if segments:
        is_all = (t[segments] == ALL).all(axis=1)
        # Use the "(all)" rows where pulled; otherwise add segments up (event counts are additive, users not).
        has_all = is_all.groupby(t["property"]).transform("any")
        t = t[is_all | ~has_all]
    col = "event_count" if "event_count" in t else "events"
    series = t.groupby(["property", "event", "period_start"], sort=True)[col].sum().reset_index()
    # Missing periods of a goal are zero days: put them on the common date axis of the property.
    out = ["<h2>Trends</h2><p class=\"legend\"><span>events per period, all users; red dots are periods "
           "with none</span></p>"]
    # Declared goals come first and appear even when they never fired (a flat line at zero says a lot).
    order = list(goals["event"].drop_duplicates()) if goals is not None and "event" in goals else []
    for prop, per_prop in series.groupby("property", sort=True):
        out.append(f'<h3>{esc(labels.get(str(prop), prop))}</h3><div class="grid">')
        dates = pd.Index(sorted(per_prop["period_start"].unique()))
        events = list(dict.fromkeys(order + sorted(per_prop["event"].unique())))
        for ev in events:
            s = per_prop[per_prop["event"] == ev].set_index("period_start")[col].reindex(dates, fill_value=0)
            pts = pd.DataFrame({"period_start": dates, col: s.to_numpy()})
            total = float(pts[col].sum())
            out.append(f'<figure class="card"><h4>{esc(ev)}</h4><p class="sub">'
                       f'{esc(_fmt_int(total))} events in {len(pts)} periods</p>'
                       f'{trend_svg(pts, value=col)}</figure>')
        out.append("</div>")
    return "".join(out)


def lift_svg(rows: pd.DataFrame, *, width: int = 640) -> str:
    """One line per micro goal (in the rows' order): the lift as a dot and its 95% interval as a bar, on a log
    axis with 1 (no difference) marked; rows with too few users are drawn pale."""
    label_w, value_w, row_h, top, axis_h = 150, 210, 22, 6, 18
    plot_w = width - label_w - value_w
    lows = [_num(v) for v in rows["lift_low"]] + [_num(v) for v in rows["lift"]]
    highs = [_num(v) for v in rows["lift_high"]] + [_num(v) for v in rows["lift"]]
    finite = [v for v in lows + highs if not math.isnan(v) and v > 0]
    lo = max(min(finite + [0.5]), 1 / 64)
    hi = min(max(finite + [2.0]), 64)
    span = math.log(hi) - math.log(lo)

    def x(v: float) -> float:
        v = min(max(v, lo), hi)
        return label_w + (math.log(v) - math.log(lo)) / span * plot_w

    height = top + len(rows) * row_h + axis_h
    one = x(1.0)
    parts = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="lift">',
             f'<line x1="{one:.1f}" y1="{top}" x2="{one:.1f}" y2="{height - axis_h}" stroke="#9aa5b1" '
             'stroke-dasharray="3,3"/>']
    for tick in (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8, 16, 32):
        if lo <= tick <= hi:
            label = f"{tick:g}×" if tick >= 1 else f"1/{round(1 / tick)}"
            parts.append(f'<text x="{x(tick):.1f}" y="{height - 4}" text-anchor="middle" class="muted">'
                         f'{esc(label)}</text>')
    for i, r in enumerate(rows.itertuples(index=False)):
        y = top + i * row_h + row_h / 2
        few = bool(getattr(r, "too_few_users", False))
        color = "#9aa5b1" if few else ("#2f9e44" if _num(r.lift_low) > 1 else
                                       "#c92a2a" if _num(r.lift_high) < 1 else "#3e7cb1")
        lift, low, high = _num(r.lift), _num(r.lift_low), _num(r.lift_high)
        text = (f"{lift:.2f}×" if not math.isnan(lift) else MISSING) + (
            f" ({low:.2f}–{high:.2f})" if not math.isnan(low) else "")
        rates = f"{_fmt_pct(r.rate_after_micro)} vs {_fmt_pct(r.rate_without_micro)}"
        tip = (f"{r.micro}: {_fmt_int(r.micro_users)} users; {_fmt_pct(r.rate_after_micro)} reached {r.macro} "
               f"afterwards, {_fmt_pct(r.rate_without_micro)} of the others; lift {text}"
               + ("; too few users" if few else ""))
        name = str(r.micro) if len(str(r.micro)) <= 24 else str(r.micro)[:23] + "…"
        parts.append(f'<g><title>{esc(tip)}</title>'
                     f'<text x="{label_w - 8}" y="{y + 4:.1f}" text-anchor="end">{esc(name)}</text>')
        if not math.isnan(low) and not math.isnan(high):
            parts.append(f'<line x1="{x(low):.1f}" y1="{y:.1f}" x2="{x(high):.1f}" y2="{y:.1f}" stroke="{color}" '
                         'stroke-width="2.5" class="interval"/>')
        if not math.isnan(lift) and lift > 0:
            parts.append(f'<circle cx="{x(lift):.1f}" cy="{y:.1f}" r="4" fill="{color}" class="lift"/>')
        parts.append(f'<text x="{label_w + plot_w + 8}" y="{y + 4:.1f}">{esc(text)} · {esc(rates)}'
                     + (' <tspan class="muted">few users</tspan>' if few else "") + "</text></g>")
    parts.append("</svg>")
    return "".join(parts)


def _influence_section(influence: pd.DataFrame | None, segments: list[str], labels: Mapping[str, str]) -> str:
    """Per property and macro goal (latest period): the micro goals ranked by lift with their intervals, for
    all users and for the largest segment values."""
    if influence is None:
        return ""
    out = ["<h2>Which micro goals lead to the macro goals</h2>",
           '<p class="legend"><span>lift = the macro rate of users who did the micro goal (reached afterwards) / '
           "the rate of users who did not; bars are 95% intervals (log method), dashed line = no difference"
           '</span><span><i style="background:#2f9e44"></i>higher</span><span><i style="background:#c92a2a">'
           '</i>lower</span><span><i style="background:#9aa5b1"></i>too few users</span></p>']
    if influence.empty:
        return "".join(out) + '<p class="ok">No micro and macro goals to compare, or no data.</p>'
    segs = [s for s in segments if s in influence.columns]
    latest = _latest(influence) if "period_start" in influence else influence
    if "period" in latest and "period_start" not in latest:
        last = latest.groupby("property")["period"].transform("max")
        latest = latest[latest["period"] == last]
    if bool(latest["estimated"].any()):
        out.append('<p class="sub">From the Data API: the rate without the micro goal is an estimate (users who '
                   "did the macro goal before the micro goal count as users without it).</p>")
    for (prop, macro), rows in latest.groupby(["property", "macro"], sort=False):
        prop = str(prop)
        period = str(rows["period"].iloc[0]) if "period" in rows else ""
        out.append(f"<h3>{esc(macro)} · {esc(labels.get(prop, prop))}</h3><p class=\"sub\">period {esc(period)}"
                   "</p><div class=\"grid\">")
        if segs:
            is_all = (rows[segs] == ALL).all(axis=1)
            groups = [((ALL,) * len(segs), rows[is_all])]
            others = rows[~is_all]
            size = others.groupby(segs, sort=False)["all_users"].max().sort_values(ascending=False)
            for key in list(size.index)[:8]:
                key = key if isinstance(key, tuple) else (key,)
                groups.append((key, others[(others[segs] == list(key)).all(axis=1)]))
        else:
            groups = [((), rows)]
        for key, part in groups:
            if part.empty:
                continue
            users = _fmt_int(part["all_users"].max())
            out.append(f'<figure class="card influence"><h4>{esc(_segment_label(key))}</h4>'
                       f'<p class="sub">{esc(users)} users</p>{lift_svg(part)}</figure>')
        out.append("</div>")
    return "".join(out)


def _flags_section(flags: pd.DataFrame | None, segments: list[str]) -> str:
    if flags is None or flags.empty:
        return '<h2>Flags</h2><p class="ok">No flags: nothing looks broken.</p>'
    counts = flags["severity"].value_counts()
    summary = ", ".join(f"{int(counts[s])} {s}" for s in ("error", "warning", "info") if s in counts)
    return f"<h2>Flags</h2><p>{esc(summary)}</p>" + _table(view(flags, segments, "flags"))


def _meta_scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, datetime):
        return v.isoformat(timespec="seconds")
    return str(v)


def _meta_html(v: Any) -> str:
    """A metadata value as escaped HTML: scalars inline, small flat mappings as "k: v · k: v", the rest
    as nested lists (e.g. per-property metadata with its quota)."""
    if isinstance(v, Mapping):
        if not v:
            return MISSING
        if all(not isinstance(x, (Mapping, list, tuple)) for x in v.values()) and len(v) <= 4:
            return " · ".join(f"{esc(str(k).replace('_', ' '))}: {esc(_meta_scalar(x))}" for k, x in v.items())
        items = "".join(f"<li>{esc(str(k).replace('_', ' '))}: {_meta_html(x)}</li>" for k, x in v.items())
        return f'<ul class="kv">{items}</ul>'
    if isinstance(v, (list, tuple, set)):
        v = list(v)
        if not v:
            return MISSING
        if all(not isinstance(x, (Mapping, list, tuple)) for x in v):
            return esc("; ".join(_meta_scalar(x) for x in v))
        return '<ul class="kv">' + "".join(f"<li>{_meta_html(x)}</li>" for x in v) + "</ul>"
    return esc(_meta_scalar(v))


def _meta_section(meta: Mapping[str, Any]) -> str:
    rows = [f"<dt>{esc(str(k).replace('_', ' '))}</dt><dd>{_meta_html(v)}</dd>"
            for k, v in meta.items() if k != "title" and v not in (None, "", [], (), {})]
    return "<h2>About this report</h2><dl class=\"meta\">" + "".join(rows) + "</dl>"


# ----------------------------------------------------------------------------------------- page

def render_report(chains: pd.DataFrame | None, goals: pd.DataFrame | None, flags: pd.DataFrame | None,
                  trend_events: pd.DataFrame | None, meta: Mapping[str, Any] | None = None, *,
                  segments: Sequence[str] | None = None, influence: pd.DataFrame | None = None) -> str:
    """The report page as a string. See :func:`write_report`."""
    meta = dict(meta or {})
    meta.setdefault("generated", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    frames = [f for f in (chains, goals) if f is not None]
    segs = list(segments) if segments is not None else (
        _segment_columns(frames[0], None) if frames else [])
    labels = {str(k): str(v) for k, v in dict(meta.get("property_labels") or {}).items()}
    title = str(meta.get("title") or "GA4 goals and conversion chains")
    subtitle = " · ".join(str(x) for x in (meta.get("properties"), meta.get("range")) if x)
    if isinstance(meta.get("properties"), (list, tuple)):
        names = "; ".join(labels.get(str(p), str(p)) for p in meta["properties"])
        subtitle = " · ".join(x for x in (names, str(meta.get("range") or "")) if x)

    body = [_flags_section(flags, segs), _chains_section(chains, segs, labels)]
    if goals is not None and not goals.empty:
        latest = _latest(goals)
        body.append("<h2>Goals</h2><p class=\"legend\"><span>rate = users who did it / all users in the "
                    "period and segment; latest period of each property</span></p>")
        currencies = {str(p): (m or {}).get("currency") for p, m in dict(meta.get("metadata") or {}).items()
                      if isinstance(m, Mapping)}
        body.append(_table(view(latest, segs, "goals"), currencies=currencies))
    body.append(_influence_section(influence, segs, labels))
    body.append(_trends_section(trend_events, segs, labels, goals))
    body.append(_meta_section(meta))
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
            f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header><main>"
            + "".join(body) +
            f"</main><footer>Generated by ga4kit at {esc(meta['generated'])}. Counts are open: a step's users "
            "need not have done the previous steps. Users are not additive across segments or periods."
            "</footer></body></html>\n")


def write_report(path: str | Path, chains: pd.DataFrame | None, goals: pd.DataFrame | None,
                 flags: pd.DataFrame | None, trend_events: pd.DataFrame | None,
                 meta: Mapping[str, Any] | None = None, *, segments: Sequence[str] | None = None,
                 influence: pd.DataFrame | None = None) -> Path:
    """Write one self-contained HTML report to ``path`` atomically; returns the path.

    ``chains``/``goals``/``flags``: frames from :mod:`ga4kit.chains` and :mod:`ga4kit.flags`; ``trend_events``: an
    events frame at day or week grain (for the trend lines); ``meta``: shown as "About this report" — e.g. ``title``,
    ``properties``, ``range``, ``generated``, ``notes``, ``property_labels`` ({id: label}, used in
    captions). Segment columns are taken from ``segments`` or guessed from the chains frame. ``influence``:
    a table from :func:`ga4kit.influence.influence_table` (e.g. ``ga4kit.reporting.influence``'s); it adds
    a section with the micro goals of each macro goal ranked by lift, their intervals drawn.
    """
    return write_text(path, render_report(chains, goals, flags, trend_events, meta, segments=segments,
                                          influence=influence))
