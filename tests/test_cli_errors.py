"""Bad input on any command ends in one clear `Error:` paragraph and exit code 1 (bad options too: 2 is reserved for "changes pending"),
never a traceback and never a file left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ga4kit.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SHOP = str(ROOT / "configs" / "shop.yaml")


@pytest.fixture(scope="module")
def address():
    from ga4kit.emulator import Emulator

    with Emulator(days=30, users=200) as emu:
        yield emu.address


def cases(tmp: Path):
    bad_yaml = tmp / "bad.yaml"
    bad_yaml.write_text("goals: [\n")
    key = tmp / "key.json"
    key.write_text('{"type": "service_account", "private_key": "SECRET-VALUE"}')
    out = str(tmp / "out.csv")
    return [
        (["plan", "-c", str(tmp / "missing.yaml")], "does not exist"),
        (["pull", "-c", str(bad_yaml), "-o", out], "not valid YAML"),
        (["chains", "-c", SHOP, "-p", "G-ABC123XYZ"], "measurement id"),
        (["report", "-c", SHOP, "-p", "UA-1234-1"], "Universal Analytics"),
        (["--credentials", str(tmp / "nope.json"), "plan", "-c", SHOP], "does not exist"),
        (["--credentials", str(key), "pull", "-c", SHOP, "-o", out], "incomplete or damaged"),
        (["--emulator", "localhost", "plan", "-c", SHOP], "HOST:PORT"),
        (["pull", "-c", SHOP, "-o", str(tmp / "no-such-dir" / "x.csv")], "does not exist"),
        (["pull", "-c", SHOP, "-o", str(tmp / "x.docx")], "unknown output type"),
        (["chains", "-c", SHOP, "--start", "2026-13-01"], "not a GA4 date"),
        (["report", "-c", SHOP, "-o", str(tmp / "report.pdf")], "HTML page"),
        (["report", "-c", SHOP, "-o", str(tmp / "missing" / "r.html")], "does not exist"),
        (["chains", "-c", SHOP, "-f", "csv", "-o", str(tmp / "missing" / "c.csv")], "does not exist"),
    ]


def test_bad_input_never_shows_a_traceback(tmp_path, address):
    runner = CliRunner()
    for args, needle in cases(tmp_path):
        full = ["--emulator", address, *args] if "--emulator" not in args and "--credentials" not in args else args
        res = runner.invoke(cli, full)
        text = res.output
        assert res.exit_code == 1, (args, res.exit_code, text, res.exception)
        assert res.exception is None or isinstance(res.exception, SystemExit), (args, res.exception)
        assert "Traceback" not in text
        assert "Error:" in text and needle in text, (args, text)
        assert "SECRET-VALUE" not in text
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "x.docx").exists()


def test_usage_errors_exit_1():
    res = CliRunner().invoke(cli, ["chains", "-c", SHOP, "--grain", "year"])
    assert res.exit_code == 1 and "Invalid value" in res.output
