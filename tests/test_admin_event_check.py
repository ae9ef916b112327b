"""plan warns about goals whose event the property has not received lately (a typo such as add_to_crat),
with a did-you-mean; one Data API request per property; a failing Data API is a warning, not a failure."""

from __future__ import annotations

import json
from datetime import date

import pytest
from admin_support import goals, goals_yaml
from click.testing import CliRunner

from ga4kit import admin
from ga4kit.cli import cli

TYPO = """
defaults: {counting: once_per_event, currency: EUR}
goals:
  - {event: view_item,   type: micro, kind: milestone}
  - {event: add_to_crat, type: micro, kind: milestone}
  - event: view_pricing
    type: micro
    kind: milestone
    derive: {from: page_view, where: [{param: page_location, contains: /pricing}]}
  - event: big_view
    type: micro
    kind: milestone
    derive: {from: page_veiw, where: [{param: page_location, contains: /big}]}
  - {event: purchase,    type: macro}
"""


@pytest.fixture(scope="module")
def shop():
    """An emulator with a little demo traffic (page_view, view_item, add_to_cart, purchase, ...)."""
    from ga4kit.emulator import Emulator

    emu = Emulator(days=10, users=60, seed=3, properties=2, today=date(2024, 5, 31)).start()
    try:
        yield emu
    finally:
        emu.stop(grace=None)


@pytest.fixture
def shop_clients(shop):
    from ga4kit.connect import make_clients

    shop.faults.clear()
    shop.reset_calls()
    with make_clients(emulator=shop.address) as c:
        yield c
    shop.faults.clear()


def _runreports(emu) -> list:
    return [c for c in emu.calls if c.method == "RunReport"]


def test_a_typo_gets_a_did_you_mean_and_derived_goals_are_checked_by_their_source(shop, shop_clients):
    pid = shop.demo_property_ids[0]
    p = admin.plan(goals([pid], TYPO), shop_clients)
    pp = p.property(pid)
    assert pp.error is None
    by_event = {w.event: w for w in pp.warnings}
    # view_item and purchase were seen; view_pricing is derived (its event cannot exist before its rule)
    # and its source page_view was seen: no warning for any of them.
    assert set(by_event) == {"add_to_crat", "page_veiw"}
    assert by_event["add_to_crat"].kind == "event_not_seen"
    assert by_event["add_to_crat"].suggestion == "add_to_cart"
    assert "did you mean 'add_to_cart'?" in by_event["add_to_crat"].message
    assert by_event["page_veiw"].suggestion == "page_view"
    assert "derived goal 'big_view'" in by_event["page_veiw"].message
    assert [c.property for c in _runreports(shop)] == [pid]  # one Data API request
    text = admin.render_plan(p)
    assert any(ln.strip().startswith("? ") and "add_to_crat" in ln for ln in text.splitlines())
    assert "2 warnings (see ? above)" in text.splitlines()[-1]


def test_one_data_api_request_per_property_and_none_with_the_option_off(shop, shop_clients):
    a, b = shop.demo_property_ids
    admin.plan(goals([a, b], TYPO), shop_clients)
    assert sorted(c.property for c in _runreports(shop)) == sorted([a, b])
    shop.reset_calls()
    p = admin.plan(goals([a, b], TYPO), shop_clients, check_events=False)
    assert _runreports(shop) == [] and p.warnings == []


def test_a_failing_data_api_is_a_warning_not_a_failed_plan(shop, shop_clients, tmp_path):
    pid = shop.demo_property_ids[0]
    shop.faults.set("RunReport", {"PERMISSION_DENIED": 1.0})
    p = admin.plan(goals([pid], TYPO), shop_clients)
    pp = p.property(pid)
    assert pp.error is None and not p.has_errors
    [w] = pp.warnings
    assert w.kind == "event_check_failed" and "PERMISSION_DENIED" in w.message and "--no-event-check" in w.message

    path = tmp_path / "typo.yaml"
    path.write_text(goals_yaml([pid], TYPO))
    result = CliRunner().invoke(cli, ["--emulator", shop.address, "plan", "-c", str(path)])
    assert result.exit_code == 0, result.output
    assert "were not checked" in result.stdout


def test_cli_plan_json_and_apply_carry_the_warnings(shop, tmp_path):
    pid = shop.demo_property_ids[0]
    shop.faults.clear()
    path = tmp_path / "typo.yaml"
    path.write_text(goals_yaml([pid], TYPO))
    runner = CliRunner()
    env = json.loads(runner.invoke(cli, ["--emulator", shop.address, "plan", "-c", str(path), "--json"]).stdout)
    assert {(w["property"], "add_to_crat" in w["message"]) for w in env["warnings"]} == {(pid, True), (pid, False)}
    [prop] = env["data"]["properties"]
    assert {(w["event"], w["suggestion"]) for w in prop["warnings"]} == {("add_to_crat", "add_to_cart"),
                                                                         ("page_veiw", "page_view")}
    assert env["data"]["summary"]["warnings"] == 2

    quiet = json.loads(runner.invoke(cli, ["--emulator", shop.address, "plan", "-c", str(path), "--json",
                                           "--no-event-check"]).stdout)
    assert quiet["warnings"] == [] and quiet["data"]["properties"][0]["warnings"] == []

    applied = runner.invoke(cli, ["--emulator", shop.address, "apply", "-c", str(path), "--yes"])
    assert applied.exit_code == 0, applied.output
    assert "did you mean 'add_to_cart'?" in applied.stdout  # apply shows the plan, warnings included


def test_a_property_without_any_events_gets_one_warning(emulator):
    from ga4kit.connect import make_clients

    pid = emulator.test_property
    with make_clients(emulator=emulator.address) as c:
        pp = admin.plan(goals([pid], TYPO), c).property(pid)
    [w] = pp.warnings
    assert w.kind == "no_events" and "received no events in the last 28 days" in w.message
