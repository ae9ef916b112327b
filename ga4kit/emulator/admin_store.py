"""Where the Admin state lives: one dict behind one lock, saved as JSON, and the change history.

``AdminStore`` is the base of every part of :class:`admin_state.AdminState`: it loads and saves
``admin.json`` (atomically: a temporary file then ``os.replace``; nothing without a state directory), hands
out ids, tells the time, finds accounts, properties and streams (NOT_FOUND in GA4's words), purges trashed
properties once they expire, and records every write as a change-history event.

Who made a change: ``acting_as(principal)`` around a call (the Admin service does this for every RPC);
writes made directly from Python (test setup, the demo generator) are recorded as made by the system.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import json
import os
import tempfile
import threading
from datetime import datetime, timezone
from typing import Any, Callable

from ga4kit.emulator.errors import not_found

STATE_FILE = "admin.json"
DEFAULT_PRINCIPAL = "owner@ga4kit.local"
MAX_HISTORY = 10_000  # oldest change-history events are dropped beyond this

# First id of each kind of resource (ids look like GA4's: numeric, kind by kind).
FIRST_IDS = {"account": 1000001, "property": 400000001, "stream": 7000000001, "key_event": 10000000001,
             "rule": 20000000001, "dimension": 30000000001, "link": 40000000001, "metric": 50000000001,
             "bigquery_link": 60000000001, "secret": 1, "change": 1}

_ACTOR: contextvars.ContextVar[str | None] = contextvars.ContextVar("ga4kit_emulator_actor", default=None)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat()


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class AdminStore:
    """The state's storage, persistence, lookups and change history (see the module docstring)."""

    def __init__(self, state_dir: str | os.PathLike | None = None, *,
                 clock: Callable[[], datetime] | None = None):
        self.state_dir = os.fspath(state_dir) if state_dir is not None else None
        self.clock = clock or utcnow
        self._lock = threading.RLock()
        self._deferred = 0
        self._dirty = False
        self._data: dict[str, Any] = self._empty()
        self.loaded = False  # True when state came from an existing file
        if self.state_dir:
            path = os.path.join(self.state_dir, STATE_FILE)
            if os.path.exists(path):
                try:
                    with open(path, encoding="utf-8") as fh:
                        data = json.load(fh)
                except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                    raise ValueError(f"{path} is not an emulator state file (not valid JSON: {exc})") from None
                if not isinstance(data, dict) or data.get("version") != 1:
                    raise ValueError(f"{path} is not an emulator state file (version 1)")
                self._data = self._upgrade(data)
                self.loaded = True

    @staticmethod
    def _empty() -> dict:
        return {"version": 1, "next_id": dict(FIRST_IDS), "accounts": {}, "properties": {}, "history": []}

    def _upgrade(self, data: dict) -> dict:
        """Fill in what a state file written by an earlier emulator lacks (same version, more resources)."""
        for kind, first in FIRST_IDS.items():
            data["next_id"].setdefault(kind, first)
        data.setdefault("history", [])
        for prop in data["properties"].values():
            self._complete_property(prop)
            for stream in prop["streams"].values():
                self._complete_stream(stream)
        return data

    def _complete_property(self, prop: dict) -> None:
        """Defaults of the property-level settings (overridden where the parts define them)."""

    def _complete_stream(self, stream: dict) -> None:
        """Defaults of the stream-level settings (overridden where the parts define them)."""

    # ----------------------------------------------------------------- persistence
    def save(self) -> None:
        """Write the state atomically (no-op without a state directory)."""
        if not self.state_dir:
            return
        with self._lock:
            os.makedirs(self.state_dir, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".admin-", suffix=".json.tmp", dir=self.state_dir)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(self._data, fh, indent=1)
                os.replace(tmp, os.path.join(self.state_dir, STATE_FILE))
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise

    def _changed(self) -> None:
        if self._deferred:
            self._dirty = True
        else:
            self.save()

    @contextlib.contextmanager
    def batch(self):
        """Hold the lock and write the file once at the end (for building many objects at once)."""
        with self._lock:
            self._deferred += 1
            try:
                yield self
            finally:
                self._deferred -= 1
                if not self._deferred and self._dirty:
                    self._dirty = False
                    self.save()

    def _next(self, kind: str) -> str:
        n = self._data["next_id"][kind]
        self._data["next_id"][kind] = n + 1
        return str(n)

    def _now(self) -> datetime:
        now = self.clock()
        return now if now.tzinfo else now.replace(tzinfo=timezone.utc)

    # ----------------------------------------------------------------- who is acting
    @staticmethod
    @contextlib.contextmanager
    def acting_as(principal: str | None):
        """Attribute the writes made inside the block to ``principal`` in the change history."""
        token = _ACTOR.set(principal)
        try:
            yield
        finally:
            _ACTOR.reset(token)

    def _record(self, resource_type: str, resource: str, action: str, *, account: str,
                property_id: str | None = None, before: dict | None = None, after: dict | None = None) -> None:
        """One change-history event (one change) for a write that has just been made."""
        history = self._data["history"]
        history.append({
            "id": self._next("change"), "time": iso(self._now()), "actor": _ACTOR.get(),
            "account": str(account), "property": None if property_id is None else str(property_id),
            "changes": [{"resource": resource, "type": resource_type, "action": action,
                         "before": copy.deepcopy(before), "after": copy.deepcopy(after)}],
        })
        if len(history) > MAX_HISTORY:
            del history[: len(history) - MAX_HISTORY]

    # ----------------------------------------------------------------- lookups
    def _purge(self) -> None:
        """Properties whose time in the trash is over are gone for good, with everything under them."""
        now = self._now()
        expired = [pid for pid, p in self._data["properties"].items()
                   if p.get("expire_time") and parse_time(p["expire_time"]) <= now]
        for pid in expired:
            del self._data["properties"][pid]
        if expired:
            self._changed()

    def _account(self, account_id: str) -> dict:
        acc = self._data["accounts"].get(str(account_id))
        if acc is None:
            raise not_found(f"Account accounts/{account_id} was not found.")
        return acc

    def _prop(self, property_id: str) -> dict:
        self._purge()
        prop = self._data["properties"].get(str(property_id))
        if prop is None:
            raise not_found(f"Property properties/{property_id} was not found.")
        return prop

    def _stream(self, property_id: str, stream_id: str) -> dict:
        stream = self._prop(property_id)["streams"].get(str(stream_id))
        if stream is None:
            raise not_found(f"Data stream properties/{property_id}/dataStreams/{stream_id} was not found.")
        return stream

    def has_property(self, property_id: str) -> bool:
        with self._lock:
            self._purge()
            return str(property_id) in self._data["properties"]

    def is_deleted(self, property_id: str) -> bool:
        with self._lock:
            prop = self._data["properties"].get(str(property_id))
            return bool(prop and prop.get("delete_time"))

    def can_access(self, property_id: str, principal: str | None) -> bool:
        with self._lock:
            prop = self._data["properties"].get(str(property_id))
            if prop is None:
                return False
            access = prop.get("access")
            return access is None or (principal or DEFAULT_PRINCIPAL) in access

    def can_access_account(self, account_id: str, principal: str | None) -> bool:
        """An account is visible to whoever may use one of its properties (anyone while it has none)."""
        with self._lock:
            props = [pid for pid, p in self._data["properties"].items() if p["account"] == str(account_id)]
            return not props or any(self.can_access(pid, principal) for pid in props)

    def property_ids(self) -> list[str]:
        with self._lock:
            self._purge()
            return list(self._data["properties"])

    def account_ids(self) -> list[str]:
        with self._lock:
            return list(self._data["accounts"])
