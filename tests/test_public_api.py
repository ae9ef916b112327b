"""The library's public face: `import ga4kit` gives every entry point lazily, the type stub lists the same
names, every package's __all__ is complete, and the package ships py.typed."""

from __future__ import annotations

import ast
import importlib
import inspect
import subprocess
import sys
import types
from pathlib import Path

import pytest

import ga4kit

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["ga4kit.admin", "ga4kit.config", "ga4kit.reporting", "ga4kit.render", "ga4kit.destinations",
            "ga4kit.emulator"]


def test_every_public_name_resolves_and_is_what_it_names():
    for name in ga4kit.__all__:
        value = getattr(ga4kit, name)
        assert value is not None, name
    assert ga4kit.load is importlib.import_module("ga4kit.config").load
    assert issubclass(ga4kit.ConfigError, ga4kit.Ga4kitError)
    assert issubclass(ga4kit.NetworkError, ga4kit.ApiError)
    assert callable(ga4kit.plan) and callable(ga4kit.apply) and callable(ga4kit.pull)
    with pytest.raises(AttributeError):
        ga4kit.no_such_name  # noqa: B018


def test_the_stub_lists_exactly_the_public_names():
    stub = ast.parse((ROOT / "ga4kit" / "__init__.pyi").read_text())
    names = {alias.asname or alias.name for node in stub.body if isinstance(node, ast.ImportFrom)
             for alias in node.names}
    assert names == set(ga4kit.__all__) - {"__version__"}


def test_import_ga4kit_loads_nothing_heavy():
    code = ("import sys, ga4kit; heavy = [m for m in sys.modules if m.split('.')[0] in "
            "('google', 'grpc', 'pandas', 'numpy', 'yaml', 'typing')]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() in ("[]", "['typing']"), out  # typing may come with the interpreter's own start-up


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_has_a_complete_all(package):
    mod = importlib.import_module(package)
    assert hasattr(mod, "__all__"), package
    missing = [n for n in mod.__all__ if not hasattr(mod, n)]
    assert not missing, (package, missing)
    # Every public class or function the package's __init__ puts in its namespace is in __all__.
    public = {n for n, v in vars(mod).items()
              if not n.startswith("_") and not isinstance(v, types.ModuleType)
              and (inspect.isclass(v) or inspect.isfunction(v))
              and getattr(v, "__module__", "").startswith("ga4kit")}
    assert public <= set(mod.__all__), (package, sorted(public - set(mod.__all__)))


def test_py_typed_is_shipped():
    assert (ROOT / "ga4kit" / "py.typed").is_file()
    text = (ROOT / "pyproject.toml").read_text()
    assert '"py.typed"' in text and '"__init__.pyi"' in text


def test_the_example_goals_files_have_one_source():
    # The package's examples (what the demo and an installed wheel use) are the repository's configs/.
    from ga4kit.demo import default_goals_file

    assert (ROOT / "ga4kit" / "examples").samefile(ROOT / "configs")
    assert default_goals_file().samefile(ROOT / "configs" / "shop.yaml")
    assert '"examples/*.yaml"' in (ROOT / "pyproject.toml").read_text()


def test_the_frames_reference_matches_the_frames(tmp_path):
    # ga4kit.frames is the one place the result columns are documented; the builders take their order from it.
    from ga4kit import frames as F
    from ga4kit.chains import chain_columns, goal_columns
    from ga4kit.flags import flag_columns
    from ga4kit.reporting.tidy import baseline_columns, event_columns

    segs = ["sessionDefaultChannelGroup", "deviceCategory"]
    assert event_columns(segs) == F.columns("events", segs)
    assert baseline_columns(segs)[-2:] == ["users", "sessions"]
    assert chain_columns(segs, previous=True)[-4:] == ["users_prev", "change_abs", "change_pct", "change_note"]
    assert goal_columns(segs) == F.columns("goals", segs)
    assert flag_columns(segs) == F.columns("flags", segs)
    for kind in F.FRAMES:
        assert all(c.meaning for c in F.FRAMES[kind]), kind
    assert "macro_per_step_user" in F.describe("chains")
