"""The audit's parts on their own: the pure rules (personal data in URLs and names, bands, currencies,
scores, --fail-on), the targets (list files, accounts, --all, shards), and on a small emulator: a check
whose call GA4 refuses is unavailable (never passed), a run with a failing method is partial, and a
property in the trash is found through an account listing."""

from __future__ import annotations

import datetime as dt

import pytest

from ga4kit.audit import Target, run_audit, targets
from ga4kit.audit.checks import pii
from ga4kit.audit.checks._places import zone_currency
from ga4kit.audit.checks._util import band
from ga4kit.audit.checks.definitions import looks_personal
from ga4kit.audit.checks.traffic import SHARE_BANDS, _gateway
from ga4kit.audit.model import FAIL_ON, FOUND, OK, UNAVAILABLE, Finding, PropertyAudit, CheckResult, fails
from ga4kit.audit.registry import checks
from ga4kit.audit.scoring import grade, score
from ga4kit.errors import Ga4kitError

TODAY = dt.date(2026, 11, 20)


# ------------------------------------------------------------------------------------------- rules
@pytest.mark.parametrize("path,emails,phones", [
    ("/thanks?email=jane.doe%40example.com", 1, 0),
    ("/u/jane@example.co.uk/profile", 1, 0),
    ("/callback?phone=%2B49%20170%201234567", 0, 1),
    ("/callback?tel=0301234567", 0, 1),
    ("/c?ref=%2B4917012345678", 0, 1),  # any value in international format
    ("/orders?id=20261120123456&ts=1732101234", 0, 0),  # order numbers and timestamps are not phones
    ("/p?utm_source=news@letter", 0, 0),  # no domain: not an address
    ("/search?q=coffee+%2B+milk", 0, 0),
])
def test_personal_data_in_urls(path, emails, phones):
    found_e, found_p, masked = pii.scan(path)
    assert (len(found_e), len(found_p)) == (emails, phones)
    for e in found_e:
        assert e not in masked
    for p in found_p:
        assert p not in masked


def test_masks_keep_nothing_readable():
    assert pii.mask_email("jane.doe@example.com") == "j***@e***.com"
    assert pii.mask_phone("+49 170 1234567") == "+** *** *****67"


@pytest.mark.parametrize("name,personal", [
    ("user_email", True), ("customerName", True), ("Phone", True), ("first_name", True), ("zip_code", True),
    ("ip_address", True), ("article_topic", False), ("plan_tier", False), ("emailing_campaign", False),
    ("file_name", False), ("telemetry", False),
])
def test_dimension_names_that_look_like_personal_data(name, personal):
    assert looks_personal(name) is personal


def test_bands_and_gateways():
    assert [band(v, SHARE_BANDS) for v in (0.04, 0.05, 0.099, 0.10, 0.2499, 0.25, 0.9)] == \
        [None, "low", "low", "medium", "medium", "high", "high"]
    assert _gateway("paypal.com") and _gateway("www.paypal.com") and _gateway("checkout.stripe.com")
    assert not _gateway("notpaypal.com") and not _gateway("google")


def test_currency_of_a_time_zone():
    assert zone_currency("Europe/Berlin") == ("DE", "EUR")
    assert zone_currency("America/New_York") == ("US", "USD")
    assert zone_currency("Etc/UTC") is None and zone_currency(None) is None


def _finding(severity):
    return Finding("1", "x", severity, "m")


def test_score_grade_and_fail_on():
    audit = PropertyAudit("1", results=[CheckResult("a", FOUND, (_finding("high"), _finding("medium"))),
                                        CheckResult("b", OK), CheckResult("c", UNAVAILABLE, reason="r")])
    assert score(audit) == 83 and grade(83) == "fair"
    audit.results.append(CheckResult("d", FOUND, (_finding("critical"),)))
    assert score(audit) == 49 and grade(49) == "critical"  # a critical finding caps the score
    assert fails("high", "error") and fails("critical", "error") and not fails("medium", "error")
    assert fails("medium", "warning") and not fails("low", "warning") and not fails("info", None)
    assert set(FAIL_ON) >= {"error", "warning"}


def test_every_check_has_an_id_severity_reads_and_fix():
    ids = [c.id for c in checks()]
    assert len(ids) == len(set(ids)) >= 35
    for c in checks():
        assert c.title and c.reads and c.fix and c.severity
    assert [c.id for c in checks(only=["ecommerce"])] == ["purchase_without_transaction_id",
                                                          "duplicate_transaction_id", "purchase_without_revenue"]
    with pytest.raises(ValueError, match="unknown check"):
        checks(only=["no_such_check"])


# ------------------------------------------------------------------------------------------- targets
def test_list_files_and_merging(tmp_path):
    f = tmp_path / "props.txt"
    f.write_text("# agency clients\n123 Shop DE\nproperties/456, Blog\n\n789  # no label\n", encoding="utf-8")
    got = targets.read_list_file(f)
    assert [(t.id, t.label) for t in got] == [("123", "Shop DE"), ("456", "Blog"), ("789", None)]
    bad = tmp_path / "bad.txt"
    bad.write_text("123\nG-ABCDEF1234\nhello\n", encoding="utf-8")
    with pytest.raises(Ga4kitError, match=r"bad.txt:2.*\n.*bad.txt:3"):
        targets.read_list_file(bad)
    merged = targets.merge(targets.from_ids(["123"]), [Target("123", "Shop", goals="G")])
    assert merged == [Target("123", "Shop", goals="G")]


def test_a_large_audit_says_how_long_the_admin_quota_makes_it():
    from ga4kit.audit.runner import admin_wait_note

    assert admin_wait_note(targets.from_ids(range(1000, 1049))) is None  # 539 reads: one minute's window
    note = admin_wait_note(targets.from_ids(range(1000, 1200)))  # 2,200 reads
    assert "2,200 Admin API reads" in note and "at least 4 minutes" in note


# ------------------------------------------------------------------------------------------- small worlds
@pytest.fixture
def shop(emulator, emulator_clients):
    """The emulator fixture's property with generated shop traffic, set up well."""
    from ga4kit.emulator.generator import generate

    g = generate(seed=3, days=60, users=300, today=dt.datetime.now(dt.timezone.utc).date(), time_zone="Europe/Berlin")
    emulator.store.replace(emulator.test_property, g.frame, g.items)
    return emulator


def test_a_refused_call_makes_its_checks_unavailable_and_the_run_partial(shop):
    from ga4kit.connect import make_clients

    shop.faults.set("GetGoogleSignalsSettings", {"PERMISSION_DENIED": 1.0})
    shop.faults.set("ListCustomDimensions", {"RESOURCE_EXHAUSTED": 1.0})
    with make_clients(emulator=shop.address) as clients:
        report = run_audit(clients, [shop.test_property])
    (audit,) = report.properties
    statuses = {r.check: r for r in audit.results}
    assert statuses["google_signals_on"].status == UNAVAILABLE
    assert "permission denied" in statuses["google_signals_on"].reason
    for c in ("custom_dimensions_near_limit", "pii_custom_dimension"):
        assert statuses[c].status == UNAVAILABLE and statuses[c].error_status == "RESOURCE_EXHAUSTED"
    assert audit.partial and report.partial  # quota comes back: run again later
    assert statuses["data_retention"].status == FOUND  # the rest ran


def test_a_check_that_raises_is_unavailable_not_passed(shop, monkeypatch):
    from ga4kit.audit.registry import _CHECKS
    from ga4kit.connect import make_clients

    checks()

    def broken(ctx):
        raise KeyError("bug")

    c = _CHECKS["no_bigquery_link"]
    monkeypatch.setitem(_CHECKS, "no_bigquery_link", type(c)(**{**c.__dict__, "run": broken}))
    with make_clients(emulator=shop.address) as clients:
        report = run_audit(clients, [shop.test_property], only=["links"])
    statuses = {r.check: r for r in report.properties[0].results}
    assert statuses["no_bigquery_link"].status == UNAVAILABLE
    assert "KeyError" in statuses["no_bigquery_link"].reason


def test_an_account_lists_its_trashed_properties_and_all_finds_every_account(shop, emulator_clients):
    from ga4kit.connect import make_clients

    other = shop.admin.create_property(shop.test_account, "Old client", time_zone="Europe/Berlin", currency="EUR")
    emulator_clients.admin.delete_property(name=f"properties/{other}")
    second = shop.admin.create_account("Second agency account")
    third = shop.admin.create_property(second, "Client B", time_zone="Europe/Paris", currency="EUR")
    with make_clients(emulator=shop.address) as clients:
        listed = targets.from_account(clients, shop.test_account)
        assert {t.id for t in listed} == {shop.test_property, other}
        assert {t.id for t in targets.from_all(clients)} == {shop.test_property, other, third}
        shop.reset_calls()
        report = run_audit(clients, listed, only=["property"])
    # The listing gave each property's settings, and only what the chosen checks read is read.
    assert {c.method for c in shop.calls} == {"GetDataRetentionSettings"}
    trashed = next(a for a in report.properties if a.property == other)
    assert [f.check for f in trashed.findings if f.severity == "critical"] == ["property_in_trash"]
    with pytest.raises(Ga4kitError, match="not an account id"):
        targets.from_account(None, "abc")
