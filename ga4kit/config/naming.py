"""GA4's naming rules and reference lists the goals file is checked against (no I/O, no GA4 calls)."""

from __future__ import annotations

import re

EVENT_NAME_MAX = 40
EVENT_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")

# Events GA4 collects by itself (automatically or through enhanced measurement). They can be key events,
# but a create-event rule must not produce them.
AUTO_COLLECTED = frozenset({
    "page_view", "scroll", "click", "file_download", "form_start", "form_submit", "first_visit",
    "session_start", "user_engagement", "video_start", "video_progress", "video_complete",
    "view_search_results", "first_open", "app_remove", "app_update", "os_update", "screen_view",
    "notification_receive", "notification_open", "notification_dismiss", "app_clear_data",
    "app_exception", "in_app_purchase", "error", "ad_click", "ad_exposure", "ad_impression",
    "ad_query", "ad_reward", "adunit_exposure", "dynamic_link_app_open", "dynamic_link_first_open",
})

# Names GA4 reserves for its own use; custom events must not be sent under them.
RESERVED_EVENT_NAMES = frozenset({
    "ad_activeview", "ad_click", "ad_exposure", "ad_impression", "ad_query", "ad_reward", "adunit_exposure",
    "app_background", "app_clear_data", "app_exception", "app_install", "app_remove", "app_store_refund",
    "app_store_subscription_cancel", "app_store_subscription_convert", "app_store_subscription_renew",
    "app_update", "app_upgrade", "dynamic_link_app_open", "dynamic_link_app_update",
    "dynamic_link_first_open", "error", "firebase_campaign", "firebase_in_app_message_action",
    "firebase_in_app_message_dismiss", "firebase_in_app_message_impression", "first_open", "first_visit",
    "in_app_purchase", "notification_dismiss", "notification_foreground", "notification_open",
    "notification_receive", "notification_send", "os_update", "session_start", "user_engagement",
})

# Active ISO 4217 codes (2024), enough to catch typos such as "EURO" or "usd$".
CURRENCIES = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD
CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ
GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR
LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN
PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL
THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW
ZWL ZWG
""".split())

# The Data API's dimensions (developers.google.com/analytics/devguides/reporting/data/v1/api-schema). The
# attribution families exist plain (event scope), with firstUser (user scope) and session (session scope)
# in front; the list errs on the side of accepting: a name GA4 does not know fails there with
# INVALID_ARGUMENT, a name refused here would block a valid report.
_ATTRIBUTION = """
campaignId campaignName defaultChannelGroup primaryChannelGroup medium source sourceMedium sourcePlatform
googleAdsAccountName googleAdsAdGroupId googleAdsAdGroupName googleAdsAdNetworkType googleAdsCampaignId
googleAdsCampaignName googleAdsCampaignType googleAdsCreativeId googleAdsCustomerId googleAdsKeyword
googleAdsQuery manualAdContent manualCampaignId manualCampaignName manualCreativeFormat manualMarketingTactic
manualMedium manualSource manualSourceMedium manualSourcePlatform manualTerm
cm360AccountId cm360AccountName cm360AdvertiserId cm360AdvertiserName cm360CampaignId cm360CampaignName
cm360CreativeFormat cm360CreativeId cm360CreativeName cm360CreativeType cm360CreativeTypeId
cm360CreativeVersion cm360Medium cm360PlacementCostStructure cm360PlacementId cm360PlacementName
cm360RenderingId cm360SiteId cm360SiteName cm360Source cm360SourceMedium
dv360AdvertiserId dv360AdvertiserName dv360CampaignId dv360CampaignName dv360CreativeFormat dv360CreativeId
dv360CreativeName dv360ExchangeId dv360ExchangeName dv360InsertionOrderId dv360InsertionOrderName
dv360LineItemId dv360LineItemName dv360Medium dv360PartnerId dv360PartnerName dv360Source dv360SourceMedium
sa360AdGroupId sa360AdGroupName sa360CampaignId sa360CampaignName sa360CreativeFormat sa360EngineAccountId
sa360EngineAccountName sa360EngineAccountType sa360KeywordText sa360ManagerAccountId sa360ManagerAccountName
sa360Medium sa360Query sa360Source sa360SourceMedium
""".split()
_OTHER_DIMENSIONS = """
achievementId adFormat adSourceName adUnitName appVersion audienceId audienceName audienceResourceName
brandingInterest browser character city cityId cohort cohortNthDay cohortNthMonth cohortNthWeek contentGroup
contentId contentType continent continentId country countryId currencyCode date dateHour dateHourMinute day
dayOfWeek dayOfWeekName deviceCategory eventName fileExtension fileName firstSessionDate fullPageUrl groupId
hostName hour isConversionEvent isKeyEvent isoWeek isoYear isoYearIsoWeek itemAffiliation itemBrand
itemCategory itemCategory2 itemCategory3 itemCategory4 itemCategory5 itemId itemListId itemListName
itemListPosition itemLocationID itemName itemPromotionCreativeName itemPromotionCreativeSlot itemPromotionId
itemPromotionName itemVariant landingPage landingPagePlusQueryString language languageCode level linkClasses
linkDomain linkId linkText linkUrl method minute mobileDeviceBranding mobileDeviceMarketingName
mobileDeviceModel month newVsReturning nthDay nthHour nthMinute nthMonth nthWeek nthYear operatingSystem
operatingSystemVersion operatingSystemWithVersion orderCoupon outbound pageLocation pagePath
pagePathPlusQueryString pageReferrer pageTitle percentScrolled platform platformDeviceCategory region
screenResolution searchTerm shippingTier signedInWithUserId streamId streamName testDataFilterId
testDataFilterName transactionId unifiedPagePathScreen unifiedPageScreen unifiedScreenClass unifiedScreenName
userAgeBracket userGender videoProvider videoTitle videoUrl virtualCurrencyName visible week year yearMonth
yearWeek
""".split()
GA4_DIMENSIONS = frozenset(
    _OTHER_DIMENSIONS
    + _ATTRIBUTION
    + [prefix + name[0].upper() + name[1:] for prefix in ("firstUser", "session") for name in _ATTRIBUTION]
)
# Custom dimensions: customEvent:PARAM (event scope) and customUser:PROPERTY (user scope).
CUSTOM_DIMENSION_RE = re.compile(r"^custom(Event|User):[A-Za-z][A-Za-z0-9_]{0,39}$")
# ga4kit asks for these itself in every report: as a segment they would be asked for twice.
OWN_DIMENSIONS = frozenset({"eventName", "date"})

# Dimensions a report may segment by (a subset of the Data API schema that is session- or user-scoped,
# and so meaningful for conversion segments). Other GA4 dimensions are allowed with a warning.
KNOWN_SEGMENTS = frozenset({
    "sessionDefaultChannelGroup", "sessionSource", "sessionMedium", "sessionSourceMedium",
    "sessionCampaignName", "firstUserDefaultChannelGroup", "firstUserSource", "firstUserMedium",
    "deviceCategory", "country", "region", "city", "language", "browser", "operatingSystem",
    "platform", "landingPage", "newVsReturning", "pagePath",
})

DATE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}|\d+daysAgo|yesterday|today)$")


def event_name_problem(name: str) -> tuple[str, str] | None:
    """(message, fix) when ``name`` breaks GA4's event-name rules, else None."""
    if not isinstance(name, str) or not name:
        return "the event name is empty", "write the event name, e.g. add_to_cart"
    for prefix in RESERVED_PREFIXES:
        if name.startswith(prefix):
            return (f"{name!r} starts with the reserved prefix {prefix!r}",
                    f"rename it without {prefix!r}, e.g. {name[len(prefix):].lstrip('_.') or 'my_event'!r}")
    if len(name) > EVENT_NAME_MAX:
        return (f"{name!r} is {len(name)} characters; GA4 allows {EVENT_NAME_MAX} (longer names are not reported)",
                f"shorten it to at most {EVENT_NAME_MAX} characters, e.g. {name[:EVENT_NAME_MAX]!r}")
    if not name[0].isalpha() or not name[0].isascii():
        return f"{name!r} does not start with a letter", "start the name with a letter (a-z, A-Z)"
    if not EVENT_NAME_RE.match(name):
        cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", name).strip("_")
        return (f"{name!r} has characters GA4 does not allow (only letters, digits and underscores)",
                f"use {cleaned!r}" if cleaned and cleaned[0].isalpha() else "use letters, digits and underscores")
    return None
