"""The Data API's schema as the emulator knows it: every dimension and metric it models (API name, UI name,
description, category, scope, metric type, deprecated names), and GA4's other valid API names, which it
does not model.

A request naming a modelled field is answered; one of GA4's valid names the emulator does not model is
answered UNIMPLEMENTED (naming it); anything else is INVALID_ARGUMENT with GA4's "is not a valid
dimension/metric" wording. Custom definitions (``customEvent:<parameter>``) exist only when registered on
the property (``CustomDefinitions``).

Scopes: "event" fields read each event; "session" / "user" fields are the same for every event of the
session / user; "item" fields read the items of ecommerce events (one row per item, not per event).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCHEMA_URL = "https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema"


@dataclass(frozen=True)
class FieldInfo:
    api_name: str
    ui_name: str
    description: str
    category: str
    scope: str = "event"               # event | session | user | item
    type: str = ""                     # metrics: the MetricType name
    deprecated: tuple[str, ...] = ()   # older API names still accepted


def _d(api, ui, desc, cat, scope="event", deprecated=()):
    return FieldInfo(api, ui, desc, cat, scope, "", tuple(deprecated))


def _m(api, ui, desc, cat, mtype="TYPE_INTEGER", scope="event", deprecated=()):
    return FieldInfo(api, ui, desc, cat, scope, mtype, tuple(deprecated))


_TIME = "Time"
_GEO = "Geography"
_TECH = "Platform / device"
_PAGE = "Page / screen"
_TRAFFIC = "Traffic source"
_USER = "User"
_ECOM = "Ecommerce"
_EVENT = "Event"
_SESSION = "Session"
_REVENUE = "Revenue"

_DIMENSION_LIST = [
    # event
    _d("eventName", "Event name", "The name of the event.", _EVENT),
    _d("isKeyEvent", "Is key event", '"true" when the event is one of the property\'s key events, else "false".',
       _EVENT, deprecated=("isConversionEvent",)),
    # time (in the property's time zone)
    _d("date", "Date", "The date of the event, YYYYMMDD.", _TIME),
    _d("dateHour", "Date + hour (YYYYMMDDHH)", "The date and hour of the event, YYYYMMDDHH.", _TIME),
    _d("dateHourMinute", "Date hour and minute", "The date, hour and minute of the event, YYYYMMDDHHMM.", _TIME),
    _d("year", "Year", "The four-digit year of the event.", _TIME),
    _d("month", "Month", "The month of the event, 01 to 12.", _TIME),
    _d("yearMonth", "Year month", "The year and month of the event, YYYYMM.", _TIME),
    _d("week", "Week", "The week of the event, 01 to 53; weeks start on Sunday and January 1st is in week 01.",
       _TIME),
    _d("yearWeek", "Year week", "The year and week of the event, YYYYWW (weeks start on Sunday).", _TIME),
    _d("isoWeek", "ISO week of the year", "The ISO week number of the event, 01 to 53 (weeks start on Monday).",
       _TIME),
    _d("isoYear", "ISO year", "The ISO year of the event.", _TIME),
    _d("isoYearIsoWeek", "ISO week of ISO year", "The ISO year and ISO week of the event, YYYYWW.", _TIME),
    _d("day", "Day", "The day of the month, 01 to 31.", _TIME),
    _d("dayOfWeek", "Day of week", "The day of the week as a number, 0 (Sunday) to 6 (Saturday).", _TIME),
    _d("dayOfWeekName", "Day of week name", "The day of the week in English (Sunday, Monday, ...).", _TIME),
    _d("hour", "Hour", "The hour of the day the event was logged, 00 to 23.", _TIME),
    _d("minute", "Minute", "The minute of the hour the event was logged, 00 to 59.", _TIME),
    _d("firstSessionDate", "First session date", "The date of the user's first session (first_visit or "
       "first_open), YYYYMMDD.", _TIME, "user"),
    # geography
    _d("country", "Country", "The country the activity came from.", _GEO),
    _d("countryId", "Country ID", "The ISO 3166-1 alpha-2 code of the country, e.g. US.", _GEO),
    _d("region", "Region", "The geographic region the activity came from.", _GEO),
    _d("city", "City", "The city the activity came from.", _GEO),
    _d("continent", "Continent", "The continent the activity came from (Americas, Europe, ...).", _GEO),
    _d("subContinent", "Subcontinent", "The subcontinent the activity came from (Western Europe, ...).", _GEO),
    # platform / device
    _d("platform", "Platform", "The platform the site or app ran on: web, Android or iOS.", _TECH),
    _d("deviceCategory", "Device category", "The type of device: desktop, mobile or tablet.", _TECH),
    _d("platformDeviceCategory", "Platform / device category", "Platform and device category, e.g. "
       "web / desktop.", _TECH),
    _d("operatingSystem", "Operating system", "The operating system of the device.", _TECH),
    _d("browser", "Browser", "The browser used to view the site.", _TECH),
    # page / screen
    _d("pageLocation", "Page location", "The full URL of the page: protocol, host name, path and query string.",
       _PAGE),
    _d("pagePath", "Page path", "The part of the URL between the host name and the query string.", _PAGE),
    _d("pagePathPlusQueryString", "Page path + query string", "The part of the URL after the host name, "
       "query string included.", _PAGE),
    _d("fullPageUrl", "Full page URL", "Host name, page path and query string of the page.", _PAGE),
    _d("hostName", "Hostname", "The subdomain and domain of the page's URL.", _PAGE),
    _d("pageTitle", "Page title", "The title of the page.", _PAGE),
    _d("pageReferrer", "Page referrer", "The full referring URL (the page_referrer parameter).", _PAGE),
    _d("landingPage", "Landing page", "The page path of the session's first page view.", _PAGE, "session"),
    _d("landingPagePlusQueryString", "Landing page + query string", "Page path and query string of the "
       "session's first page view.", _PAGE, "session"),
    # traffic source: session (last click) and the user's first touch
    _d("sessionSource", "Session source", "The source of the session.", _TRAFFIC, "session"),
    _d("sessionMedium", "Session medium", "The medium of the session.", _TRAFFIC, "session"),
    _d("sessionSourceMedium", "Session source / medium", "Source and medium of the session.", _TRAFFIC, "session"),
    _d("sessionCampaignName", "Session campaign", "The campaign of the session; (organic), (referral) or "
       "(direct) when it had none.", _TRAFFIC, "session"),
    _d("sessionDefaultChannelGroup", "Session default channel group", "The session's channel by GA4's default "
       "channel grouping.", _TRAFFIC, "session"),
    _d("firstUserSource", "First user source", "The source that first acquired the user.", _TRAFFIC, "user"),
    _d("firstUserMedium", "First user medium", "The medium that first acquired the user.", _TRAFFIC, "user"),
    _d("firstUserSourceMedium", "First user source / medium", "Source and medium that first acquired the user.",
       _TRAFFIC, "user"),
    _d("firstUserCampaignName", "First user campaign", "The campaign that first acquired the user.", _TRAFFIC,
       "user"),
    _d("firstUserDefaultChannelGroup", "First user default channel group", "The channel that first acquired "
       "the user, by GA4's default channel grouping.", _TRAFFIC, "user"),
    # user
    _d("newVsReturning", "New / established", '"new" in a user\'s first session, "returning" in later ones.',
       _USER, "session"),
    # ecommerce
    _d("transactionId", "Transaction ID", "The ID of the ecommerce transaction.", _ECOM),
    _d("currencyCode", "Currency", "The local currency code (ISO 4217) of the event.", _ECOM),
    _d("itemId", "Item ID", "The ID of the item.", _ECOM, "item"),
    _d("itemName", "Item name", "The name of the item.", _ECOM, "item"),
    _d("itemBrand", "Item brand", "The brand of the item.", _ECOM, "item"),
    _d("itemCategory", "Item category", "The category of the item.", _ECOM, "item"),
]

_METRIC_LIST = [
    # events
    _m("eventCount", "Event count", "The number of events.", _EVENT),
    _m("eventValue", "Event value", "The sum of the value parameter of the events.", _EVENT, "TYPE_FLOAT"),
    _m("eventCountPerUser", "Event count per active user", "Events divided by active users.", _EVENT, "TYPE_FLOAT"),
    _m("eventsPerSession", "Events per session", "Events divided by sessions.", _EVENT, "TYPE_FLOAT"),
    _m("keyEvents", "Key events", "The number of key events (each counted by its counting method).", _EVENT,
       deprecated=("conversions",)),
    # users
    _m("totalUsers", "Total users", "The number of distinct users who logged any event.", _USER),
    _m("activeUsers", "Active users", "The number of distinct users with an engaged session, a first_visit or "
       "first_open event, or engagement time.", _USER),
    _m("newUsers", "New users", "The number of distinct users who logged first_visit or first_open.", _USER),
    _m("active1DayUsers", "1-day active users", "Distinct active users in the 1 day ending on the last day of "
       "the date range (or of the row's date).", _USER),
    _m("active7DayUsers", "7-day active users", "Distinct active users in the 7 days ending on the last day of "
       "the date range (or of the row's date).", _USER),
    _m("active28DayUsers", "28-day active users", "Distinct active users in the 28 days ending on the last day "
       "of the date range (or of the row's date).", _USER),
    _m("dauPerMau", "DAU / MAU", "1-day active users as a fraction of 30-day active users.", _USER, "TYPE_FLOAT"),
    _m("dauPerWau", "DAU / WAU", "1-day active users as a fraction of 7-day active users.", _USER, "TYPE_FLOAT"),
    _m("wauPerMau", "WAU / MAU", "7-day active users as a fraction of 30-day active users.", _USER, "TYPE_FLOAT"),
    _m("userEngagementDuration", "User engagement", "The total engagement time in seconds (the sum of "
       "engagement_time_msec).", _USER, "TYPE_SECONDS"),
    _m("userKeyEventRate", "User key event rate", "The fraction of active users who logged a key event.", _USER,
       "TYPE_FLOAT", deprecated=("userConversionRate",)),
    # sessions
    _m("sessions", "Sessions", "The number of distinct sessions (user_pseudo_id + ga_session_id).", _SESSION),
    _m("sessionsPerUser", "Sessions per active user", "Sessions divided by active users.", _SESSION, "TYPE_FLOAT"),
    _m("engagedSessions", "Engaged sessions", "Sessions that lasted longer than 10 seconds, had a key event or "
       "had 2 or more page or screen views.", _SESSION),
    _m("engagementRate", "Engagement rate", "Engaged sessions divided by sessions.", _SESSION, "TYPE_FLOAT"),
    _m("bounceRate", "Bounce rate", "Sessions that were not engaged, divided by sessions.", _SESSION, "TYPE_FLOAT"),
    _m("averageSessionDuration", "Average session duration", "The average time in seconds between a session's "
       "first and last event.", _SESSION, "TYPE_SECONDS"),
    _m("sessionKeyEventRate", "Session key event rate", "The fraction of sessions with a key event.", _SESSION,
       "TYPE_FLOAT", deprecated=("sessionConversionRate",)),
    # pages
    _m("screenPageViews", "Views", "The number of page_view and screen_view events.", _PAGE),
    _m("screenPageViewsPerSession", "Views per session", "Views divided by sessions.", _PAGE, "TYPE_FLOAT"),
    _m("screenPageViewsPerUser", "Views per active user", "Views divided by active users.", _PAGE, "TYPE_FLOAT"),
    _m("scrolledUsers", "Scrolled users", "Distinct users who logged a scroll event.", _PAGE),
    # ecommerce and revenue
    _m("addToCarts", "Add to carts", "The number of add_to_cart events.", _ECOM),
    _m("checkouts", "Checkouts", "The number of begin_checkout events.", _ECOM),
    _m("ecommercePurchases", "Ecommerce purchases", "The number of purchase events.", _ECOM),
    _m("transactions", "Transactions", "The number of transaction events (purchase, in_app_purchase, "
       "ecommerce_purchase, app_store_subscription_convert / _renew).", _ECOM),
    _m("totalPurchasers", "Total purchasers", "Distinct users who logged a purchase event.", _ECOM),
    _m("purchaserRate", "Purchaser rate", "The fraction of active users who made a purchase.", _ECOM, "TYPE_FLOAT"),
    _m("transactionsPerPurchaser", "Transactions per purchaser", "Transactions divided by total purchasers.",
       _ECOM, "TYPE_FLOAT"),
    _m("purchaseRevenue", "Purchase revenue", "The value of the transaction events.", _REVENUE, "TYPE_CURRENCY"),
    _m("totalRevenue", "Total revenue", "Purchase revenue (the emulator models no ad or subscription revenue).",
       _REVENUE, "TYPE_CURRENCY"),
    _m("averagePurchaseRevenue", "Average purchase revenue", "Purchase revenue divided by transactions.",
       _REVENUE, "TYPE_CURRENCY"),
    _m("averagePurchaseRevenuePerUser", "Average purchase revenue per active user", "Purchase revenue divided "
       "by active users.", _REVENUE, "TYPE_CURRENCY"),
    _m("averageRevenuePerUser", "ARPU", "Total revenue divided by active users.", _REVENUE, "TYPE_CURRENCY"),
    _m("itemRevenue", "Item revenue", "Price times quantity of the items of purchase events.", _ECOM,
       "TYPE_CURRENCY", "item"),
    _m("itemsPurchased", "Items purchased", "The quantity of items in purchase events.", _ECOM, scope="item"),
    _m("itemsViewed", "Items viewed", "The quantity of items in view_item events.", _ECOM, scope="item"),
    _m("itemsAddedToCart", "Items added to cart", "The quantity of items in add_to_cart events.", _ECOM,
       scope="item"),
    _m("itemsCheckedOut", "Items checked out", "The quantity of items in begin_checkout events.", _ECOM,
       scope="item"),
]

# Cohort reports' own fields (``cohorts.py``): valid only in a runReport with a cohortSpec.
_COHORT = "Cohort"
COHORT_DIMENSION_INFO: dict[str, FieldInfo] = {f.api_name: f for f in [
    _d("cohort", "Cohort", "The name of the cohort in the request's cohortSpec.", _COHORT),
    _d("cohortNthDay", "Daily cohort", "Days since the user's firstSessionDate, 0000, 0001, ...", _COHORT),
    _d("cohortNthWeek", "Weekly cohort", "Weeks (Sunday to Saturday) since the user's firstSessionDate, 0000, "
       "0001, ...", _COHORT),
    _d("cohortNthMonth", "Monthly cohort", "Calendar months since the user's firstSessionDate, 0000, 0001, ...",
       _COHORT),
]}
COHORT_METRIC_INFO: dict[str, FieldInfo] = {f.api_name: f for f in [
    _m("cohortActiveUsers", "Cohort active users", "The cohort's users active in the row's period.", _COHORT),
    _m("cohortTotalUsers", "Cohort total users", "The number of users in the cohort.", _COHORT),
]}

DIMENSION_INFO: dict[str, FieldInfo] = {f.api_name: f for f in _DIMENSION_LIST}
METRIC_INFO: dict[str, FieldInfo] = {f.api_name: f for f in _METRIC_LIST}
# deprecated name -> API name
DIMENSION_ALIASES = {old: f.api_name for f in _DIMENSION_LIST for old in f.deprecated}
METRIC_ALIASES = {old: f.api_name for f in _METRIC_LIST for old in f.deprecated}
# metric with a per-event form "<metric>:<event_name>"
KEY_EVENT_METRICS = {"keyEvents": "conversions", "sessionKeyEventRate": "sessionConversionRate",
                     "userKeyEventRate": "userConversionRate"}

# ---- GA4's valid API names the emulator does not model (answered UNIMPLEMENTED) -----------------------
_ADS_FIELDS = {
    "googleAds": ["AccountName", "AdGroupId", "AdGroupName", "AdNetworkType", "CampaignId", "CampaignName",
                  "CampaignType", "CreativeId", "CustomerId", "Keyword", "Query"],
    "cm360": ["AccountId", "AccountName", "AdvertiserId", "AdvertiserName", "CampaignId", "CampaignName",
              "CreativeFormat", "CreativeId", "CreativeName", "CreativeType", "CreativeTypeId", "CreativeVersion",
              "Medium", "PlacementCostStructure", "PlacementId", "PlacementName", "RenderingId", "SiteId",
              "SiteName", "Source", "SourceMedium"],
    "dv360": ["AdvertiserId", "AdvertiserName", "CampaignId", "CampaignName", "CreativeFormat", "CreativeId",
              "CreativeName", "ExchangeId", "ExchangeName", "InsertionOrderId", "InsertionOrderName", "LineItemId",
              "LineItemName", "Medium", "PartnerId", "PartnerName", "Source", "SourceMedium"],
    "sa360": ["AccountName", "AdGroupId", "AdGroupName", "CampaignId", "CampaignName", "CreativeFormat",
              "EngineAccountId", "EngineAccountName", "EngineAccountType", "KeywordText", "ManagerAccountName",
              "Medium", "Query", "Source", "SourceMedium"],
    "manual": ["AdContent", "CampaignId", "CampaignName", "CreativeFormat", "MarketingTactic", "Medium", "Source",
               "SourceMedium", "SourcePlatform", "Term"],
}
_ATTRIBUTION = ["campaignId", "campaignName", "defaultChannelGroup", "medium", "primaryChannelGroup", "source",
                "sourceMedium", "sourcePlatform"]


def _prefixed() -> set[str]:
    """Attribution dimensions in their three scopes: key-event scoped (bare), session... and firstUser...."""
    bare = set(_ATTRIBUTION) | {p + f for p, fs in _ADS_FIELDS.items() for f in fs}
    out = set(bare)
    for prefix in ("session", "firstUser"):
        out |= {prefix + n[0].upper() + n[1:] for n in bare}
    return out


_GA4_DIMENSIONS = _prefixed() | {
    "achievementId", "adFormat", "adSourceName", "adUnitName", "appVersion", "audienceId", "audienceName",
    "audienceResourceName", "brandingInterest", "character", "cityId", "cohort", "cohortNthDay", "cohortNthMonth",
    "cohortNthWeek", "comparison", "contentGroup", "contentId", "contentType", "continentId", "deviceModel",
    "fileExtension", "fileName", "groupId", "itemAffiliation", "itemCategory2", "itemCategory3", "itemCategory4",
    "itemCategory5", "itemListId", "itemListName", "itemListPosition", "itemLocationID", "itemPromotionCreativeName",
    "itemPromotionCreativeSlot", "itemPromotionId", "itemPromotionName", "itemVariant", "language", "languageCode",
    "level", "linkClasses", "linkDomain", "linkId", "linkText", "linkUrl", "method", "mobileDeviceBranding",
    "mobileDeviceMarketingName", "mobileDeviceModel", "nthDay", "nthHour", "nthMinute", "nthMonth", "nthWeek",
    "nthYear", "operatingSystemVersion", "operatingSystemWithVersion", "orderCoupon", "outbound", "percentScrolled",
    "screenResolution", "searchTerm", "segment", "shippingTier", "signedInWithUserId", "streamId", "streamName",
    "subContinentId", "testDataFilterId", "testDataFilterName", "unifiedPagePathScreen", "unifiedPageScreen",
    "unifiedScreenClass", "unifiedScreenName", "userAgeBracket", "userGender", "videoProvider", "videoTitle",
    "videoUrl", "virtualCurrencyName", "visible", "appStoreName",
}
_GA4_METRICS = {
    "adUnitExposure", "advertiserAdClicks", "advertiserAdCost", "advertiserAdCostPerClick",
    "advertiserAdCostPerKeyEvent", "advertiserAdCostPerConversion", "advertiserAdImpressions",
    "averagePurchaseRevenuePerPayingUser", "cartToViewRate", "cohortActiveUsers", "cohortTotalUsers",
    "crashAffectedUsers", "crashFreeUsersRate", "firstTimePurchaserRate", "firstTimePurchaserConversionRate",
    "firstTimePurchasers", "firstTimePurchasersPerNewUser", "grossItemRevenue", "grossPurchaseRevenue",
    "itemDiscountAmount", "itemListClickEvents", "itemListClickThroughRate", "itemListViewEvents",
    "itemPromotionClickThroughRate", "itemRefundAmount", "itemViewEvents", "itemsClickedInList",
    "itemsClickedInPromotion", "itemsViewedInList", "itemsViewedInPromotion", "organicGoogleSearchAveragePosition",
    "organicGoogleSearchClickThroughRate", "organicGoogleSearchClicks", "organicGoogleSearchImpressions",
    "promotionClicks", "promotionViews", "publisherAdClicks", "publisherAdImpressions", "purchaseToViewRate",
    "purchaserConversionRate", "refundAmount", "returnOnAdSpend", "shippingAmount", "taxAmount", "totalAdRevenue",
}
UNMODELLED_DIMENSIONS = frozenset(_GA4_DIMENSIONS - set(DIMENSION_INFO) - set(DIMENSION_ALIASES)
                                  - set(COHORT_DIMENSION_INFO))
UNMODELLED_METRICS = frozenset(_GA4_METRICS - set(METRIC_INFO) - set(METRIC_ALIASES) - set(COHORT_METRIC_INFO))
# Custom-definition prefixes: event-scoped ones are modelled; user properties and item parameters are not.
CUSTOM_PREFIXES = ("customEvent:", "customUser:", "customItem:")

# Unit of a custom metric -> MetricType name.
UNIT_TYPES = {"STANDARD": "TYPE_STANDARD", "CURRENCY": "TYPE_CURRENCY", "FEET": "TYPE_FEET",
              "METERS": "TYPE_METERS", "KILOMETERS": "TYPE_KILOMETERS", "MILES": "TYPE_MILES",
              "MILLISECONDS": "TYPE_MILLISECONDS", "SECONDS": "TYPE_SECONDS", "MINUTES": "TYPE_MINUTES",
              "HOURS": "TYPE_HOURS"}


@dataclass(frozen=True)
class CustomDefinitions:
    """A property's registered custom dimensions and metrics, as the Data API names them."""

    dimensions: dict[str, FieldInfo] = field(default_factory=dict)   # "customEvent:p" -> info
    metrics: dict[str, FieldInfo] = field(default_factory=dict)      # "customEvent:p" -> info (type = unit's)

    def parameter(self, api_name: str) -> str:
        return api_name.split(":", 1)[1]


NO_CUSTOM = CustomDefinitions()


def custom_definitions(admin, property_id: str) -> CustomDefinitions:
    """The custom dimensions and metrics registered on a property (archived ones are gone)."""
    dims, mets = {}, {}
    for d in admin.list_custom_dimensions(property_id):
        prefix = {"EVENT": "customEvent:", "USER": "customUser:", "ITEM": "customItem:"}.get(d["scope"])
        if prefix:
            name = prefix + d["parameter_name"]
            dims[name] = FieldInfo(name, d["display_name"], d.get("description") or "", "Custom",
                                   {"EVENT": "event", "USER": "user", "ITEM": "item"}[d["scope"]])
    for m in admin.list_custom_metrics(property_id):
        if m.get("scope", "EVENT") == "EVENT":
            name = "customEvent:" + m["parameter_name"]
            mets[name] = FieldInfo(name, m["display_name"], m.get("description") or "", "Custom", "event",
                                   UNIT_TYPES.get(m["measurement_unit"], "TYPE_STANDARD"))
    return CustomDefinitions(dims, mets)
