"""An agency's world for the audit tests: GA4 properties set up well by an administrator, and properties
where one problem was planted, each the way it happens in real life: through the Admin API (edit scope,
as an administrator clicking in GA4's interface) and through events (generated traffic, plus events
imported from a BigQuery-export-shaped file for the traffic that carries the problem).

``build_world(emu, plants)`` returns, per property, the check ids the audit must report on it (and
nothing else); ``CLEAN`` properties must have no finding at all.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from ga4kit.emulator.events import normalize
from ga4kit.emulator.generator import generate
from ga4kit.emulator.importer import import_file, write_events

TZ = "Europe/Berlin"
SITE = "https://shop.example.com"
USERS = 400

GOALS_CLEAN = """
version: 1
properties: [{id: "%s"}]
defaults: {counting: once_per_event, currency: EUR}
goals:
  - {event: add_to_cart, type: micro, kind: milestone}
  - {event: purchase, type: macro}
"""


@dataclass
class Planted:
    """One property of the world: how it was set up and what the audit must find on it."""

    name: str
    expect: set[str]
    pid: str = ""
    goals: str | None = None  # goals YAML (with %s for the property id)
    users: int = USERS
    error: str | None = None  # the status a property that cannot be audited fails with


@dataclass
class World:
    properties: list[Planted] = field(default_factory=list)
    account: str = ""
    goals_dir: Path | None = None

    def by_name(self, name: str) -> Planted:
        return next(p for p in self.properties if p.name == name)

    def goals_file(self, p: Planted) -> Path | None:
        return self.goals_dir / f"{p.name}.yaml" if p.goals else None


def today_of(emu) -> dt.date:
    return emu.today or dt.datetime.now(ZoneInfo(TZ)).date()


# ------------------------------------------------------------------------------------------- events
def base_events(seed: int, users: int, today: dt.date, **kw) -> pd.DataFrame:
    """Generated shop traffic over 60 days (the events and items of the emulator's generator)."""
    g = generate(seed=seed, days=60, users=users, today=today, time_zone=TZ, currency="EUR", profile="shop", **kw)
    return g.frame


def window_sessions(frame: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """One row per session that started in the audit's 28 days: user, session, channel_group."""
    start, end = _day_us(today - dt.timedelta(days=28)), _day_us(today)
    first = frame.sort_values("ts").drop_duplicates(["user_id", "session_id"])
    return first[(first["ts"] >= start) & (first["ts"] < end)]


def _day_us(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(TZ)).timestamp()) * 1_000_000


def sessions(n: int, today: dt.date, *, tag: str, source: str = "google", medium: str = "organic",
             events=("session_start", "page_view"), page: str = SITE + "/", **params) -> pd.DataFrame:
    """``n`` one-user sessions spread over the days 3 to 26 before ``today`` (never the last 48 hours)."""
    rows = []
    for i in range(n):
        day = today - dt.timedelta(days=3 + i % 24)
        ts = _day_us(day) + (9 * 3600 + (i * 37) % 36000) * 1_000_000
        for k, name in enumerate(events):
            rows.append(dict(ts=ts + k * 1_000_000, event_name=name, user_id=f"{tag}-{i}", session_id=ts // 1_000_000,
                             session_number=1, source=source, medium=medium, platform="web",
                             page_location=page if name != "purchase" else SITE + "/checkout/thank-you",
                             **{k2: (v[i] if isinstance(v, list) else v) for k2, v in params.items()}))
    return pd.DataFrame(rows)


def _direct_share(frame: pd.DataFrame, today: dt.date) -> float:
    w = window_sessions(frame, today)
    return float((w["channel_group"] == "Direct").mean()) if len(w) else 0.0


def import_events(emu, pid: str, frame: pd.DataFrame) -> None:
    """Import ``frame`` into the property the way an events file is imported (BigQuery export shape)."""
    from ga4kit.emulator.importer import default_channel_group

    frame = frame.copy()
    frame["channel_group"] = [default_channel_group(s, m) for s, m in zip(frame["source"], frame["medium"])]
    with tempfile.TemporaryDirectory() as tmp:
        path = write_events(normalize(frame), Path(tmp) / "events.ndjson", time_zone=TZ)
        import_file(emu.admin, emu.store, path, pid, time_zone=TZ)


def share_sessions(base: pd.DataFrame, today: dt.date, share: float, already: float = 0.0) -> int:
    """Sessions to add so that the added ones (plus ``already`` of the base's) are ``share`` of all."""
    b = len(window_sessions(base, today))
    return max(1, int(np.ceil((share * b - already) / (1 - share))))


# ------------------------------------------------------------------------------------------- the world
def plants() -> list[Planted]:
    """Every problem of the issue on its own property, and clean properties (expect nothing)."""
    ps = [
        Planted("trash", {"property_in_trash"}),
        Planted("utc_zone", {"time_zone"}),
        Planted("odd_currency", {"currency"}),
        Planted("no_industry", {"industry_category"}),
        Planted("retention_2m", {"data_retention"}),
        Planted("no_stream", {"no_data_stream"}),
        Planted("silent_app_stream", {"silent_stream"}),
        Planted("enhanced_off", {"enhanced_measurement_off"}),
        Planted("redaction_off", {"data_redaction_off"}),
        Planted("signals_on", {"google_signals_on", "reports_thresholded"}),
        Planted("no_key_events", {"no_key_events"}),
        Planted("goal_missing", {"goal_not_key_event"}, goals=GOALS_CLEAN.replace(
            "goals:\n", "goals:\n  - {event: begin_checkout, type: micro, kind: milestone}\n")),
        Planted("goal_counting", {"goal_counting_differs"}, goals=GOALS_CLEAN),
        Planted("goal_value", {"goal_value_differs"}, goals=GOALS_CLEAN.replace(
            "{event: add_to_cart, type: micro, kind: milestone}",
            "{event: add_to_cart, type: micro, kind: milestone, value: 5}")),
        Planted("never_fired", {"key_event_never_fired"}),
        Planted("key_event_cap", {"key_events_near_cap"}),
        Planted("macro_goals", {"too_many_macro_goals"}, goals=GOALS_CLEAN.replace(
            "type: micro, kind: milestone}", "type: macro}\n  - {event: begin_checkout, type: macro}")),
        Planted("goal_rate_drop", {"goal_rate_drop"}, goals=GOALS_CLEAN, users=800),
        Planted("dimensions_cap", {"custom_dimensions_near_limit"}),
        Planted("metrics_cap", {"custom_metrics_near_limit"}),
        Planted("pii_dimension", {"pii_custom_dimension"}),
        Planted("unassigned_low", {"unassigned_traffic:low"}),
        Planted("unassigned_medium", {"unassigned_traffic:medium"}),
        Planted("unassigned_high", {"unassigned_traffic:high"}),
        Planted("landing_not_set", {"landing_page_not_set"}),
        Planted("self_referral", {"self_referral"}),
        Planted("payment_gateway", {"payment_gateway_referral"}),
        Planted("foreign_host", {"foreign_hostname"}),
        Planted("direct_heavy", {"direct_share"}),
        Planted("pii_urls", {"pii_in_urls"}),
        Planted("purchase_no_id", {"purchase_without_transaction_id"}),
        Planted("purchase_duplicate", {"duplicate_transaction_id"}),
        Planted("purchase_no_revenue", {"purchase_without_revenue"}),
        Planted("zero_days", {"zero_event_days"}),
        Planted("sudden_drop", {"sudden_drop"}, users=2500),
        Planted("paid_no_ads_link", {"paid_search_without_ads_link"}),
        Planted("no_bigquery", {"no_bigquery_link"}),
        Planted("denied", set(), error="PERMISSION_DENIED"),
        Planted("gone", set(), error="NOT_FOUND"),
    ]
    ps += [Planted(f"clean_{i:02d}", set()) for i in range(10)]
    ps.append(Planted("clean_goals", set(), goals=GOALS_CLEAN))
    # GA4 is still processing the last 48 hours: a dip there is no drop and no gap.
    ps.append(Planted("clean_recent_dip", set(), users=2500))
    return ps


def build_world(emu, admin, admin_alpha, goals_dir: Path, only: set[str] | None = None) -> World:
    """Create every property of :func:`plants` (or those named in ``only``) in the running emulator.
    ``admin`` / ``admin_alpha``: Google's Admin API clients with the edit scope (the administrator)."""
    world = World(goals_dir=goals_dir)
    world.account = emu.admin.create_account("Agency clients")
    today = today_of(emu)
    for i, p in enumerate(plants()):
        if only and p.name not in only:
            continue
        world.properties.append(p)
        if p.name == "gone":
            p.pid = "499999999"  # deleted for good: GA4 answers NOT_FOUND
            continue
        p.pid = emu.admin.create_property(world.account, f"Client {p.name}", time_zone=TZ, currency="EUR")
        emu.admin.create_web_stream(p.pid, f"{p.name} web", SITE)
        _setup_well(emu, admin, admin_alpha, p.pid, p.name)
        _plant(emu, admin, admin_alpha, p, today, seed=2000 + i)
        if p.goals:
            goals_dir.mkdir(parents=True, exist_ok=True)
            world.goals_file(p).write_text(p.goals % p.pid, encoding="utf-8")
    return world


def _setup_well(emu, admin, admin_alpha, pid: str, name: str) -> None:
    """What a careful administrator sets on every property (the clean state)."""
    from google.analytics.admin_v1alpha import types as a

    prop = f"properties/{pid}"
    admin_alpha.update_property(property=a.Property(name=prop, industry_category="SHOPPING"),
                                update_mask={"paths": ["industry_category"]})
    if name != "retention_2m":
        admin_alpha.update_data_retention_settings(data_retention_settings=a.DataRetentionSettings(
            name=f"{prop}/dataRetentionSettings", event_data_retention="FOURTEEN_MONTHS"),
            update_mask={"paths": ["event_data_retention"]})
    if name != "no_key_events":
        counting = "ONCE_PER_SESSION" if name == "goal_counting" else "ONCE_PER_EVENT"
        admin_alpha.create_key_event(parent=prop, key_event=a.KeyEvent(event_name="add_to_cart",
                                                                        counting_method=counting))
    if name != "paid_no_ads_link":
        admin_alpha.create_google_ads_link(parent=prop, google_ads_link=a.GoogleAdsLink(customer_id="1234567890"))
    if name != "no_bigquery":
        admin_alpha.create_big_query_link(parent=prop, bigquery_link=a.BigQueryLink(
            project="projects/agency-export", dataset_location="EU", daily_export_enabled=True))


def _plant(emu, admin, admin_alpha, p: Planted, today: dt.date, seed: int) -> None:
    from google.analytics.admin_v1alpha import types as a

    prop = f"properties/{p.pid}"
    broken = {"add_to_cart": today - dt.timedelta(days=20)} if p.name == "goal_rate_drop" else None
    base = base_events(seed, p.users, today, broken=broken)
    while _direct_share(base, today) > 0.36:  # a clean property must be clearly under the 40% band
        seed += 100
        base = base_events(seed, p.users, today, broken=broken)
    if p.name == "zero_days":
        days = [_day_us(today - dt.timedelta(days=d)) for d in (9, 10)]
        base = base[~((base["ts"] >= days[1]) & (base["ts"] < days[1] + 2 * 86_400_000_000))]
    if p.name == "sudden_drop":
        start = _day_us(today - dt.timedelta(days=12))
        rng = np.random.default_rng(seed)
        on_day = (base["ts"] >= start) & (base["ts"] < start + 86_400_000_000)
        base = base[~on_day | (rng.random(len(base)) < 0.25)]
    if p.name == "clean_recent_dip":
        start = _day_us(today - dt.timedelta(days=2))
        rng = np.random.default_rng(seed)
        recent = base["ts"] >= start
        base = base[~recent | (rng.random(len(base)) < 0.1)]
    emu.store.replace(p.pid, base)
    stream_name = f"{prop}/dataStreams/{_stream_id(admin_alpha, prop)}"

    def add(frame):
        import_events(emu, p.pid, frame)

    n = p.name
    if n == "trash":
        admin_alpha.delete_property(name=prop)
    elif n == "utc_zone":
        admin_alpha.update_property(property=a.Property(name=prop, time_zone="Etc/UTC"),
                                    update_mask={"paths": ["time_zone"]})
    elif n == "odd_currency":
        admin_alpha.update_property(property=a.Property(name=prop, currency_code="USD"),
                                    update_mask={"paths": ["currency_code"]})
    elif n == "no_industry":
        admin_alpha.update_property(property=a.Property(name=prop, industry_category="INDUSTRY_CATEGORY_UNSPECIFIED"),
                                    update_mask={"paths": ["industry_category"]})
    elif n == "no_stream":
        admin_alpha.delete_data_stream(name=stream_name)
    elif n == "silent_app_stream":
        admin_alpha.create_data_stream(parent=prop, data_stream=a.DataStream(
            type_="ANDROID_APP_DATA_STREAM", display_name="Shop app",
            android_app_stream_data=a.DataStream.AndroidAppStreamData(package_name="com.example.shop")))
    elif n == "enhanced_off":
        admin_alpha.update_enhanced_measurement_settings(enhanced_measurement_settings=a.EnhancedMeasurementSettings(
            name=f"{stream_name}/enhancedMeasurementSettings", stream_enabled=False),
            update_mask={"paths": ["stream_enabled"]})
    elif n == "redaction_off":
        admin_alpha.update_data_redaction_settings(data_redaction_settings=a.DataRedactionSettings(
            name=f"{stream_name}/dataRedactionSettings", email_redaction_enabled=False),
            update_mask={"paths": ["email_redaction_enabled"]})
    elif n == "signals_on":
        admin_alpha.update_google_signals_settings(google_signals_settings=a.GoogleSignalsSettings(
            name=f"{prop}/googleSignalsSettings", state="GOOGLE_SIGNALS_ENABLED"),
            update_mask={"paths": ["state"]})
    elif n == "goal_missing":
        pass  # the goals file declares begin_checkout, which nobody marked as a key event
    elif n == "never_fired":
        admin_alpha.create_key_event(parent=prop, key_event=a.KeyEvent(event_name="webinar_signup",
                                                                        counting_method="ONCE_PER_EVENT"))
    elif n == "key_event_cap":
        names = [f"step_{k:02d}" for k in range(24)]  # with add_to_cart: 25 of 30
        add(pd.concat([sessions(2, today, tag=f"ke{k}", events=("session_start", "page_view", e))
                       for k, e in enumerate(names)]))
        for e in names:
            admin_alpha.create_key_event(parent=prop, key_event=a.KeyEvent(event_name=e,
                                                                            counting_method="ONCE_PER_EVENT"))
    elif n == "macro_goals":
        admin_alpha.create_key_event(parent=prop, key_event=a.KeyEvent(event_name="begin_checkout",
                                                                        counting_method="ONCE_PER_EVENT"))
    elif n in ("dimensions_cap", "metrics_cap"):
        for k in range(40):
            if n == "dimensions_cap":
                admin_alpha.create_custom_dimension(parent=prop, custom_dimension=a.CustomDimension(
                    parameter_name=f"article_topic_{k}", display_name=f"Topic {k}", scope="EVENT"))
            else:
                admin_alpha.create_custom_metric(parent=prop, custom_metric=a.CustomMetric(
                    parameter_name=f"score_{k}", display_name=f"Score {k}", scope="EVENT",
                    measurement_unit="STANDARD"))
    elif n == "pii_dimension":
        admin_alpha.create_custom_dimension(parent=prop, custom_dimension=a.CustomDimension(
            parameter_name="user_email", display_name="Customer email", scope="EVENT"))
    elif n.startswith("unassigned_"):
        share = {"unassigned_low": 0.07, "unassigned_medium": 0.15, "unassigned_high": 0.32}[n]
        add(sessions(share_sessions(base, today, share), today, tag=n, source="partner-feed", medium="syndication"))
    elif n == "landing_not_set":
        add(sessions(share_sessions(base, today, 0.15), today, tag=n, events=("session_start", "user_engagement")))
    elif n == "self_referral":
        add(sessions(share_sessions(base, today, 0.10), today, tag=n, source="shop.example.com", medium="referral"))
    elif n == "payment_gateway":
        add(sessions(12, today, tag=n, source="paypal.com", medium="referral"))
    elif n == "foreign_host":
        add(sessions(15, today, tag=n, page="https://staging.agency-preview.dev/products"))
    elif n == "direct_heavy":
        w = window_sessions(base, today)
        direct = int((w["channel_group"] == "Direct").sum())
        k = int(np.ceil((0.5 * len(w) - direct) / 0.5))
        add(sessions(k, today, tag=n, source="(direct)", medium="(none)"))
    elif n == "pii_urls":
        add(sessions(2, today, tag=n + "m", page=SITE + "/newsletter/thanks?email=jane.doe%40example.com"))
        add(sessions(2, today, tag=n + "p", page=SITE + "/callback?phone=%2B49%20170%201234567&utm_source=x"))
    elif n.startswith("purchase_"):
        ev = ("session_start", "page_view", "purchase")
        if n == "purchase_no_id":
            add(sessions(3, today, tag=n, events=ev, value=49.0, currency="EUR"))
        elif n == "purchase_duplicate":
            add(sessions(3, today, tag=n, events=ev, transaction_id="T-DUP-1", value=49.0, currency="EUR"))
        else:
            add(sessions(3, today, tag=n, events=ev, transaction_id=[f"T-ZERO-{k}" for k in range(3)], value=0.0,
                         currency="EUR"))


def _stream_id(admin_alpha, prop: str) -> str:
    return str(next(iter(admin_alpha.list_data_streams(parent=prop))).name).rsplit("/", 1)[-1]


def restrict(emu, world: World) -> None:
    """Take the audit's principal off the ``denied`` property (as an administrator removing a user)."""
    for p in world.properties:
        if p.error == "PERMISSION_DENIED":
            emu.admin.set_access(p.pid, ["someone.else@agency.example"])
