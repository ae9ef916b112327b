"""Reading GA4 properties: which ones a run covers, what they are, and what they hold (read-only).

- :mod:`~ga4kit.properties.select`: the one function that turns a goals file and ``-p`` ids into the
  properties to work on (normalised, each once, labels and streams kept).
- :mod:`~ga4kit.properties.read`: a property's settings (:class:`PropertyInfo`), its data streams, key events
  and create-event rules, and the settings an audit reads (retention, Google signals, enhanced measurement,
  data redaction, custom definitions, Google Ads and BigQuery links).
- :mod:`~ga4kit.properties.accounts`: every account and property the credentials can see (account
  summaries).

plan/apply, pull and the audit read properties through here; nothing here writes.
"""

from ga4kit.properties.accounts import PropertySummary, list_properties
from ga4kit.properties.read import (
    PropertyInfo, get_data_redaction, get_data_retention, get_enhanced_measurement, get_google_signals, get_property,
    list_account_properties, list_bigquery_links, list_custom_dimensions, list_custom_metrics, list_data_streams,
    list_event_create_rules, list_google_ads_links, list_key_events, property_info, web_streams,
)
from ga4kit.properties.select import property_ids, select_properties

__all__ = ["PropertySummary", "list_properties", "PropertyInfo", "get_property", "property_info",
           "list_account_properties", "list_data_streams", "list_event_create_rules", "list_key_events",
           "web_streams", "get_data_retention", "get_google_signals", "get_enhanced_measurement",
           "get_data_redaction", "list_custom_dimensions", "list_custom_metrics", "list_google_ads_links",
           "list_bigquery_links", "property_ids", "select_properties"]
