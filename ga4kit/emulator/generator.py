"""Seeded, vectorised synthetic GA4 traffic and the demo account.

``generate`` draws users, their sessions and each session's events with numpy, in one pass per event
type (no Python loop over users), so 90 days x 5,000 users take well under a second. The model, per
user: a first-visit day (weekends are quieter), a first-touch channel / source / medium / campaign, a
device (platform, operating system, browser), a country, region and city; 1-8 sessions on later days
(later sessions are often Direct). Per session: a traffic source within its channel (the first session's
is the user's first touch), whether it bounces (one page view, no engagement; channel dependent), and
otherwise a depth reached on the profile's milestone path (Organic/Paid Search buy, Organic Social hardly
ever does) plus independent secondary actions.

Within a session the first page view comes with session_start (same second; the landing page carries
the campaign's utm parameters in its URL), later events are ordered by stage (page_view < scroll < ... <
purchase), so funnels see the path in order. Every event after the first carries the engagement time
since the previous one (``engagement_time_msec``); sessions longer than 10 s or with 2+ page views carry
``session_engaged = 1``. Ecommerce events carry items: view_item / add_to_cart the product of the page,
begin_checkout / purchase the session's cart, whose value is the sum of price x quantity; purchases have a
transaction id and a ``payment_type`` parameter. With ``apps > 0`` that share of mobile users use the
Android / iOS app instead (first_open, screen_view, in_app_purchase, no page URLs).

``populate_demo`` builds "Demo Account" through the AdminState API: the first property is the
online shop "Demo Shop" (EUR, Europe/Berlin); more properties (``properties>1``) get varied
setups for agency audits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from .events import PARAM_PREFIX, attach_items, normalize, normalize_items
from .geography import REGIONS

# channel -> (probability, [(source, medium, campaign, weight)], milestone factor, macro factor, bounce rate)
CHANNELS: dict[str, tuple[float, list[tuple[str, str, str, float]], float, float, float]] = {
    "Organic Search": (0.34, [("google", "organic", "(organic)", 0.85), ("bing", "organic", "(organic)", 0.15)],
                       1.10, 1.2, 0.33),
    "Direct": (0.20, [("(direct)", "(none)", "(direct)", 1.0)], 1.00, 1.0, 0.40),
    "Paid Search": (0.15, [("google", "cpc", "brand_search", 0.45), ("google", "cpc", "generic_search", 0.55)],
                    1.20, 1.2, 0.30),
    "Organic Social": (0.16, [("linkedin.com", "referral", "(referral)", 0.5),
                              ("facebook.com", "referral", "(referral)", 0.3),
                              ("instagram.com", "referral", "(referral)", 0.2)], 0.50, 0.05, 0.60),
    "Email": (0.08, [("newsletter", "email", "weekly_newsletter", 1.0)], 1.10, 1.0, 0.25),
    "Referral": (0.07, [("partner-blog.example", "referral", "(referral)", 0.6),
                        ("news.example.org", "referral", "(referral)", 0.4)], 0.80, 0.8, 0.40),
}
_REFERRERS = {"google": "https://www.google.com/", "bing": "https://www.bing.com/",
              "linkedin.com": "https://www.linkedin.com/", "facebook.com": "https://www.facebook.com/",
              "instagram.com": "https://www.instagram.com/", "partner-blog.example": "https://partner-blog.example/",
              "news.example.org": "https://news.example.org/"}
DEVICES = (("desktop", 0.45), ("mobile", 0.50), ("tablet", 0.05))
# device -> [(operating system, weight)]; operating system -> [(browser, weight)]
_SYSTEMS = {
    "desktop": [("Windows", 0.68), ("Macintosh", 0.26), ("Linux", 0.04), ("Chrome OS", 0.02)],
    "mobile": [("Android", 0.55), ("iOS", 0.45)],
    "tablet": [("iOS", 0.60), ("Android", 0.40)],
}
_BROWSERS = {
    "Windows": [("Chrome", 0.65), ("Edge", 0.22), ("Firefox", 0.10), ("Opera", 0.03)],
    "Macintosh": [("Safari", 0.50), ("Chrome", 0.45), ("Firefox", 0.05)],
    "Linux": [("Chrome", 0.60), ("Firefox", 0.40)],
    "Chrome OS": [("Chrome", 1.0)],
    "Android": [("Chrome", 0.80), ("Samsung Internet", 0.15), ("Firefox", 0.05)],
    "iOS": [("Safari", 0.85), ("Chrome", 0.15)],
}

# Stage order inside a session: events of a lower stage happen earlier.
_STAGE = {
    "session_start": 0, "first_visit": 0, "page_view": 1, "scroll": 2, "video_start": 3,
    "video_complete": 4, "file_download": 5, "newsletter_signup": 6, "share": 6,
}
_STAGE_SECONDS = 90
_REPEATS = {"view_item": 0.7, "add_to_cart": 0.35}  # mean extra events per session reaching the step
_ITEM_EVENTS = ("view_item", "add_to_cart", "begin_checkout", "purchase")
_APP_NAMES = {"page_view": "screen_view", "first_visit": "first_open", "purchase": "in_app_purchase"}
_PAYMENT_TYPES = [("credit_card", 0.55), ("paypal", 0.30), ("invoice", 0.15)]


@dataclass
class Profile:
    """What a kind of site tracks. Milestones are in path order; the last one is the macro goal."""
    host: str
    milestones: list[tuple[str, float, str]]        # (event, P(step | previous step), page path)
    secondary: list[tuple[str, float]]              # (event, P per session)
    pages: list[tuple[str, float]]                  # page_view paths and weights
    countries: list[tuple[str, float]]
    values: dict[str, tuple[float, float]] = field(default_factory=dict)  # event -> (median, sigma)
    brand: str = "Example"
    hosts: dict[str, str] = field(default_factory=dict)  # path prefix -> another host serving it
    # (item_id, item_name, item_category, item_brand, price); purchases without a cart take one of these
    catalog: list[tuple[str, str, str, str, float]] = field(default_factory=list)


_SHOP_CATALOG = [
    ("SKU-ESP-01", "Espresso Machine Pro", "Machines", "Brewline", 349.0),
    ("SKU-GRD-02", "Burr Coffee Grinder", "Grinders", "Brewline", 129.0),
    ("SKU-FRO-03", "Milk Frother", "Accessories", "Frothy", 59.0),
    ("SKU-KIT-04", "Barista Starter Kit", "Accessories", "Brewline", 39.0),
    ("SKU-BEA-05", "Single-Origin Bean Sampler", "Coffee", "Roastery 9", 24.5),
    ("SKU-MUG-06", "Insulated Travel Mug", "Accessories", "Frothy", 19.9),
]
PROFILES: dict[str, Profile] = {
    "shop": Profile(
        host="https://shop.example.com", brand="Demo Shop", hosts={"/blog/": "https://blog.shop.example.com"},
        milestones=[("view_item", 0.80, "/products/{p}"), ("add_to_cart", 0.35, "/products/{p}"),
                    ("begin_checkout", 0.60, "/checkout"), ("purchase", 0.62, "/checkout/thank-you")],
        secondary=[("scroll", 0.45), ("newsletter_signup", 0.025), ("video_start", 0.12),
                   ("file_download", 0.03)],
        pages=[("/", 0.30), ("/products/{p}", 0.30), ("/blog/{b}", 0.18), ("/pricing", 0.07),
               ("/about", 0.05), ("/contact", 0.04), ("/products", 0.06)],
        countries=[("Germany", 0.62), ("Austria", 0.12), ("Switzerland", 0.09), ("Netherlands", 0.05),
                   ("France", 0.04), ("United States", 0.04), ("United Kingdom", 0.04)],
        catalog=_SHOP_CATALOG,
    ),
    "saas": Profile(
        host="https://app.example.io", brand="Example.io",
        milestones=[("view_pricing_page", 0.60, "/pricing"), ("sign_up", 0.30, "/signup"),
                    ("start_trial", 0.55, "/trial"), ("purchase", 0.35, "/billing/thank-you")],
        secondary=[("scroll", 0.40), ("generate_lead", 0.03), ("request_demo", 0.02),
                   ("newsletter_signup", 0.03), ("file_download", 0.05), ("video_start", 0.10)],
        pages=[("/", 0.35), ("/pricing", 0.20), ("/features", 0.15), ("/blog/{b}", 0.20),
               ("/customers", 0.05), ("/docs", 0.05)],
        countries=[("United States", 0.55), ("Canada", 0.10), ("United Kingdom", 0.12),
                   ("Germany", 0.10), ("Australia", 0.06), ("India", 0.07)],
        catalog=[("PLAN-STARTER", "Starter plan", "Subscriptions", "Example.io", 99.0),
                 ("PLAN-PRO", "Pro plan", "Subscriptions", "Example.io", 290.0),
                 ("PLAN-BUSINESS", "Business plan", "Subscriptions", "Example.io", 890.0)],
    ),
    "leadgen": Profile(
        host="https://www.example-consulting.com", brand="Example Consulting",
        milestones=[("form_start", 0.28, "/contact"), ("form_submit", 0.55, "/contact"),
                    ("generate_lead", 0.85, "/contact/thank-you")],
        secondary=[("scroll", 0.50), ("file_download", 0.06), ("newsletter_signup", 0.03),
                   ("video_start", 0.08)],
        pages=[("/", 0.35), ("/services", 0.20), ("/blog/{b}", 0.25), ("/pricing", 0.08),
               ("/about", 0.07), ("/contact", 0.05)],
        countries=[("France", 0.55), ("Belgium", 0.15), ("Switzerland", 0.10), ("Germany", 0.10),
                   ("Canada", 0.10)],
        values={"generate_lead": (50.0, 0.01)},
    ),
    "content": Profile(
        host="https://magazine.example.net", brand="Example Magazine",
        milestones=[("article_read", 0.70, "/blog/{b}"), ("newsletter_signup", 0.06, "/newsletter"),
                    ("purchase", 0.10, "/subscribe/thank-you")],
        secondary=[("scroll", 0.65), ("video_start", 0.20), ("share", 0.04), ("file_download", 0.02)],
        pages=[("/", 0.25), ("/blog/{b}", 0.60), ("/pricing", 0.05), ("/about", 0.05),
               ("/newsletter", 0.05)],
        countries=[("Germany", 0.70), ("Austria", 0.15), ("Switzerland", 0.15)],
        catalog=[("SUB-MONTHLY", "Monthly subscription", "Subscriptions", "Example Magazine", 9.99)],
    ),
}
_PRODUCTS = ["espresso-machine", "coffee-grinder", "milk-frother", "barista-kit", "bean-sampler",
             "travel-mug"]
_POSTS = ["how-to-brew", "best-beans-2026", "cold-brew-guide", "grinder-comparison", "latte-art",
          "water-hardness"]
_SLOTS = {"{p}": _PRODUCTS, "{b}": _POSTS}
# Property setups for agency audits; the first is the demo shop.
SETUPS = [
    dict(name="Demo Shop", profile="shop", currency="EUR", tz="Europe/Berlin", level="STANDARD"),
    dict(name="Demo SaaS", profile="saas", currency="USD", tz="America/New_York", level="STANDARD"),
    dict(name="Demo Shop UK (360)", profile="shop", currency="GBP", tz="Europe/London", level="PREMIUM"),
    dict(name="Demo Leads", profile="leadgen", currency="EUR", tz="Europe/Paris", level="STANDARD"),
    dict(name="Demo Magazine", profile="content", currency="EUR", tz="Europe/Berlin", level="STANDARD"),
    dict(name="Demo Shop CH (broken tracking)", profile="shop", currency="CHF", tz="Europe/Zurich",
         level="STANDARD", broken={"add_to_cart": 10, "video_complete": 21}),
]
_MORE_CURRENCIES = [("JPY", "Asia/Tokyo"), ("AUD", "Australia/Sydney"), ("USD", "America/Los_Angeles"),
                    ("EUR", "Europe/Madrid"), ("SEK", "Europe/Stockholm"), ("BRL", "America/Sao_Paulo")]


@dataclass
class Generated:
    frame: pd.DataFrame   # EventStore frame
    items: pd.DataFrame   # item rows (``row`` = position in ``frame``)


def _pick(rng: np.random.Generator, options, size: int) -> np.ndarray:
    p = np.array([o[-1] for o in options], dtype=float)
    return rng.choice(len(options), size=size, p=p / p.sum())


def _vocabulary(prof: Profile) -> list[str]:
    """Every concrete page path the profile can produce (templates expanded)."""
    out = []
    for path in [p for p, _ in prof.pages] + [m[2] for m in prof.milestones]:
        words = next((w for slot, w in _SLOTS.items() if slot in path), None)
        slot = next((slot for slot in _SLOTS if slot in path), None)
        for concrete in ([path.replace(slot, w) for w in words] if words else [path]):
            if concrete not in out:
                out.append(concrete)
    return out


def _expand(path: str, rng: np.random.Generator, n: int, vocab: list[str]) -> np.ndarray:
    """n concrete paths for a template, as codes into ``vocab``."""
    for slot, words in _SLOTS.items():
        if slot in path:
            codes = np.array([vocab.index(path.replace(slot, w)) for w in words])
            return codes[rng.integers(0, len(words), n)]
    return np.full(n, vocab.index(path), dtype=np.int64)


def _title(path: str, prof: Profile) -> str:
    if path == "/":
        return f"Home | {prof.brand}"
    words = [w for w in path.strip("/").split("/") if w]
    name = words[-1].replace("-", " ").capitalize()
    return f"{name} | {prof.brand}{' Blog' if path.startswith('/blog/') else ''}"


def _url(path: str, prof: Profile) -> str:
    host = next((h for prefix, h in prof.hosts.items() if path.startswith(prefix)), prof.host)
    return host + path


def _cat(codes, categories) -> pd.Categorical:
    """A categorical from codes into ``categories`` (which may repeat a label); code len(categories) = ""."""
    labels = np.array(list(categories) + [""], dtype=object)
    inv, uniq = pd.factorize(labels)
    return pd.Categorical.from_codes(inv[np.asarray(codes)], categories=uniq)


def generate_events(*, seed: int = 42, days: int = 90, users: int = 5000, today: date | None = None,
                    time_zone: str = "Europe/Berlin", currency: str = "EUR", profile: str = "shop",
                    broken: dict[str, date] | None = None, apps: float = 0.0) -> pd.DataFrame:
    """Events of ``users`` users over the ``days`` days before ``today`` (today excluded), as an
    EventStore frame with its items attached (``events.items_of``). ``broken={"event": date}`` drops
    that event from that (local) date on."""
    g = generate(seed=seed, days=days, users=users, today=today, time_zone=time_zone, currency=currency,
                 profile=profile, broken=broken, apps=apps)
    return attach_items(g.frame, g.items)


def generate(*, seed: int = 42, days: int = 90, users: int = 5000, today: date | None = None,
             time_zone: str = "Europe/Berlin", currency: str = "EUR", profile: str = "shop",
             broken: dict[str, date] | None = None, apps: float = 0.0) -> Generated:
    """The events and items of ``generate_events``."""
    prof = PROFILES[profile]
    tz = ZoneInfo(time_zone)
    today = today or datetime.now(tz).date()
    rng = np.random.default_rng(seed)
    first = today - timedelta(days=days)
    day_dates = [first + timedelta(days=i) for i in range(days + 1)]
    # Local midnights as µs; the extra day bounds the last one.
    midnights = np.array([int(datetime(d.year, d.month, d.day, tzinfo=tz).timestamp()) * 1_000_000
                          for d in day_dates], dtype=np.int64)
    weekday = np.array([d.weekday() for d in day_dates[:-1]])
    day_weight = np.where(weekday >= 5, 0.68, 1.0) * (1 + 0.15 * np.sin(np.arange(days) / 9.0))
    ch_names = list(CHANNELS)
    pairs = [(ci, p) for ci, v in enumerate(CHANNELS.values()) for p in v[1]]  # every (channel, source pair)

    # ---- users
    u_first = rng.choice(days, size=users, p=day_weight / day_weight.sum())
    u_channel = _pick(rng, [(c, v[0]) for c, v in CHANNELS.items()], users)
    u_pair = _pick_pair(rng, u_channel)
    u_device = _pick(rng, DEVICES, users)
    systems = [(d, o) for d, _ in DEVICES for o, _ in _SYSTEMS[d]]
    u_system = np.zeros(users, dtype=np.int64)
    for di, (dname, _) in enumerate(DEVICES):
        sel = np.flatnonzero(u_device == di)
        u_system[sel] = systems.index((dname, _SYSTEMS[dname][0][0])) + _pick(rng, _SYSTEMS[dname], len(sel))
    os_names = list(dict.fromkeys(o for _, o in systems))
    u_os = np.array([os_names.index(systems[s][1]) for s in range(len(systems))])[u_system]
    browsers = [(o, b) for o in os_names for b, _ in _BROWSERS[o]]
    u_browser = np.zeros(users, dtype=np.int64)
    for oi, oname in enumerate(os_names):
        sel = np.flatnonzero(u_os == oi)
        u_browser[sel] = browsers.index((oname, _BROWSERS[oname][0][0])) + _pick(rng, _BROWSERS[oname], len(sel))
    # App users: a share of mobile users on Android / iOS use the app (no browser, no page URLs).
    u_app = (u_device == 1) & (rng.random(users) < apps)
    platforms = ["web", "Android", "iOS"]
    u_platform = np.where(u_app, np.where(np.array(os_names)[u_os] == "iOS", 2, 1), 0)
    geo = [(c, r, ct) for c, _ in prof.countries for r, ct, _ in REGIONS.get(c, [("(not set)", "", 1.0)])]
    u_country = _pick(rng, prof.countries, users)
    u_geo = np.zeros(users, dtype=np.int64)
    for ci, (cname, _) in enumerate(prof.countries):
        sel = np.flatnonzero(u_country == ci)
        regions = REGIONS.get(cname, [("(not set)", "", 1.0)])
        u_geo[sel] = next(i for i, g in enumerate(geo) if g[0] == cname) + _pick(rng, regions, len(sel))
    u_sessions = np.minimum(rng.geometric(0.55, size=users), 8)

    # ---- sessions
    s_user = np.repeat(np.arange(users), u_sessions)
    starts = np.cumsum(u_sessions) - u_sessions
    s_rank = np.arange(len(s_user)) - np.repeat(starts, u_sessions)
    gaps = np.where(s_rank == 0, 0, rng.geometric(0.12, size=len(s_user)))
    cs = np.cumsum(gaps)
    s_day = u_first[s_user] + cs - np.repeat(cs[starts], u_sessions)
    keep = s_day < days
    # Fewer return visits at weekends.
    keep &= (s_rank == 0) | (weekday[np.minimum(s_day, days - 1)] < 5) | (rng.random(len(s_user)) < 0.68)
    s_user, s_rank, s_day = s_user[keep], s_rank[keep], s_day[keep]
    n_s = len(s_user)
    direct = ch_names.index("Direct")
    s_channel = np.where((s_rank > 0) & (rng.random(n_s) < 0.4), direct, u_channel[s_user])
    # The first session comes from the user's first touch; later ones pick a source in their channel.
    s_pair = np.where(s_rank == 0, u_pair[s_user], _pick_pair(rng, s_channel))
    bounce_rate = np.array([v[4] for v in CHANNELS.values()])[s_channel]
    s_bounce = rng.random(n_s) < bounce_rate
    s_start = midnights[s_day] + (rng.normal(14.0, 3.5, n_s).clip(6.0, 23.4) * 3600e6).astype(np.int64)
    s_start -= s_start % 1_000_000  # whole seconds, like ga_session_id
    s_id = s_start // 1_000_000
    s_app = u_app[s_user]

    # Milestone depth per session, channel dependent; bounces reach nothing.
    k = len(prof.milestones)
    base = np.array([m[1] for m in prof.milestones])
    mfac = np.array([v[2] for v in CHANNELS.values()])[s_channel]
    macro = np.array([v[3] for v in CHANNELS.values()])[s_channel]
    probs = np.minimum(base[None, :] * mfac[:, None], 0.95)
    probs[:, -1] = np.minimum(probs[:, -1] * macro, 0.95)
    depth = np.where(s_bounce, 0, np.cumprod(rng.random((n_s, k)) < probs, axis=1).sum(axis=1))

    # ---- events: (session index array, event name, stage, page codes or None). Strings only appear as
    # category tables: every per-event column is built from integer codes.
    vocab = _vocabulary(prof)
    parts: list[tuple[np.ndarray, str, float, np.ndarray | None]] = []
    all_s = np.arange(n_s)
    live = all_s[~s_bounce]
    parts.append((all_s, "session_start", 0, None))
    parts.append((all_s[s_rank == 0], "first_visit", 0, None))
    n_pv = np.where(s_bounce, 1, 1 + rng.poisson(1.6, n_s))
    pv_s = np.repeat(all_s, n_pv)
    pv_first = np.r_[True, pv_s[1:] != pv_s[:-1]]
    page_pick = _pick(rng, prof.pages, len(pv_s))
    pv_paths = np.zeros(len(pv_s), dtype=np.int64)
    for pi, (path, _) in enumerate(prof.pages):
        sel = page_pick == pi
        pv_paths[sel] = _expand(path, rng, int(sel.sum()), vocab)
    # The landing page view comes with session_start (stage 0); later ones at stage 1.
    parts.append((pv_s, "page_view", np.where(pv_first, 0.0, _STAGE["page_view"]), pv_paths))
    for j, (event, _, path) in enumerate(prof.milestones):
        sess = all_s[depth > j]
        if event in _REPEATS:  # several products viewed / added in one session
            sess = np.repeat(sess, 1 + rng.poisson(_REPEATS[event], len(sess)))
        stage = 7 + j
        paths = _expand(path, rng, len(sess), vocab)
        parts.append((sess, event, stage, paths))
        if not path.startswith("/products"):  # the step's page is viewed just before the step
            parts.append((sess, "page_view", stage - 0.5, paths))
    for event, p in prof.secondary:
        sess = live[rng.random(len(live)) < p]
        parts.append((sess, event, _STAGE.get(event, 6), None))
        if event == "video_start":
            done = sess[rng.random(len(sess)) < 0.55]
            parts.append((done, "video_complete", _STAGE["video_complete"], None))
    # Half the bounces stay a few seconds on the page: GA4 then logs user_engagement (< 10 s).
    lingering = all_s[s_bounce & (rng.random(n_s) < 0.5)]
    parts.append((lingering, "user_engagement", -1.0, None))

    names = list(dict.fromkeys(p[1] for p in parts))
    sess_idx = np.concatenate([p[0] for p in parts])
    ev = np.concatenate([np.full(len(p[0]), names.index(p[1])) for p in parts])
    stage = np.concatenate([np.broadcast_to(np.asarray(p[2], dtype=float), len(p[0])) for p in parts])
    paths = np.concatenate([p[3] if p[3] is not None else np.full(len(p[0]), -1) for p in parts])
    own_page = paths >= 0
    offset = np.where(stage > 0, stage * _STAGE_SECONDS + rng.integers(1, _STAGE_SECONDS // 2, len(stage)), 0.0)
    offset = np.where(stage < 0, rng.integers(2, 10, len(stage)), offset)  # the lingering bounce
    ts = s_start[sess_idx] + (offset * 1e6).astype(np.int64)
    # Events without their own page happen on a page the session saw: its landing page.
    first_pv = np.zeros(n_s, dtype=np.int64)
    first_pv[pv_s[::-1]] = pv_paths[::-1]
    paths = np.where(paths < 0, first_pv[sess_idx], paths)
    is_pv = ev == names.index("page_view")
    landing = np.zeros(len(ts), dtype=bool)
    landing[np.flatnonzero(is_pv)[:len(pv_s)][pv_first]] = True  # the first page_view part is pv_s in order

    keep = np.ones(len(ts), dtype=bool)
    for event, since in (broken or {}).items():
        if event not in names:
            continue
        since_us = int(datetime(since.year, since.month, since.day, tzinfo=tz).timestamp()) * 1_000_000
        keep &= ~((ev == names.index(event)) & (ts >= since_us))

    # Final order: by time (stable: within a second, session_start, first_visit, landing page_view).
    order = np.argsort(ts[keep], kind="stable")
    sel = np.flatnonzero(keep)[order]
    pos = np.full(len(ts), -1, dtype=np.int64)
    pos[sel] = np.arange(len(sel))
    ss, su = sess_idx[sel], s_user[sess_idx[sel]]
    ts_f, ev_f, paths_f = ts[sel], ev[sel], paths[sel]

    # ---- items and values (by original event index, then moved to final positions)
    items, value = _items_and_values(prof, rng, names, ev, sess_idx, paths, vocab)
    items = items[pos[items["event"]] >= 0] if len(items) else items
    value_f = value[sel]
    cat = prof.catalog or [("", "", "", "", 0.0)]
    prod = items["product"].to_numpy() if len(items) else np.zeros(0, dtype=np.int64)
    rows = pos[items["event"].to_numpy()] if len(items) else np.zeros(0, dtype=np.int64)
    item_frame = pd.DataFrame({
        "row": rows,
        **{col: _cat(prod, [c[i] for c in cat])
           for i, col in enumerate(("item_id", "item_name", "item_category", "item_brand"))},
        "price": np.array([c[4] for c in cat])[prod],
        "quantity": items["quantity"].to_numpy() if len(items) else np.zeros(0, dtype=np.int64),
    })
    item_frame = item_frame.sort_values("row", kind="stable").reset_index(drop=True)

    # ---- sessions' engagement: time since the previous event of the session; engaged sessions
    by_session = np.lexsort((np.arange(len(ss)), ss))
    gap = np.zeros(len(ss), dtype=np.int64)
    same = ss[by_session][1:] == ss[by_session][:-1]
    gap[by_session[1:]] = np.where(same, np.diff(ts_f[by_session]) // 1000, 0)
    engagement = np.minimum(gap, 30 * 60 * 1000).astype(np.int32)
    dur = np.zeros(n_s, dtype=np.int64)
    dur[ss] = ts_f - s_start[ss]  # events are in time order: the last assignment (the latest) wins
    pv_count = np.bincount(ss[is_pv[sel]], minlength=n_s)
    s_engaged = (dur > 10_000_000) | (pv_count >= 2)

    # ---- pages: URLs (the landing page of a campaign carries its utm parameters), titles, referrers
    qs = ["", "?sort=price_asc"] + [f"?utm_source={s}&utm_medium={m}&utm_campaign={c}" for _, (s, m, c, _) in pairs]
    q = np.zeros(len(sel), dtype=np.int64)
    campaign_pair = np.array([m not in ("organic", "(none)", "referral") for _, (_, m, _, _) in pairs])
    land_f = landing[sel]
    tagged = land_f & campaign_pair[s_pair[ss]]
    q[tagged] = 2 + s_pair[ss][tagged]
    # Events without their own page happen on the landing page, utm parameters and all.
    s_q = np.zeros(n_s, dtype=np.int64)
    s_q[ss[tagged]] = q[tagged]
    on_landing = ~own_page[sel]
    q[on_landing] = s_q[ss[on_landing]]
    listing = is_pv[sel] & (paths_f == vocab.index("/products")) if "/products" in vocab else np.zeros(len(sel), bool)
    q[listing & (q == 0) & (rng.random(len(sel)) < 0.25)] = 1
    loc_key = paths_f * len(qs) + q
    loc_codes, loc_uniq = pd.factorize(loc_key)
    loc_labels = [_url(vocab[k // len(qs)], prof) + qs[k % len(qs)] for k in loc_uniq]
    title_labels = [_title(v, prof) for v in vocab]
    ref_names = [""] + list(dict.fromkeys(_REFERRERS.values()))
    ext_ref = np.array([ref_names.index(_REFERRERS.get(s, "")) for _, (s, _, _, _) in pairs])
    pv_rows = np.flatnonzero(is_pv[sel])
    pv_rows = pv_rows[np.lexsort((pv_rows, ss[pv_rows]))]
    prev_same = np.r_[False, ss[pv_rows][1:] == ss[pv_rows][:-1]]
    ref_codes = np.zeros(len(sel), dtype=np.int64)  # 0 = none; 1..R = external; R+1.. = internal (location)
    first_rows = pv_rows[~prev_same]
    ref_codes[first_rows] = ext_ref[s_pair[ss[first_rows]]]
    ref_codes[pv_rows[prev_same]] = len(ref_names) + loc_codes[pv_rows[np.flatnonzero(prev_same) - 1]]
    ref_labels = ref_names + loc_labels

    # ---- apps: other event names, no URLs or titles, no browser
    app_f = s_app[ss]
    ev_names = list(names)
    if app_f.any():
        for web, app in _APP_NAMES.items():
            if web in names:
                ev_names.append(app)
                ev_f = np.where(app_f & (ev_f == names.index(web)), len(ev_names) - 1, ev_f)
        loc_codes = np.where(app_f, -1, loc_codes)
        ref_codes = np.where(app_f, 0, ref_codes)

    # ---- transactions and the payment parameter
    is_tx = np.isin(ev_f, [i for i, n in enumerate(ev_names) if n in ("purchase", "in_app_purchase")])
    tx_rows = np.flatnonzero(is_tx)
    tx_codes = np.full(len(sel), -1, dtype=np.int64)
    tx_codes[tx_rows] = np.arange(len(tx_rows))
    tx_labels = [f"T{seed % 1000:03d}-{i + 1:07d}" for i in range(len(tx_rows))]
    pay = np.full(len(sel), -1, dtype=np.int64)
    pay[tx_rows] = _pick(rng, _PAYMENT_TYPES, len(tx_rows))

    has_value = value_f != 0
    # user_pseudo_id looks like GA4's "<random>.<first visit seconds>"; the multiplier is coprime
    # with the range, so the random parts are distinct.
    rand = 10**8 + (np.arange(users, dtype=np.int64) * 48_271 + int(rng.integers(0, 9 * 10**8))) % (9 * 10**8)
    user_ids = [f"{x}.{y}" for x, y in zip(rand.tolist(), (midnights[u_first] // 1_000_000).tolist())]
    sources = list(dict.fromkeys(p[1][0] for p in pairs))
    mediums = list(dict.fromkeys(p[1][1] for p in pairs))
    campaigns = list(dict.fromkeys(p[1][2] for p in pairs))
    src_code = np.array([sources.index(p[1][0]) for p in pairs])
    med_code = np.array([mediums.index(p[1][1]) for p in pairs])
    camp_code = np.array([campaigns.index(p[1][2]) for p in pairs])
    pair_channel = np.array([p[0] for p in pairs])
    sp, up = s_pair[ss], u_pair[su]
    last = len  # an absent string is the extra "" category at the end of each table

    frame = pd.DataFrame({
        "ts": ts_f,
        "event_name": _cat(ev_f, ev_names),
        "user_id": _cat(su, user_ids),
        "session_id": s_id[ss],
        "session_number": (s_rank[ss] + 1).astype(np.int32),
        "channel_group": _cat(pair_channel[sp], ch_names),
        "source": _cat(src_code[sp], sources),
        "medium": _cat(med_code[sp], mediums),
        "campaign": _cat(camp_code[sp], campaigns),
        "first_channel_group": _cat(pair_channel[up], ch_names),
        "first_source": _cat(src_code[up], sources),
        "first_medium": _cat(med_code[up], mediums),
        "first_campaign": _cat(camp_code[up], campaigns),
        "platform": _cat(u_platform[su], platforms),
        "device_category": _cat(u_device[su], [d[0] for d in DEVICES]),
        "operating_system": _cat(u_os[su], os_names),
        "browser": _cat(np.where(app_f, last(browsers), u_browser[su]), [b for _, b in browsers]),
        "country": _cat(u_country[su], [c for c, _ in prof.countries]),
        "region": _cat(u_geo[su], [g[1] for g in geo]),
        "city": _cat(u_geo[su], [g[2] for g in geo]),
        "page_location": _cat(np.where(loc_codes < 0, len(loc_labels), loc_codes), loc_labels),
        "page_title": _cat(np.where(app_f, len(title_labels), paths_f), title_labels),
        "page_referrer": _cat(np.where(ref_codes == 0, len(ref_labels), ref_codes), ref_labels),
        "engagement_time_msec": engagement,
        "session_engaged": s_engaged[ss].astype(np.int8),
        "transaction_id": _cat(np.where(tx_codes < 0, len(tx_labels), tx_codes), tx_labels),
        "value": value_f,
        "currency": pd.Categorical.from_codes(has_value.astype(np.int64), categories=["", currency]),
        PARAM_PREFIX + "payment_type": _cat(np.where(pay < 0, len(_PAYMENT_TYPES), pay),
                                            [p[0] for p in _PAYMENT_TYPES]),
    })
    return Generated(normalize(frame), normalize_items(item_frame))


def _pick_pair(rng: np.random.Generator, channels: np.ndarray) -> np.ndarray:
    """A source pair (index into the flat list of every channel's pairs) within each given channel."""
    out = np.zeros(len(channels), dtype=np.int64)
    offset = 0
    for ci, (_, (_, pairs, _, _, _)) in enumerate(CHANNELS.items()):
        idx = np.flatnonzero(channels == ci)
        out[idx] = offset + _pick(rng, pairs, len(idx))
        offset += len(pairs)
    return out


def _items_and_values(prof: Profile, rng, names, ev, sess_idx, paths, vocab):
    """Items of the ecommerce events (by event index: product, quantity) and every event's value.

    Shop-like profiles (product pages): view_item and add_to_cart carry the product of their page,
    begin_checkout and purchase the session's cart (the products added, with their quantities). Other
    catalogs: a purchase buys one catalog item. Events in ``prof.values`` get a log-normal value."""
    value = np.zeros(len(ev))
    for event, (median, sigma) in prof.values.items():
        if event in names:
            sel = ev == names.index(event)
            value[sel] = np.round(rng.lognormal(np.log(median), sigma, int(sel.sum())), 2)
    empty = {"event": np.zeros(0, dtype=np.int64), "product": np.zeros(0, dtype=np.int64),
             "quantity": np.zeros(0, dtype=np.int64)}
    if not prof.catalog:
        return pd.DataFrame(empty), value
    prices = np.array([c[4] for c in prof.catalog])
    product_of_path = np.full(len(vocab), -1)
    for i, v in enumerate(vocab):
        if v.startswith("/products/") and v.split("/")[2] in _PRODUCTS:
            product_of_path[i] = _PRODUCTS.index(v.split("/")[2])
    code = {n: (names.index(n) if n in names else -2) for n in _ITEM_EVENTS}
    parts = []
    if "add_to_cart" in names and (product_of_path >= 0).any():
        views = np.flatnonzero(ev == code["view_item"])
        views = views[np.lexsort((views, sess_idx[views]))]
        adds = np.flatnonzero(ev == code["add_to_cart"])
        # An added product is one the session viewed (sessions reaching add_to_cart viewed at least one).
        first = np.searchsorted(sess_idx[views], sess_idx[adds], side="left")
        count = np.searchsorted(sess_idx[views], sess_idx[adds], side="right") - first
        pick = views[first + (rng.random(len(adds)) * np.maximum(count, 1)).astype(np.int64)]
        add_product = np.where(count > 0, product_of_path[paths[pick]], product_of_path[paths[adds]])
        add_qty = 1 + (rng.random(len(adds)) < 0.15)
        view_product = product_of_path[paths[views]]
        parts.append((views, view_product, np.ones(len(views), dtype=np.int64)))
        parts.append((adds, add_product, add_qty))
        value[adds] = prices[add_product] * add_qty
        # The cart: products added in the session (tracked or not), summed quantities.
        cart_key = sess_idx[adds] * len(prices) + add_product
        uniq, inv = np.unique(cart_key, return_inverse=True)
        qty = np.bincount(inv, weights=add_qty).astype(np.int64)
        cart_s, cart_p = uniq // len(prices), uniq % len(prices)
        cart_value = np.bincount(cart_s, weights=prices[cart_p] * qty, minlength=int(sess_idx.max()) + 1)
        for event in ("begin_checkout", "purchase"):
            rows = np.flatnonzero(ev == code[event])
            rows = rows[np.isin(sess_idx[rows], cart_s)]
            # one item row per (event, cart product)
            first = np.searchsorted(cart_s, sess_idx[rows], side="left")
            n_items = np.searchsorted(cart_s, sess_idx[rows], side="right") - first
            ev_rep = np.repeat(rows, n_items)
            within = np.arange(len(ev_rep)) - np.repeat(np.cumsum(n_items) - n_items, n_items)
            k = np.repeat(first, n_items) + within
            parts.append((ev_rep, cart_p[k], qty[k]))
            value[rows] = np.round(cart_value[sess_idx[rows]], 2)
    else:
        rows = np.flatnonzero(ev == code["purchase"])
        prod = rng.integers(0, len(prices), len(rows))
        parts.append((rows, prod, np.ones(len(rows), dtype=np.int64)))
        value[rows] = prices[prod]
    if not parts:
        return pd.DataFrame(empty), value
    return pd.DataFrame({"event": np.concatenate([p[0] for p in parts]),
                         "product": np.concatenate([p[1] for p in parts]).astype(np.int64),
                         "quantity": np.concatenate([p[2] for p in parts]).astype(np.int64)}), value


def populate_demo(admin, store, *, seed: int = 42, days: int = 90, users: int = 5000, properties: int = 1,
                  today: date | None = None, broken: dict[str, date] | None = None) -> list[str]:
    """Create "Demo Account" with ``properties`` properties and their events; returns the property
    ids, the online shop "Demo Shop" first. ``broken`` applies to the shop. Properties after the
    first get a quarter of ``users`` (at least 200) so agency-sized demos stay quick."""
    with admin.batch():  # one admin-state write, not one per call
        return _populate(admin, store, seed=seed, days=days, users=users, properties=properties,
                         today=today, broken=broken)


def _populate(admin, store, *, seed, days, users, properties, today, broken) -> list[str]:
    account = admin.create_account("Demo Account")
    ids = []
    for i in range(properties):
        if i < len(SETUPS):
            setup = dict(SETUPS[i])
        else:
            cur, tz = _MORE_CURRENCIES[i % len(_MORE_CURRENCIES)]
            profile = ("shop", "saas", "leadgen", "content")[i % 4]
            setup = dict(name=f"Client {i + 1:03d} ({profile})", profile=profile, currency=cur, tz=tz,
                         level="PREMIUM" if i % 10 == 7 else "STANDARD")
            if i % 9 == 5:
                setup["broken"] = {"purchase" if profile == "shop" else "page_view": 7}
        pid = admin.create_property(account, setup["name"], time_zone=setup["tz"], currency=setup["currency"],
                                    service_level=setup["level"])
        prof = PROFILES[setup["profile"]]
        admin.create_web_stream(pid, f"{setup['name']} web", prof.host)
        day = today or datetime.now(ZoneInfo(setup["tz"])).date()
        if i == 0:
            brk = broken
        else:
            brk = {e: day - timedelta(days=n) for e, n in setup.get("broken", {}).items()} or None
        g = generate(seed=seed + 7919 * i, days=days, users=users if i == 0 else max(200, users // 4),
                     today=day, time_zone=setup["tz"], currency=setup["currency"],
                     profile=setup["profile"], broken=brk)
        store.replace(pid, g.frame, g.items)
        ids.append(pid)
    return ids
