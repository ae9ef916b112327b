"""The README's library example runs as printed, against the local emulator, and uses only `import ga4kit`.

Its file names are pointed at a temporary copy of the goals file (with the emulator's property id) and a
temporary output; the clients find the emulator through GA4KIT_EMULATOR_HOST, as a user's would.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import openpyxl
import pytest

ROOT = Path(__file__).resolve().parents[1]


def library_example() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## The library", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1, "the library section holds one Python example"
    return blocks[0]


def test_the_example_imports_only_the_top_level():
    tree = ast.parse(library_example())
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert [(type(n).__name__, [a.name for a in n.names]) for n in imports] == [("Import", ["ga4kit"])]
    import ga4kit

    used = {n.attr for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "ga4kit"}
    assert used and used <= set(ga4kit.__all__), used - set(ga4kit.__all__)


@pytest.fixture(scope="module")
def shop():
    """The demo shop with 35 days of events (the example pulls 7 and analyses 28 against the 28 before)."""
    from ga4kit.emulator import Emulator

    with Emulator(days=35, users=400, seed=11) as emu:
        yield emu


def test_the_example_runs_on_the_emulator(shop, tmp_path, monkeypatch):
    goals = tmp_path / "goals.yaml"
    pid = shop.admin.property_ids()[0]
    goals.write_text((ROOT / "configs" / "shop.yaml").read_text().replace('"123456789"', f'"{pid}"'))
    monkeypatch.setenv("GA4KIT_EMULATOR_HOST", shop.address)
    monkeypatch.chdir(tmp_path)
    code = library_example()
    assert '"goals.yaml"' in code and '"goals.xlsx"' in code
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - the README's own example

    assert scope["result"].ok
    chains = scope["chains"]
    assert {"step", "users"} <= set(chains.columns) and chains["users"].sum() > 0
    book = openpyxl.load_workbook(tmp_path / "goals.xlsx", read_only=True)
    assert {"events", "baseline"} <= set(book.sheetnames)
    events = list(book["events"].iter_rows(values_only=True))
    assert len(events) > 1 and "event_count" in events[0]
    # Re-running the example changes nothing on the property (apply is idempotent).
    import ga4kit

    with ga4kit.make_clients() as clients:
        assert not ga4kit.plan(ga4kit.load(goals), clients).has_changes


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])
