"""The emulator's server: faults, latency, the call log, ports, the gate, and `ga4kit emulator start`."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import date

import grpc
import pytest
from click.testing import CliRunner
from google.analytics import admin_v1beta, data_v1beta
from google.analytics.admin_v1beta.services.analytics_admin_service.transports import (
    AnalyticsAdminServiceGrpcTransport,
)
from google.analytics.data_v1beta.services.beta_analytics_data.transports import BetaAnalyticsDataGrpcTransport
from google.api_core import exceptions as gexc

from ga4kit import errors
from ga4kit.cli import cli
from ga4kit.emulator import SERVICES, CallRecord, Emulator, Faults, parse_fault
from ga4kit.emulator.server import ADMIN_ALPHA, ADMIN_BETA

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _raw_admin(address):
    """Google's own v1beta Admin client on a plain channel: no ga4kit retry, no ga4kit metadata."""
    channel = grpc.insecure_channel(address)
    return admin_v1beta.AnalyticsAdminServiceClient(transport=AnalyticsAdminServiceGrpcTransport(channel=channel))


def _small_emulator(**kwargs) -> Emulator:
    emu = Emulator(demo=False, **kwargs)
    acc = emu.admin.create_account("A")
    emu.test_property = emu.admin.create_property(acc, "P")
    return emu


def _outcomes(emu, n=30):
    client = _raw_admin(emu.address)
    out = []
    for _ in range(n):
        try:
            client.get_property(name=f"properties/{emu.test_property}")
            out.append("OK")
        except gexc.GoogleAPICallError as exc:
            out.append(exc.grpc_status_code.name)
    client.transport.close()
    return out


# ----------------------------------------------------------------------------- faults
def test_faults_are_reproducible_with_a_seed():
    runs = []
    for seed in (7, 7, 8):
        faults = Faults(seed=seed).set("GetProperty", {"UNAVAILABLE": 0.3, "INTERNAL": 0.2})
        with _small_emulator(faults=faults) as emu:
            runs.append(_outcomes(emu))
            assert [c.code for c in emu.calls] == runs[-1]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert set(runs[0]) == {"OK", "UNAVAILABLE", "INTERNAL"}
    assert 3 <= runs[0].count("UNAVAILABLE") <= 18


def test_fault_sequence_of_one_method_ignores_other_methods():
    faults = Faults(seed=3).set("GetProperty", {"UNAVAILABLE": 0.5})
    with _small_emulator(faults=faults) as emu:
        plain = _outcomes(emu, 12)
    faults = Faults(seed=3).set("GetProperty", {"UNAVAILABLE": 0.5})
    with _small_emulator(faults=faults) as emu:
        client = _raw_admin(emu.address)
        mixed = []
        for _ in range(12):
            list(client.list_key_events(parent=f"properties/{emu.test_property}"))  # no faults here
            try:
                client.get_property(name=f"properties/{emu.test_property}")
                mixed.append("OK")
            except gexc.ServiceUnavailable:
                mixed.append("UNAVAILABLE")
    assert plain == mixed


def test_star_applies_to_every_method_and_errors_reach_ga4kit(emulator):
    emulator.faults.set("*", {"UNAVAILABLE": 1.0})
    from ga4kit.connect import make_clients
    from google.api_core.retry import Retry, if_exception_type

    quick = Retry(predicate=if_exception_type(gexc.ServiceUnavailable), initial=0.01, maximum=0.02, timeout=0.2)
    with make_clients(emulator=emulator.address, retry=quick) as c:
        with pytest.raises(errors.UnavailableError):
            c.admin.get_property(name=f"properties/{emulator.test_property}")
        with pytest.raises(errors.UnavailableError):
            list(c.admin_alpha.list_account_summaries())
    assert {c.code for c in emulator.calls} == {"UNAVAILABLE"}
    assert len(emulator.calls) >= 3  # ga4kit's retry tried again
    emulator.faults.clear()
    assert _outcomes(emulator, 2) == ["OK", "OK"]


def test_latency_per_method_and_for_all(emulator):
    client = _raw_admin(emulator.address)
    name = f"properties/{emulator.test_property}"
    emulator.faults.set("GetProperty", latency_ms=200)
    t0 = time.perf_counter()
    client.get_property(name=name)
    slow = time.perf_counter() - t0
    t0 = time.perf_counter()
    list(client.list_key_events(parent=name))
    fast = time.perf_counter() - t0
    assert slow >= 0.2 and fast < 0.15
    emulator.faults.set("*", latency_ms=120)
    t0 = time.perf_counter()
    list(client.list_key_events(parent=name))
    assert time.perf_counter() - t0 >= 0.12
    client.transport.close()


def test_emulator_latency_option():
    with _small_emulator(latency=150) as emu:
        t0 = time.perf_counter()
        assert _outcomes(emu, 1) == ["OK"]
        assert time.perf_counter() - t0 >= 0.15


@pytest.mark.parametrize("spec,expected", [
    ("CreateKeyEvent=UNAVAILABLE:0.3", ("CreateKeyEvent", "UNAVAILABLE", 0.3, False)),
    ("*=internal:1", ("*", "INTERNAL", 1.0, False)),
    ("CreateEventCreateRule=DEADLINE_EXCEEDED:1:after", ("CreateEventCreateRule", "DEADLINE_EXCEEDED", 1.0, True)),
])
def test_parse_fault(spec, expected):
    assert parse_fault(spec) == expected


@pytest.mark.parametrize("spec", ["CreateKeyEvent", "CreateKeyEvent=UNAVAILABLE", "X=NOPE:0.1", "X=OK:0.1",
                                  "X=UNAVAILABLE:1.5", "=UNAVAILABLE:0.1"])
def test_parse_fault_refuses_bad_specs(spec):
    with pytest.raises(ValueError):
        parse_fault(spec)


def test_an_after_fault_carries_the_write_out_and_loses_the_answer(emulator, emulator_clients):
    from google.analytics.admin_v1beta import KeyEvent

    from ga4kit.errors import UnavailableError

    emulator.faults.set("CreateKeyEvent", {"DEADLINE_EXCEEDED": 1.0}, after=True)
    ke = KeyEvent(event_name="sign_up", counting_method=KeyEvent.CountingMethod.ONCE_PER_EVENT)
    with pytest.raises(UnavailableError):
        emulator_clients.admin.create_key_event(parent=f"properties/{emulator.test_property}", key_event=ke,
                                                retry=None)
    # The caller saw a failure, yet the key event exists: exactly the case a retry must look for first.
    names = [k["event_name"] for k in emulator.admin.list_key_events(emulator.test_property)]
    assert names.count("sign_up") == 1
    assert [c.code for c in emulator.calls if c.method == "CreateKeyEvent"] == ["DEADLINE_EXCEEDED"]


def test_fault_rates_are_checked():
    with pytest.raises(ValueError):
        Faults().set("X", {"UNAVAILABLE": 0.7, "INTERNAL": 0.5})
    with pytest.raises(ValueError):
        Faults().set("X", latency_ms=-1)


# ----------------------------------------------------------------------------- call log and gate
def test_call_log_records_service_method_property_and_status(emulator, emulator_clients):
    pid = emulator.test_property
    emulator.reset_calls()
    emulator_clients.admin.get_property(name=f"properties/{pid}")
    list(emulator_clients.admin_alpha.list_key_events(parent=f"properties/{pid}"))
    with pytest.raises(errors.NotFoundError):
        emulator_clients.admin.get_property(name="properties/99")
    list(emulator_clients.admin.list_account_summaries())
    assert emulator.calls == [
        CallRecord(ADMIN_BETA, "GetProperty", pid, "OK"),
        CallRecord(ADMIN_ALPHA, "ListKeyEvents", pid, "OK"),
        CallRecord(ADMIN_BETA, "GetProperty", "99", "NOT_FOUND"),
        CallRecord(ADMIN_BETA, "ListAccountSummaries", None, "OK"),
    ]
    emulator.reset_calls()
    assert emulator.calls == []


def test_call_log_is_thread_safe(emulator):
    client = _raw_admin(emulator.address)
    name = f"properties/{emulator.test_property}"
    emulator.reset_calls()

    def work():
        for _ in range(10):
            client.get_property(name=name)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(emulator.calls) == 80 and {c.code for c in emulator.calls} == {"OK"}
    client.transport.close()


def test_unimplemented_methods_are_answered_and_logged(emulator):
    client = _raw_admin(emulator.address)
    with pytest.raises(gexc.MethodNotImplemented):
        client.get_data_sharing_settings(name="accounts/1/dataSharingSettings")
    assert emulator.calls[-1].method == "GetDataSharingSettings"
    assert emulator.calls[-1].code == "UNIMPLEMENTED"
    client.transport.close()


def test_data_methods_the_emulator_lacks_answer_unimplemented(emulator):
    channel = grpc.insecure_channel(emulator.address)
    data = data_v1beta.BetaAnalyticsDataClient(transport=BetaAnalyticsDataGrpcTransport(channel=channel))
    with pytest.raises(gexc.MethodNotImplemented, match="not implemented"):
        data.list_audience_exports(parent=f"properties/{emulator.test_property}")
    assert (emulator.calls[-1].method, emulator.calls[-1].code) == ("ListAudienceExports", "UNIMPLEMENTED")
    channel.close()


def test_method_names_lists_every_implemented_rpc(emulator):
    names = emulator.method_names()
    assert {"CreateKeyEvent", "ListAccountSummaries", "CreateEventCreateRule", "RunReport", "BatchRunReports",
            "RunFunnelReport", "GetMetadata", "RunPivotReport", "BatchRunPivotReports", "RunRealtimeReport",
            "CheckCompatibility"} <= names
    assert "ListAudienceExports" not in names and "GetDataSharingSettings" not in names


def test_data_calls_are_gated_like_admin_calls(emulator):
    emulator.admin.set_access(emulator.test_property, ["x@example.com"])
    channel = grpc.insecure_channel(emulator.address)
    data = data_v1beta.BetaAnalyticsDataClient(transport=BetaAnalyticsDataGrpcTransport(channel=channel))
    with pytest.raises(gexc.PermissionDenied, match="sufficient permissions"):
        data.run_report(request={"property": f"properties/{emulator.test_property}"})
    with pytest.raises(gexc.NotFound):
        data.run_report(request={"property": "properties/12345"})
    channel.close()


def test_services_and_defaults():
    assert SERVICES == ("google.analytics.admin.v1beta.AnalyticsAdminService",
                        "google.analytics.admin.v1alpha.AnalyticsAdminService",
                        "google.analytics.data.v1beta.BetaAnalyticsData",
                        "google.analytics.data.v1alpha.AlphaAnalyticsData")
    emu = Emulator(demo=False)
    with pytest.raises(RuntimeError):
        emu.address  # noqa: B018  (not started)
    assert emu.host == "127.0.0.1"


# ----------------------------------------------------------------------------- ports, demo, today
def test_port_zero_picks_free_ports_and_a_taken_port_is_an_error():
    with _small_emulator() as a, _small_emulator() as b:
        assert a.port and b.port and a.port != b.port
        assert a.address == f"127.0.0.1:{a.port}"
        with socket.create_connection(("127.0.0.1", a.port), timeout=2):
            pass
        taken = Emulator(demo=False, port=a.port)
        with pytest.raises(OSError, match=str(a.port)):
            taken.start()


def test_demo_without_state_dir_builds_the_demo_account():
    emu = Emulator(days=3, users=50, seed=1)
    summaries = emu.admin.account_summaries(None)
    assert [s["display_name"] for s in summaries] == ["Demo Account"]
    assert emu.demo_property_ids and emu.demo_property_ids[0] in emu.admin.property_ids()
    info = emu.admin.property_info(emu.demo_property_ids[0])
    assert info.stream_ids and "purchase" in info.key_events


def test_fixed_today_is_the_emulators_clock():
    emu = Emulator(demo=False, today="2026-03-01")
    assert emu.today == date(2026, 3, 1)
    acc = emu.admin.create_account("T")
    pid = emu.admin.create_property(acc, "P")
    assert emu.today_for(pid) == date(2026, 3, 1)
    created = emu.admin.list_key_events(pid)[0]["create_time"]
    assert created.startswith("2026-03-01")


# ----------------------------------------------------------------------------- the command
def test_emulator_start_runs_until_sigterm(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ga4kit", "emulator", "start", "--days", "3", "--users", "50",
         "--state-dir", str(tmp_path / "state"), "--fault", "GetProperty=UNAVAILABLE:0.0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        match = re.fullmatch(r"GA4KIT_EMULATOR_HOST=(127\.0\.0\.1:\d+)\n", line)
        assert match, line + proc.stderr.read() if proc.poll() is not None else line
        summary = proc.stdout.readline()
        assert re.search(r"1 property, 1 web stream, [\d,]+ events over the last 3 days", summary), summary
        served = proc.stdout.readline()
        client = _raw_admin(match.group(1))
        pid = list(client.list_account_summaries())[0].property_summaries[0].property.split("/")[1]
        assert served.strip() == f"property {pid}: Demo Shop (account 1000001: Demo Account)", served
        summaries = list(client.list_account_summaries())
        assert summaries[0].display_name == "Demo Account"
        client.transport.close()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Emulator stopped." in out
    assert "Traceback" not in err
    assert (tmp_path / "state" / "admin.json").exists()


@pytest.mark.parametrize("args,fragment", [
    (["--fault", "CreateKeyEvent=UNAVAILABLE"], "--fault"),
    (["--fault", "CreateKeyEvent=NOPE:0.5"], "unknown gRPC status"),
    (["--today", "yesterday"], "--today"),
])
def test_emulator_start_reports_bad_options(args, fragment):
    result = CliRunner().invoke(cli, ["emulator", "start", *args])
    assert result.exit_code == 1
    assert result.output.count("Error:") == 1 and fragment in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("spec,fragment", [
    ("NoSuchMethod=UNAVAILABLE:0.5", "the emulator serves no method 'NoSuchMethod'. Use one of: "),
    ("create_key_event=DEADLINE_EXCEEDED:1:after", "did you mean 'CreateKeyEvent'?"),
])
def test_a_fault_on_a_method_the_emulator_does_not_serve_is_refused(spec, fragment):
    # A process with a timeout: were the fault accepted, the emulator would serve until stopped.
    res = subprocess.run([sys.executable, "-m", "ga4kit", "emulator", "start", "--no-demo", "--fault", spec],
                         capture_output=True, text=True, timeout=60, env=dict(os.environ, PYTHONPATH=REPO))
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr.count("Error:") == 1 and fragment in res.stderr, res.stderr


def test_emulator_start_reports_a_taken_port():
    with _small_emulator() as emu:
        result = CliRunner().invoke(cli, ["emulator", "start", "--no-demo", "--port", str(emu.port)])
    assert result.exit_code == 1
    assert "Error: the emulator could not start" in result.output


def test_a_taken_port_is_one_friendly_line_without_grpcs_log():
    # gRPC's C core logs "Failed to add port to server" straight to file descriptor 2: a real process.
    with _small_emulator() as emu:
        res = subprocess.run([sys.executable, "-m", "ga4kit", "emulator", "start", "--no-demo", "--port",
                              str(emu.port)], capture_output=True, text=True, timeout=60,
                             env=dict(os.environ, PYTHONPATH=REPO))
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr.splitlines() == [f"Error: the emulator could not start: cannot listen on 127.0.0.1:{emu.port} "
                                       "(port in use or host invalid)"], res.stderr


def test_fault_help_documents_after():
    out = CliRunner().invoke(cli, ["emulator", "start", "--help"]).output
    assert "METHOD=STATUS:RATE[:after]" in out and "answer lost" in out


def test_start_summary_says_what_is_served(tmp_path):
    from ga4kit.cli.emulator_cmd import _property_lines, _summary

    demo = Emulator(days=30, users=200, today=date(2026, 3, 1))
    assert "events over the last 30 days (in memory)" in _summary(demo, 30)
    pid = demo.demo_property_ids[0]
    assert _property_lines(demo)[0] == f"  property {pid}: Demo Shop (account 1000001: Demo Account)"
    empty = Emulator(demo=False)
    assert _summary(empty, 90) == "0 properties, 0 web streams, no events (in memory)"
    assert _property_lines(empty) == []
    Emulator(state_dir=tmp_path, days=3, users=50, today=date(2026, 3, 1))  # written, then reloaded:
    again = Emulator(state_dir=tmp_path, days=90, today=date(2026, 3, 1))  # the stored days, not --days
    assert re.search(r", [\d,]+ events over 3 days, 2026-02-26 to 2026-02-28 \(state in ", _summary(again, 90))


def test_many_properties_are_listed_up_to_a_limit():
    from ga4kit.cli.emulator_cmd import MAX_LISTED, _property_lines

    emu = Emulator(demo=False)
    acc = emu.admin.create_account("Agency")
    for i in range(MAX_LISTED + 5):
        emu.admin.create_property(acc, f"Client {i}")
    emu.start()
    try:
        lines = _property_lines(emu)
    finally:
        emu.stop(grace=None)
    assert len(lines) == MAX_LISTED + 1 and "and 5 more" in lines[-1] and "properties" in lines[-1]


def test_emulator_command_module_imports_only_click():
    code = ("import sys, ga4kit.cli.emulator_cmd; "
            "print(sorted(m for m in ('grpc', 'pandas', 'google.analytics.admin_v1beta') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=REPO))
    assert out.stdout.strip() == "[]", out.stderr


def test_emulator_start_reports_a_damaged_state_dir(tmp_path):
    (tmp_path / "admin.json").write_text("{half")
    result = CliRunner().invoke(cli, ["emulator", "start", "--state-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "Error: the emulator could not start" in result.output and "admin.json" in result.output
    assert "Traceback" not in result.output


def test_the_emulator_imports_nothing_else_from_ga4kit():
    code = ("import sys\n"
            "from ga4kit.emulator import Emulator\n"
            "with Emulator(days=2, users=20) as emu:\n"
            "    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('ga4kit') and not m.startswith('ga4kit.emulator')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=REPO), timeout=60)
    # Only the package itself (ga4kit/__init__.py; it loads ga4kit.errors lazily, on first use); nothing else.
    assert out.stdout.strip() in ("['ga4kit']", "['ga4kit', 'ga4kit.errors']"), out.stderr
