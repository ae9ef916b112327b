"""The audit's outputs, from the plain data of ``AuditReport.as_dict()`` (this module never imports the audit):

- a terminal summary (properties worst first, findings counted by severity);
- a client-ready HTML page: an overview across properties, then one section per property (findings with
  their evidence and where to fix them, checks that could not run), the manual checks and the list of
  checks. Self-contained (inline CSS, no script, no external URL); every text goes through ``html.escape``;
- Markdown (the same content, for tickets and wikis);
- CSV and JSON: one row per finding (evidence as JSON text in CSV; text that would run as a spreadsheet
  formula is quoted, see :mod:`ga4kit.serialize`).

:func:`write` picks the format from the file's extension and writes atomically.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from ga4kit.atomic import write_text

FORMATS = {".html": "html", ".htm": "html", ".md": "markdown", ".markdown": "markdown", ".csv": "csv",
           ".json": "json"}
ROW_COLUMNS = ("property", "property_name", "check", "severity", "message", "evidence", "fix")
SEVERITY_COLORS = {"critical": "#a61e4d", "high": "#c92a2a", "medium": "#e67700", "low": "#1971c2",
                   "info": "#616e7c"}


def format_of(path: str | Path) -> str | None:
    return FORMATS.get(Path(path).suffix.lower())


def write(path: str | Path, data: dict) -> Path:
    """Write the report to ``path`` in the format its extension names (see :data:`FORMATS`)."""
    fmt = format_of(path)
    text = {"html": render_html, "markdown": render_markdown, "csv": render_csv, "json": render_json}[fmt](data)
    return write_text(path, text)


def rows(data: dict) -> list[dict]:
    """One row per finding, worst property first."""
    return [f for p in data["properties"] for f in p["findings"]]


# ------------------------------------------------------------------------------------------- text
def _evidence_text(evidence: dict) -> str:
    parts = []
    for k, v in evidence.items():
        if isinstance(v, float):
            v = f"{v:.1%}" if k in ("share", "change", "rate", "rate_previous", "worst_ratio") else f"{v:,.2f}"
        elif isinstance(v, list):
            v = ", ".join(str(x) for x in v)
        parts.append(f"{k.replace('_', ' ')}: {v}")
    return "; ".join(parts)


def _label(p: dict) -> str:
    return f"{p['property_name']} ({p['property']})" if p.get("property_name") else str(p["property"])


def _counts_text(counts: dict, severities: list[str]) -> str:
    return ", ".join(f"{counts[s]} {s}" for s in severities if counts.get(s)) or "no findings"


def summary_lines(data: dict, *, limit: int | None = None) -> list[str]:
    """The terminal summary: one line per property, worst first, then the totals."""
    sev = data["severities"]
    props = data["properties"]
    width = max([len(_label(p)) for p in props] + [8])
    cols = [max(len(s), 4) for s in sev]
    out = [f"{'property'.ljust(width)}  score  grade     " + "  ".join(s.rjust(w) for s, w in zip(sev, cols))]
    for p in props[:limit] if limit else props:
        if p["error"]:
            status = p["error"]["status"]
            out.append(f"{_label(p).ljust(width)}  {'-':>5}  {'FAILED':<8}  {status} (see the error above)")
            continue
        counts = "  ".join(str(p["counts"][s]).rjust(w) for s, w in zip(sev, cols))
        unavailable = p["statuses"].get("unavailable", 0)
        note = f"  ({unavailable} checks could not run)" if unavailable else ""
        out.append(f"{_label(p).ljust(width)}  {p['score']:>5}  {p['grade']:<8}  {counts}{note}")
    if limit and len(props) > limit:
        out.append(f"... and {len(props) - limit} more properties (write the report with -o for all)")
    failed = sum(1 for p in props if p["error"])
    out.append("")
    out.append(f"{len(props)} properties audited ({failed} failed): {_counts_text(data['counts'], sev)}.")
    return out


def render_json(data: dict) -> str:
    return json.dumps({"started": data["started"], "finished": data["finished"], "findings": rows(data)},
                      indent=2, ensure_ascii=False, default=str) + "\n"


def render_csv(data: dict) -> str:
    import pandas as pd

    from ga4kit.serialize import frame_to_csv

    frame = pd.DataFrame([{**r, "evidence": json.dumps(r["evidence"], ensure_ascii=False, default=str)}
                          for r in rows(data)], columns=list(ROW_COLUMNS))
    return frame_to_csv(frame)


def _md(text: Any) -> str:
    """Markdown table cell text: pipes and line breaks would break the table; "<" would start HTML."""
    return str(text if text is not None else "").replace("<", "&lt;").replace("|", "\\|").replace("\n", " ")


def render_markdown(data: dict) -> str:
    sev = data["severities"]
    out = ["# GA4 audit", "", f"{len(data['properties'])} properties, {data['started']} to {data['finished']}: "
           f"{_counts_text(data['counts'], sev)}.", "", "## Overview", "",
           "| property | score | grade | " + " | ".join(sev) + " | checks not run |",
           "|---|---:|---|" + "---:|" * len(sev) + "---:|"]
    for p in data["properties"]:
        if p["error"]:
            out.append(f"| {_md(_label(p))} | – | failed: {_md(p['error']['status'])} |" + " |" * len(sev) + " |")
        else:
            out.append(f"| {_md(_label(p))} | {p['score']} | {p['grade']} | "
                       + " | ".join(str(p["counts"][s]) for s in sev) + f" | {p['statuses'].get('unavailable', 0)} |")
    for p in data["properties"]:
        out += ["", f"## {_md(_label(p))}", ""]
        if p["error"]:
            out += [f"Could not be audited: {_md(p['error']['message'])}"
                    + (f" {_md(p['error']['hint'])}" if p["error"].get("hint") else ""), ""]
            continue
        out.append(f"Score {p['score']} ({p['grade']}).")
        if p["findings"]:
            out += ["", "| severity | check | finding | evidence | how to fix |", "|---|---|---|---|---|"]
            out += [f"| {f['severity']} | {_md(f['check'])} | {_md(f['message'])} | "
                    f"{_md(_evidence_text(f['evidence']))} | {_md(f['fix'])} |" for f in p["findings"]]
        else:
            out += ["", "No findings."]
        skipped = [c for c in p["checks"] if c["status"] == "unavailable"]
        if skipped:
            out += ["", "Checks that could not run:", ""]
            out += [f"- {_md(c['check'])}: {_md(c['reason'])}" for c in skipped]
    out += ["", "## Manual checks (not visible through GA4's APIs)", ""]
    out += [f"- **{_md(m['title'])}**: {_md(m['why'])} Where: {_md(m['where'])}" for m in data["manual_checks"]]
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------------------- HTML
CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 -apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1f2933;
background:#f5f7fa}
header{background:#243b53;color:#fff;padding:22px 32px}header h1{margin:0 0 4px;font-size:22px}
header p{margin:0;color:#d9e2ec}main{max-width:1180px;margin:0 auto;padding:8px 24px 40px}
h2{font-size:18px;margin:28px 0 10px;border-bottom:2px solid #e4e7eb;padding-bottom:4px}
h3{font-size:15px;margin:16px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff;font-size:13px;margin-bottom:8px}
th,td{padding:5px 8px;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top}
th{background:#eef2f6;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;color:#fff;font-size:11px;font-weight:600}
.card{background:#fff;border:1px solid #e4e7eb;border-radius:8px;padding:10px 14px;margin:10px 0}
.muted{color:#616e7c}.score{font-size:20px;font-weight:600}
section.property{margin-top:26px}ul{margin:4px 0;padding-left:20px}
footer{color:#616e7c;font-size:12px;text-align:center;padding:20px}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _badge(severity: str) -> str:
    return f'<span class="badge" style="background:{SEVERITY_COLORS.get(severity, "#616e7c")}">{_e(severity)}</span>'


def _anchor(p: dict) -> str:
    return "p-" + "".join(ch for ch in str(p["property"]) if ch.isalnum())


def _overview(data: dict) -> str:
    sev = data["severities"]
    head = "".join(f"<th>{_e(s)}</th>" for s in sev)
    body = []
    for p in data["properties"]:
        name = f'<a href="#{_anchor(p)}">{_e(_label(p))}</a>'
        if p["error"]:
            body.append(f"<tr><td>{name}</td><td class=num>–</td><td>failed: {_e(p['error']['status'])}</td>"
                        + "<td></td>" * (len(sev) + 1) + "</tr>")
            continue
        cells = "".join(f"<td class=num>{p['counts'][s] or ''}</td>" for s in sev)
        body.append(f"<tr><td>{name}</td><td class=num>{_e(p['score'])}</td><td>{_e(p['grade'])}</td>{cells}"
                    f"<td class=num>{p['statuses'].get('unavailable', 0) or ''}</td></tr>")
    return (f"<table><thead><tr><th>property</th><th>score</th><th>grade</th>{head}<th>checks not run</th></tr>"
            f"</thead><tbody>{''.join(body)}</tbody></table>")


def _property_section(p: dict) -> str:
    out = [f'<section class="property" id="{_anchor(p)}"><h2>{_e(_label(p))}</h2>']
    if p["error"]:
        hint = f" {_e(p['error']['hint'])}" if p["error"].get("hint") else ""
        out.append(f'<div class="card">Could not be audited ({_e(p["error"]["status"])}): '
                   f'{_e(p["error"]["message"])}{hint}</div></section>')
        return "".join(out)
    facts = p.get("facts") or {}
    known = ", ".join(f"{_e(k.replace('_', ' '))}: {_e(v)}" for k, v in facts.items() if v not in (None, "", []))
    out.append(f'<div class="card"><span class="score">{_e(p["score"])}</span> <span class="muted">/ 100, '
               f'{_e(p["grade"])}</span><br><span class="muted">{known}</span></div>')
    if p["findings"]:
        out.append("<table><thead><tr><th>severity</th><th>finding</th><th>evidence</th><th>how to fix</th></tr>"
                   "</thead><tbody>")
        for f in p["findings"]:
            out.append(f"<tr><td>{_badge(f['severity'])}</td><td><b>{_e(f['check'])}</b><br>{_e(f['message'])}</td>"
                       f"<td>{_e(_evidence_text(f['evidence']))}</td><td>{_e(f['fix'])}</td></tr>")
        out.append("</tbody></table>")
    else:
        out.append("<p>No findings.</p>")
    skipped = [c for c in p["checks"] if c["status"] == "unavailable"]
    if skipped:
        out.append("<h3>Checks that could not run</h3><ul>")
        out += [f"<li>{_e(c['check'])}: {_e(c['reason'])}</li>" for c in skipped]
        out.append("</ul>")
    out.append("</section>")
    return "".join(out)


def render_html(data: dict, *, title: str = "GA4 audit") -> str:
    sev = data["severities"]
    manual = "".join(f"<li><b>{_e(m['title'])}</b>: {_e(m['why'])} <span class=muted>Where: {_e(m['where'])}"
                     "</span></li>" for m in data["manual_checks"])
    checks = "".join(f"<tr><td>{_e(c['id'])}</td><td>{_badge(c['severity'])}</td><td>{_e(c['title'])}</td>"
                     f"<td>{_e(c['reads'])}</td></tr>" for c in data["checks"])
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1><p>{len(data['properties'])} properties · "
        f"{_e(_counts_text(data['counts'], sev))} · {_e(data['finished'])}</p></header><main>"
        f"<h2>Overview (worst first)</h2>{_overview(data)}"
        + "".join(_property_section(p) for p in data["properties"])
        + f"<h2>Manual checks</h2><p class=muted>GA4's APIs do not show these; check them in the interface.</p>"
        f"<ul>{manual}</ul>"
        f"<h2>What was checked</h2><table><thead><tr><th>check</th><th>up to</th><th>title</th><th>reads</th></tr>"
        f"</thead><tbody>{checks}</tbody></table>"
        "</main><footer>ga4kit audit · read-only (analytics.readonly)</footer></body></html>\n"
    )
