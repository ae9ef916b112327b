"""Google signals and thresholding: with signals on, GA4 may withhold rows with few users from reports."""

from __future__ import annotations

from ga4kit.audit.registry import check
from ga4kit.properties.read import enum_name


@check("google_signals_on", family="signals", severity="info", title="Google signals on (thresholding risk)",
       reads="GetGoogleSignalsSettings (v1alpha) -> state",
       fix="Admin > Data collection and modification > Data collection > Google signals data collection; or "
           "Admin > Reporting identity > Device-based, to keep reports free of thresholding.")
def google_signals_on(ctx):
    state = enum_name(ctx.facts.signals().state)
    if state == "GOOGLE_SIGNALS_ENABLED":
        yield ctx.finding("info", "Google signals is on: with a blended or observed reporting identity GA4 may "
                          "withhold rows with few users from reports and the Data API (thresholding).",
                          {"google_signals": "on"})


@check("reports_thresholded", family="signals", severity="medium", title="Reports are thresholded",
       reads="runReport / batchRunReports -> metadata.subject_to_thresholding (every report of the audit)",
       fix="Admin > Reporting identity: choose Device-based (or turn Google signals off) so small rows are not "
           "withheld.")
def reports_thresholded(ctx):
    data = ctx.facts.data()
    hit = sorted(name for name, rep in data.reports.items() if rep.thresholded)
    if hit:
        yield ctx.finding("medium", f"GA4 thresholded {len(hit)} of the audit's {len(data.reports)} reports: rows with "
                          "few users are withheld, so small segments and rare events are undercounted or missing. "
                          "Checks that judge missing data were not run.",
                          {"thresholded_reports": len(hit), "reports": hit})
