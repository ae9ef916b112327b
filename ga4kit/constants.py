"""GA4's limits and names as ga4kit uses them on the client side: one place, so two modules never disagree.

(The emulator keeps its own copies on purpose: it stands in for GA4 and must not share ga4kit's mistakes.)
Sources: Google's Admin and Data API protos and help pages; see /work/shared DESIGN.md §4 for the list.
"""

from __future__ import annotations

# --- goals ---------------------------------------------------------------------------------------------
MICRO = "micro"
MACRO = "macro"
MILESTONE = "milestone"
SECONDARY = "secondary"
GOAL_TYPES = (MICRO, MACRO)
GOAL_KINDS = (MILESTONE, SECONDARY)

# Goals-file counting method -> GA4 KeyEvent.CountingMethod name.
COUNTING = {"once_per_event": "ONCE_PER_EVENT", "once_per_session": "ONCE_PER_SESSION"}

# --- key events ----------------------------------------------------------------------------------------
STANDARD_KEY_EVENT_CAP = 30  # custom key events on a standard property
PREMIUM_KEY_EVENT_CAP = 50  # ... on a GA4 360 property (Property.service_level GOOGLE_ANALYTICS_360)
KEY_EVENT_CAP = {"standard": STANDARD_KEY_EVENT_CAP, "360": PREMIUM_KEY_EVENT_CAP}
# Key events GA4 creates itself (custom=False): they do not count toward the custom cap.
DEFAULT_KEY_EVENTS = frozenset({"purchase", "first_open", "in_app_purchase", "app_store_subscription_convert",
                                "app_store_subscription_renew"})

# --- Admin API -----------------------------------------------------------------------------------------
ADMIN_PAGE_SIZE = 200  # the most a List call returns per page

# --- Data API ------------------------------------------------------------------------------------------
ALL = "(all)"  # the segment value of rows pulled over all traffic
GRAINS = ("day", "week", "month", "range")
COMPARISONS = ("previous", "none")  # what a period is compared with
PAGE_ROWS = 250_000  # the most rows runReport returns per page
MAX_DIMENSIONS = 9  # per request
MAX_METRICS = 10  # per request
MAX_DATE_RANGES = 4  # per request
MAX_BATCH = 5  # requests per batchRunReports
MAX_SEGMENTS = MAX_DIMENSIONS - 2  # beside eventName and the period dimension
MAX_FUNNEL_BREAKDOWN = 15  # values of a funnel breakdown dimension
