"""Reading GA4 properties: which ones a run covers, what they are, and what they hold (read-only).

- :mod:`~ga4kit.properties.select`: the one function that turns a goals file and ``-p`` ids into the
  properties to work on (normalised, each once, labels and streams kept).
- :mod:`~ga4kit.properties.read`: a property's settings (:class:`PropertyInfo`), its data streams, key events
  and create-event rules.
- :mod:`~ga4kit.properties.accounts`: every account and property the credentials can see (account
  summaries).

plan/apply, pull and the audit read properties through here; nothing here writes.
"""

from ga4kit.properties.accounts import PropertySummary, list_properties
from ga4kit.properties.read import (
    PropertyInfo, get_property, list_data_streams, list_event_create_rules, list_key_events, web_streams,
)
from ga4kit.properties.select import property_ids, select_properties

__all__ = ["PropertySummary", "list_properties", "PropertyInfo", "get_property", "list_data_streams",
           "list_event_create_rules", "list_key_events", "web_streams", "property_ids", "select_properties"]
