"""Chain, goal and flag frames as text: a rich table for the terminal, CSV, JSON, NDJSON or Markdown.

CSV and JSON carry the raw values (:mod:`ga4kit.serialize`: the same bytes the file destinations write);
the table and Markdown are for people, formatted by :mod:`ga4kit.render.numbers` (the HTML report uses
the same).

Every string from data or configuration reaches rich as a ``Text`` (never as markup), so a segment value
such as ``[/]`` or ``[link=...]`` (UTM parameters are anyone's to set) is shown as written. A table that
does not fit the width keeps the columns that matter most and names the ones it left out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd

from ga4kit.serialize import frame_to_csv, frame_to_json
from ga4kit.render.numbers import MISSING, format_value, is_rate  # noqa: F401  (re-exported)

from ga4kit.render.formats import FORMATS  # noqa: E402,F401 (re-exported)
PARTIAL_MARK = " (partial)"
HIDDEN_HINT = "see -f csv or -f json, or a wider terminal"

# The columns people read first; the rest stay in CSV/JSON.
CHAIN_VIEW = ["property", "chain", "period", "step_index", "step", "goal_type", "users", "rate_from_previous",
              "rate_from_first", "drop_off", "rate_over_all_users", "macro_per_step_user", "users_exact",
              "rate_exact", "macro_share_exact", "users_prev", "change_pct"]
GOAL_VIEW = ["property", "period", "event", "goal_type", "goal_kind", "users", "events", "value",
             "rate_over_all_users", "users_prev", "change_pct"]
FLAG_VIEW = ["severity", "flag", "property", "period", "event", "message"]
# Short headers for the terminal table and Markdown's people (CSV/JSON keep the real column names).
HEADERS = {"sessionDefaultChannelGroup": "channel", "step_index": "#", "goal_type": "type", "goal_kind": "kind",
           "rate_from_previous": "of prev", "rate_from_first": "of first", "rate_over_all_users": "of all",
           "macro_per_step_user": "macro/step", "users_prev": "prev users", "change_pct": "change",
           "drop_off": "drop", "users_exact": "exact", "rate_exact": "exact rate",
           "macro_share_exact": "macro share", "all_users": "all users"}

# When a table is wider than the terminal, columns are kept in this order of importance (segment
# columns come right after the first two); columns not listed come last.
PRIORITY = {
    "chains": ["step", "users", "<segments>", "chain", "rate_from_previous", "change_pct", "macro_per_step_user",
               "period", "property", "users_exact", "macro_share_exact", "rate_from_first", "rate_exact",
               "users_prev", "drop_off", "rate_over_all_users", "step_index", "goal_type"],
    "goals": ["event", "users", "<segments>", "rate_over_all_users", "change_pct", "period", "property", "events",
              "value", "users_prev", "goal_type", "goal_kind"],
    "flags": ["message", "flag", "severity", "property", "<segments>", "event", "period"],
}
KNOWN = frozenset(CHAIN_VIEW + GOAL_VIEW + FLAG_VIEW + [
    "period_start", "period_end", "events", "all_users", "drop_off_rate", "change_abs", "goal_kind", "key_events",
    "value", "partial", "change_note", "sessions", "event_count"])
MESSAGE_MIN = 30  # the free-text column wraps; below this it is unreadable


def view(frame: pd.DataFrame, segments: Sequence[str] = (), kind: str | None = None) -> pd.DataFrame:
    """The columns worth showing for a chains/goals/flags frame (guessed from its columns when kind=None).

    A period that includes today or later days (``partial`` column) is labelled "(partial)".
    """
    if kind is None:
        kind = _kind(frame)
    base = {"chains": CHAIN_VIEW, "goals": GOAL_VIEW, "flags": FLAG_VIEW}.get(kind)
    if base is None:
        return frame
    cols = list(base)
    # Segments go after property (period for flags).
    at = cols.index("period") + 1 if kind == "flags" else 1
    cols[at:at] = [s for s in segments if s in frame]
    out = frame[[c for c in cols if c in frame]]
    if "partial" in frame and "period" in out and frame["partial"].fillna(False).astype(bool).any():
        partial = frame["partial"].fillna(False).astype(bool)
        out = out.copy()
        out["period"] = out["period"].astype(str).where(~partial, out["period"].astype(str) + PARTIAL_MARK)
    return out


def _kind(frame: pd.DataFrame) -> str:
    return "chains" if "step" in frame else "flags" if "flag" in frame else "goals" if "event" in frame \
        else "other"


def formatted(frame: pd.DataFrame, currencies: dict | None = None) -> pd.DataFrame:
    """Every cell as display text (money in the currency of the row's property when known)."""
    cur = None
    if currencies and "property" in frame:
        cur = [currencies.get(str(p)) for p in frame["property"].tolist()]
    out = {}
    for c in frame.columns:
        values = frame[c].tolist()
        if cur is not None and c == "value":
            out[c] = [format_value(c, v, k) for v, k in zip(values, cur)]
        else:
            out[c] = [format_value(c, v) for v in values]
    return pd.DataFrame(out, columns=frame.columns)


def _numeric(frame: pd.DataFrame, column) -> bool:
    return pd.api.types.is_numeric_dtype(frame[column].dtype) and not pd.api.types.is_bool_dtype(frame[column])


def header(column) -> str:
    return HEADERS.get(str(column), str(column))


def fit_columns(widths: dict, total: int | None, order: Sequence) -> list:
    """The columns (in ``order`` of importance) that fit in ``total`` characters of a rich table with
    borders (each column takes its width plus 3; the table 1 more). None = no limit."""
    if total is None:
        return list(order)
    chosen, used = [], 1
    for c in order:
        need = widths[c] + 3
        if used + need <= total or not chosen:
            chosen.append(c)
            used += need
    return chosen


def _priority(frame: pd.DataFrame, kind: str, segments: Sequence[str]) -> list:
    wanted = []
    for name in PRIORITY.get(kind, []):
        if name == "<segments>":
            wanted += [s for s in segments if s in frame and s not in wanted]
        elif name in frame and name not in wanted:
            wanted.append(name)
    return wanted + [c for c in frame.columns if c not in wanted]


def table(frame: pd.DataFrame, *, title: str | None = None, max_rows: int | None = 500, width: int | None = None,
          segments: Sequence[str] | None = None, currencies: dict | None = None, hidden_hint: str = HIDDEN_HINT):
    """A rich Table (numbers right-aligned); rows beyond ``max_rows`` are summarised in the caption.

    ``width``: the terminal's width. Columns that do not fit are left out by importance (see PRIORITY),
    except that a column holding one value for every row is stated in the caption instead of hidden
    silently; the caption names what was left out and where to see it.
    """
    from rich.table import Table
    from rich.text import Text

    kind = _kind(frame)
    segs = list(segments) if segments is not None else [c for c in frame.columns if c not in KNOWN]
    shown = frame if max_rows is None else frame.head(max_rows)
    notes = [] if len(shown) == len(frame) else [f"{len(frame) - len(shown):,} more rows not shown"]
    cells = formatted(shown, currencies)
    widths = {}
    for c in frame.columns:
        longest = max([len(header(c)), *(len(v) for v in cells[c])]) if len(cells) else len(header(c))
        widths[c] = min(longest, MESSAGE_MIN) if c == "message" else min(longest, 40)
    columns = list(frame.columns)
    if width is not None and sum(widths.values()) + 3 * len(columns) + 1 > width:
        order = _priority(frame, kind, segs)
        # A column with one value in every row says nothing per row: state it once instead.
        constant = [c for c in order if c in ("property", "chain", "period") and len(cells) > 1
                    and cells[c].nunique() == 1]
        order = [c for c in order if c not in constant]
        keep = set(fit_columns(widths, width, order))
        hidden = [c for c in columns if c not in keep and c not in constant]
        columns = [c for c in columns if c in keep]
        if constant:
            notes.append("All rows: " + ", ".join(f"{header(c)} {cells[c].iloc[0]}" for c in constant))
        if hidden:
            notes.append("Hidden columns: " + ", ".join(header(c) for c in hidden) + f"; {hidden_hint}")
    t = Table(title=Text(title) if title else None, caption=Text("\n".join(notes)) if notes else None,
              show_lines=False, header_style="bold", caption_justify="left")
    for c in columns:
        # Only the free-text message wraps; ids, names and numbers stay whole on one line.
        t.add_column(Text(header(c)), justify="right" if _numeric(frame, c) else "left",
                     no_wrap=c != "message", overflow="fold",
                     min_width=MESSAGE_MIN if c == "message" else widths[c],
                     max_width=70 if c == "message" else None)
    for row in cells[columns].itertuples(index=False):
        t.add_row(*(Text(v) for v in row))
    return t


def to_markdown(frame: pd.DataFrame, currencies: dict | None = None) -> str:
    """A GitHub-flavoured Markdown table."""
    def cell(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")

    cols = [cell(str(c)) for c in frame.columns]
    align = ["---:" if _numeric(frame, c) else ":---" for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join(align) + " |"]
    for row in formatted(frame, currencies).itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def to_ndjson(frame: pd.DataFrame) -> str:
    """One JSON object per row and line (the values of :func:`ga4kit.serialize.frame_to_json`)."""
    rows = json.loads(frame_to_json(frame))
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def render(frame: pd.DataFrame, fmt: str = "table", *, title: str | None = None, width: int | None = 160,
           max_rows: int | None = 500, segments: Sequence[str] | None = None, currencies: dict | None = None) -> str:
    """``frame`` as text in ``fmt`` (table, csv, json, ndjson, markdown). Tables are rendered without colour."""
    if fmt == "csv":
        return frame_to_csv(frame)
    if fmt == "json":
        return frame_to_json(frame)
    if fmt == "ndjson":
        return to_ndjson(frame)
    if fmt == "markdown":
        text = to_markdown(frame, currencies)
        return f"### {title}\n\n{text}" if title else text
    if fmt == "table":
        import io

        from rich.console import Console

        buf = io.StringIO()
        # Without a width (a file), nothing is hidden and nothing squeezed.
        Console(file=buf, width=width or 4000, color_system=None, force_terminal=False, highlight=False).print(
            table(frame, title=title, max_rows=max_rows, width=width, segments=segments, currencies=currencies))
        return buf.getvalue()
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def print_frame(frame: pd.DataFrame, fmt: str = "table", *, title: str | None = None, console=None,
                max_rows: int | None = 500, segments: Sequence[str] | None = None,
                currencies: dict | None = None, hidden_hint: str = HIDDEN_HINT) -> None:
    """Print to the terminal: a rich table fitted to ``console``'s width (default: ga4kit's console, which
    honours NO_COLOR and never crops piped output), else text."""
    if fmt == "table":
        if console is None:
            from ga4kit.render.terminal import console as make_console

            console = make_console()
        console.print(table(frame, title=title, max_rows=max_rows, width=console.width, segments=segments,
                            currencies=currencies, hidden_hint=hidden_hint))
        return
    text = render(frame, fmt, title=title, segments=segments, currencies=currencies)
    if console is not None:
        console.file.write(text)
    else:
        print(text, end="")
