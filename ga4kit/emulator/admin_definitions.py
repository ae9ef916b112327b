"""What a property defines on top of its events: key events, custom dimensions and custom metrics, with
GA4's per-property limits.

Limits: custom key events 30 (360: 50; GA4's default key events do not count); custom dimensions per scope
event 50 / user 25 / item 10 (360: 125 / 100 / 25); custom metrics 50 (360: 125). Archiving a custom
dimension or metric frees its slot: an archived one is no longer listed, read (NOT_FOUND) or counted, and
its parameter may be registered again. It stays in the change history.
"""

from __future__ import annotations

import copy
from typing import Any

from ga4kit.emulator.admin_store import AdminStore, iso
from ga4kit.emulator.errors import exists, failed_precondition, invalid, not_found
from ga4kit.emulator.validation import (CUSTOM_DIMENSION_CAP, CUSTOM_KEY_EVENT_CAP, CUSTOM_METRIC_CAP,
                                        DEFAULT_KEY_EVENTS, check_ads_personalization, check_counting_method,
                                        check_custom_dimension, check_custom_metric, check_default_value,
                                        check_definition_text, check_event_name, check_metric_unit)

_KEEP = object()

# kind -> (state key, id kind, resource collection, change-history type, what GA4 calls it)
_KINDS = {
    "dimension": ("custom_dimensions", "dimension", "customDimensions", "CUSTOM_DIMENSION", "Custom dimension"),
    "metric": ("custom_metrics", "metric", "customMetrics", "CUSTOM_METRIC", "Custom metric"),
}


class DefinitionAdmin(AdminStore):
    """Key events, custom dimensions and custom metrics."""

    def _complete_property(self, prop: dict) -> None:
        super()._complete_property(prop)
        prop.setdefault("key_events", {})
        prop.setdefault("custom_dimensions", {})
        prop.setdefault("custom_metrics", {})

    # ----------------------------------------------------------------- key events
    def _key_event(self, property_id: str, key_event_id: str) -> dict:
        ke = self._prop(property_id)["key_events"].get(str(key_event_id))
        if ke is None:
            raise not_found(f"Key event properties/{property_id}/keyEvents/{key_event_id} was not found.")
        return ke

    def _record_key_event(self, property_id: str, key_event_id: str, action: str, before=None, after=None) -> None:
        self._record("KEY_EVENT", f"properties/{property_id}/keyEvents/{key_event_id}", action,
                     account=self._prop(property_id)["account"], property_id=property_id, before=before, after=after)

    def create_key_event(self, property_id: str, event_name: str, counting_method: str | None = "ONCE_PER_EVENT",
                         default_value: tuple[float, str] | None = None) -> dict:
        """Mark ``event_name`` as a key event; GA4's checks (name, counting method, value, cap, duplicate)."""
        check_event_name(event_name, "key_event.event_name")
        counting = check_counting_method(counting_method)
        value = check_default_value(default_value)
        with self._lock:
            prop = self._prop(property_id)
            for ke in prop["key_events"].values():
                if ke["event_name"] == event_name:
                    raise exists(f"A key event with event_name '{event_name}' already exists on property "
                                 f"properties/{property_id}.")
            custom = event_name not in DEFAULT_KEY_EVENTS
            if custom:
                cap = CUSTOM_KEY_EVENT_CAP[prop["service_level"]]
                used = sum(1 for ke in prop["key_events"].values() if ke["custom"])
                if used >= cap:
                    kind = "a Google Analytics 360" if prop["service_level"] == "PREMIUM" else "a standard"
                    raise failed_precondition(
                        f"Cannot create key event '{event_name}': properties/{property_id} already has "
                        f"{used} custom key events, the maximum for {kind} property is {cap}.")
            kid = self._next("key_event")
            prop["key_events"][kid] = {"event_name": event_name, "counting_method": counting,
                                       "default_value": value, "create_time": iso(self._now()),
                                       "deletable": True, "custom": custom}
            out = self.get_key_event(property_id, kid)
            self._record_key_event(property_id, kid, "CREATED", after=out)
            self._changed()
            return out

    def get_key_event(self, property_id: str, key_event_id: str) -> dict:
        with self._lock:
            return dict(copy.deepcopy(self._key_event(property_id, key_event_id)), id=str(key_event_id),
                        property=str(property_id))

    def list_key_events(self, property_id: str) -> list[dict]:
        with self._lock:
            return [dict(copy.deepcopy(ke), id=kid, property=str(property_id))
                    for kid, ke in self._prop(property_id)["key_events"].items()]

    def update_key_event(self, property_id: str, key_event_id: str, *, counting_method: Any = _KEEP,
                         default_value: Any = _KEEP) -> dict:
        counting = check_counting_method(counting_method) if counting_method is not _KEEP else None
        value = check_default_value(default_value) if default_value is not _KEEP else None
        with self._lock:
            ke = self._key_event(property_id, key_event_id)
            before = self.get_key_event(property_id, key_event_id)
            if counting_method is not _KEEP:
                ke["counting_method"] = counting
            if default_value is not _KEEP:
                ke["default_value"] = value
            after = self.get_key_event(property_id, key_event_id)
            self._record_key_event(property_id, key_event_id, "UPDATED", before, after)
            self._changed()
            return after

    def delete_key_event(self, property_id: str, key_event_id: str) -> None:
        with self._lock:
            ke = self._key_event(property_id, key_event_id)
            if not ke["deletable"]:
                raise failed_precondition(
                    f"Key event '{ke['event_name']}' (properties/{property_id}/keyEvents/{key_event_id}) is a "
                    "default key event and cannot be deleted.")
            before = self.get_key_event(property_id, key_event_id)
            del self._prop(property_id)["key_events"][str(key_event_id)]
            self._record_key_event(property_id, key_event_id, "DELETED", before)
            self._changed()

    # ----------------------------------------------------------------- custom dimensions and metrics
    def _definition(self, kind: str, property_id: str, definition_id: str) -> dict:
        key, _, collection, _, label = _KINDS[kind]
        d = self._prop(property_id)[key].get(str(definition_id))
        if d is None or d.get("archived"):
            raise not_found(f"{label} properties/{property_id}/{collection}/{definition_id} was not found.")
        return d

    def _definition_out(self, kind: str, property_id: str, definition_id: str) -> dict:
        d = self._definition(kind, property_id, definition_id)
        return dict({k: copy.deepcopy(v) for k, v in d.items() if k != "archived"}, id=str(definition_id),
                    property=str(property_id))

    def _live(self, kind: str, property_id: str) -> dict[str, dict]:
        return {i: d for i, d in self._prop(property_id)[_KINDS[kind][0]].items() if not d.get("archived")}

    def _add_definition(self, kind: str, property_id: str, fields: dict, *, same: dict, cap: int,
                        what: str) -> dict:
        """Store a checked definition unless one alike (``same`` fields) exists or ``cap`` is reached."""
        key, id_kind, collection, resource_type, label = _KINDS[kind]
        live = self._live(kind, property_id)
        for d in live.values():
            if all(d[f] == v for f, v in same.items()):
                raise exists(f"A {label.lower()} with " + " and ".join(f"{f} '{v}'" for f, v in same.items())
                             + " already exists.")
        if sum(1 for d in live.values() if all(d[f] == fields[f] for f in same if f != "parameter_name")) >= cap:
            raise failed_precondition(f"The property already has the maximum of {cap} {what}.")
        did = self._next(id_kind)
        prop = self._prop(property_id)
        prop[key][did] = dict(fields, archived=False)
        out = self._definition_out(kind, property_id, did)
        self._record(resource_type, f"properties/{property_id}/{collection}/{did}", "CREATED",
                     account=prop["account"], property_id=property_id, after=out)
        self._changed()
        return out

    def _change_definition(self, kind: str, property_id: str, definition_id: str, changes: dict,
                           action: str = "UPDATED") -> dict | None:
        _, _, collection, resource_type, _ = _KINDS[kind]
        d = self._definition(kind, property_id, definition_id)
        before = self._definition_out(kind, property_id, definition_id)
        d.update(changes)
        after = None if d.get("archived") else self._definition_out(kind, property_id, definition_id)
        self._record(resource_type, f"properties/{property_id}/{collection}/{definition_id}", action,
                     account=self._prop(property_id)["account"], property_id=property_id, before=before,
                     after=after)
        self._changed()
        return after

    def create_custom_dimension(self, property_id: str, parameter_name: str, display_name: str, scope: str,
                                description: str = "", disallow_ads_personalization: bool = False) -> dict:
        check_custom_dimension(parameter_name, display_name, scope, description, disallow_ads_personalization)
        with self._lock:
            cap = CUSTOM_DIMENSION_CAP[scope][self._prop(property_id)["service_level"]]
            fields = {"parameter_name": parameter_name, "display_name": display_name, "description": description,
                      "scope": scope, "disallow_ads_personalization": bool(disallow_ads_personalization)}
            return self._add_definition("dimension", property_id, fields,
                                        same={"parameter_name": parameter_name, "scope": scope}, cap=cap,
                                        what=f"{scope.lower()}-scoped custom dimensions")

    def get_custom_dimension(self, property_id: str, dimension_id: str) -> dict:
        with self._lock:
            return self._definition_out("dimension", property_id, dimension_id)

    def list_custom_dimensions(self, property_id: str) -> list[dict]:
        with self._lock:
            return [self._definition_out("dimension", property_id, did) for did in self._live("dimension",
                                                                                             property_id)]

    def update_custom_dimension(self, property_id: str, dimension_id: str, **changes: Any) -> dict:
        """Change display_name, description and/or disallow_ads_personalization (the rest is immutable)."""
        with self._lock:
            d = self._definition("dimension", property_id, dimension_id)
            merged = dict(d)
            for key, value in changes.items():
                if key not in ("display_name", "description", "disallow_ads_personalization"):
                    raise invalid(f"Field {key} cannot be updated.")
                merged[key] = bool(value) if key == "disallow_ads_personalization" else str(value)
            check_definition_text(merged["display_name"], merged["description"])
            check_ads_personalization(merged["disallow_ads_personalization"], merged["scope"])
            return self._change_definition("dimension", property_id, dimension_id,
                                           {k: merged[k] for k in changes})

    def archive_custom_dimension(self, property_id: str, dimension_id: str) -> None:
        with self._lock:
            self._change_definition("dimension", property_id, dimension_id, {"archived": True}, "DELETED")

    def create_custom_metric(self, property_id: str, parameter_name: str, display_name: str,
                             measurement_unit: str, scope: str = "EVENT", description: str = "",
                             restricted_metric_type: tuple[str, ...] | list[str] = ()) -> dict:
        restricted = tuple(restricted_metric_type)
        check_custom_metric(parameter_name, display_name, measurement_unit, scope, description, restricted)
        with self._lock:
            cap = CUSTOM_METRIC_CAP[self._prop(property_id)["service_level"]]
            fields = {"parameter_name": parameter_name, "display_name": display_name, "description": description,
                      "measurement_unit": measurement_unit, "scope": scope,
                      "restricted_metric_type": sorted(set(restricted))}
            return self._add_definition("metric", property_id, fields, same={"parameter_name": parameter_name},
                                        cap=cap, what="custom metrics")

    def get_custom_metric(self, property_id: str, metric_id: str) -> dict:
        with self._lock:
            return self._definition_out("metric", property_id, metric_id)

    def list_custom_metrics(self, property_id: str) -> list[dict]:
        with self._lock:
            return [self._definition_out("metric", property_id, mid) for mid in self._live("metric", property_id)]

    def update_custom_metric(self, property_id: str, metric_id: str, **changes: Any) -> dict:
        """Change display_name, description, measurement_unit and/or restricted_metric_type."""
        with self._lock:
            d = self._definition("metric", property_id, metric_id)
            merged = dict(d)
            for key, value in changes.items():
                if key not in ("display_name", "description", "measurement_unit", "restricted_metric_type"):
                    raise invalid(f"Field {key} cannot be updated.")
                merged[key] = sorted(set(value)) if key == "restricted_metric_type" else str(value)
            check_definition_text(merged["display_name"], merged["description"])
            check_metric_unit(merged["measurement_unit"], tuple(merged["restricted_metric_type"]))
            return self._change_definition("metric", property_id, metric_id,
                                           {k: merged[k] for k in changes})

    def archive_custom_metric(self, property_id: str, metric_id: str) -> None:
        with self._lock:
            self._change_definition("metric", property_id, metric_id, {"archived": True}, "DELETED")
