"""The CLI's one path: commands return their exit code (never sys.exit), errors go through one ClickException
subclass, the goals file is accepted as FILE or -c FILE everywhere, and SIGTERM stops a run like Ctrl-C."""

from __future__ import annotations

import ast
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ga4kit.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SHOP = str(ROOT / "configs" / "shop.yaml")
CLI_DIR = ROOT / "ga4kit" / "cli"


def test_no_command_module_exits_by_itself():
    # Only ga4kit.cli.LazyGroup.main ends the process; commands return a code or raise CommandError.
    for path in sorted(CLI_DIR.glob("*.py")):
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "exit" and getattr(node.value, "id", "") == "sys":
                pytest.fail(f"{path.name}:{node.lineno} calls sys.exit")
            if isinstance(node, ast.Name) and node.id == "SystemExit":
                pytest.fail(f"{path.name}:{node.lineno} uses SystemExit")


def test_one_click_exception_subclass():
    from ga4kit.cli import common

    subclasses = [c for c in vars(common).values() if isinstance(c, type) and issubclass(c, Exception)
                  and c.__module__ == common.__name__]
    assert [c.__name__ for c in subclasses] == ["CommandError"]


def test_validate_takes_files_as_arguments_or_with_c():
    runner = CliRunner()
    by_arg = runner.invoke(cli, ["validate", SHOP])
    by_option = runner.invoke(cli, ["validate", "-c", SHOP])
    assert by_arg.exit_code == by_option.exit_code == 0
    assert by_arg.output == by_option.output
    assert runner.invoke(cli, ["validate"]).exit_code == 1


@pytest.mark.parametrize("command", ["plan", "apply", "pull", "chains", "report"])
def test_goals_file_as_argument_or_option(command, tmp_path):
    runner = CliRunner()
    missing = str(tmp_path / "missing.yaml")
    extra = ["-o", str(tmp_path / "x.csv")] if command == "pull" else []
    # Both forms reach the loader (which reports the missing file), so both are accepted.
    for args in ([command, missing, *extra], [command, "-c", missing, *extra]):
        res = runner.invoke(cli, args)
        assert res.exit_code == 1 and "does not exist" in res.output, (args, res.output)
    both = runner.invoke(cli, [command, SHOP, "-c", missing, *extra])
    assert both.exit_code == 1 and "Two goals files" in both.output
    none = runner.invoke(cli, [command, *extra])
    assert none.exit_code == 1 and "No goals file" in none.output


def test_library_errors_become_error_lines_and_json_envelopes(tmp_path):
    import json

    res = CliRunner().invoke(cli, ["plan", str(tmp_path / "nope.yaml"), "--json"])
    assert res.exit_code == 1
    assert res.stderr.startswith("Error: ") and "does not exist" in res.stderr
    env = json.loads(res.stdout)
    assert (env["ok"], env["data"], env["errors"][0]["status"]) == (False, None, "CONFIG_ERROR")


def test_sigterm_stops_a_run_like_ctrl_c(tmp_path):
    # A scheduler stops jobs with SIGTERM: the run must end cleanly (exit 130, "Interrupted.", no traceback,
    # no half-written file), not die mid-write.
    from ga4kit.emulator import Emulator

    goals = tmp_path / "shop.yaml"
    with Emulator(days=30, users=300, seed=5) as emu:
        pid = emu.admin.property_ids()[0]
        goals.write_text((ROOT / "configs" / "shop.yaml").read_text().replace('"123456789"', f'"{pid}"'))
        emu.faults.set("BatchRunReports", latency_ms=20000)
        out = tmp_path / "out.csv"
        proc = subprocess.Popen([sys.executable, "-m", "ga4kit", "--emulator", emu.address, "pull", str(goals),
                                 "-o", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        while not emu.in_flight("BatchRunReports") and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Interrupted." in err and "Traceback" not in err
    assert not list(tmp_path.glob("out*.csv"))
