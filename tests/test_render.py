"""ga4kit.render: terminal table, CSV/JSON/Markdown text and the self-contained HTML report."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from rich.table import Table

from ga4kit import chains as C
from ga4kit import flags as F
from ga4kit.errors import OutputError
from ga4kit.serialize import frame_to_csv
from ga4kit.render import html as H
from ga4kit.render import text as T

S = "sessionDefaultChannelGroup"

from test_chains import BASELINE, CONFIG, EVENTS, daily  # noqa: E402  (shared hand-made frames)


@pytest.fixture(scope="module")
def frames():
    chains = C.compute_chains(EVENTS, BASELINE, CONFIG, [S], previous=(EVENTS.assign(users=EVENTS.users * 2),
                                                                       BASELINE))
    goals = C.goal_summary(EVENTS, BASELINE, CONFIG, [S])
    dev, dbl = daily({"view_item": [30] * 28, "add_to_cart": [8] * 19 + [0] * 9, "purchase": [3] * 28})
    flags = F.flags(dev, dbl, CONFIG, [S])
    flags = pd.concat([flags, F.flags(EVENTS, BASELINE, CONFIG, [S])], ignore_index=True)
    return chains, goals, flags, dev


def test_table_is_rich_with_percentages(frames):
    chains = frames[0]
    t = T.table(T.view(chains, [S]), title="checkout")
    assert isinstance(t, Table) and t.row_count == len(chains)
    out = T.render(T.view(chains, [S]), "table", width=200)
    organic_cart = next(line for line in out.splitlines() if "Organic" in line and "add_to_cart" in line)
    assert "40.0%" in organic_cart and "25.0%" in organic_cart  # of prev 40/100, to macro 10/40
    assert "-50.0%" in organic_cart  # 40 now vs 80 before
    assert T.render(chains.head(3), "table", max_rows=1).count("more rows not shown") == 1


def test_csv_and_json_are_the_raw_values(frames):
    chains = frames[0]
    assert T.render(chains, "csv") == frame_to_csv(chains)
    data = json.loads(T.render(chains, "json"))
    assert len(data) == len(chains)
    organic = [r for r in data if r[S] == "Organic" and r["step"] == "add_to_cart"][0]
    assert organic["rate_from_previous"] == pytest.approx(0.4) and organic["period_start"] == "2026-11-01"
    assert [r for r in data if r[S] == "Organic" and r["step"] == "view_item"][0]["rate_from_previous"] is None


def test_markdown_table_escapes_pipes():
    df = pd.DataFrame({"event": ["a|b", "c\nd"], "users": [1200, 3], "rate_over_all_users": [0.5, np.nan]})
    md = T.render(df, "markdown")
    lines = md.strip().splitlines()
    assert lines[0] == "| event | users | rate_over_all_users |"
    assert lines[1] == "| :--- | ---: | ---: |"
    assert lines[2] == "| a\\|b | 1,200 | 50.0% |"
    assert lines[3] == "| c d | 3 | – |"
    with pytest.raises(ValueError):
        T.render(df, "yaml")


class Tags(HTMLParser):
    """Collects start tags and their attributes; fails on unbalanced svg/figure nesting."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("svg", "figure", "table", "g"):
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in ("svg", "figure", "table", "g"):
            assert self.stack and self.stack.pop() == tag, f"unbalanced </{tag}>"


def test_html_report_self_contained_with_charts(tmp_path, frames):
    chains, goals, flags, trend = frames
    flags = pd.concat([flags, pd.DataFrame([{"property": "1", "period": "x", S: "(all)", "event": "e<b>",
                                             "flag": "test", "severity": "info",
                                             "message": "<script>alert(1)</script>"}])], ignore_index=True)
    path = H.write_report(tmp_path / "report.html", chains, goals, flags, trend,
                          {"title": "Shop <DE>", "properties": ["Shop DE (1)"], "range": "2026-11-01..2026-11-28",
                           "notes": ["thresholded: small segments undercounted"], "property_labels": {"1": "Shop DE"}})
    page = path.read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page.lower() and "<link" not in page.lower() and "src=" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "e&lt;b&gt;" in page
    assert "Shop &lt;DE&gt;" in page

    parser = Tags()
    parser.feed(page)
    assert parser.stack == []
    # One funnel per chain × segment: (all), Email, Organic, Paid; each with one bar per step.
    funnels = [a for t, a in parser.tags if t == "svg" and a.get("aria-label") == "funnel"]
    assert len(funnels) == 4
    bars = [a for t, a in parser.tags if t == "rect" and a.get("class") == "bar"]
    assert len(bars) == 4 * 3
    # Bar lengths follow users: Organic view_item 100 → full width, add_to_cart 40 → 40 %.
    organic = page[page.index("<h4>Organic</h4>"):]
    widths = [float(w) for w in re.findall(r'width="([\d.]+)" height="24" rx="3" fill="#[0-9a-f]+" class="bar"',
                                           organic)[:3]]
    assert widths[1] == pytest.approx(widths[0] * 0.4, abs=0.1) and widths[2] == pytest.approx(widths[0] * 0.1,
                                                                                                 abs=0.1)
    # One trend line per declared goal (newsletter_signup never fired: a flat line, still drawn).
    trends = [a for t, a in parser.tags if t == "svg" and a.get("aria-label") == "trend"]
    assert len(trends) == len(CONFIG.goals)
    polylines = [a for t, a in parser.tags if t == "polyline"]
    assert len(polylines) == len(CONFIG.goals) and all(len(p["points"].split()) == 28 for p in polylines)
    assert "broken_tracking" in page and "out_of_sequence" in page
    assert "thresholded: small segments undercounted" in page


def test_html_write_is_atomic(tmp_path, frames, monkeypatch):
    chains, goals, flags, trend = frames
    path = tmp_path / "r.html"
    path.write_text("old report")

    def boom(*a, **k):
        raise RuntimeError("chart failed")

    with monkeypatch.context() as m:
        m.setattr(H, "trend_svg", boom)
        with pytest.raises(RuntimeError):
            H.write_report(path, chains, goals, flags, trend, {})
    assert path.read_text() == "old report"

    # The page is fully written to the temp file, then the flush to disk fails: old report stays.
    import ga4kit.atomic as O

    def io_error(fd):
        raise OSError(5, "Input/output error")

    with monkeypatch.context() as m:
        m.setattr(O.os, "fsync", io_error)
        with pytest.raises(OutputError, match="Input/output error"):
            H.write_report(path, chains, goals, flags, trend, {})
    assert path.read_text() == "old report"
    H.write_report(path, chains, goals, flags, trend, {})
    assert path.read_text().startswith("<!DOCTYPE html>")
    with pytest.raises(OutputError, match="does not exist"):
        H.write_report(tmp_path / "nope" / "r.html", chains, goals, flags, None, {})
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_html_handles_empty_frames(tmp_path):
    page = H.render_report(None, None, None, None, {"properties": "1"})
    assert "No flags" in page and "No chains" in page and "<svg" not in page


def test_html_metadata_is_readable_and_escaped():
    meta = {"range": "2026-11-01 to 2026-11-28", "notes": [],
            "metadata": {"1": {"subject_to_thresholding": True, "sampled": False, "time_zone": "Europe/Berlin",
                               "quota": {"tokens_per_day": {"consumed": 1200, "remaining": 198800}}}},
            "owner": "<Ops & Co>"}
    page = H.render_report(None, None, None, None, meta)
    about = page[page.index("About this report"):]
    assert "subject to thresholding: yes" in about and "sampled: no" in about
    assert "tokens per day: consumed: 1,200 · remaining: 198,800" in about
    assert "&lt;Ops &amp; Co&gt;" in about and "<dt>notes</dt>" not in about  # empty values left out
    assert "{" not in about  # no Python reprs of dicts


def test_funnel_shows_the_closed_funnel_beside_open_counts():
    steps = pd.DataFrame({"step_index": [1, 2, 3], "step": ["view_item", "add_to_cart", "purchase"],
                          "goal_type": ["micro", "micro", "macro"], "goal_kind": ["milestone", "milestone", None],
                          "users": [200, 80, 20], "rate_from_previous": [np.nan, 0.4, 0.25],
                          "users_exact": pd.array([200, 60, 10], dtype="Int64")})
    svg = H.funnel_svg(steps, width=540)
    exact = [float(w) for w in re.findall(r'width="([\d.]+)" height="6" fill="#243b53" class="exact"', svg)]
    bars = [float(w) for w in re.findall(r'width="([\d.]+)" height="24" rx="3" fill="#[0-9a-f]+" class="bar"', svg)]
    assert len(exact) == 3 and len(bars) == 3
    assert exact[1] == pytest.approx(bars[0] * 60 / 200, abs=0.1) and bars[1] == pytest.approx(bars[0] * 0.4, abs=0.1)
    assert "in order 60" in svg
    assert 'class="exact"' not in H.funnel_svg(steps.drop(columns="users_exact"))


# ----------------------------------------------------------------------------------------- trust fixes

def test_markup_in_data_is_shown_as_written_never_interpreted():
    """Segment values come from UTM parameters anyone can set: "[/]" crashed rich, "[link=...]" made links."""
    from io import StringIO

    from rich.console import Console

    df = pd.DataFrame({"property": ["1", "1"], "sessionSource": ["[/]", "[link=https://evil.example]win[/link]"],
                       "step": ["[bold]view_item", "purchase"], "users": [3, 2]})
    buf = StringIO()
    Console(file=buf, width=200, force_terminal=True, color_system="truecolor").print(
        T.table(df, title="[red]Chains[/]", segments=["sessionSource"]))
    out = buf.getvalue()
    assert "[/]" in out and "[link=https://evil.example]win[/link]" in out and "[bold]view_item" in out
    assert "[red]Chains[/]" in out
    assert "\x1b]8;" not in out  # no OSC 8 hyperlink
    plain = T.render(df, "table", title="[/]", width=200)
    assert "[link=https://evil.example]win[/link]" in plain


def _wide_chains():
    chains = C.compute_chains(EVENTS, BASELINE, CONFIG, [S], previous=(EVENTS.assign(users=EVENTS.users * 2),
                                                                       BASELINE))
    return T.view(chains, [S], "chains")


@pytest.mark.parametrize("width", [80, 120, 200])
def test_table_fits_the_width_and_keeps_the_numbers(width):
    """At 80 columns the chains table used to be cropped to ids and names: no number was left."""
    out = T.render(_wide_chains(), "table", width=width, segments=[S])
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= width
    row = next(line for line in lines if "Organic" in line and "add_to_cart" in line)
    assert " 40 " in row and "40.0%" in row  # users and of prev: 40 of 100
    assert "-50.0%" in row  # the change against the previous period (40 now, 80 before)
    words = " ".join(out.split())
    if width == 80:
        assert "Hidden columns: type, drop, of all, prev users; see -f csv or -f json, or a wider terminal" in words
    if width < 200:
        # Columns with one value in every row make way first, and are stated once.
        assert "All rows: chain checkout, period 2026-11, property 1" in words
    else:
        assert "Hidden columns" not in words and "All rows" not in words


def test_narrow_table_keeps_columns_by_importance():
    out = T.render(_wide_chains(), "table", width=60, segments=[S])
    header = next(line for line in out.splitlines() if "step" in line and "users" in line)
    for name in ("channel", "step", "users", "of prev", "change"):
        assert name in header
    hidden = " ".join(out[out.index("Hidden columns:"):].split())
    for name in ("of first", "macro/step", "prev users"):
        assert name in hidden


def test_one_number_format_for_table_markdown_and_html():
    """Counts, rates, changes and money read the same in the terminal, Markdown and HTML."""
    df = pd.DataFrame({"property": ["1"], "event": ["purchase"], "users": [1174], "events": [1200],
                       "value": [11635.599999999991], "rate_over_all_users": [0.4149],
                       "change_pct": [0.0821], "drop_off": [np.nan]})
    want = ["1,174", "1,200", "11,635.60", "41.5%", "+8.2%", T.MISSING]
    table_text = T.render(df, "table", width=200)
    md = T.render(df, "markdown")
    page = H.render_report(None, df.assign(period="p", goal_type="macro", goal_kind=None), None, None, {})
    for text in (table_text, md, page):
        for cell in want:
            assert cell in text, (cell, text[:400])
    # Money follows the property's currency: JPY has no minor unit.
    assert "11,636" in T.render(df, "table", width=200, currencies={"1": "JPY"})
    assert "11,636" in H.render_report(None, df.assign(period="p", goal_type="macro", goal_kind=None), None, None,
                                       {"metadata": {"1": {"currency": "JPY"}}})


def test_round_frame_money_to_minor_unit_and_rates():
    from ga4kit.render.numbers import round_frame

    df = pd.DataFrame({"property": ["1", "2"], "value": [11635.389999999994, 99.5], "users": [3, 4],
                       "rate_from_previous": [0.41666666666666663, 1 / 3]})
    out = round_frame(df, {"1": "EUR", "2": "JPY"})
    assert out["value"].tolist() == [11635.39, 100.0]
    assert out["rate_from_previous"].tolist() == [0.416667, 0.333333]
    assert "11635.389999999994" not in frame_to_csv(out)


def test_ndjson_is_one_object_per_line(frames):
    chains = frames[0]
    lines = T.render(chains, "ndjson").splitlines()
    assert len(lines) == len(chains)
    rows = [json.loads(line) for line in lines]
    assert rows == json.loads(T.render(chains, "json"))
