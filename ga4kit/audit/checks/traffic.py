"""Traffic quality over the last 28 days: Unassigned and Direct shares, "(not set)" landing pages,
self-referrals, payment-gateway referrals and host names that are not the site's.

The site is what the web streams' default URLs name (their host without ``www.``, and its subdomains).
Shares need at least :data:`~ga4kit.audit.checks._util.MIN_SESSIONS` sessions and unthresholded data.
"""

from __future__ import annotations

from ga4kit.audit.checks._util import MIN_SESSIONS, band, pct, top
from ga4kit.audit.facts import on_site
from ga4kit.audit.registry import NotApplicable, check

SHARE_BANDS = ((0.05, "low"), (0.10, "medium"), (0.25, "high"))
SELF_REFERRAL_BANDS = ((0.05, "medium"), (0.20, "high"))
DIRECT_BANDS = ((0.40, "low"), (0.60, "medium"))

# Payment providers whose pages send buyers back to the shop: a session restarts with them as the source,
# and the purchase loses its real channel. Matched as the host or a parent domain of sessionSource.
PAYMENT_GATEWAYS = (
    "paypal.com", "paypal.me", "stripe.com", "klarna.com", "adyen.com", "mollie.com", "sofort.com", "sofort.de",
    "giropay.de", "worldpay.com", "sagepay.com", "opayo.co.uk", "braintreegateway.com", "2checkout.com",
    "authorize.net", "paddle.com", "payu.com", "checkout.com", "pay.amazon.com", "payments.amazon.com",
    "skrill.com", "trustly.com", "mercadopago.com", "razorpay.com", "squareup.com", "unzer.com", "computop.com",
    "nexi.it", "payone.com", "secure.ogone.com", "wirecard.com", "ideal.nl", "bancontact.com", "afterpay.com",
    "clearpay.co.uk", "affirm.com", "zip.co", "paysafecard.com", "pay.google.com",
    "3dsecure.io", "cardinalcommerce.com", "arcot.com", "securecode.com",
)
# Hosts that show a site's pages without being another site: translations and caches.
_BENIGN_HOSTS = ("translate.goog", "googleusercontent.com", "webcache.googleusercontent.com", "bingj.com",
                 "archive.org")


def _traffic(ctx, *, absence: bool = True):
    rep = ctx.facts.report("traffic", absence=absence)
    total = float(rep.frame["sessions"].sum())
    return rep.frame, total


def _shares(ctx):
    frame, total = _traffic(ctx)
    if total < MIN_SESSIONS:
        raise NotApplicable(f"{int(total):,} sessions in the last 28 days: too few to judge shares "
                            f"(at least {MIN_SESSIONS})")
    return frame, total


def _channel_share(ctx, channel: str):
    """(the channel's rows, its sessions, all sessions, its share) over the last 28 days."""
    frame, total = _shares(ctx)
    rows = frame[frame["sessionDefaultChannelGroup"] == channel]
    sessions = float(rows["sessions"].sum())
    return rows, sessions, total, sessions / total


def _domains(ctx) -> list[str]:
    domains = ctx.facts.site_domains()
    if not domains:
        raise NotApplicable("no web stream names the site's URL (its default URI)")
    return domains


@check("unassigned_traffic", family="traffic", severity="high", title="Unassigned sessions",
       reads="runReport sessionDefaultChannelGroup -> sessions (28 days)",
       fix="Tag campaign links with utm_source / utm_medium values GA4's channel rules know (Admin > Data "
           "display > Channel groups shows the rules); check custom utm_medium values.")
def unassigned_traffic(ctx):
    sources, unassigned, total, share = _channel_share(ctx, "Unassigned")
    severity = band(share, SHARE_BANDS)
    if severity:
        yield ctx.finding(severity, f"{pct(share)} of sessions are Unassigned: GA4 cannot tell their channel, so "
                          "channel reports and attribution miss them.",
                          {"unassigned_sessions": int(unassigned), "sessions": int(total), "share": share,
                           "top_sources": top(dict(zip(sources["sessionSource"], sources["sessions"])), 3)})


@check("landing_page_not_set", family="traffic", severity="high", title="\"(not set)\" landing pages",
       reads="runReport landingPage = \"(not set)\" -> sessions; sessions (28 days)",
       fix="Make sure every page sends page_view before other events (tag order in Google Tag Manager; no "
           "events sent from a consent banner before the page view; session timeout in Admin > Data streams > "
           "Configure tag settings).")
def landing_page_not_set(ctx):
    _, total = _shares(ctx)
    landing = ctx.facts.report("landing", absence=True).frame
    not_set = float(landing["sessions"].sum())
    share = not_set / total
    severity = band(share, SHARE_BANDS)
    if severity:
        yield ctx.finding(severity, f"{pct(share)} of sessions have no landing page (\"(not set)\"): they began "
                          "without a page view, so landing page reports miss them.",
                          {"sessions_not_set": int(not_set), "sessions": int(total), "share": share})


@check("self_referral", family="traffic", severity="high", title="Self-referrals",
       reads="runReport sessionSource -> sessions (28 days); ListDataStreams -> default_uri",
       fix="Admin > Data streams > the web stream > Configure tag settings > List unwanted referrals (and "
           "Configure your domains for cross-domain measurement); tag every subdomain with the same stream.")
def self_referral(ctx):
    domains = _domains(ctx)
    frame, total = _shares(ctx)
    own = frame[[on_site(s, domains) for s in frame["sessionSource"]]]
    sessions = float(own["sessions"].sum())
    share = sessions / total
    severity = band(share, SELF_REFERRAL_BANDS)
    if severity:
        yield ctx.finding(severity, f"{pct(share)} of sessions name the site itself as their source: sessions "
                          "restart inside the site (cross-domain or subdomain tagging), which splits visits and "
                          "loses the real channel.",
                          {"sessions": int(sessions), "share": share,
                           "sources": top(dict(zip(own["sessionSource"], own["sessions"])), 3)})


def _gateway(source: str) -> bool:
    s = str(source).lower().strip().rstrip("/")
    return any(s == g or s.endswith("." + g) for g in PAYMENT_GATEWAYS)


@check("payment_gateway_referral", family="traffic", severity="medium", title="Payment-gateway referrals",
       reads="runReport sessionSource -> sessions (28 days)",
       fix="Admin > Data streams > the web stream > Configure tag settings > List unwanted referrals: add the "
           "payment providers' domains.")
def payment_gateway_referral(ctx):
    frame, total = _traffic(ctx, absence=False)
    hits = frame[[_gateway(s) for s in frame["sessionSource"]]]
    sessions = float(hits["sessions"].sum())
    if sessions:
        yield ctx.finding("medium", f"{int(sessions):,} sessions came from payment providers: buyers returning from "
                          "the payment page start a new session, and the purchase is credited to the payment "
                          "provider instead of the channel that brought them.",
                          {"sessions": int(sessions), "share": sessions / total if total else 0.0,
                           "sources": top(dict(zip(hits["sessionSource"], hits["sessions"])), 5)})


@check("foreign_hostname", family="traffic", severity="medium", title="Host names that are not the site's",
       reads="runReport hostName, platform -> eventCount (28 days); ListDataStreams -> default_uri",
       fix="Find where the tag runs outside the site (staging, copies of the site, spam); add a data filter or "
           "restrict the tag (Admin > Data collection and modification > Data filters), or correct the web "
           "stream's URL.")
def foreign_hostname(ctx):
    domains = _domains(ctx)
    import datetime as dt

    rep = ctx.facts.report("events")
    since = (ctx.facts.today - dt.timedelta(days=28)).strftime("%Y%m%d")
    web = rep.frame[(rep.frame["date"] >= since) & (rep.frame["platform"].str.lower() == "web")]
    per_host = web.groupby("hostName")["eventCount"].sum()
    foreign = {h: v for h, v in per_host.items()
               if h not in ("(not set)", "") and v > 0 and not on_site(h, domains)
               and not any(str(h).endswith(b) for b in _BENIGN_HOSTS)}
    if foreign:
        events = int(sum(foreign.values()))
        total = float(per_host.sum())
        yield ctx.finding("medium", f"{len(foreign)} host name{'s' if len(foreign) > 1 else ''} outside "
                          f"{', '.join(domains)} sent {events:,} events ({pct(events / total)} of web events): "
                          "staging copies, other sites using the tag, or spam inflate the figures.",
                          {"hosts": len(foreign), "events": events, "share": events / total,
                           "top_hosts": top(foreign, 5), "site": domains})


@check("direct_share", family="traffic", severity="medium", title="High share of Direct traffic",
       reads="runReport sessionDefaultChannelGroup -> sessions (28 days)",
       fix="Tag campaign links (e-mails, apps, PDFs, QR codes) with utm parameters; check that redirects keep "
           "the referrer and the consent banner does not restart sessions.")
def direct_share(ctx):
    _, direct, total, share = _channel_share(ctx, "Direct")
    severity = band(share, DIRECT_BANDS)
    if severity:
        yield ctx.finding(severity, f"{pct(share)} of sessions are Direct: usually untagged links (e-mail, apps, "
                          "documents) or a lost referrer, not people typing the address.",
                          {"direct_sessions": int(direct), "sessions": int(total), "share": share})
