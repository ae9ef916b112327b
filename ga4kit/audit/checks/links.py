"""Product links: paid search traffic without a Google Ads link, and the BigQuery export."""

from __future__ import annotations

from ga4kit.audit.registry import check

PAID_GOOGLE = {"Paid Search", "Paid Shopping", "Paid Video", "Cross-network"}


@check("paid_search_without_ads_link", family="links", severity="medium",
       title="Paid search traffic without a Google Ads link",
       reads="runReport sessionDefaultChannelGroup, sessionSource -> sessions (28 days); ListGoogleAdsLinks",
       fix="Admin > Product links > Google Ads links > Link: costs, clicks and auto-tagging come into GA4 and key "
           "events can go back to Google Ads.")
def paid_search_without_ads_link(ctx):
    traffic = ctx.facts.report("traffic").frame
    paid = traffic[traffic["sessionDefaultChannelGroup"].isin(PAID_GOOGLE)
                   & traffic["sessionSource"].str.lower().str.contains("google")]
    sessions = int(paid["sessions"].sum())
    if not sessions or ctx.facts.ads_links():
        return
    total = float(traffic["sessions"].sum())
    yield ctx.finding("medium", f"{sessions:,} sessions in the last 28 days came from paid Google traffic, but no "
                      "Google Ads account is linked: no costs or clicks in GA4, no key events imported into Ads.",
                      {"paid_google_sessions": sessions, "share": sessions / total if total else 0.0,
                       "google_ads_links": 0})


@check("no_bigquery_link", family="links", severity="info", title="No BigQuery export",
       reads="ListBigQueryLinks (v1alpha)",
       fix="Admin > Product links > BigQuery links > Link: the raw events are then kept beyond the retention "
           "period and can be queried freely.")
def no_bigquery_link(ctx):
    if not ctx.facts.bigquery_links():
        yield ctx.finding("info", "The property exports nothing to BigQuery: raw events are only kept as long as the "
                          "retention setting allows, and no event-level analysis is possible.", {"bigquery_links": 0})
