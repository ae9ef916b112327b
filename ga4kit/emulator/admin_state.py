"""The emulator's Admin state: every Admin-side fact of the emulated GA4, and the read model the Data side
and the generator use (``property_info``).

``AdminState`` is put together from its parts, each in its own module:

- ``admin_store``: storage, JSON persistence (``admin.json`` in the state directory), ids, lookups, the
  change history's recording;
- ``admin_properties``: accounts, properties (create, update, trash), data retention, Google signals,
  attribution;
- ``admin_streams``: data streams, enhanced measurement, data redaction, Measurement Protocol secrets,
  create-event rules;
- ``admin_definitions``: key events, custom dimensions and metrics;
- ``admin_links``: Google Ads and BigQuery links;
- ``change_history``: searching the recorded changes.

Field rules live in ``validation.py``. Methods raise :class:`EmulatorError` with GA4-style messages;
``admin_service`` turns requests into calls here and results into Google's messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from ga4kit.emulator.admin_definitions import DefinitionAdmin
from ga4kit.emulator.admin_links import LinkAdmin
from ga4kit.emulator.admin_properties import TRASH_DAYS, PropertyAdmin
from ga4kit.emulator.admin_store import DEFAULT_PRINCIPAL, STATE_FILE, parse_time, utcnow
from ga4kit.emulator.admin_streams import ENHANCED_DEFAULTS, StreamAdmin
from ga4kit.emulator.change_history import ChangeHistory

__all__ = ["AdminState", "PropertyInfo", "RuleInfo", "DEFAULT_PRINCIPAL", "STATE_FILE", "ENHANCED_DEFAULTS",
           "TRASH_DAYS", "parse_time", "utcnow"]


@dataclass
class RuleInfo:
    stream_id: str
    destination_event: str
    conditions: list[tuple[str, str, str, bool]]  # (field, comparison type name, value, negated)
    source_copy_parameters: bool
    parameter_mutations: list[tuple[str, str]]  # (parameter, value)
    create_time: datetime  # UTC, aware
    rule_id: str = ""


@dataclass
class PropertyInfo:
    property_id: str
    time_zone: str
    currency: str
    service_level: str  # "STANDARD" | "PREMIUM"
    key_events: dict[str, str]  # event name -> "ONCE_PER_EVENT" | "ONCE_PER_SESSION"
    rules: list[RuleInfo]
    display_name: str = ""
    account_id: str = ""
    delete_time: datetime | None = None
    key_event_values: dict[str, tuple[float, str]] = field(default_factory=dict)  # default values
    stream_ids: list[str] = field(default_factory=list)


class AdminState(PropertyAdmin, StreamAdmin, DefinitionAdmin, LinkAdmin, ChangeHistory):
    """Every Admin-side fact of the emulated GA4, persisted as JSON when ``state_dir`` is given."""

    def property_info(self, property_id: str) -> PropertyInfo:
        """What the Data side needs to know about a property, as one snapshot."""
        with self._lock:
            prop = self._prop(property_id)
            rules = []
            for sid, stream in prop["streams"].items():
                for rid, rule in stream.get("rules", {}).items():
                    rules.append(RuleInfo(
                        stream_id=sid, destination_event=rule["destination_event"],
                        conditions=[(c["field"], c["comparison_type"], c["value"], bool(c["negated"]))
                                    for c in rule["event_conditions"]],
                        source_copy_parameters=bool(rule["source_copy_parameters"]),
                        parameter_mutations=[(m["parameter"], m["parameter_value"])
                                             for m in rule["parameter_mutations"]],
                        create_time=parse_time(rule["create_time"]), rule_id=rid))
            return PropertyInfo(
                property_id=str(property_id), time_zone=prop["time_zone"], currency=prop["currency"],
                service_level=prop["service_level"],
                key_events={k["event_name"]: k["counting_method"] for k in prop["key_events"].values()},
                rules=rules, display_name=prop["display_name"], account_id=prop["account"],
                delete_time=parse_time(prop.get("delete_time")),
                key_event_values={k["event_name"]: tuple(k["default_value"]) for k in prop["key_events"].values()
                                  if k.get("default_value")},
                stream_ids=list(prop["streams"]))
