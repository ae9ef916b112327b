"""What the Admin and Data APIs cannot show: listed in every audit report for a person to check, never
guessed from other data."""

from __future__ import annotations

from ga4kit.audit.model import ManualCheck

MANUAL_CHECKS = (
    ManualCheck("data_filters", "Data filters (internal and developer traffic)",
                "The API does not list data filters: internal traffic may be counted, or a filter left in testing.",
                "Admin > Data collection and modification > Data filters; internal IP addresses under Admin > Data "
                "streams > the web stream > Configure tag settings > Define internal traffic."),
    ManualCheck("unwanted_referrals", "Unwanted referrals (referral exclusions)",
                "The list of unwanted referrals is not readable through the API; the self-referral and payment "
                "gateway checks show its effects only.",
                "Admin > Data streams > the web stream > Configure tag settings > List unwanted referrals."),
    ManualCheck("cross_domain", "Cross-domain measurement",
                "Which domains share sessions is a tag setting the API does not expose.",
                "Admin > Data streams > the web stream > Configure tag settings > Configure your domains."),
    ManualCheck("session_timeout", "Session timeout and engaged-session timer",
                "Tag settings the API does not expose; a short timeout splits visits.",
                "Admin > Data streams > the web stream > Configure tag settings > Adjust session timeout."),
    ManualCheck("consent_mode", "Consent mode",
                "Whether the site sends consent signals (and which) is visible only on the site and in GA4's "
                "consent settings page.",
                "Admin > Data collection and modification > Consent settings; the site's consent banner and Google "
                "Tag Assistant."),
    ManualCheck("search_console_link", "Search Console link",
                "The Admin API has no Search Console links.",
                "Admin > Product links > Search Console links."),
)
