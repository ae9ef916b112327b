"""The CLI skeleton: fast help, version, `python -m ga4kit`, validate and schema."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from ga4kit.cli import cli

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))


def run(*args, **kw):
    return subprocess.run([sys.executable, "-m", "ga4kit", *args], capture_output=True, text=True,
                          cwd=kw.get("cwd", ROOT), env={**os.environ, **kw.get("env", {})}, timeout=60)


def test_help_imports_neither_google_clients_nor_pandas():
    code = ("import sys; from ga4kit.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = sorted(m for m in sys.modules if m.startswith(('google', 'pandas', 'grpc', 'numpy', 'yaml')))\n"
            "print('HEAVY=' + ','.join(heavy))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "Commands:" in out and "validate" in out
    heavy = out.rsplit("HEAVY=", 1)[1].strip()
    assert heavy == "", f"ga4kit --help imported: {heavy}"


def test_every_command_has_help():
    runner = CliRunner()
    for name in cli.list_commands(None):
        result = runner.invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output


def test_version_and_module_entry_point():
    from ga4kit import __version__

    res = run("--version")
    assert res.returncode == 0 and __version__ in res.stdout


def test_examples_validate():
    assert len(CONFIGS) >= 4
    res = run("validate", *map(str, CONFIGS))
    assert res.returncode == 0, res.stderr
    assert res.stdout.count(": OK") == len(CONFIGS)


def test_broken_copy_fails_with_lines(tmp_path):
    broken = tmp_path / "shop.yaml"
    lines = (ROOT / "configs" / "shop.yaml").read_text().splitlines()
    idx = next(i for i, line in enumerate(lines) if "event: add_to_cart" in line)
    lines[idx] = lines[idx].replace("add_to_cart", "add-to-cart")
    pid = next(i for i, line in enumerate(lines) if "id:" in line)
    lines[pid] = '  - id: "G-1A2B3C4D5E"'
    broken.write_text("\n".join(lines) + "\n")
    res = run("validate", str(broken))
    assert res.returncode == 1
    assert f"{broken}:{idx + 1}: error: goals[1].event" in res.stderr
    assert f"{broken}:{pid + 1}: error: properties[0].id" in res.stderr and "measurement id" in res.stderr
    # the chain names add_to_cart, which is now undeclared: reported on the chain's line
    chain_line = next(i for i, line in enumerate(lines) if "name: checkout" in line) + 1
    assert f"{broken}:{chain_line}: error: chains[0].steps[1]" in res.stderr
    assert "Traceback" not in res.stderr
    assert "invalid (3 problems)" in res.stdout


def test_validate_json_and_mixed_exit_code(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\ngoals: [{event: purchase, type: macro, currency: XXX, value: 1}]\n")
    result = CliRunner().invoke(cli, ["validate", "--json", str(CONFIGS[0]), str(bad)])
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert (doc["format_version"], doc["command"], doc["ok"], doc["exit_code"]) == (2, "validate", False, 1)
    data = doc["data"]  # the per-file list, as before the envelope
    assert [d["valid"] for d in data] == [True, False]
    assert data[1]["errors"][0]["line"] == 2 and "ISO 4217" in data[1]["errors"][0]["message"]
    assert [e["status"] for e in doc["errors"]] == ["CONFIG_ERROR"]
    assert f"{bad}:2:" in doc["errors"][0]["message"] and doc["errors"][0]["hint"]
    ok = CliRunner().invoke(cli, ["validate", "--json", str(CONFIGS[0])])
    doc = json.loads(ok.stdout)
    assert ok.exit_code == 0 and doc["ok"] is True and doc["errors"] == [] and doc["data"][0]["valid"]


def test_strict_turns_warnings_into_failure(tmp_path):
    warn = tmp_path / "w.yaml"
    warn.write_text("goals: [{event: purchase, type: macro}]\n")  # no version: a warning
    runner = CliRunner()
    assert runner.invoke(cli, ["validate", str(warn)]).exit_code == 0
    assert runner.invoke(cli, ["validate", "--strict", str(warn)]).exit_code == 1


def test_schema_accepts_every_example_and_rejects_typos(tmp_path):
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for path in CONFIGS:
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert errors == [], (path, errors[0].message if errors else None)
    assert list(validator.iter_errors({"goals": [{"event": "a", "type": "micro"}]}))  # micro needs kind
    assert list(validator.iter_errors({"goals": [{"event": "a", "type": "macro", "counting": "always"}]}))
    out = tmp_path / "goals.schema.json"
    assert CliRunner().invoke(cli, ["schema", "-o", str(out)]).exit_code == 0
    assert json.loads(out.read_text()) == schema


def test_console_script_is_installed():
    exe = shutil.which("ga4kit", path=os.path.dirname(sys.executable))
    if exe is None:
        pytest.skip("ga4kit console script not on this interpreter's bin path")
    res = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "validate" in res.stdout
