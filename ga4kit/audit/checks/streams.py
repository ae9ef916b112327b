"""Data streams: none at all, a stream that went silent, web stream settings (enhanced measurement, data
redaction).

Which events belong to which stream: GA4's ``streamId`` dimension is not read (the audit keeps to
dimensions every GA4 property and the local emulator answer); a stream's events are those of its platform
(web, Android, iOS) and, when a property has several web streams, those on the stream's own site (the host
of its default URL and its subdomains).
"""

from __future__ import annotations

import datetime as dt

from ga4kit.audit.facts import on_site, site_domain
from ga4kit.audit.registry import NotApplicable, check

_PLATFORM = {"web": "web", "android": "Android", "ios": "iOS"}


@check("no_data_stream", family="streams", severity="critical", title="No data stream",
       reads="ListDataStreams",
       fix="Admin > Data collection and modification > Data streams > Add stream, then install the tag "
           "(or the Firebase SDK for apps).")
def no_data_stream(ctx):
    if not ctx.facts.streams():
        yield ctx.finding("critical", "The property has no data stream: it cannot collect any data.", {"streams": 0})


def stream_events(events, stream, web_streams, start: dt.date, end: dt.date) -> int:
    """Events of ``stream`` between ``start`` and ``end`` in the events report's frame."""
    days = events["date"]
    rows = events[(days >= start.strftime("%Y%m%d")) & (days <= end.strftime("%Y%m%d"))]
    rows = rows[rows["platform"].str.lower() == _PLATFORM[stream.kind].lower()]
    if stream.kind == "web" and stream.host and len([s for s in web_streams if s.host]) > 1:
        domain = [site_domain(stream.host)]
        rows = rows[[on_site(h, domain) for h in rows["hostName"]]]
    return int(rows["eventCount"].sum())


@check("silent_stream", family="streams", severity="high", title="A stream without events in the last 7 days",
       reads="ListDataStreams; runReport date, platform, hostName -> eventCount (last 7 and 28 days)",
       fix="Check the stream's tag (Admin > Data streams > the stream > View tag instructions; Google Tag "
           "Assistant) or the app's SDK; delete streams no longer used.")
def silent_stream(ctx):
    streams = ctx.facts.streams()
    if not streams:
        raise NotApplicable("the property has no data stream")
    rep = ctx.facts.report("events", absence=True)
    today = ctx.facts.today
    web = [s for s in streams if s.kind == "web"]
    for s in streams:
        last7 = stream_events(rep.frame, s, web, today - dt.timedelta(days=7), today - dt.timedelta(days=1))
        if last7:
            continue
        last28 = stream_events(rep.frame, s, web, today - dt.timedelta(days=28), today - dt.timedelta(days=1))
        where = f" ({s.host})" if s.host else ""
        yield ctx.finding("high", f"The {s.kind} stream {s.display_name!r} ({s.id}){where} sent no events in the last "
                          f"7 days" + (f" ({last28:,} in the last 28)" if last28 else " nor in the last 28") + ".",
                          {"stream": s.id, "kind": s.kind, "events_last_7_days": 0, "events_last_28_days": last28})


def _web_streams(ctx):
    web = ctx.facts.web_streams()
    if not web:
        raise NotApplicable("the property has no web stream")
    return web


@check("enhanced_measurement_off", family="streams", severity="medium", title="Enhanced measurement off",
       reads="GetEnhancedMeasurementSettings (v1alpha) -> stream_enabled",
       fix="Admin > Data streams > the web stream > Enhanced measurement: switch it on (page views, scrolls, "
           "outbound clicks, site search, video, downloads, form interactions).")
def enhanced_measurement_off(ctx):
    for s in _web_streams(ctx):
        if not ctx.facts.enhanced(s).stream_enabled:
            yield ctx.finding("medium", f"Enhanced measurement is off on the web stream {s.display_name!r} ({s.id}): "
                              "scrolls, outbound clicks, site search, video and file downloads are not collected "
                              "unless tagged by hand.", {"stream": s.id, "stream_enabled": 0})


@check("data_redaction_off", family="streams", severity="medium", title="Data redaction off",
       reads="GetDataRedactionSettings (v1alpha) -> email_redaction_enabled",
       fix="Admin > Data streams > the web stream > Redact data: turn on e-mail redaction (and name the query "
           "parameters that carry personal data).")
def data_redaction_off(ctx):
    for s in _web_streams(ctx):
        settings = ctx.facts.redaction(s)
        if not settings.email_redaction_enabled:
            query = int(bool(settings.query_parameter_redaction_enabled))
            yield ctx.finding("medium", f"E-mail redaction is off on the web stream {s.display_name!r} ({s.id}): "
                              "e-mail addresses in page URLs or parameters reach GA4 as they are.",
                              {"stream": s.id, "email_redaction_enabled": 0,
                               "query_parameter_redaction_enabled": query})
