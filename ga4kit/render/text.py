"""Chain, goal and flag frames as text: a rich table for the terminal, CSV, JSON or Markdown.

CSV and JSON carry the raw values (the same bytes ``ga4kit.outputs`` writes to files); the table and
Markdown are for people: rates as percentages, counts with thousands separators, missing values as "–".
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import pandas as pd

from ga4kit.outputs import frame_to_csv, frame_to_json

FORMATS = ("table", "csv", "json", "markdown")
MISSING = "–"

# The columns people read first; the rest stay in CSV/JSON.
CHAIN_VIEW = ["property", "chain", "period", "step_index", "step", "goal_type", "users", "rate_from_previous",
              "rate_from_first", "drop_off", "rate_over_all_users", "micro_to_macro", "users_exact", "rate_exact",
              "users_prev", "change_pct"]
GOAL_VIEW = ["property", "period", "event", "goal_type", "goal_kind", "users", "events", "value",
             "rate_over_all_users", "users_prev", "change_pct"]
# Short headers for the terminal table (CSV/JSON/Markdown keep the real column names).
HEADERS = {"sessionDefaultChannelGroup": "channel", "step_index": "#", "goal_type": "type", "goal_kind": "kind",
           "rate_from_previous": "of prev", "rate_from_first": "of first", "rate_over_all_users": "of all",
           "micro_to_macro": "to macro", "users_prev": "prev users", "change_pct": "change", "drop_off": "drop",
           "users_exact": "exact", "rate_exact": "exact rate", "all_users": "all users"}
FLAG_VIEW = ["severity", "flag", "property", "period", "event", "message"]


def is_rate(column: str) -> bool:
    """Columns holding a ratio, shown as a percentage."""
    c = str(column)
    return c.startswith("rate") or c.endswith("_rate") or c in ("micro_to_macro", "change_pct")


def format_value(column: str, value) -> str:
    """One cell for people."""
    if value is None or value is pd.NA or value is pd.NaT:
        return MISSING
    if isinstance(value, float) and math.isnan(value):
        return MISSING
    if is_rate(column):
        v = float(value)
        if column == "change_pct":
            return f"{v:+.1%}"
        return f"{v:.1%}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else value.isoformat()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (hasattr(value, "dtype") and getattr(value.dtype, "kind", "") in "iu"):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:,.0f}" if value.is_integer() and abs(value) >= 1000 else f"{value:,.2f}".rstrip("0") \
            .rstrip(".")
    return str(value)


def view(frame: pd.DataFrame, segments: Sequence[str] = (), kind: str | None = None) -> pd.DataFrame:
    """The columns worth showing for a chains/goals/flags frame (guessed from its columns when kind=None)."""
    if kind is None:
        kind = "chains" if "step" in frame else "flags" if "flag" in frame else "goals" if "event" in frame \
            else "other"
    base = {"chains": CHAIN_VIEW, "goals": GOAL_VIEW, "flags": FLAG_VIEW}.get(kind)
    if base is None:
        return frame
    cols = list(base)
    # Segments go after property (period for flags).
    at = cols.index("period") + 1 if kind == "flags" else 1
    cols[at:at] = [s for s in segments if s in frame]
    return frame[[c for c in cols if c in frame]]


def formatted(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as display text."""
    return pd.DataFrame({c: [format_value(c, v) for v in frame[c].tolist()] for c in frame.columns},
                        columns=frame.columns)


def _numeric(frame: pd.DataFrame, column) -> bool:
    return pd.api.types.is_numeric_dtype(frame[column].dtype) and not pd.api.types.is_bool_dtype(frame[column])


def table(frame: pd.DataFrame, *, title: str | None = None, max_rows: int | None = 500):
    """A rich Table (numbers right-aligned); rows beyond ``max_rows`` are summarised in the caption."""
    from rich.table import Table

    shown = frame if max_rows is None else frame.head(max_rows)
    caption = None if len(shown) == len(frame) else f"{len(frame) - len(shown):,} more rows not shown"
    t = Table(title=title, caption=caption, show_lines=False, header_style="bold")
    cells = formatted(shown)
    for c in frame.columns:
        # Only the free-text message wraps; ids, names and numbers stay whole on one line.
        header = HEADERS.get(str(c), str(c))
        widest = max([len(header), *(len(v) for v in cells[c])]) if len(cells) else len(header)
        t.add_column(header, justify="right" if _numeric(frame, c) else "left",
                     no_wrap=c != "message", overflow="fold",
                     min_width=None if c == "message" else min(widest, 40),
                     max_width=70 if c == "message" else None)
    for row in cells.itertuples(index=False):
        t.add_row(*row)
    return t


def to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table."""
    def cell(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")

    cols = [cell(str(c)) for c in frame.columns]
    align = ["---:" if _numeric(frame, c) else ":---" for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join(align) + " |"]
    for row in formatted(frame).itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def render(frame: pd.DataFrame, fmt: str = "table", *, title: str | None = None, width: int = 160,
           max_rows: int | None = 500) -> str:
    """``frame`` as text in ``fmt`` (table, csv, json, markdown). Tables are rendered without colour."""
    if fmt == "csv":
        return frame_to_csv(frame)
    if fmt == "json":
        return frame_to_json(frame)
    if fmt == "markdown":
        text = to_markdown(frame)
        return f"### {title}\n\n{text}" if title else text
    if fmt == "table":
        from rich.console import Console

        buf = io.StringIO()
        Console(file=buf, width=width, color_system=None, force_terminal=False).print(
            table(frame, title=title, max_rows=max_rows))
        return buf.getvalue()
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def print_frame(frame: pd.DataFrame, fmt: str = "table", *, title: str | None = None, console=None,
                max_rows: int | None = 500) -> None:
    """Print to the terminal: a rich table through ``console`` (colour when it is a terminal), else text."""
    if fmt == "table":
        from rich.console import Console

        if console is None:
            console = Console()
            if not console.is_terminal:
                # Piped or logged output has no width to respect: never crop columns at 80.
                console = Console(width=max(console.width, 240))
        console.print(table(frame, title=title, max_rows=max_rows))
        return
    text = render(frame, fmt, title=title)
    if console is not None:
        console.file.write(text)
    else:
        print(text, end="")
