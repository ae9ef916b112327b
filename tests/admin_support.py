"""Helpers for the admin (plan/apply) tests: properties in a local emulator, goals files, fast retries."""

from __future__ import annotations

import textwrap
from collections import Counter

from ga4kit.admin import WritePolicy
from ga4kit.config import load_text

FAST_WRITES = WritePolicy(attempts=12, initial=0.01, maximum=0.1, deadline=30.0, quota_waits=0,
                          writes_per_minute=0)

SHOP_GOALS = """
defaults: {counting: once_per_event, currency: EUR}
goals:
  - {event: view_item,         type: micro, kind: milestone}
  - {event: add_to_cart,       type: micro, kind: milestone, counting: once_per_session}
  - {event: newsletter_signup, type: micro, kind: secondary, value: 2}
  - event: view_pricing
    type: micro
    kind: milestone
    derive: {from: page_view, where: [{param: page_location, contains: /pricing}]}
  - {event: purchase,          type: macro}
"""

SHOP_EVENTS = ["view_item", "add_to_cart", "newsletter_signup", "view_pricing", "purchase"]


def goals_yaml(property_ids, goals: str = SHOP_GOALS, *, streams: dict | None = None) -> str:
    props = []
    for pid in property_ids:
        line = f'  - {{id: "{pid}", label: "P{pid}"'
        if streams and pid in streams:
            line += f', stream: "{streams[pid]}"'
        props.append(line + "}")
    return "version: 1\nproperties:\n" + "\n".join(props) + "\n" + textwrap.dedent(goals).strip() + "\n"


def goals(property_ids, goals_text: str = SHOP_GOALS, **kw):
    return load_text(goals_yaml(property_ids, goals_text, **kw))


def new_property(emu, *, name: str = "Shop", streams: int = 1, service_level: str = "STANDARD") -> str:
    account = emu.admin.create_account(f"Account {name}")
    pid = emu.admin.create_property(account, name, service_level=service_level)
    for i in range(streams):
        emu.admin.create_web_stream(pid, f"web {i}", f"https://site{i}.example")
    return pid


def key_events(emu, pid: str) -> dict:
    """event name -> (counting method, default value or None), straight from the emulator's state."""
    out = {}
    for ke in emu.admin.list_key_events(pid):
        out[ke["event_name"]] = (ke["counting_method"], tuple(ke["default_value"]) if ke["default_value"] else None)
    return out


def key_event_counts(emu, pid: str) -> Counter:
    return Counter(ke["event_name"] for ke in emu.admin.list_key_events(pid))


def rules(emu, pid: str) -> list:
    return emu.admin.property_info(pid).rules


def writes(emu) -> list:
    return [c for c in emu.calls if c.method.startswith(("Create", "Update", "Delete"))]


# Fixtures (import them by name into a test module to use them).
import pytest  # noqa: E402


@pytest.fixture
def clients(emulator):
    """Edit-scope clients on the ``emulator`` fixture, with quick read retries."""
    from ga4kit.connect import default_retry, make_clients

    c = make_clients(emulator=emulator.address, write=True,
                     retry=default_retry(initial=0.01, maximum=0.1, deadline=30.0))
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def read_clients(emulator):
    """Read-only-scope clients on the ``emulator`` fixture."""
    from ga4kit.connect import default_retry, make_clients

    c = make_clients(emulator=emulator.address, write=False,
                     retry=default_retry(initial=0.01, maximum=0.1, deadline=30.0))
    try:
        yield c
    finally:
        c.close()
