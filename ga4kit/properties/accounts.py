"""The GA4 accounts and properties the credentials can see (Admin API ListAccountSummaries, v1beta).

    with make_clients() as clients:
        for p in list_properties(clients):
            print(p.account, p.property, p.display_name, p.property_type)

One call lists every account and property a principal can access, 200 accounts per page (all pages are
read). It needs only the analytics.readonly scope.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ga4kit.constants import ADMIN_PAGE_SIZE

# PropertyType enum names -> what GA4's interface calls them.
_TYPES = {"PROPERTY_TYPE_ORDINARY": "ordinary", "PROPERTY_TYPE_SUBPROPERTY": "subproperty",
          "PROPERTY_TYPE_ROLLUP": "rollup", "PROPERTY_TYPE_UNSPECIFIED": "unspecified"}


@dataclass(frozen=True)
class PropertySummary:
    """One property the credentials can see, with the account it belongs to (ids without their prefixes)."""

    account: str  # "123" for accounts/123
    account_name: str
    property: str  # "456" for properties/456
    display_name: str
    property_type: str  # ordinary, subproperty, rollup
    parent: str  # the resource the property sits under: accounts/123, or properties/789 for a subproperty

    def as_dict(self) -> dict:
        return asdict(self)


def _tail(name: str) -> str:
    return str(name).rsplit("/", 1)[-1]


def _type_name(value) -> str:
    name = getattr(value, "name", None) or str(value)
    return _TYPES.get(name, name.removeprefix("PROPERTY_TYPE_").lower())


def list_properties(clients) -> list[PropertySummary]:
    """Every property in every account the credentials can see, in the order GA4 lists them."""
    out: list[PropertySummary] = []
    for summary in clients.admin.list_account_summaries(request={"page_size": ADMIN_PAGE_SIZE}):
        account = _tail(summary.account or summary.name)
        for prop in summary.property_summaries:
            out.append(PropertySummary(account=account, account_name=summary.display_name,
                                       property=_tail(prop.property), display_name=prop.display_name,
                                       property_type=_type_name(prop.property_type),
                                       parent=prop.parent or f"accounts/{account}"))
    return out
