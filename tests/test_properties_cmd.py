"""`ga4kit properties`: the accounts and properties the credentials can see; PERMISSION_DENIED names who
called GA4."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ga4kit import properties as props_lib
from ga4kit.properties import accounts
from ga4kit.cli import cli
from ga4kit.connect import make_clients

READER = "reader@p.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def world():
    """Two accounts, four properties; one of them only boss@example.com may see."""
    from ga4kit.emulator import Emulator

    emu = Emulator(demo=False)
    a = emu.admin.create_account("Agency A")
    b = emu.admin.create_account("Client B")
    ids = [emu.admin.create_property(a, "Shop DE"), emu.admin.create_property(a, "Shop AT"),
           emu.admin.create_property(b, "Blog"), emu.admin.create_property(b, "Hidden")]
    emu.admin.set_access(ids[3], ["boss@example.com"])
    emu.start()
    try:
        yield emu, a, b, ids
    finally:
        emu.stop(grace=None)


@pytest.fixture
def key(tmp_path):
    # The emulator only reads client_email from the key (to know who calls); no token is ever made.
    path = tmp_path / "key.json"
    path.write_text(json.dumps({"type": "service_account", "client_email": READER, "private_key": "unused"}))
    return str(path)


def test_library_lists_every_visible_property_over_every_page(world, monkeypatch):
    emu, a, b, ids = world
    monkeypatch.setattr(accounts, "ADMIN_PAGE_SIZE", 1)  # one account per page: the second page must be read too
    emu.reset_calls()
    with make_clients(emulator=emu.address) as clients:
        found = props_lib.list_properties(clients)
    assert [(p.account, p.account_name, p.property, p.display_name, p.property_type) for p in found] == [
        (a, "Agency A", ids[0], "Shop DE", "ordinary"), (a, "Agency A", ids[1], "Shop AT", "ordinary"),
        (b, "Client B", ids[2], "Blog", "ordinary")]  # not "Hidden": only boss@example.com may see it
    assert found[0].parent == f"accounts/{a}"
    calls = [c for c in emu.calls if c.method == "ListAccountSummaries"]
    assert len(calls) == 2 and {c.scope for c in calls} == {"analytics.readonly"}


def test_command_prints_a_table_for_the_principal(world, key):
    emu, a, b, ids = world
    res = CliRunner().invoke(cli, ["--emulator", emu.address, "--credentials", key, "properties"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["ACCOUNT", "PROPERTY", "NAME", "TYPE"]
    assert len(lines) == 4 and "Hidden" not in res.stdout  # the reader has no access to it
    assert lines[1].split() == ["Agency", "A", f"({a})", ids[0], "Shop", "DE", "ordinary"]
    assert f"3 properties in 2 accounts, visible to {READER}." in res.stderr


def test_command_json_uses_the_common_envelope(world, key):
    emu, a, b, ids = world
    res = CliRunner().invoke(cli, ["--emulator", emu.address, "--credentials", key, "properties", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert (doc["format_version"], doc["command"], doc["ok"], doc["errors"]) == (2, "properties", True, [])
    assert doc["data"]["principal"] == READER
    assert [p["property"] for p in doc["data"]["properties"]] == ids[:3]
    assert set(doc["data"]["properties"][0]) == {"account", "account_name", "property", "display_name",
                                                 "property_type", "parent"}


def test_nothing_visible_says_what_to_do(world, tmp_path):
    emu, *_ = world
    nobody = tmp_path / "nobody.json"
    nobody.write_text(json.dumps({"type": "service_account", "client_email": "nobody@x.iam.gserviceaccount.com"}))
    for prop in world[3][:3]:
        emu.admin.set_access(prop, [READER])
    try:
        res = CliRunner().invoke(cli, ["--emulator", emu.address, "--credentials", str(nobody), "properties"])
    finally:
        for prop in world[3][:3]:
            emu.admin.set_access(prop, None)
    assert res.exit_code == 0 and res.stdout == ""
    assert "No GA4 property is visible to nobody@x.iam.gserviceaccount.com" in res.stderr
    assert "Property access management" in res.stderr


def test_permission_denied_names_the_principal(world, key, tmp_path):
    emu, a, b, ids = world
    goals = tmp_path / "goals.yaml"
    goals.write_text(f'version: 1\nproperties: ["{ids[3]}"]\ngoals: [{{event: purchase, type: macro}}]\n')
    res = CliRunner().invoke(cli, ["--emulator", emu.address, "--credentials", key, "plan", "-c", str(goals)])
    assert res.exit_code != 0
    assert "PERMISSION_DENIED" in res.output and f"ga4kit called GA4 as {READER}" in res.output
    assert "`ga4kit properties`" in res.output


def test_properties_help_needs_no_google_import():
    res = CliRunner().invoke(cli, ["--help"])
    assert "properties" in res.output and "List the GA4 accounts and properties" in res.output
