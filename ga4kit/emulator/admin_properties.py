"""Accounts and properties, and the settings that belong to a property as a whole: data retention,
Google signals and attribution.

Properties are created, updated and deleted like GA4 does it: DeleteProperty moves a property to the
trash (``delete_time``, ``expire_time`` 35 days later); the Admin API still reads it, the Data API answers
NOT_FOUND, listings leave it out unless ``show_deleted``; after ``expire_time`` it is gone for good.
``restore_property`` is the Trash Can of GA4's UI (the API has no way back).
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any, Iterable

from ga4kit.emulator.admin_store import AdminStore, iso
from ga4kit.emulator.errors import exists, failed_precondition, invalid
from ga4kit.emulator.validation import (ATTRIBUTION_CHOICES, INDUSTRY_CATEGORIES, MAX_PROPERTIES_PER_ACCOUNT,
                                        RETENTION_360, RETENTION_STANDARD, SIGNALS_STATES, check_choice,
                                        check_currency, check_display_name, check_service_level,
                                        check_time_zone)

TRASH_DAYS = 35
PROPERTY_FIELDS = ("account", "display_name", "time_zone", "currency", "service_level", "industry",
                   "create_time", "update_time", "delete_time", "expire_time")
RETENTION_DEFAULTS = {"event_data_retention": "TWO_MONTHS", "user_data_retention": "TWO_MONTHS",
                      "reset_user_data_on_new_activity": True}
SIGNALS_DEFAULTS = {"state": "GOOGLE_SIGNALS_STATE_UNSPECIFIED", "consent": "GOOGLE_SIGNALS_CONSENT_NOT_CONSENTED"}
ATTRIBUTION_DEFAULTS = {
    "acquisition_conversion_event_lookback_window": "ACQUISITION_CONVERSION_EVENT_LOOKBACK_WINDOW_30_DAYS",
    "other_conversion_event_lookback_window": "OTHER_CONVERSION_EVENT_LOOKBACK_WINDOW_90_DAYS",
    "reporting_attribution_model": "PAID_AND_ORGANIC_CHANNELS_DATA_DRIVEN",
    "ads_web_conversion_data_export_scope": "PAID_AND_ORGANIC_CHANNELS",
}
# Python keyword of update_property -> the stored field.
UPDATABLE_PROPERTY_FIELDS = {"display_name": "display_name", "time_zone": "time_zone", "currency_code": "currency",
                             "industry_category": "industry"}


class PropertyAdmin(AdminStore):
    """Accounts, properties and property-level settings."""

    def _complete_property(self, prop: dict) -> None:
        super()._complete_property(prop)
        prop.setdefault("retention", dict(RETENTION_DEFAULTS))
        prop.setdefault("signals", dict(SIGNALS_DEFAULTS))
        prop.setdefault("attribution", dict(ATTRIBUTION_DEFAULTS))
        prop.setdefault("expire_time", None)

    # ----------------------------------------------------------------- accounts
    def create_account(self, display_name: str, *, region_code: str = "DE") -> str:
        with self._lock:
            aid = self._next("account")
            self._data["accounts"][aid] = {"display_name": display_name, "region_code": region_code,
                                           "create_time": iso(self._now())}
            self._record("ACCOUNT", f"accounts/{aid}", "CREATED", account=aid, after=self.get_account(aid))
            self._changed()
            return aid

    def get_account(self, account_id: str) -> dict:
        with self._lock:
            return dict(self._account(account_id), id=str(account_id))

    def account_summaries(self, principal: str | None) -> list[dict]:
        """Accounts with at least one property the principal can see, with those properties."""
        with self._lock:
            self._purge()
            out = []
            for aid, acc in self._data["accounts"].items():
                props = [{"id": pid, "display_name": p["display_name"]}
                         for pid, p in self._data["properties"].items()
                         if p["account"] == aid and not p.get("delete_time") and self.can_access(pid, principal)]
                if props:
                    out.append({"id": aid, "display_name": acc["display_name"], "properties": props})
            return out

    # ----------------------------------------------------------------- properties
    def create_property(self, account_id: str, display_name: str, *, time_zone: str = "Europe/Berlin",
                        currency: str = "EUR", service_level: str = "STANDARD",
                        property_id: str | None = None, industry: str = "OTHER") -> str:
        """A GA4 property with its default key event ``purchase`` (not deletable, not custom)."""
        level = check_service_level(service_level)
        check_display_name(display_name, 100)
        check_currency(currency)
        check_time_zone(time_zone)
        check_choice("industry_category", industry, INDUSTRY_CATEGORIES, required=False)
        with self._lock:
            self._account(account_id)
            self._purge()
            if sum(1 for p in self._data["properties"].values() if p["account"] == str(account_id)) \
                    >= MAX_PROPERTIES_PER_ACCOUNT:
                raise failed_precondition(f"Account accounts/{account_id} already has the maximum of "
                                          f"{MAX_PROPERTIES_PER_ACCOUNT} properties.")
            if property_id is not None:
                pid = str(property_id)
                if not pid.isdigit():
                    raise invalid(f"Property id {pid!r} must be numeric.")
                if pid in self._data["properties"]:
                    raise exists(f"Property properties/{pid} already exists.")
            else:
                pid = self._next("property")
                while pid in self._data["properties"]:
                    pid = self._next("property")
            now = iso(self._now())
            prop = {
                "account": str(account_id), "display_name": display_name, "time_zone": time_zone,
                "currency": currency, "service_level": level, "industry": industry or "INDUSTRY_CATEGORY_UNSPECIFIED",
                "create_time": now, "update_time": now, "delete_time": None, "access": None,
                "streams": {}, "key_events": {},
            }
            self._complete_property(prop)
            self._data["properties"][pid] = prop
            self._record("PROPERTY", f"properties/{pid}", "CREATED", account=account_id, property_id=pid,
                         after=self.get_property(pid))
            kid = self._next("key_event")
            prop["key_events"][kid] = {
                "event_name": "purchase", "counting_method": "ONCE_PER_EVENT", "default_value": None,
                "create_time": now, "deletable": False, "custom": False,
            }
            self._changed()
            return pid

    def get_property(self, property_id: str) -> dict:
        with self._lock:
            prop = self._prop(property_id)
            out = {k: copy.deepcopy(prop.get(k)) for k in PROPERTY_FIELDS}
            out["id"] = str(property_id)
            return out

    def update_property(self, property_id: str, **changes: Any) -> dict:
        """Change display_name, time_zone, currency_code and/or industry_category (GA4's rules)."""
        for key, value in changes.items():
            if key not in UPDATABLE_PROPERTY_FIELDS:
                raise invalid(f"Field {key} cannot be updated.")
        if "display_name" in changes:
            check_display_name(changes["display_name"], 100)
        if "time_zone" in changes:
            check_time_zone(changes["time_zone"])
        if "currency_code" in changes:
            check_currency(changes["currency_code"])
        if "industry_category" in changes:
            check_choice("industry_category", changes["industry_category"], INDUSTRY_CATEGORIES, required=False)
        with self._lock:
            prop = self._prop(property_id)
            before = self.get_property(property_id)
            for key, value in changes.items():
                prop[UPDATABLE_PROPERTY_FIELDS[key]] = value
            prop["industry"] = prop["industry"] or "INDUSTRY_CATEGORY_UNSPECIFIED"
            prop["update_time"] = iso(self._now())
            after = self.get_property(property_id)
            self._record("PROPERTY", f"properties/{property_id}", "UPDATED", account=prop["account"],
                         property_id=property_id, before=before, after=after)
            self._changed()
            return after

    def set_access(self, property_id: str, principals: Iterable[str] | None) -> None:
        """Who may use the property: None = every principal, else only those listed."""
        with self._lock:
            self._prop(property_id)["access"] = None if principals is None else sorted(set(principals))
            self._changed()

    def trash_property(self, property_id: str) -> dict:
        """Move the property to the trash (sets delete_time and expire_time), like DeleteProperty."""
        with self._lock:
            prop = self._prop(property_id)
            if not prop.get("delete_time"):
                before = self.get_property(property_id)
                now = self._now()
                prop["delete_time"] = iso(now)
                prop["expire_time"] = iso(now + timedelta(days=TRASH_DAYS))
                self._record("PROPERTY", f"properties/{property_id}", "DELETED", account=prop["account"],
                             property_id=property_id, before=before)
                self._changed()
            return self.get_property(property_id)

    def restore_property(self, property_id: str) -> dict:
        """Take the property out of the trash (GA4's Trash Can UI; the API cannot do this)."""
        with self._lock:
            prop = self._prop(property_id)
            prop["delete_time"] = prop["expire_time"] = None
            self._changed()
            return self.get_property(property_id)

    def list_properties(self, account_id: str, principal: str | None, *, show_deleted: bool = False) -> list[dict]:
        with self._lock:
            self._purge()
            return [self.get_property(pid) for pid, p in self._data["properties"].items()
                    if p["account"] == str(account_id) and self.can_access(pid, principal)
                    and (show_deleted or not p.get("delete_time"))]

    # ----------------------------------------------------------------- property-level settings
    def _property_settings_out(self, property_id: str, key: str) -> dict:
        return dict(self._prop(property_id)[key], property=str(property_id))

    def _update_property_settings(self, property_id: str, key: str, resource_type: str, suffix: str,
                         changes: dict[str, Any]) -> dict:
        """Apply already checked ``changes`` to one of the property's settings and record the change."""
        with self._lock:
            prop = self._prop(property_id)
            before = self._property_settings_out(property_id, key)
            prop[key] = dict(prop[key], **changes)
            after = self._property_settings_out(property_id, key)
            self._record(resource_type, f"properties/{property_id}/{suffix}", "UPDATED", account=prop["account"],
                         property_id=property_id, before=before, after=after)
            self._changed()
            return after

    def get_retention(self, property_id: str) -> dict:
        with self._lock:
            return self._property_settings_out(property_id, "retention")

    def update_retention(self, property_id: str, **changes: Any) -> dict:
        """Event/user data retention (longer ones only on 360 properties) and the reset-on-activity flag."""
        with self._lock:
            allowed = RETENTION_360 if self._prop(property_id)["service_level"] == "PREMIUM" else RETENTION_STANDARD
            checked = {}
            for key, value in changes.items():
                if key in ("event_data_retention", "user_data_retention"):
                    if not value or value == "RETENTION_DURATION_UNSPECIFIED":
                        raise invalid(f"Field {key} is required.")
                    if value not in allowed:
                        raise invalid(f"Field {key} {value} is not available on this property; allowed: "
                                      f"{', '.join(allowed)}.")
                    checked[key] = value
                elif key == "reset_user_data_on_new_activity":
                    checked[key] = bool(value)
                else:
                    raise invalid(f"Field {key} cannot be updated.")
            return self._update_property_settings(property_id, "retention", "DATA_RETENTION_SETTINGS",
                                         "dataRetentionSettings", checked)

    def get_google_signals(self, property_id: str) -> dict:
        with self._lock:
            return self._property_settings_out(property_id, "signals")

    def update_google_signals(self, property_id: str, *, state: str) -> dict:
        """Turn Google signals on or off (the consent is GA4's: output only)."""
        check_choice("state", state, SIGNALS_STATES)
        return self._update_property_settings(property_id, "signals", "GOOGLE_SIGNALS_SETTINGS", "googleSignalsSettings",
                                     {"state": state})

    def get_attribution(self, property_id: str) -> dict:
        with self._lock:
            return self._property_settings_out(property_id, "attribution")

    def update_attribution(self, property_id: str, **changes: str) -> dict:
        for key, value in changes.items():
            if key not in ATTRIBUTION_CHOICES:
                raise invalid(f"Field {key} cannot be updated.")
            check_choice(key, value, ATTRIBUTION_CHOICES[key])
        return self._update_property_settings(property_id, "attribution", "ATTRIBUTION_SETTINGS", "attributionSettings",
                                     changes)
