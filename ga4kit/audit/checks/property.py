"""The property as a whole: the trash, time zone, currency, industry category and data retention."""

from __future__ import annotations

import datetime as dt

from ga4kit.audit.checks._places import zone_currency
from ga4kit.audit.registry import check
from ga4kit.properties.read import enum_name

_UTC_ZONES = {"UTC", "GMT", "Etc/UTC", "Etc/GMT", "Etc/Universal", "Etc/Zulu", "Universal", "Zulu", "UCT", "Etc/UCT",
              "Etc/Greenwich", "Greenwich", "GMT0", "GMT+0", "GMT-0"}


@check("property_in_trash", family="property", severity="critical", title="Property in the trash",
       reads="GetProperty -> delete_time, expire_time",
       fix="Admin > Account > Trash Can: restore the property if it is still in use (GA4 deletes it for good at "
           "the expiry date, with all its data).")
def property_in_trash(ctx):
    info = ctx.facts.info()
    if not info.in_trash:
        return
    deleted = info.delete_time[:10]
    evidence = {"deleted": deleted}
    expire = _expire_time(info.raw)
    if expire is not None:
        evidence["deleted_for_good"] = expire.isoformat()
        evidence["days_left"] = max(0, (expire - ctx.facts.today).days)
    yield ctx.finding("critical", f"The property was moved to the trash on {deleted}"
                      + (f" and will be deleted for good on {expire}" if expire else "")
                      + ": it collects nothing the Data API can report, and its data goes with it.", evidence)


def _expire_time(raw) -> dt.date | None:
    try:
        pb = type(raw).pb(raw)
        return pb.expire_time.ToDatetime().date() if pb.HasField("expire_time") else None
    except (AttributeError, TypeError, ValueError):
        return None


@check("time_zone", family="property", severity="medium", title="Time zone unset or odd",
       reads="GetProperty -> time_zone",
       fix="Admin > Property details > Reporting time zone: the zone the business counts its days in.")
def time_zone(ctx):
    zone = ctx.facts.info().time_zone
    if not zone:
        yield ctx.finding("medium", "The property has no reporting time zone: days in reports do not match the "
                          "business's days.", {"time_zone": "(unset)"})
    elif zone in _UTC_ZONES or zone.startswith("Etc/"):
        yield ctx.finding("low", f"The reporting time zone is {zone}: reports cut days at midnight UTC, not at the "
                          "business's midnight, so daily figures mix two local days.", {"time_zone": zone})


@check("currency", family="property", severity="medium", title="Currency unset or odd",
       reads="GetProperty -> currency_code, time_zone",
       fix="Admin > Property details > Currency: the currency the business reports revenue in.")
def currency(ctx):
    info = ctx.facts.info()
    if not info.currency:
        yield ctx.finding("medium", "The property has no currency: revenue is reported in USD by default.",
                          {"currency": "(unset)"})
        return
    local = zone_currency(info.time_zone)
    if local is not None and local[1] != info.currency:
        country, expected = local
        yield ctx.finding("low", f"The property reports in {info.currency} while its time zone {info.time_zone} is in "
                          f"{country}, which pays in {expected}: check that revenue is meant to be shown in "
                          f"{info.currency} (often a setting left at its default).",
                          {"currency": info.currency, "time_zone": info.time_zone, "country": country,
                           "local_currency": expected})


@check("industry_category", family="property", severity="low", title="Industry category unset",
       reads="GetProperty -> industry_category",
       fix="Admin > Property details > Industry category.")
def industry_category(ctx):
    category = ctx.facts.info().industry_category
    if not category or category == "INDUSTRY_CATEGORY_UNSPECIFIED":
        yield ctx.finding("low", "The industry category is not set: GA4's benchmarks and some defaults use it.",
                          {"industry_category": "(unset)"})


@check("data_retention", family="property", severity="high", title="Data retention left at two months",
       reads="GetDataRetentionSettings -> event_data_retention",
       fix="Admin > Data collection and modification > Data retention: set event data to 14 months (or longer "
           "on GA4 360).")
def data_retention(ctx):
    value = enum_name(ctx.facts.retention().event_data_retention)
    if value == "TWO_MONTHS":
        yield ctx.finding("high", "Event data is kept for two months only (GA4's default): explorations and "
                          "funnels cannot look back further than that, and year-on-year analysis is lost.",
                          {"event_data_retention": "2 months"})
