"""Searching the change history (SearchChangeHistoryEvents): every write the Admin state recorded, with its
actor, time, resource and the resource before and after, filtered like GA4 filters it.

Events come newest first. A change to a property the caller cannot access is not shown.
"""

from __future__ import annotations

from datetime import datetime

from ga4kit.emulator.admin_store import AdminStore, parse_time
from ga4kit.emulator.errors import invalid


class ChangeHistory(AdminStore):
    """Search over the recorded changes."""

    def search_change_history(self, account_id: str, principal: str | None, *, property_id: str | None = None,
                              resource_types: tuple[str, ...] = (), actions: tuple[str, ...] = (),
                              actor_emails: tuple[str, ...] = (), earliest: datetime | None = None,
                              latest: datetime | None = None) -> list[dict]:
        """The account's change-history events matching every filter given (empty = any), newest first.
        Each event: id, time, actor (None = the system), changes_filtered, changes (resource, type, action,
        before, after)."""
        if earliest and latest and earliest > latest:
            raise invalid("Field earliest_change_time must not be after latest_change_time.")
        with self._lock:
            self._account(account_id)
            if property_id is not None:
                prop = self._prop(property_id)
                if prop["account"] != str(account_id):
                    raise invalid(f"Property properties/{property_id} does not belong to account "
                                  f"accounts/{account_id}.")
            out = []
            for event in reversed(self._data["history"]):
                if event["account"] != str(account_id):
                    continue
                if property_id is not None and event["property"] != str(property_id):
                    continue
                if event["property"] is not None and not self.can_access(event["property"], principal):
                    continue
                when = parse_time(event["time"])
                if (earliest and when < earliest) or (latest and when > latest):
                    continue
                if actor_emails and event["actor"] not in actor_emails:
                    continue
                changes = [c for c in event["changes"] if (not resource_types or c["type"] in resource_types)
                           and (not actions or c["action"] in actions)]
                if changes:
                    out.append(dict(event, changes=changes, changes_filtered=len(changes) < len(event["changes"])))
            return out
