"""GA4's validation rules for Admin resources: names, field formats and per-property limits.

Each ``check_*`` raises :class:`EmulatorError` (INVALID_ARGUMENT) with a GA4-style message naming the field;
the limits (caps) are enforced by ``admin_state``, which knows what a property already has.
"""

from __future__ import annotations

import math
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import invalid

# ISO 4217 currency codes GA4 accepts (active codes).
CURRENCIES = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF
CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD
HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD
MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN
PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP
TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
""".split())
COUNTING_METHODS = ("ONCE_PER_EVENT", "ONCE_PER_SESSION")
SERVICE_LEVELS = {
    "STANDARD": "STANDARD", "PREMIUM": "PREMIUM", "360": "PREMIUM",
    "GOOGLE_ANALYTICS_STANDARD": "STANDARD", "GOOGLE_ANALYTICS_360": "PREMIUM",
    "SERVICE_LEVEL_GOOGLE_ANALYTICS_STANDARD": "STANDARD", "SERVICE_LEVEL_GOOGLE_ANALYTICS_360": "PREMIUM",
}
CUSTOM_KEY_EVENT_CAP = {"STANDARD": 30, "PREMIUM": 50}
# Key events GA4 treats as its own ("default", custom=False): they do not count towards the cap.
DEFAULT_KEY_EVENTS = frozenset({"purchase", "first_open", "in_app_purchase", "app_store_subscription_convert",
                                "app_store_subscription_renew"})
RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")
# Events GA4 collects by itself (automatically or by enhanced measurement): fine as key events, never the
# destination of a create-event rule.
AUTO_COLLECTED = frozenset({
    "page_view", "scroll", "click", "session_start", "first_visit", "user_engagement", "file_download",
    "form_start", "form_submit", "video_start", "video_progress", "video_complete", "view_search_results",
    "first_open", "app_remove", "app_update", "os_update", "screen_view", "notification_receive",
    "notification_open", "notification_dismiss", "ad_click", "ad_exposure", "ad_impression", "ad_query",
    "ad_reward", "adunit_exposure", "app_clear_data", "app_exception", "app_store_refund",
    "app_store_subscription_cancel", "app_store_subscription_convert", "app_store_subscription_renew",
    "dynamic_link_app_open", "dynamic_link_app_update", "dynamic_link_first_open", "error",
    "firebase_campaign", "in_app_purchase",
})
RULE_COMPARISONS = (
    "EQUALS", "EQUALS_CASE_INSENSITIVE", "CONTAINS", "CONTAINS_CASE_INSENSITIVE", "STARTS_WITH",
    "STARTS_WITH_CASE_INSENSITIVE", "ENDS_WITH", "ENDS_WITH_CASE_INSENSITIVE", "GREATER_THAN",
    "GREATER_THAN_OR_EQUAL", "LESS_THAN", "LESS_THAN_OR_EQUAL", "REGULAR_EXPRESSION",
    "REGULAR_EXPRESSION_CASE_INSENSITIVE",
)
NUMERIC_COMPARISONS = frozenset({"GREATER_THAN", "GREATER_THAN_OR_EQUAL", "LESS_THAN", "LESS_THAN_OR_EQUAL"})
MAX_RULE_CONDITIONS = 10
MAX_PARAMETER_MUTATIONS = 20
RETENTION_STANDARD = ("TWO_MONTHS", "FOURTEEN_MONTHS")
RETENTION_360 = RETENTION_STANDARD + ("TWENTY_SIX_MONTHS", "THIRTY_EIGHT_MONTHS", "FIFTY_MONTHS")
CUSTOM_DIMENSION_CAP = {
    "EVENT": {"STANDARD": 50, "PREMIUM": 125},
    "USER": {"STANDARD": 25, "PREMIUM": 100},
    "ITEM": {"STANDARD": 10, "PREMIUM": 25},
}
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
DISPLAY_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_ ]*$")


def check_event_name(name: str, field_name: str = "event_name", *, max_len: int = 40) -> None:
    """GA4's rules for a custom event name (INVALID_ARGUMENT when broken)."""
    if not name:
        raise invalid(f"Field {field_name} is required.")
    if len(name) > max_len:
        raise invalid(f"Field {field_name} '{name}' is too long: an event name may have at most {max_len} "
                      "characters.")
    for prefix in RESERVED_PREFIXES:
        if name.startswith(prefix):
            raise invalid(f"Field {field_name} '{name}' starts with the reserved prefix '{prefix}'.")
    if not NAME_RE.match(name):
        raise invalid(f"Field {field_name} '{name}' is invalid: it must start with a letter and contain only "
                      "letters, digits and underscores.")


def check_currency(code: str, field_name: str = "currency_code") -> None:
    if not code:
        raise invalid(f"Field {field_name} is required.")
    if code not in CURRENCIES:
        raise invalid(f"Field {field_name} '{code}' is not a valid ISO 4217 currency code.")


def check_default_value(default_value: tuple[float, str] | None) -> list | None:
    if default_value is None:
        return None
    value, currency = default_value
    if value is None or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise invalid("Field default_value.numeric_value is required and must be a finite number.")
    check_currency(currency, "default_value.currency_code")
    return [float(value), currency]


def check_counting_method(counting_method: str | None) -> str:
    if not counting_method or counting_method == "COUNTING_METHOD_UNSPECIFIED":
        raise invalid("Field counting_method is required: use ONCE_PER_EVENT or ONCE_PER_SESSION.")
    if counting_method not in COUNTING_METHODS:
        raise invalid(f"Field counting_method '{counting_method}' is invalid: use ONCE_PER_EVENT or "
                      "ONCE_PER_SESSION.")
    return counting_method


def check_rule(destination_event: str, conditions: list[dict], mutations: list[dict]) -> None:
    if not destination_event:
        raise invalid("Field destination_event is required.")
    if len(destination_event) >= 40:
        raise invalid(f"Field destination_event '{destination_event}' is too long: it must be less than 40 "
                      "characters.")
    if not NAME_RE.match(destination_event):
        raise invalid(f"Field destination_event '{destination_event}' is invalid: it must start with a letter "
                      "and contain only letters, digits and underscores.")
    check_event_name(destination_event, "destination_event")
    if destination_event in AUTO_COLLECTED:
        raise invalid(f"Field destination_event '{destination_event}' is an event Google Analytics collects "
                      "automatically and cannot be created by a rule.")
    if not conditions:
        raise invalid("Field event_conditions is required: a rule needs at least one condition.")
    if len(conditions) > MAX_RULE_CONDITIONS:
        raise invalid(f"Too many event_conditions ({len(conditions)}): at most {MAX_RULE_CONDITIONS} are "
                      "allowed.")
    for i, c in enumerate(conditions):
        where = f"event_conditions[{i}]"
        if not c.get("field"):
            raise invalid(f"Field {where}.field is required.")
        if any(ch.isspace() for ch in c["field"]):
            raise invalid(f"Field {where}.field '{c['field']}' must not contain spaces.")
        ctype = c.get("comparison_type")
        if not ctype or ctype == "COMPARISON_TYPE_UNSPECIFIED":
            raise invalid(f"Field {where}.comparison_type is required.")
        if ctype not in RULE_COMPARISONS:
            raise invalid(f"Field {where}.comparison_type '{ctype}' is invalid.")
        value = c.get("value", "")
        if value == "":
            raise invalid(f"Field {where}.value is required.")
        if ctype in NUMERIC_COMPARISONS:
            try:
                float(value)
            except ValueError:
                raise invalid(f"Field {where}.value '{value}' must be a number for {ctype}.") from None
        if ctype.startswith("REGULAR_EXPRESSION"):
            try:
                re.compile(value)
            except re.error:
                raise invalid(f"Field {where}.value '{value}' is not a valid regular expression.") from None
    if len(mutations) > MAX_PARAMETER_MUTATIONS:
        raise invalid(f"Too many parameter_mutations ({len(mutations)}): at most {MAX_PARAMETER_MUTATIONS} "
                      "are allowed.")
    seen = set()
    for i, m in enumerate(mutations):
        where = f"parameter_mutations[{i}]"
        param = m.get("parameter", "")
        if not param:
            raise invalid(f"Field {where}.parameter is required.")
        if len(param) >= 40 or not NAME_RE.match(param):
            raise invalid(f"Field {where}.parameter '{param}' is invalid: it must be less than 40 characters, "
                          "start with a letter and contain only letters, digits and underscores.")
        if param in seen:
            raise invalid(f"Field {where}.parameter '{param}' is used by more than one mutation.")
        seen.add(param)
        value = m.get("parameter_value", "")
        if value == "":
            raise invalid(f"Field {where}.parameter_value is required.")
        if len(value) >= 100:
            raise invalid(f"Field {where}.parameter_value is too long: it must be less than 100 characters.")


def check_custom_dimension(parameter_name: str, display_name: str, scope: str, description: str = "",
                           disallow_ads_personalization: bool = False) -> None:
    """GA4's rules for a new custom dimension's fields (INVALID_ARGUMENT when broken)."""
    if not scope or scope == "DIMENSION_SCOPE_UNSPECIFIED":
        raise invalid("Field scope is required: EVENT, USER or ITEM.")
    if scope not in CUSTOM_DIMENSION_CAP:
        raise invalid(f"Field scope '{scope}' is invalid.")
    max_len = 24 if scope == "USER" else 40
    if not parameter_name:
        raise invalid("Field parameter_name is required.")
    if len(parameter_name) > max_len or not NAME_RE.match(parameter_name):
        raise invalid(f"Field parameter_name '{parameter_name}' is invalid: at most {max_len} characters, "
                      "starting with a letter, letters, digits and underscores only.")
    if not display_name:
        raise invalid("Field display_name is required.")
    if len(display_name) > 82 or not DISPLAY_RE.match(display_name):
        raise invalid(f"Field display_name '{display_name}' is invalid: at most 82 characters, starting with "
                      "a letter, letters, digits, spaces and underscores only.")
    if len(description) > 150:
        raise invalid("Field description must be at most 150 characters.")
    if disallow_ads_personalization and scope != "USER":
        raise invalid("Field disallow_ads_personalization is only supported on user-scoped custom dimensions.")


def check_ads_customer_id(customer_id: str) -> None:
    if not customer_id:
        raise invalid("Field customer_id is required.")
    if not re.fullmatch(r"\d{10}", customer_id):
        raise invalid(f"Field customer_id '{customer_id}' is invalid: a Google Ads customer id has 10 digits "
                      "and no dashes.")


def check_time_zone(time_zone: str) -> None:
    if not time_zone:
        raise invalid("Field time_zone is required.")
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid(f"Field time_zone '{time_zone}' is not a valid IANA time zone.") from None


def check_service_level(name: str) -> str:
    """"STANDARD" or "PREMIUM" for any spelling of a GA4 service level."""
    level = SERVICE_LEVELS.get(str(name).upper())
    if level is None:
        raise invalid(f"Unknown service level {name!r}.")
    return level
