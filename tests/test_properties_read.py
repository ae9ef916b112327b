"""Reading a property (ga4kit.properties): the one selection function, and property, streams, key events and
rules read through Google's clients from the emulator."""

from __future__ import annotations

import pytest

from ga4kit.config import load_text
from ga4kit.errors import IdentifierError
from ga4kit.properties import (
    get_property, list_data_streams, list_event_create_rules, list_key_events, property_ids, select_properties,
    web_streams,
)

GOALS = """
version: 1
properties:
  - {id: "111", label: Shop DE, stream: "9"}
  - {id: "222"}
goals: [{event: purchase, type: macro}]
"""


def test_selection_normalises_deduplicates_and_keeps_the_files_labels():
    cfg = load_text(GOALS)
    assert [p.id for p in select_properties(cfg)] == ["111", "222"]
    refs = select_properties(cfg, ["properties/111", 111, "333", "properties/333"])
    assert [(r.id, r.label, r.stream) for r in refs] == [("111", "Shop DE", "9"), ("333", None, None)]
    assert property_ids(cfg, ["properties/222"]) == ["222"]
    with pytest.raises(IdentifierError, match="measurement id"):
        select_properties(cfg, ["G-ABCDEF123"])


def test_reads_go_through_googles_clients(emulator, emulator_clients):
    pid = emulator.test_property
    info = get_property(emulator_clients, pid)
    assert (info.id, info.display_name, info.time_zone, info.currency) == (pid, "Test Shop", "Europe/Berlin", "EUR")
    assert info.service_level == "GOOGLE_ANALYTICS_STANDARD" and not info.in_trash
    streams = list_data_streams(emulator_clients, pid)
    assert [s.name.rsplit("/", 1)[-1] for s in web_streams(streams)] == [emulator.test_stream]
    assert [k.event_name for k in list_key_events(emulator_clients, pid)] == ["purchase"]
    assert list_event_create_rules(emulator_clients, streams[0].name) == []


def test_a_property_in_the_trash_says_so(emulator, emulator_clients):
    pid = emulator.test_property
    emulator_clients.admin.delete_property(name=f"properties/{pid}")
    info = get_property(emulator_clients, pid)
    assert info.in_trash and info.delete_time.endswith("Z")
