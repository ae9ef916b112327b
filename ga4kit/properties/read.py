"""What a property is and holds, read through the Admin API (v1beta unless a resource is v1alpha-only).

Every function takes ga4kit's :class:`~ga4kit.connect.Clients` and raises :class:`~ga4kit.errors.ApiError`
when GA4 refuses; list calls read every page at GA4's largest page size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ga4kit.constants import ADMIN_PAGE_SIZE
from ga4kit.ids import property_name


def enum_name(value: Any) -> str:
    """The name of a proto enum value ("GOOGLE_ANALYTICS_360"), whatever form the client gives it in."""
    name = getattr(value, "name", None)
    return name if name is not None else str(value)


@dataclass(frozen=True)
class PropertyInfo:
    """A property's settings (GetProperty). Times are ISO text or None; enums are their GA4 names."""

    id: str
    display_name: str
    time_zone: str | None
    currency: str | None
    service_level: str  # GOOGLE_ANALYTICS_STANDARD | GOOGLE_ANALYTICS_360 | ...
    industry_category: str  # e.g. SHOPPING, INDUSTRY_CATEGORY_UNSPECIFIED
    property_type: str  # PROPERTY_TYPE_ORDINARY | ..._SUBPROPERTY | ..._ROLLUP
    parent: str  # accounts/123 (or properties/456 for a subproperty)
    create_time: str | None
    delete_time: str | None  # set while the property is in the trash
    raw: Any = None  # the GetProperty answer itself, for fields not copied here

    @property
    def in_trash(self) -> bool:
        return bool(self.delete_time)

    def as_dict(self) -> dict:
        out = asdict(self)
        out.pop("raw")
        return out


def _time(message: Any, field: str) -> str | None:
    pb = type(message).pb(message)
    if not pb.HasField(field):
        return None
    return getattr(pb, field).ToDatetime().isoformat() + "Z"


def get_property(clients: Any, pid: str) -> PropertyInfo:
    return property_info(clients.admin.get_property(name=property_name(pid)), pid)


def property_info(prop: Any, pid: str | None = None) -> PropertyInfo:
    """A :class:`PropertyInfo` from a Property message (GetProperty's answer, or one of ListProperties')."""
    return PropertyInfo(
        id=str(prop.name).rsplit("/", 1)[-1] or str(pid), display_name=prop.display_name,
        time_zone=prop.time_zone or None, currency=prop.currency_code or None,
        service_level=enum_name(prop.service_level), industry_category=enum_name(prop.industry_category),
        property_type=enum_name(prop.property_type), parent=prop.parent, create_time=_time(prop, "create_time"),
        delete_time=_time(prop, "delete_time"), raw=prop)


def list_account_properties(clients: Any, account: str, *, show_deleted: bool = False) -> list[PropertyInfo]:
    """Every property of an account the credentials can see (ListProperties), with the trashed ones when
    ``show_deleted``. ``account``: ``123`` or ``accounts/123``."""
    acc = str(account).strip().removeprefix("accounts/")
    return [property_info(p) for p in clients.admin.list_properties(request={
        "filter": f"parent:accounts/{acc}", "show_deleted": show_deleted, "page_size": ADMIN_PAGE_SIZE})]


def list_data_streams(clients: Any, pid: str) -> list[Any]:
    """Every data stream (web, Android, iOS) of the property, as GA4's DataStream messages."""
    return list(clients.admin.list_data_streams(request={"parent": property_name(pid),
                                                          "page_size": ADMIN_PAGE_SIZE}))


def web_streams(streams: list[Any]) -> list[Any]:
    return [s for s in streams if enum_name(s.type_) == "WEB_DATA_STREAM"]


def list_key_events(clients: Any, pid: str) -> list[Any]:
    return list(clients.admin.list_key_events(request={"parent": property_name(pid), "page_size": ADMIN_PAGE_SIZE}))


def list_event_create_rules(clients: Any, stream: str) -> list[Any]:
    """The create-event rules of a data stream (``properties/P/dataStreams/S``; Admin API v1alpha only)."""
    return list(clients.admin_alpha.list_event_create_rules(request={"parent": stream,
                                                                     "page_size": ADMIN_PAGE_SIZE}))


# --- settings the audit reads (all read-only) --------------------------------------------------------

def get_data_retention(clients: Any, pid: str) -> Any:
    """DataRetentionSettings: ``event_data_retention`` (TWO_MONTHS is GA4's default), ``user_data_retention``."""
    return clients.admin.get_data_retention_settings(name=f"{property_name(pid)}/dataRetentionSettings")


def get_google_signals(clients: Any, pid: str) -> Any:
    """GoogleSignalsSettings (Admin API v1alpha only): ``state`` GOOGLE_SIGNALS_ENABLED / _DISABLED / unspecified."""
    return clients.admin_alpha.get_google_signals_settings(name=f"{property_name(pid)}/googleSignalsSettings")


def get_enhanced_measurement(clients: Any, stream: str) -> Any:
    """EnhancedMeasurementSettings of a web stream (``properties/P/dataStreams/S``; v1alpha only)."""
    return clients.admin_alpha.get_enhanced_measurement_settings(name=f"{stream}/enhancedMeasurementSettings")


def get_data_redaction(clients: Any, stream: str) -> Any:
    """DataRedactionSettings of a web stream (v1alpha only): ``email_redaction_enabled``,
    ``query_parameter_redaction_enabled``, ``query_parameter_keys``."""
    return clients.admin_alpha.get_data_redaction_settings(name=f"{stream}/dataRedactionSettings")


def list_custom_dimensions(clients: Any, pid: str) -> list[Any]:
    """The property's custom dimensions (archived ones are not listed and do not count toward the limits)."""
    return list(clients.admin.list_custom_dimensions(request={"parent": property_name(pid),
                                                              "page_size": ADMIN_PAGE_SIZE}))


def list_custom_metrics(clients: Any, pid: str) -> list[Any]:
    return list(clients.admin.list_custom_metrics(request={"parent": property_name(pid),
                                                           "page_size": ADMIN_PAGE_SIZE}))


def list_google_ads_links(clients: Any, pid: str) -> list[Any]:
    return list(clients.admin.list_google_ads_links(request={"parent": property_name(pid),
                                                             "page_size": ADMIN_PAGE_SIZE}))


def list_bigquery_links(clients: Any, pid: str) -> list[Any]:
    """The property's BigQuery export links (Admin API v1alpha only)."""
    return list(clients.admin_alpha.list_big_query_links(request={"parent": property_name(pid),
                                                                  "page_size": ADMIN_PAGE_SIZE}))
