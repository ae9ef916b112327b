"""One set of client-side GA4 constants: validate and plan agree on which key events count toward the cap."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ga4kit import constants
from ga4kit.admin.plan import plan_key_events
from ga4kit.admin.translate import key_event_spec
from ga4kit.config import load_text
from ga4kit.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def _goals(events: list[str]) -> str:
    lines = [f"  - {{event: {e}, type: micro, kind: secondary}}" for e in events]
    return "version: 1\nproperties: [\"1\"]\ngoals:\n" + "\n".join(lines) + "\n  - {event: purchase, type: macro}\n"


def test_validate_and_plan_count_the_same_key_events_toward_the_cap():
    # 30 custom goals plus first_open, a key event GA4 creates itself on app properties: not custom for
    # plan, so not for validate either (validate used to count only purchase as GA4's own).
    events = [f"goal_{i}" for i in range(constants.STANDARD_KEY_EVENT_CAP)] + ["first_open"]
    cfg = load_text(_goals(events))
    actions = plan_key_events([key_event_spec(g) for g in cfg.goals], [], prune=False)
    assert sum(a.custom for a in actions) == constants.STANDARD_KEY_EVENT_CAP
    with pytest.raises(ConfigError, match="31 custom key events"):
        load_text(_goals(events + ["one_more"]))


def test_no_module_keeps_its_own_copy_of_the_shared_constants():
    # "(all)" and the grains are defined once (ga4kit.constants); the emulator keeps its own on purpose.
    for path in (ROOT / "ga4kit").rglob("*.py"):
        if "emulator" in path.parts or path.name == "constants.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Assign) and isinstance(node.value, (ast.Constant, ast.Tuple)):
                value = ast.literal_eval(node.value) if isinstance(node.value, ast.Constant) else None
                if isinstance(node.value, ast.Tuple):
                    try:
                        value = ast.literal_eval(node.value)
                    except ValueError:
                        continue
                assert value not in ("(all)", constants.GRAINS), f"{path.relative_to(ROOT)}:{node.lineno}"
