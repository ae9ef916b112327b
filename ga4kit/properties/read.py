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
    prop = clients.admin.get_property(name=property_name(pid))
    return PropertyInfo(
        id=str(prop.name).rsplit("/", 1)[-1] or str(pid), display_name=prop.display_name,
        time_zone=prop.time_zone or None, currency=prop.currency_code or None,
        service_level=enum_name(prop.service_level), industry_category=enum_name(prop.industry_category),
        property_type=enum_name(prop.property_type), parent=prop.parent, create_time=_time(prop, "create_time"),
        delete_time=_time(prop, "delete_time"), raw=prop)


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
