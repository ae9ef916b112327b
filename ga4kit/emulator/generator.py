"""Seeded, vectorised synthetic GA4 traffic and the demo account.

``generate_events`` draws users, their sessions and each session's events with numpy, in one
pass per event type (no Python loop over users), so 90 days x 5,000 users take a few tens of
milliseconds. The model, per user: a first-visit day (weekends are quieter), a channel, a device
and a country; 1-8 sessions on later days (later sessions are often Direct); per session a depth
reached on the profile's milestone path (channel dependent: Organic/Paid Search buy, Organic
Social hardly ever does) plus independent secondary actions. Within a session events are
ordered by stage (session_start < page_view < ... < purchase), so funnels see the path in order.

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

from .events import normalize

# channel -> (probability, [(source, medium, weight)], milestone factor, macro factor)
CHANNELS: dict[str, tuple[float, list[tuple[str, str, float]], float, float]] = {
    "Organic Search": (0.34, [("google", "organic", 0.85), ("bing", "organic", 0.15)], 1.10, 1.2),
    "Direct": (0.20, [("(direct)", "(none)", 1.0)], 1.00, 1.0),
    "Paid Search": (0.15, [("google", "cpc", 1.0)], 1.20, 1.2),
    "Organic Social": (0.16, [("linkedin.com", "referral", 0.5), ("facebook.com", "referral", 0.3),
                              ("instagram.com", "referral", 0.2)], 0.50, 0.05),
    "Email": (0.08, [("newsletter", "email", 1.0)], 1.10, 1.0),
    "Referral": (0.07, [("partner-blog.example", "referral", 0.6), ("news.example.org", "referral", 0.4)],
                 0.80, 0.8),
}
DEVICES = (("desktop", 0.45), ("mobile", 0.50), ("tablet", 0.05))

# Stage order inside a session: events of a lower stage happen earlier.
_STAGE = {
    "session_start": 0, "first_visit": 0, "page_view": 1, "scroll": 2, "video_start": 3,
    "video_complete": 4, "file_download": 5, "newsletter_signup": 6, "share": 6,
}
_STAGE_SECONDS = 90
_REPEATS = {"view_item": 0.7, "add_to_cart": 0.35}  # mean extra events per session reaching the step


@dataclass
class Profile:
    """What a kind of site tracks. Milestones are in path order; the last one is the macro goal."""
    host: str
    milestones: list[tuple[str, float, str]]        # (event, P(step | previous step), page path)
    secondary: list[tuple[str, float]]              # (event, P per session)
    pages: list[tuple[str, float]]                  # page_view paths and weights
    countries: list[tuple[str, float]]
    values: dict[str, tuple[float, float]] = field(default_factory=dict)  # event -> (median, sigma)


PROFILES: dict[str, Profile] = {
    "shop": Profile(
        host="https://shop.example.com",
        milestones=[("view_item", 0.55, "/products/{p}"), ("add_to_cart", 0.35, "/products/{p}"),
                    ("begin_checkout", 0.60, "/checkout"), ("purchase", 0.62, "/checkout/thank-you")],
        secondary=[("scroll", 0.45), ("newsletter_signup", 0.025), ("video_start", 0.12),
                   ("file_download", 0.03)],
        pages=[("/", 0.30), ("/products/{p}", 0.30), ("/blog/{b}", 0.18), ("/pricing", 0.07),
               ("/about", 0.05), ("/contact", 0.04), ("/products", 0.06)],
        countries=[("Germany", 0.62), ("Austria", 0.12), ("Switzerland", 0.09), ("Netherlands", 0.05),
                   ("France", 0.04), ("United States", 0.04), ("United Kingdom", 0.04)],
        values={"purchase": (68.0, 0.55), "add_to_cart": (45.0, 0.6), "begin_checkout": (62.0, 0.55)},
    ),
    "saas": Profile(
        host="https://app.example.io",
        milestones=[("view_pricing_page", 0.45, "/pricing"), ("sign_up", 0.30, "/signup"),
                    ("start_trial", 0.55, "/trial"), ("purchase", 0.35, "/billing/thank-you")],
        secondary=[("scroll", 0.40), ("generate_lead", 0.03), ("request_demo", 0.02),
                   ("newsletter_signup", 0.03), ("file_download", 0.05), ("video_start", 0.10)],
        pages=[("/", 0.35), ("/pricing", 0.20), ("/features", 0.15), ("/blog/{b}", 0.20),
               ("/customers", 0.05), ("/docs", 0.05)],
        countries=[("United States", 0.55), ("Canada", 0.10), ("United Kingdom", 0.12),
                   ("Germany", 0.10), ("Australia", 0.06), ("India", 0.07)],
        values={"purchase": (290.0, 0.4)},
    ),
    "leadgen": Profile(
        host="https://www.example-consulting.com",
        milestones=[("form_start", 0.20, "/contact"), ("form_submit", 0.55, "/contact"),
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
        host="https://magazine.example.net",
        milestones=[("article_read", 0.50, "/blog/{b}"), ("newsletter_signup", 0.06, "/newsletter"),
                    ("purchase", 0.10, "/subscribe/thank-you")],
        secondary=[("scroll", 0.65), ("video_start", 0.20), ("share", 0.04), ("file_download", 0.02)],
        pages=[("/", 0.25), ("/blog/{b}", 0.60), ("/pricing", 0.05), ("/about", 0.05),
               ("/newsletter", 0.05)],
        countries=[("Germany", 0.70), ("Austria", 0.15), ("Switzerland", 0.15)],
        values={"purchase": (9.99, 0.01)},
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


def generate_events(*, seed: int = 42, days: int = 90, users: int = 5000, today: date | None = None,
                    time_zone: str = "Europe/Berlin", currency: str = "EUR", profile: str = "shop",
                    broken: dict[str, date] | None = None) -> pd.DataFrame:
    """Events of ``users`` users over the ``days`` days before ``today`` (today excluded), as an
    EventStore frame. ``broken={"event": date}`` drops that event from that (local) date on."""
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

    # ---- users
    u_first = rng.choice(days, size=users, p=day_weight / day_weight.sum())
    ch_names = list(CHANNELS)
    u_channel = _pick(rng, [(c, v[0]) for c, v in CHANNELS.items()], users)
    u_device = _pick(rng, DEVICES, users)
    u_country = _pick(rng, prof.countries, users)
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
    s_start = midnights[s_day] + (rng.normal(14.0, 3.5, n_s).clip(6.0, 23.4) * 3600e6).astype(np.int64)
    s_start -= s_start % 1_000_000  # whole seconds, like ga_session_id
    s_id = s_start // 1_000_000
    # Source / medium inside the channel.
    src_vocab, s_srcmed = [], np.zeros(n_s, dtype=np.int64)
    for ci, (_, (_, pairs, _, _)) in enumerate(CHANNELS.items()):
        idx = np.flatnonzero(s_channel == ci)
        pick = _pick(rng, pairs, len(idx))
        s_srcmed[idx] = len(src_vocab) + pick
        src_vocab.extend(pairs)

    # Milestone depth per session, channel dependent.
    k = len(prof.milestones)
    base = np.array([m[1] for m in prof.milestones])
    mfac = np.array([v[2] for v in CHANNELS.values()])[s_channel]
    macro = np.array([v[3] for v in CHANNELS.values()])[s_channel]
    probs = np.minimum(base[None, :] * mfac[:, None], 0.95)
    probs[:, -1] = np.minimum(probs[:, -1] * macro, 0.95)
    depth = np.cumprod(rng.random((n_s, k)) < probs, axis=1).sum(axis=1)

    # ---- events: (session index array, event name, stage, page codes or None). Strings only
    # appear as category tables: every per-event column is built from integer codes.
    vocab = _vocabulary(prof)
    parts: list[tuple[np.ndarray, str, float, np.ndarray | None]] = []
    all_s = np.arange(n_s)
    parts.append((all_s, "session_start", 0, None))
    parts.append((all_s[s_rank == 0], "first_visit", 0, None))
    n_pv = 1 + rng.poisson(1.6, n_s)
    pv_s = np.repeat(all_s, n_pv)
    page_pick = _pick(rng, prof.pages, len(pv_s))
    pv_paths = np.zeros(len(pv_s), dtype=np.int64)
    for pi, (path, _) in enumerate(prof.pages):
        sel = page_pick == pi
        pv_paths[sel] = _expand(path, rng, int(sel.sum()), vocab)
    parts.append((pv_s, "page_view", _STAGE["page_view"], pv_paths))
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
        sess = all_s[rng.random(n_s) < p]
        parts.append((sess, event, _STAGE.get(event, 6), None))
        if event == "video_start":
            done = sess[rng.random(len(sess)) < 0.55]
            parts.append((done, "video_complete", _STAGE["video_complete"], None))

    names = list(dict.fromkeys(p[1] for p in parts))
    sess_idx = np.concatenate([p[0] for p in parts])
    ev = np.concatenate([np.full(len(p[0]), names.index(p[1])) for p in parts])
    stage = np.concatenate([np.full(len(p[0]), p[2], dtype=float) for p in parts])
    paths = np.concatenate([p[3] if p[3] is not None else np.full(len(p[0]), -1) for p in parts])
    offset = (stage * _STAGE_SECONDS + np.where(stage > 0, rng.integers(1, _STAGE_SECONDS // 2, len(stage)), 0))
    ts = s_start[sess_idx] + (offset * 1e6).astype(np.int64)
    # Events without their own page happen on a page the session saw: its first page view.
    first_pv = np.zeros(n_s, dtype=np.int64)
    first_pv[pv_s[::-1]] = pv_paths[::-1]
    paths = np.where(paths < 0, first_pv[sess_idx], paths)

    value = np.zeros(len(ts))
    has_value = np.zeros(len(ts), dtype=np.int64)
    for event, (median, sigma) in prof.values.items():
        if event not in names:
            continue
        sel = ev == names.index(event)
        value[sel] = np.round(rng.lognormal(np.log(median), sigma, int(sel.sum())), 2)
        has_value[sel] = 1

    keep = np.ones(len(ts), dtype=bool)
    for event, since in (broken or {}).items():
        if event not in names:
            continue
        since_us = int(datetime(since.year, since.month, since.day, tzinfo=tz).timestamp()) * 1_000_000
        keep &= ~((ev == names.index(event)) & (ts >= since_us))

    order = np.argsort(ts[keep], kind="stable")
    sel = np.flatnonzero(keep)[order]
    ss = sess_idx[sel]
    su = s_user[ss]
    # user_pseudo_id looks like GA4's "<random>.<first visit seconds>"; the multiplier is coprime
    # with the range, so the random parts are distinct.
    rand = 10**8 + (np.arange(users, dtype=np.int64) * 48_271 + int(rng.integers(0, 9 * 10**8))) % (9 * 10**8)
    user_ids = [f"{x}.{y}" for x, y in zip(rand.tolist(), (midnights[u_first] // 1_000_000).tolist())]
    sources = list(dict.fromkeys(p[0] for p in src_vocab))
    mediums = list(dict.fromkeys(p[1] for p in src_vocab))
    src_code = np.array([sources.index(p[0]) for p in src_vocab])
    med_code = np.array([mediums.index(p[1]) for p in src_vocab])
    srcmed = s_srcmed[ss]

    def cat(codes, categories):
        return pd.Categorical.from_codes(codes, categories=list(categories) + [""])

    frame = pd.DataFrame({
        "ts": ts[sel],
        "event_name": cat(ev[sel], names),
        "user_id": cat(su, user_ids),
        "session_id": s_id[ss],
        "channel_group": cat(s_channel[ss], ch_names),
        "source": cat(src_code[srcmed], sources),
        "medium": cat(med_code[srcmed], mediums),
        "device_category": cat(u_device[su], [d[0] for d in DEVICES]),
        "country": cat(u_country[su], [c[0] for c in prof.countries]),
        "page_location": cat(paths[sel], [prof.host + p for p in vocab]),
        "value": value[sel],
        "currency": pd.Categorical.from_codes(has_value[sel], categories=["", currency]),
    })
    return normalize(frame)


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
        frame = generate_events(seed=seed + 7919 * i, days=days, users=users if i == 0 else max(200, users // 4),
                                today=day, time_zone=setup["tz"], currency=setup["currency"],
                                profile=setup["profile"], broken=brk)
        store.replace(pid, frame)
        ids.append(pid)
    return ids
