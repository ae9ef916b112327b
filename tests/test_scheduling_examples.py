"""The scheduler examples (examples/ at the repository's top) and docs/scheduling.md: the Airflow DAG imports
without Airflow and gives one command per shard; every `ga4kit pull` command in the examples and the doc
parses with the real `pull` command's options, so a renamed option cannot leave a broken recipe behind."""

from __future__ import annotations

import ast
import importlib.util
import re
import shlex
from pathlib import Path

import click
import pytest
import yaml

from ga4kit.cli.report_cmds import pull_cmd

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
DOC = ROOT / "docs" / "scheduling.md"
SHELL_ENDS = {">", ">>", "|", "||", "&&", ";", "2>&1", "&"}


def load_dag_module():
    spec = importlib.util.spec_from_file_location("airflow_ga4kit_dag", EXAMPLES / "airflow_ga4kit_dag.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def airflow_installed() -> bool:
    return importlib.util.find_spec("airflow") is not None


def pull_args(command: str) -> list[str]:
    """The arguments after `ga4kit pull` in a shell command line, up to a redirection or another command."""
    words = shlex.split(command)
    start = next(i for i, w in enumerate(words) if w == "pull" and i and words[i - 1].endswith("ga4kit"))
    args = []
    for w in words[start + 1:]:
        if w in SHELL_ENDS:
            break
        args.append(w)
    return args


def check_parses(args: list[str]) -> None:
    ctx = pull_cmd.make_context("pull", list(args))  # raises click.UsageError for an unknown option or value
    assert ctx.params["output"], args
    assert ctx.params["incremental"], f"a scheduled recipe without --incremental: {args}"


def commands() -> list[tuple[str, list[str]]]:
    found = []
    for path in [DOC, *sorted(EXAMPLES.rglob("*"))]:
        if not path.is_file() or path.suffix == ".py":
            continue
        text = path.read_text().replace("\\\n", " ")
        text = re.sub(r"\$\{\{[^}]*\}\}", "0", text)  # GitHub expressions are filled in before the shell runs
        for line in text.splitlines():
            # A command line, not prose that names the command (`ga4kit pull ...`) or the summary line.
            if re.search(r"(?<!`)ga4kit pull ", line) and not line.lstrip().startswith(("#", "ga4kit pull:")):
                command = line.split("run: ", 1)[-1] if path.suffix == ".yml" else line
                command = command.split("ExecStart=", 1)[-1]
                found.append((f"{path.name}: {line.strip()[:60]}", pull_args(command)))
        for m in re.finditer(r'--args="(pull,[^"]+)"', text):  # Cloud Run's comma-separated arguments
            found.append((f"{path.name}: --args", m.group(1).split(",")[1:]))
    return found


def test_the_dag_file_imports_without_airflow_and_gives_one_command_per_shard():
    module = load_dag_module()
    commands = module.shard_commands(3, goals="g.yaml", output="out.xlsx")
    assert [pull_args(c)[pull_args(c).index("--shard") + 1] for c in commands] == ["0/3", "1/3", "2/3"]
    for c in commands:
        check_parses(pull_args(c))
    if airflow_installed():  # pragma: no cover (Airflow is not a dependency)
        dag = module.build_dag(count=3)
        assert len(dag.tasks) == 3 and dag.catchup is False
    else:
        assert module.dag is None and module.build_dag() is None


@pytest.mark.parametrize("where, args", commands(), ids=lambda v: v if isinstance(v, str) else "")
def test_every_pull_command_in_the_examples_and_the_doc_parses(where, args):
    try:
        check_parses(args)
    except click.UsageError as exc:
        pytest.fail(f"{where}: {exc}")


def test_every_recipe_is_there():
    assert len(commands()) >= 6
    names = {p.relative_to(EXAMPLES).as_posix() for p in EXAMPLES.rglob("*") if p.is_file()}
    assert {"cron/crontab", "systemd/ga4kit-pull.service", "systemd/ga4kit-pull.timer",
            "github-actions/ga4kit-pull.yml", "cloud-run/deploy.sh", "airflow_ga4kit_dag.py"} <= names
    workflow = yaml.safe_load((EXAMPLES / "github-actions" / "ga4kit-pull.yml").read_text())
    assert workflow[True]["schedule"][0]["cron"]  # YAML 1.1 reads the key `on` as True
    steps = workflow["jobs"]["pull"]["steps"]
    assert not any("cache" in str(s.get("uses", "")) for s in steps)  # the state lives in the destination
    timer = (EXAMPLES / "systemd" / "ga4kit-pull.timer").read_text()
    assert "OnCalendar=" in timer and "Persistent=true" in timer
    for block in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S):
        ast.parse(block)
