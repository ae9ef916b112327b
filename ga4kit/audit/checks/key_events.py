"""Key events: none of the business's own, drift from the goals file, never fired, the cap, too many macro
goals, and goal rates that fell sharply against the previous period.

GA4's own key events (``custom`` false: ``purchase`` on web properties, ``first_open`` / ``in_app_purchase``
on apps) do not count as the business's, do not count toward the cap, and are not reported when they never
fire (a lead-generation site never sends ``purchase``).
"""

from __future__ import annotations

import datetime as dt
import math

from ga4kit.audit.checks._util import plural
from ga4kit.audit.registry import NotApplicable, check
from ga4kit.constants import COUNTING, KEY_EVENT_CAP
from ga4kit.properties.read import enum_name

NEAR_CAP = 0.8  # custom key events at 80% of the cap or more
RATE_DROP = 0.5  # a goal rate at half the previous period's or less
MIN_GOAL_USERS = 20  # previous-period users a goal needs for its rate to be judged
KEY_EVENTS_FIX = "Admin > Data display > Key events (Events: mark as key event)."


def _custom(key_events) -> list:
    return [k for k in key_events if k.custom]


def _goals(ctx):
    config = ctx.facts.target.goals
    if config is None:
        raise NotApplicable("no goals file declares this property")
    return config


@check("no_key_events", family="key_events", severity="high", title="No key events of the business's own",
       reads="ListKeyEvents -> custom", fix=KEY_EVENTS_FIX + " Mark the business's macro and micro goals.")
def no_key_events(ctx):
    key_events = ctx.facts.key_events()
    if not _custom(key_events):
        defaults = sorted(k.event_name for k in key_events)
        yield ctx.finding("high", "The property has no key event of its own"
                          + (f" (only GA4's default {', '.join(defaults)})" if defaults else "")
                          + ": conversions are not measured, and Google Ads bidding has nothing to optimise for.",
                          {"custom_key_events": 0, "default_key_events": len(defaults)})


@check("goal_not_key_event", family="key_events", severity="high", title="Declared goals that are not key events",
       reads="ListKeyEvents -> event_name; the goals file",
       fix=KEY_EVENTS_FIX + " Or run `ga4kit plan` / `ga4kit apply` with the goals file.")
def goal_not_key_event(ctx):
    config = _goals(ctx)
    marked = {k.event_name for k in ctx.facts.key_events()}
    missing = [g.event for g in config.goals if g.event not in marked]
    if missing:
        macro = [g.event for g in config.goals if g.event in missing and g.is_macro]
        yield ctx.finding("high" if macro or len(missing) > 1 else "medium",
                          f"{plural(len(missing), 'goal')} of {config.source or 'the goals file'} "
                          f"{'is' if len(missing) == 1 else 'are'} not marked as key events: {', '.join(missing)}.",
                          {"missing": missing, "declared_goals": len(config.goals), "missing_macro_goals": len(macro)})


def _declared(config):
    """event -> (counting method, value, currency) as the goals file declares it."""
    default_currency = config.defaults.currency if config.defaults else None
    out = {}
    for g in config.goals:
        currency = (g.currency or default_currency or "").upper() or None
        out[g.event] = (COUNTING.get(str(g.counting).lower(), str(g.counting).upper()), g.value,
                        currency if g.value is not None else None)
    return out


@check("goal_counting_differs", family="key_events", severity="medium",
       title="Key events counted otherwise than the goals file says",
       reads="ListKeyEvents -> counting_method; the goals file",
       fix=KEY_EVENTS_FIX + " Open the key event's menu > Change counting method; or `ga4kit apply`.")
def goal_counting_differs(ctx):
    declared = _declared(_goals(ctx))
    differ = []
    for k in ctx.facts.key_events():
        if k.event_name in declared and enum_name(k.counting_method) != declared[k.event_name][0]:
            differ.append(f"{k.event_name}: {enum_name(k.counting_method).lower()} "
                          f"(file: {declared[k.event_name][0].lower()})")
    if differ:
        yield ctx.finding("medium", f"{plural(len(differ), 'key event')} count{'s' if len(differ) == 1 else ''} "
                          f"otherwise than declared: {'; '.join(differ)}. Key event totals are then not what the "
                          "goals file means.", {"key_events": len(differ), "differences": differ})


@check("goal_value_differs", family="key_events", severity="medium",
       title="Key event default values that differ from the goals file",
       reads="ListKeyEvents -> default_value; the goals file",
       fix=KEY_EVENTS_FIX + " Open the key event's menu > Set default key event value; or `ga4kit apply`.")
def goal_value_differs(ctx):
    declared = _declared(_goals(ctx))
    differ = []
    for k in ctx.facts.key_events():
        if k.event_name not in declared:
            continue
        _, value, currency = declared[k.event_name]
        pb = type(k).pb(k)
        has = pb.HasField("default_value")
        cur_value = float(k.default_value.numeric_value) if has else None
        cur_currency = (k.default_value.currency_code or "").upper() or None if has else None
        same = (cur_value is None and value is None) or (
            cur_value is not None and value is not None and math.isclose(cur_value, float(value), rel_tol=1e-9,
                                                                         abs_tol=1e-9)
            and cur_currency == currency)
        if not same:
            differ.append(f"{k.event_name}: {_money(cur_value, cur_currency)} (file: {_money(value, currency)})")
    if differ:
        yield ctx.finding("medium", f"{plural(len(differ), 'key event')} {'has' if len(differ) == 1 else 'have'} "
                          f"another default value than declared: {'; '.join(differ)}. Key event value and "
                          "revenue-based bidding then use the wrong amount.",
                          {"key_events": len(differ), "differences": differ})


def _money(value, currency) -> str:
    return "none" if value is None else f"{value:g} {currency or ''}".strip()


@check("key_event_never_fired", family="key_events", severity="medium",
       title="Key events that never fired in 28 days",
       reads="ListKeyEvents; runReport date, eventName -> eventCount (28 days)",
       fix="Check the tag that should send the event (Admin > DebugView, Google Tag Assistant), or unmark a key "
           "event no longer used: " + KEY_EVENTS_FIX)
def key_event_never_fired(ctx):
    custom = _custom(ctx.facts.key_events())
    if not custom:
        raise NotApplicable("the property has no key event of its own")
    rep = ctx.facts.report("events", absence=True)
    since = (ctx.facts.today - dt.timedelta(days=28)).strftime("%Y%m%d")
    recent = rep.frame[rep.frame["date"] >= since]
    total = int(recent["eventCount"].sum())
    if not total:
        raise NotApplicable("the property had no events in the last 28 days (see silent_stream)")
    fired = set(recent.loc[recent["eventCount"] > 0, "eventName"])
    never = sorted(k.event_name for k in custom if k.event_name not in fired)
    if never:
        yield ctx.finding("medium", f"{plural(len(never), 'key event')} never fired in the last 28 days while the "
                          f"property had {total:,} events: {', '.join(never)}.",
                          {"never_fired": never, "custom_key_events": len(custom), "events_28_days": total})


@check("key_events_near_cap", family="key_events", severity="high", title="Custom key events near the cap",
       reads="GetProperty -> service_level; ListKeyEvents -> custom",
       fix=KEY_EVENTS_FIX + " Unmark key events nobody uses (30 custom key events on standard properties, 50 on 360).")
def key_events_near_cap(ctx):
    cap = KEY_EVENT_CAP[ctx.facts.service_level]
    n = len(_custom(ctx.facts.key_events()))
    if n >= cap:
        severity = "high"
    elif n >= math.ceil(cap * NEAR_CAP):
        severity = "medium"
    else:
        return
    yield ctx.finding(severity, f"{n} of {cap} custom key events are used"
                      + (": no new goal can be marked." if n >= cap else ": little room for new goals."),
                      {"custom_key_events": n, "cap": cap, "share": n / cap})


@check("too_many_macro_goals", family="key_events", severity="low", title="More than two macro goals",
       reads="the goals file (type: macro)",
       fix="Keep one or two macro goals (the business outcomes) in the goals file; make the others micro goals.")
def too_many_macro_goals(ctx):
    config = _goals(ctx)
    macro = [g.event for g in config.macro_goals]
    if len(macro) > 2:
        yield ctx.finding("low", f"{len(macro)} macro goals are declared ({', '.join(macro)}): with more than two, "
                          "nobody knows which outcome the site is for, and conversion rates stop meaning much.",
                          {"macro_goals": len(macro), "goals": macro})


@check("goal_rate_drop", family="key_events", severity="high", title="A goal rate fell sharply",
       reads="batchRunReports (ga4kit.reporting.pull): eventName -> totalUsers per goal, totalUsers (last 28 days "
             "and the 28 before); ga4kit.chains.goal_summary",
       fix="Compare the goal's tag and site changes around the start of the drop (Admin > DebugView, the site's "
           "release notes); check the key event in Admin > Data display > Key events.")
def goal_rate_drop(ctx):
    _goals(ctx)
    rates, thresholded = ctx.facts.goal_rates()
    if thresholded:
        from ga4kit.audit.registry import Unavailable

        raise Unavailable("the goals' report is thresholded (Google signals): user counts are not reliable.")
    fell = []
    for r in rates.itertuples(index=False):
        prev_users = 0 if _missing(r.users_prev) else int(r.users_prev)
        if prev_users < MIN_GOAL_USERS or _missing(r.rate_prev) or not r.rate_prev:
            continue
        now = 0.0 if _missing(r.rate_over_all_users) else float(r.rate_over_all_users)
        if now <= r.rate_prev * RATE_DROP:
            fell.append((r.event, now, float(r.rate_prev), int(0 if _missing(r.users) else r.users), prev_users))
    for event, now, prev, users, prev_users in fell:
        yield ctx.finding("high", f"The rate of goal {event} fell from {prev:.2%} to {now:.2%} of all users "
                          f"({1 - now / prev:.0%} lower) against the previous 28 days ({prev_users:,} -> {users:,} "
                          "users).", {"goal": event, "rate": now, "rate_previous": prev, "users": users,
                                      "users_previous": prev_users, "change": now / prev - 1})


def _missing(value) -> bool:
    try:
        return value is None or math.isnan(float(value))
    except (TypeError, ValueError):
        return True
