"""Links from a property to other Google products: Google Ads links and BigQuery links (v1alpha).

A Google Ads customer is linked at most once per property; a property has at most one BigQuery link
(one project). Fresh daily BigQuery export is for 360 properties only.
"""

from __future__ import annotations

from typing import Any

from ga4kit.emulator.admin_store import DEFAULT_PRINCIPAL, AdminStore, iso
from ga4kit.emulator.errors import exists, failed_precondition, invalid, not_found
from ga4kit.emulator.validation import (bigquery_project, check_ads_customer_id, check_dataset_location,
                                        check_event_name)

BIGQUERY_FLAGS = ("daily_export_enabled", "streaming_export_enabled", "fresh_daily_export_enabled",
                  "include_advertising_id")
BIGQUERY_UPDATABLE = BIGQUERY_FLAGS + ("export_streams", "excluded_events")


class LinkAdmin(AdminStore):
    """Google Ads links and BigQuery links."""

    def _complete_property(self, prop: dict) -> None:
        super()._complete_property(prop)
        prop.setdefault("ads_links", {})
        prop.setdefault("bigquery_links", {})

    def _link(self, key: str, collection: str, label: str, property_id: str, link_id: str) -> dict:
        link = self._prop(property_id)[key].get(str(link_id))
        if link is None:
            raise not_found(f"{label} properties/{property_id}/{collection}/{link_id} was not found.")
        return link

    def _record_link(self, resource_type: str, resource: str, action: str, property_id: str, before=None,
                     after=None) -> None:
        self._record(resource_type, resource, action, account=self._prop(property_id)["account"],
                     property_id=property_id, before=before, after=after)

    # ----------------------------------------------------------------- Google Ads links
    def _ads_link(self, property_id: str, link_id: str) -> dict:
        return self._link("ads_links", "googleAdsLinks", "Google Ads link", property_id, link_id)

    def _ads_out(self, property_id: str, link_id: str) -> dict:
        return dict(self._ads_link(property_id, link_id), id=str(link_id), property=str(property_id))

    def create_google_ads_link(self, property_id: str, customer_id: str, *, ads_personalization_enabled: bool = True,
                               creator: str | None = None) -> dict:
        check_ads_customer_id(customer_id)
        with self._lock:
            links = self._prop(property_id)["ads_links"]
            for link in links.values():
                if link["customer_id"] == customer_id:
                    raise exists(f"A Google Ads link to customer {customer_id} already exists.")
            lid = self._next("link")
            now = iso(self._now())
            links[lid] = {"customer_id": customer_id, "can_manage_clients": False,
                          "ads_personalization_enabled": bool(ads_personalization_enabled),
                          "create_time": now, "update_time": now,
                          "creator_email_address": creator or DEFAULT_PRINCIPAL}
            out = self._ads_out(property_id, lid)
            self._record_link("GOOGLE_ADS_LINK", f"properties/{property_id}/googleAdsLinks/{lid}", "CREATED",
                              property_id, after=out)
            self._changed()
            return out

    def list_google_ads_links(self, property_id: str) -> list[dict]:
        with self._lock:
            return [self._ads_out(property_id, lid) for lid in self._prop(property_id)["ads_links"]]

    def update_google_ads_link(self, property_id: str, link_id: str, *, ads_personalization_enabled: bool) -> dict:
        """Only ads personalisation can change (the customer id is immutable)."""
        with self._lock:
            link = self._ads_link(property_id, link_id)
            before = self._ads_out(property_id, link_id)
            link["ads_personalization_enabled"] = bool(ads_personalization_enabled)
            link["update_time"] = iso(self._now())
            after = self._ads_out(property_id, link_id)
            self._record_link("GOOGLE_ADS_LINK", f"properties/{property_id}/googleAdsLinks/{link_id}", "UPDATED",
                              property_id, before, after)
            self._changed()
            return after

    def delete_google_ads_link(self, property_id: str, link_id: str) -> None:
        with self._lock:
            before = self._ads_out(property_id, link_id)
            del self._prop(property_id)["ads_links"][str(link_id)]
            self._record_link("GOOGLE_ADS_LINK", f"properties/{property_id}/googleAdsLinks/{link_id}", "DELETED",
                              property_id, before)
            self._changed()

    # ----------------------------------------------------------------- BigQuery links
    def _bq_link(self, property_id: str, link_id: str) -> dict:
        return self._link("bigquery_links", "bigQueryLinks", "BigQuery link", property_id, link_id)

    def _bq_out(self, property_id: str, link_id: str) -> dict:
        link = self._bq_link(property_id, link_id)
        return dict(link, export_streams=list(link["export_streams"]), excluded_events=list(link["excluded_events"]),
                    id=str(link_id), property=str(property_id))

    def _check_bq_options(self, property_id: str, options: dict[str, Any]) -> dict:
        """Checked copies of BigQuery link options (streams of this property, valid event names, 360 only
        for fresh daily export)."""
        prop = self._prop(property_id)
        out = {}
        for key, value in options.items():
            if key in BIGQUERY_FLAGS:
                out[key] = bool(value)
            elif key == "export_streams":
                streams = [str(s) for s in value]
                for name in streams:
                    sid = name.rsplit("/", 1)[-1]
                    if name != f"properties/{property_id}/dataStreams/{sid}" or sid not in prop["streams"]:
                        raise invalid(f"Field export_streams: '{name}' is not a data stream of properties/"
                                      f"{property_id}.")
                out[key] = streams
            elif key == "excluded_events":
                events = [str(e) for e in value]
                for event in events:
                    check_event_name(event, "excluded_events")
                out[key] = events
            else:
                raise invalid(f"Field {key} cannot be updated.")
        if out.get("fresh_daily_export_enabled") and prop["service_level"] != "PREMIUM":
            raise failed_precondition("Fresh daily export is only available on Google Analytics 360 properties.")
        return out

    def create_bigquery_link(self, property_id: str, project: str, dataset_location: str, **options: Any) -> dict:
        """Link the property to a BigQuery project; ``options``: the export flags, export_streams (stream
        names) and excluded_events."""
        project = bigquery_project(project)
        check_dataset_location(dataset_location)
        with self._lock:
            links = self._prop(property_id)["bigquery_links"]
            checked = self._check_bq_options(property_id, options)
            if links:
                raise exists(f"Property properties/{property_id} is already linked to BigQuery project "
                             f"{next(iter(links.values()))['project']}.")
            lid = self._next("bigquery_link")
            link = {"project": project, "dataset_location": dataset_location, "create_time": iso(self._now()),
                    **{flag: False for flag in BIGQUERY_FLAGS}, "export_streams": [], "excluded_events": []}
            link.update(checked)
            links[lid] = link
            out = self._bq_out(property_id, lid)
            self._record_link("BIGQUERY_LINK", f"properties/{property_id}/bigQueryLinks/{lid}", "CREATED",
                              property_id, after=out)
            self._changed()
            return out

    def get_bigquery_link(self, property_id: str, link_id: str) -> dict:
        with self._lock:
            return self._bq_out(property_id, link_id)

    def list_bigquery_links(self, property_id: str) -> list[dict]:
        with self._lock:
            return [self._bq_out(property_id, lid) for lid in self._prop(property_id)["bigquery_links"]]

    def update_bigquery_link(self, property_id: str, link_id: str, **changes: Any) -> dict:
        with self._lock:
            link = self._bq_link(property_id, link_id)
            checked = self._check_bq_options(property_id, changes)
            before = self._bq_out(property_id, link_id)
            link.update(checked)
            after = self._bq_out(property_id, link_id)
            self._record_link("BIGQUERY_LINK", f"properties/{property_id}/bigQueryLinks/{link_id}", "UPDATED",
                              property_id, before, after)
            self._changed()
            return after

    def delete_bigquery_link(self, property_id: str, link_id: str) -> None:
        with self._lock:
            before = self._bq_out(property_id, link_id)
            del self._prop(property_id)["bigquery_links"][str(link_id)]
            self._record_link("BIGQUERY_LINK", f"properties/{property_id}/bigQueryLinks/{link_id}", "DELETED",
                              property_id, before)
            self._changed()
