"""GA4's validation rules for Admin resources: names, field formats and per-property limits.

Each ``check_*`` raises :class:`EmulatorError` (INVALID_ARGUMENT) with a GA4-style message naming the field;
the limits (caps) are enforced by the parts of the Admin state (``admin_properties``, ``admin_streams``,
``admin_definitions``, ``admin_links``), which know what a property already has.
"""

from __future__ import annotations

import hashlib
import math
import re
from urllib.parse import urlsplit
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
CUSTOM_METRIC_CAP = {"STANDARD": 50, "PREMIUM": 125}
METRIC_SCOPES = ("EVENT",)
MEASUREMENT_UNITS = ("STANDARD", "CURRENCY", "FEET", "METERS", "KILOMETERS", "MILES", "MILLISECONDS", "SECONDS",
                     "MINUTES", "HOURS")
RESTRICTED_METRIC_TYPES = ("COST_DATA", "REVENUE_DATA")
MAX_PROPERTIES_PER_ACCOUNT = 2000
MAX_STREAMS, MAX_APP_STREAMS = 50, 30  # per property: at most 50 data streams, of which 30 app streams
STREAM_TYPES = ("WEB_DATA_STREAM", "ANDROID_APP_DATA_STREAM", "IOS_APP_DATA_STREAM")
INDUSTRY_CATEGORIES = (
    "AUTOMOTIVE", "BUSINESS_AND_INDUSTRIAL_MARKETS", "FINANCE", "HEALTHCARE", "TECHNOLOGY", "TRAVEL", "OTHER",
    "ARTS_AND_ENTERTAINMENT", "BEAUTY_AND_FITNESS", "BOOKS_AND_LITERATURE", "FOOD_AND_DRINK", "GAMES",
    "HOBBIES_AND_LEISURE", "HOME_AND_GARDEN", "INTERNET_AND_TELECOM", "LAW_AND_GOVERNMENT", "NEWS",
    "ONLINE_COMMUNITIES", "PEOPLE_AND_SOCIETY", "PETS_AND_ANIMALS", "REAL_ESTATE", "REFERENCE", "SCIENCE", "SPORTS",
    "JOBS_AND_EDUCATION", "SHOPPING",
)
SIGNALS_STATES = ("GOOGLE_SIGNALS_ENABLED", "GOOGLE_SIGNALS_DISABLED")
# Attribution settings: every field is required, each with its own choices (NOT_SELECTED_YET is GA4's own
# starting value of the export scope and cannot be chosen).
ATTRIBUTION_CHOICES = {
    "acquisition_conversion_event_lookback_window": (
        "ACQUISITION_CONVERSION_EVENT_LOOKBACK_WINDOW_7_DAYS", "ACQUISITION_CONVERSION_EVENT_LOOKBACK_WINDOW_30_DAYS"),
    "other_conversion_event_lookback_window": (
        "OTHER_CONVERSION_EVENT_LOOKBACK_WINDOW_30_DAYS", "OTHER_CONVERSION_EVENT_LOOKBACK_WINDOW_60_DAYS",
        "OTHER_CONVERSION_EVENT_LOOKBACK_WINDOW_90_DAYS"),
    "reporting_attribution_model": (
        "PAID_AND_ORGANIC_CHANNELS_DATA_DRIVEN", "PAID_AND_ORGANIC_CHANNELS_LAST_CLICK",
        "GOOGLE_PAID_CHANNELS_LAST_CLICK"),
    "ads_web_conversion_data_export_scope": ("PAID_AND_ORGANIC_CHANNELS", "GOOGLE_PAID_CHANNELS"),
}
# BigQuery dataset locations (https://cloud.google.com/bigquery/docs/locations): multi-regions and regions.
BIGQUERY_MULTI_REGIONS = ("US", "EU")
_BQ_REGION_RE = re.compile(r"^[a-z]+-[a-z]+[0-9]$")
_PROJECT_RE = re.compile(r"^projects/(?:(\d+)|([a-z][a-z0-9-]{4,28}[a-z0-9]))$")
_PACKAGE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")
_BUNDLE_RE = re.compile(r"^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
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
    check_parameter_name(parameter_name, 24 if scope == "USER" else 40)
    check_definition_text(display_name, description)
    check_ads_personalization(disallow_ads_personalization, scope)


def check_parameter_name(parameter_name: str, max_len: int) -> None:
    if not parameter_name:
        raise invalid("Field parameter_name is required.")
    if len(parameter_name) > max_len or not NAME_RE.match(parameter_name):
        raise invalid(f"Field parameter_name '{parameter_name}' is invalid: at most {max_len} characters, "
                      "starting with a letter, letters, digits and underscores only.")


def check_definition_text(display_name: str, description: str = "") -> None:
    """Display name and description of a custom dimension or metric."""
    if not display_name:
        raise invalid("Field display_name is required.")
    if len(display_name) > 82 or not DISPLAY_RE.match(display_name):
        raise invalid(f"Field display_name '{display_name}' is invalid: at most 82 characters, starting with "
                      "a letter, letters, digits, spaces and underscores only.")
    if len(description) > 150:
        raise invalid("Field description must be at most 150 characters.")


def check_ads_personalization(disallow_ads_personalization: bool, scope: str) -> None:
    if disallow_ads_personalization and scope != "USER":
        raise invalid("Field disallow_ads_personalization is only supported on user-scoped custom dimensions.")


def check_custom_metric(parameter_name: str, display_name: str, measurement_unit: str, scope: str,
                        description: str = "", restricted_metric_type: tuple[str, ...] = ()) -> None:
    """GA4's rules for a new custom metric's fields (INVALID_ARGUMENT when broken)."""
    check_choice("scope", scope, METRIC_SCOPES)
    check_parameter_name(parameter_name, 40)
    check_definition_text(display_name, description)
    check_metric_unit(measurement_unit, restricted_metric_type)


def check_metric_unit(measurement_unit: str, restricted_metric_type: tuple[str, ...]) -> None:
    """A currency metric says which restricted data it holds; any other unit holds none."""
    check_choice("measurement_unit", measurement_unit, MEASUREMENT_UNITS)
    for value in restricted_metric_type:
        check_choice("restricted_metric_type", value, RESTRICTED_METRIC_TYPES)
    if measurement_unit == "CURRENCY" and not restricted_metric_type:
        raise invalid("Field restricted_metric_type is required for a metric with measurement_unit CURRENCY: "
                      "use COST_DATA and/or REVENUE_DATA.")
    if measurement_unit != "CURRENCY" and restricted_metric_type:
        raise invalid(f"Field restricted_metric_type must be empty for a metric with measurement_unit "
                      f"{measurement_unit}.")


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


def check_choice(field_name: str, value: str | None, allowed: tuple[str, ...], *, required: bool = True) -> None:
    """An enum field: required unless told otherwise (UNSPECIFIED counts as missing), one of ``allowed``."""
    if not value or str(value).endswith("_UNSPECIFIED"):
        if required:
            raise invalid(f"Field {field_name} is required: use {', '.join(allowed)}.")
        return
    if value not in allowed:
        raise invalid(f"Field {field_name} '{value}' is invalid: use {', '.join(allowed)}.")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_display_name(display_name: str, max_len: int, field_name: str = "display_name", *,
                       required: bool = True) -> None:
    """A display name: required (unless told otherwise), at most ``max_len`` UTF-16 code units."""
    if not display_name:
        if required:
            raise invalid(f"Field {field_name} is required.")
        return
    if utf16_len(display_name) > max_len:
        raise invalid(f"Field {field_name} is too long: at most {max_len} characters are allowed.")


def check_web_uri(uri: str) -> None:
    """A web stream's default URI: empty, or an http(s) address with a host."""
    if not uri:
        return
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in uri:
        raise invalid(f"Field web_stream_data.default_uri '{uri}' is invalid: use the site's address, e.g. "
                      "https://www.example.com.")


def check_package_name(package_name: str) -> None:
    if not package_name:
        raise invalid("Field android_app_stream_data.package_name is required for an Android app stream.")
    if not _PACKAGE_RE.match(package_name):
        raise invalid(f"Field android_app_stream_data.package_name '{package_name}' is invalid: use the app's "
                      "package name, e.g. com.example.app.")


def check_bundle_id(bundle_id: str) -> None:
    if not bundle_id:
        raise invalid("Field ios_app_stream_data.bundle_id is required for an iOS app stream.")
    if not _BUNDLE_RE.match(bundle_id):
        raise invalid(f"Field ios_app_stream_data.bundle_id '{bundle_id}' is invalid: use the app's bundle id, "
                      "e.g. com.example.app.")


def check_search_parameters(value: str, field_name: str, *, required: bool) -> None:
    """Enhanced measurement's query parameter lists: at most 1024 characters (the site search one not empty)."""
    if required and not value:
        raise invalid(f"Field {field_name} is required and must not be empty.")
    if len(value) > 1024:
        raise invalid(f"Field {field_name} must be at most 1024 characters.")


def check_redaction(query_parameter_redaction_enabled: bool, query_parameter_keys: list[str]) -> None:
    if query_parameter_redaction_enabled and not query_parameter_keys:
        raise invalid("Field query_parameter_keys must contain at least one key while "
                      "query_parameter_redaction_enabled is true.")
    for key in query_parameter_keys:
        if not key.strip():
            raise invalid("Field query_parameter_keys must not contain empty keys.")
        if "," in key:
            raise invalid(f"Field query_parameter_keys: key '{key}' must not contain commas.")


def bigquery_project(project: str) -> str:
    """The project of a BigQuery link as GA4 returns it, ``projects/{number}`` (an id is turned into a
    stable made-up number, as GA4 turns it into the project's real number)."""
    m = _PROJECT_RE.match(project or "")
    if not m:
        if not project:
            raise invalid("Field project is required, e.g. projects/my-project or projects/1234.")
        raise invalid(f"Field project '{project}' is invalid: use projects/{{project id or number}}.")
    if m.group(1):
        return project
    return f"projects/{int(hashlib.sha256(m.group(2).encode()).hexdigest(), 16) % 10**12:012d}"


def check_dataset_location(location: str) -> None:
    if not location:
        raise invalid("Field dataset_location is required, e.g. US, EU or europe-west3.")
    if location not in BIGQUERY_MULTI_REGIONS and not _BQ_REGION_RE.match(location):
        raise invalid(f"Field dataset_location '{location}' is not a BigQuery location; use e.g. US, EU or "
                      "europe-west3.")
