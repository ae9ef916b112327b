"""Load a goals file (YAML) and validate it completely before any call to GA4.

Every problem is collected with its file, line and a fix, and all of them are raised together in one
:class:`ga4kit.errors.ConfigError`. Nothing but ``ConfigError`` ever leaves :func:`load` or
:func:`load_text` for bad input, whatever the text.
"""

from __future__ import annotations

import contextlib
import difflib
import gc
import math
import os
import re
from typing import Any

from ga4kit import ids
from ga4kit import constants
from ga4kit.config import model, naming
from ga4kit.errors import ConfigError, IdentifierError, Problem

MAX_BYTES = 1_000_000  # a goals file is a few KB; anything this large is a mistake
MAX_NODES = 100_000  # guards against alias bombs ("billion laughs")
MAX_DEPTH = 50

TOP_KEYS = ("version", "properties", "defaults", "goals", "chains", "report")
PROPERTY_KEYS = ("id", "label", "stream", "service_level")
DEFAULT_KEYS = ("counting", "currency")
GOAL_KEYS = ("event", "type", "kind", "counting", "value", "currency", "derive", "description")
DERIVE_KEYS = ("from", "where", "copy_parameters")
CHAIN_KEYS = ("name", "steps", "description")
REPORT_KEYS = ("segments", "range", "grain")
RANGE_KEYS = ("start", "end")
COUNTING = {key: key for key in constants.COUNTING}  # goals-file spelling (the value GA4 gets is in constants)
GRAINS = constants.GRAINS
MAX_SEGMENTS = constants.MAX_SEGMENTS


class _Collector:
    """Accumulates problems; knows the line of every path in the document."""

    def __init__(self, source: str, lines: dict[tuple, int]):
        self.source = source
        self.lines = lines
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def line(self, path: tuple) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def _add(self, bucket: list, path: tuple, message: str, fix: str | None, severity: str) -> None:
        bucket.append(Problem(self.source, self.line(path), _fmt_path(path), message, fix, severity))

    def error(self, path: tuple, message: str, fix: str | None = None) -> None:
        self._add(self.problems, path, message, fix, "error")

    def warn(self, path: tuple, message: str, fix: str | None = None) -> None:
        self._add(self.warnings, path, message, fix, "warning")


def _fmt_path(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _suggest(word: Any, options) -> str | None:
    if not isinstance(word, str):
        return None
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return close[0] if close else None


# ---------------------------------------------------------------- YAML with line numbers

# What YAML (and PyYAML's reader) refuses in a document: control characters other than tab and line
# breaks, surrogates, U+FFFE/U+FFFF.
_NON_PRINTABLE = re.compile("[^\x09\x0A\x0D\x20-\x7E\x85\xA0-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]")

_STANDARD_SCALARS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null",
                                                                  "timestamp"))
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


class _TooDeep(Exception):
    def __init__(self, mark):
        self.mark = mark


_LOADERS: dict = {}


def _loader_class():
    """A safe YAML loader on libyaml's C parser when PyYAML has it (about 10x faster), else the pure-Python
    one; either way with a composer that stops at MAX_DEPTH levels instead of recursing until Python's
    RecursionError (500 nested brackets are a 1 KB file)."""
    if "loader" in _LOADERS:
        return _LOADERS["loader"]
    import yaml
    from yaml.composer import Composer

    class DepthComposer(Composer):
        def compose_node(self, parent, index):
            self._depth = getattr(self, "_depth", 0) + 1
            try:
                if self._depth > MAX_DEPTH:
                    raise _TooDeep(self.peek_event().start_mark)
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1

    try:
        from yaml.cyaml import CParser as c_parser
    except ImportError:  # pragma: no cover (PyYAML built without libyaml)
        c_parser = None
    if c_parser is not None:
        class Loader(DepthComposer, c_parser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
            def __init__(self, stream):
                c_parser.__init__(self, stream)
                DepthComposer.__init__(self)
                yaml.constructor.SafeConstructor.__init__(self)
                yaml.resolver.Resolver.__init__(self)
    else:  # pragma: no cover (PyYAML without libyaml)
        class Loader(DepthComposer, yaml.SafeLoader):
            pass

    _LOADERS["loader"] = Loader
    return Loader


def _yaml_syntax_problem(exc, text: str, source: str) -> Problem:
    """One clear problem for a YAML syntax error; a tab in the indentation gets its own explanation
    (parsers call it "found character that cannot start any token")."""
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    lines = text.splitlines()
    if line:
        for n in (line, line - 1, line + 1):  # the parser may stumble a line before or after the tab
            if 1 <= n <= len(lines) and "\t" in lines[n - 1][: len(lines[n - 1]) - len(lines[n - 1].lstrip())]:
                return Problem(source, n, "", "this line is indented with a tab, but YAML indentation takes "
                               "spaces, not tabs", "replace the tab at the start of the line with spaces "
                               "(two per level is usual)")
    what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
    return Problem(source, line, "", f"this is not valid YAML: {what}",
                   "check the indentation and quoting around that line")


def _parse_yaml(text: str, source: str) -> tuple[Any, dict[tuple, int]]:
    import yaml

    bad = _NON_PRINTABLE.search(text)
    if bad:  # found here, not by the parser, which cannot say on which line (or fails on surrogates)
        line = text.count("\n", 0, bad.start()) + 1
        raise ConfigError([Problem(source, line, "", f"the file holds a control or invalid character "
                                   f"(U+{ord(bad.group()):04X}), which YAML does not allow",
                                   "delete it; it is often invisible in editors")])
    loader = _loader_class()(text)
    try:
        root = loader.get_single_node()
    except _TooDeep as exc:
        raise ConfigError([Problem(source, exc.mark.line + 1 if exc.mark else None, "",
                                   f"the document is nested more than {MAX_DEPTH} levels deep; a goals file "
                                   "needs a handful", "check the brackets and indentation around that line")]
                          ) from None
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([_yaml_syntax_problem(exc, text, source)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(source, None, "", f"this is not valid YAML: {exc}", None)]) from None
    except RecursionError:  # pragma: no cover (the composer stops at MAX_DEPTH first)
        raise ConfigError([Problem(source, None, "", "the document is nested too deeply", None)]) from None
    finally:
        dispose = getattr(loader, "dispose", None)
        if dispose:
            dispose()
    if root is None:
        raise ConfigError([Problem(source, None, "", "the file is empty",
                                   "start from an example in configs/, e.g. configs/shop.yaml")])
    constructor = yaml.constructor.SafeConstructor()
    lines: dict[tuple, int] = {}
    count = [0]

    def refuse_tag(node, path: tuple) -> None:
        raise ConfigError([Problem(source, node.start_mark.line + 1, _fmt_path(path),
                                   f"the YAML tag {_short_tag(node.tag)} is not allowed in a goals file",
                                   "remove the tag: a goals file holds plain text, numbers, yes/no, lists and "
                                   "mappings")])

    def build(node, path: tuple, depth: int, active: frozenset):
        count[0] += 1
        if count[0] > MAX_NODES or depth > MAX_DEPTH:
            raise ConfigError([Problem(source, node.start_mark.line + 1, _fmt_path(path),
                                       "the document is nested or aliased too deeply to be a goals file", None)])
        if id(node) in active:
            raise ConfigError([Problem(source, node.start_mark.line + 1, _fmt_path(path),
                                       "the document refers to itself (a recursive YAML alias)", None)])
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            if node.tag != _MAP_TAG:
                refuse_tag(node, path)
            for key_node, value_node in node.value:  # merged mappings (<<: *x) must be plain too
                if key_node.tag == "tag:yaml.org,2002:merge":
                    for sub in (value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]):
                        if isinstance(sub, yaml.MappingNode) and sub.tag != _MAP_TAG:
                            refuse_tag(sub, path)
            try:
                constructor.flatten_mapping(node)
            except yaml.YAMLError as exc:
                raise ConfigError([Problem(source, node.start_mark.line + 1, _fmt_path(path),
                                           f"this merge (<<) cannot be read: {getattr(exc, 'problem', exc)}",
                                           None)]) from None
            out: dict = {}
            inner = active | {id(node)}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise ConfigError([Problem(source, key_node.start_mark.line + 1, _fmt_path(path),
                                               "a key here is a list or mapping; keys must be plain words",
                                               None)])
                if key_node.tag not in _STANDARD_SCALARS:
                    refuse_tag(key_node, path)
                key = constructor.construct_object(key_node)
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    key = str(key)
                if key in out:
                    raise ConfigError([Problem(source, key_node.start_mark.line + 1, _fmt_path(path + (key,)),
                                               f"the key {key!r} appears twice", "keep one of them")])
                lines[path + (key,)] = key_node.start_mark.line + 1
                out[key] = build(value_node, path + (key,), depth + 1, inner)
            return out
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                refuse_tag(node, path)
            inner = active | {id(node)}
            return [build(item, path + (i,), depth + 1, inner) for i, item in enumerate(node.value)]
        if node.tag not in _STANDARD_SCALARS:
            refuse_tag(node, path)
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value  # dates stay text: GA4 takes YYYY-MM-DD, and a bad date is reported later
        try:
            return constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            raise ConfigError([Problem(source, node.start_mark.line + 1, _fmt_path(path),
                                       f"this value cannot be read: {exc}", None)]) from None

    try:
        return build(root, (), 0, frozenset()), lines
    except RecursionError:  # pragma: no cover (MAX_DEPTH stops it first)
        raise ConfigError([Problem(source, None, "", "the document is nested too deeply", None)]) from None


def _short_tag(tag: str) -> str:
    """!!python/object:os.system rather than tag:yaml.org,2002:python/object:os.system."""
    prefix = "tag:yaml.org,2002:"
    return "!!" + tag[len(prefix):] if tag.startswith(prefix) else tag


# ---------------------------------------------------------------- public entry points

def load(path: str | os.PathLike) -> model.GoalsConfig:
    """Read and validate a goals file. Raises ConfigError listing every problem."""
    source = os.fspath(path)
    try:
        size = os.path.getsize(source)
        if size > MAX_BYTES:
            raise ConfigError([Problem(source, None, "", f"the file is {size:,} bytes; a goals file is at most "
                                       f"{MAX_BYTES:,}", "check that this is the goals file you meant")])
        with open(source, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError([Problem(source, None, "", "the file does not exist",
                                   "check the path; examples are in configs/")]) from None
    except IsADirectoryError:
        raise ConfigError([Problem(source, None, "", "this is a directory, not a goals file",
                                   "name a .yaml file inside it")]) from None
    except OSError as exc:
        raise ConfigError([Problem(source, None, "", f"the file cannot be read: {exc.strerror}",
                                   "check its permissions")]) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError([Problem(source, line, "", "the file is not UTF-8 text",
                                   "save it as UTF-8 (most editors: File > Save with encoding)")]) from None
    return load_text(text, source=source)


def load_text(text: str, source: str = "<string>") -> model.GoalsConfig:
    """Validate goals-file text. Raises ConfigError listing every problem; warnings land on the config."""
    if not isinstance(text, str):
        raise ConfigError([Problem(source, None, "", "the goals file must be text", None)])
    if len(text) > MAX_BYTES:
        raise ConfigError([Problem(source, None, "", f"the text is {len(text):,} characters; a goals file is at "
                                   f"most {MAX_BYTES:,}", None)])
    if "\x00" in text:
        raise ConfigError([Problem(source, None, "", "the file holds NUL bytes: it is binary, not YAML",
                                   "check that this is the goals file you meant")])
    with _gc_paused():
        data, lines = _parse_yaml(text, source)
        c = _Collector(source, lines)
        if not isinstance(data, dict):
            c.error((), f"the file holds a {_kind(data)}, but a goals file is a mapping with keys "
                    f"{', '.join(TOP_KEYS)}", "start from an example in configs/, e.g. configs/shop.yaml")
            raise ConfigError(c.problems)
        cfg = _validate(data, c)
    if c.problems:
        raise ConfigError(_by_line(c.problems), _by_line(c.warnings))
    return cfg


@contextlib.contextmanager
def _gc_paused():
    """Python's cyclic garbage collector paused: composing allocates a node and a mark per scalar, and the
    collector kept walking the growing graph (more than half the time of 10,000 goals). Nothing here needs
    it; it runs again as soon as the file is read."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _by_line(problems: list[Problem]) -> list[Problem]:
    """In file order (problems without a line, about the whole file, first); stable within a line."""
    return sorted(problems, key=lambda p: p.line or 0)


# ---------------------------------------------------------------- validation

def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    return {dict: "mapping", list: "list", str: "text", bool: "yes/no value", int: "number",
            float: "number"}.get(type(value), type(value).__name__)


def _unknown_keys(c: _Collector, data: dict, allowed, path: tuple, what: str) -> None:
    for key in data:
        if key not in allowed:
            guess = _suggest(key, allowed)
            c.error(path + (key,), f"unknown key {key!r} in {what}",
                    f"did you mean {guess!r}?" if guess else f"allowed keys: {', '.join(allowed)}")


def _as_mapping(c: _Collector, value: Any, path: tuple, what: str) -> dict | None:
    if value is None:
        return {}
    if not isinstance(value, dict):
        c.error(path, f"{what} must be a mapping (key: value lines), not a {_kind(value)}", None)
        return None
    return value


def _as_list(c: _Collector, value: Any, path: tuple, what: str, example: str) -> list | None:
    if value is None:
        return []
    if not isinstance(value, list):
        c.error(path, f"{what} must be a list (lines starting with '- '), not a {_kind(value)}", f"e.g. {example}")
        return None
    return value


def _text(c: _Collector, value: Any, path: tuple, what: str, required: bool = False) -> str | None:
    if value is None:
        if required:
            c.error(path, f"{what} is missing", None)
        return None
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        c.error(path, f"{what} must be text, not a {_kind(value)}", None)
        return None
    return str(value)


def _counting(c: _Collector, value: Any, path: tuple) -> str | None:
    if value is None:
        return None
    key = str(value).strip().lower() if isinstance(value, str) else None
    if key in COUNTING:
        return COUNTING[key]
    c.error(path, f"counting {value!r} is not a GA4 counting method", "use once_per_event or once_per_session")
    return None


def _currency(c: _Collector, value: Any, path: tuple) -> str | None:
    if value is None:
        return None
    code = value.strip().upper() if isinstance(value, str) else None
    if code in naming.CURRENCIES:
        if value != code:
            c.warn(path, f"currency {value!r} written as {code!r}", f"write {code!r}")
        return code
    guess = _suggest(code or str(value), naming.CURRENCIES) if isinstance(value, str) else None
    c.error(path, f"{value!r} is not an ISO 4217 currency code",
            f"use a three-letter code such as EUR, USD or GBP{f' (did you mean {guess}?)' if guess else ''}")
    return None


def _validate(data: dict, c: _Collector) -> model.GoalsConfig:
    _unknown_keys(c, data, TOP_KEYS, (), "the goals file")

    version = data.get("version")
    if version is None:
        c.warn(("version",), "the file has no version", "add `version: 1` as the first line")
    elif version != 1 or isinstance(version, bool):
        c.error(("version",), f"version {version!r} is not supported; this ga4kit reads version 1",
                "write `version: 1`")

    props = _properties(data.get("properties"), c)
    defaults = _defaults(data.get("defaults"), c)
    goals, declared = _goals(data.get("goals"), defaults, c)
    chains = _chains(data.get("chains"), goals, declared, c)
    report = _report(data.get("report"), c)

    # The cap counts custom key events; GA4's default `purchase` key event is not custom.
    # Key events GA4 creates itself (purchase on web, first_open on apps, ...) are not custom: the same list
    # plan uses, so validate's cap check and plan's never disagree.
    custom = [g for g in goals.values() if g.event not in constants.DEFAULT_KEY_EVENTS]
    levels = {p.get("service_level", "standard") for p in props} or {"standard"}
    cap = min(constants.KEY_EVENT_CAP.get(level, constants.STANDARD_KEY_EVENT_CAP) for level in levels)
    if len(custom) > cap:
        c.error(("goals",), f"{len(custom)} custom key events are declared, but a "
                f"{'GA4 360' if cap == 50 else 'standard GA4'} property holds at most {cap}",
                f"remove {len(custom) - cap} goal(s), or keep them as plain events without a key event"
                + ("" if cap == 50 else " (a GA4 360 property holds 50: set service_level: \"360\")"))
    macros = [g.event for g in goals.values() if g.type == model.MACRO]
    if len(macros) > 2:
        c.warn(("goals",), f"{len(macros)} macro goals ({', '.join(macros)}); the usual advice is two or fewer",
               "make the others micro goals (type: micro)")
    if goals and not macros and not any(t == model.MACRO for t in declared.values()):
        c.warn(("goals",), "no macro goal is declared", "mark the business outcome (e.g. purchase) type: macro")

    return model.GoalsConfig(
        version=1,
        properties=tuple(model.PropertyRef(p["id"], p.get("label"), p.get("stream")) for p in props),
        goals=tuple(goals.values()),
        chains=tuple(chains),
        defaults=defaults,
        report=report,
        source=c.source,
        warnings=tuple(_by_line(c.warnings)),
    )


def _properties(value: Any, c: _Collector) -> list[dict]:
    items = _as_list(c, value, ("properties",), "properties", "- {id: \"123456789\", label: Shop}")
    out: list[dict] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(items or []):
        path = ("properties", i)
        if isinstance(item, (str, int)) and not isinstance(item, bool):
            item = {"id": item}
        if not isinstance(item, dict):
            c.error(path, f"a property must be a mapping with an id, not a {_kind(item)}",
                    "write - {id: \"123456789\", label: Shop}")
            continue
        _unknown_keys(c, item, PROPERTY_KEYS, path, "a property")
        if item.get("id") is None:
            c.error(path, "the property has no id", "add id: \"123456789\" (GA4 Admin > Property details)")
            continue
        try:
            pid = ids.property_id(item["id"])
        except IdentifierError as exc:
            c.error(path + ("id",), exc.message, exc.hint)
            continue
        if pid in seen:
            c.error(path + ("id",), f"property {pid} is listed twice (also as properties[{seen[pid]}])",
                    "remove one of them")
            continue
        seen[pid] = i
        entry: dict = {"id": pid, "label": _text(c, item.get("label"), path + ("label",), "label")}
        if item.get("stream") is not None:
            try:
                entry["stream"] = ids.stream_id(item["stream"])
            except IdentifierError as exc:
                c.error(path + ("stream",), exc.message, exc.hint)
        level = item.get("service_level")
        if level is not None:
            norm = str(level).strip().lower()
            if norm in ("standard", "360"):
                entry["service_level"] = norm
            else:
                c.error(path + ("service_level",), f"service_level {level!r} is not known",
                        "write standard or \"360\"")
        out.append(entry)
    return out


def _defaults(value: Any, c: _Collector) -> model.Defaults:
    data = _as_mapping(c, value, ("defaults",), "defaults")
    if not data:
        return model.Defaults()
    _unknown_keys(c, data, DEFAULT_KEYS, ("defaults",), "defaults")
    counting = _counting(c, data.get("counting"), ("defaults", "counting")) or model.ONCE_PER_EVENT
    currency = _currency(c, data.get("currency"), ("defaults", "currency"))
    return model.Defaults(counting=counting, currency=currency)


def _goals(value: Any, defaults: model.Defaults, c: _Collector) -> tuple[dict[str, model.Goal], dict[str, Any]]:
    """Valid goals by event name, and every event name declared at all (with its type), so that a goal
    with its own error does not also make every chain naming it fail."""
    declared: dict[str, Any] = {}
    if value is None:
        c.error(("goals",), "the file declares no goals",
                "add a goals list, e.g. goals: [{event: purchase, type: macro}]")
        return {}, declared
    items = _as_list(c, value, ("goals",), "goals", "- {event: purchase, type: macro}")
    if items is not None and not items:
        c.error(("goals",), "the goals list is empty", "add at least one goal, e.g. - {event: purchase, type: macro}")
    goals: dict[str, model.Goal] = {}
    first_seen: dict[str, int] = {}
    for i, item in enumerate(items or []):
        path = ("goals", i)
        if not isinstance(item, dict):
            c.error(path, f"a goal must be a mapping, not a {_kind(item)}", "write - {event: add_to_cart, type: micro, "
                    "kind: milestone}")
            continue
        event = item.get("event")
        duplicate = isinstance(event, str) and event in first_seen
        if isinstance(event, str):
            declared.setdefault(event, item.get("type"))
        goal = _goal(item, path, defaults, c)  # its own problems are reported even when it is a duplicate
        if duplicate:
            c.error(path + ("event",), f"the goal {event!r} is declared twice (first at line "
                    f"{c.line(('goals', first_seen[event]))})", "keep one declaration")
            continue
        if isinstance(event, str):
            first_seen[event] = i
        if goal is not None:
            goals[goal.event] = goal
    return goals, declared


def _goal(item: dict, path: tuple, defaults: model.Defaults, c: _Collector) -> model.Goal | None:
    _unknown_keys(c, item, GOAL_KEYS, path, "a goal")
    before = len(c.problems)
    if item.get("event") is None:
        c.error(path, "the goal has no event name", "add event: NAME (the GA4 event to count)")
    event = _text(c, item.get("event"), path + ("event",), "event")
    if event is not None:
        bad = naming.event_name_problem(event)
        if bad:
            c.error(path + ("event",), bad[0], bad[1])
    gtype = item.get("type")
    if gtype is None:
        c.error(path, f"the goal {event!r} has no type", "add type: micro or type: macro")
    elif gtype not in (model.MICRO, model.MACRO):
        c.error(path + ("type",), f"type {gtype!r} is not micro or macro", "write type: micro or type: macro")
    kind = item.get("kind")
    if gtype == model.MACRO:
        if kind is not None:
            c.error(path + ("kind",), "kind is for micro goals only", "remove kind from this macro goal")
    elif kind is not None and kind not in (model.MILESTONE, model.SECONDARY):
        # checked whatever the type says: a misspelt type must not hide a misspelt kind
        c.error(path + ("kind",), f"kind {kind!r} is not milestone or secondary",
                "write kind: milestone or kind: secondary")
    elif gtype == model.MICRO and kind is None:
        c.error(path, f"the micro goal {event!r} has no kind",
                "add kind: milestone (a step on the path to the macro goal) or kind: secondary (engagement "
                "off the path)")
    counting = _counting(c, item.get("counting"), path + ("counting",)) or defaults.counting
    value = item.get("value")
    if value is not None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            c.error(path + ("value",), f"value {value!r} is not a number of zero or more", "write e.g. value: 2.5")
            value = None
        else:
            value = float(value)
    currency = _currency(c, item.get("currency"), path + ("currency",))
    if value is not None and currency is None and item.get("currency") is None:
        currency = defaults.currency
        if currency is None:
            c.error(path + ("value",), "a value needs a currency (GA4 requires both)",
                    "add currency: EUR to the goal, or defaults: {currency: EUR}")
    if value is None and item.get("currency") is not None and item.get("value") is None:
        c.warn(path + ("currency",), "currency without value does nothing", "add value: or remove currency:")
        currency = None
    derive = None
    if item.get("derive") is not None:
        derive = _derive(item["derive"], path + ("derive",), event, c)
    if event == "page_view" and derive is None:
        c.warn(path + ("event",), "page_view as a key event counts every page view as a conversion",
               "derive a goal from page_view instead (derive: {from: page_view, where: [...]})")
    description = _text(c, item.get("description"), path + ("description",), "description")
    if len(c.problems) > before or event is None or gtype not in (model.MICRO, model.MACRO):
        return None
    return model.Goal(event=event, type=gtype, kind=kind if gtype == model.MICRO else None, counting=counting,
                      value=value, currency=currency if value is not None else None, derive=derive,
                      description=description)


def _derive(value: Any, path: tuple, event: str | None, c: _Collector) -> model.Derive | None:
    data = _as_mapping(c, value, path, "derive")
    if data is None:
        return None
    _unknown_keys(c, data, DERIVE_KEYS, path, "derive")
    if event in naming.AUTO_COLLECTED:
        c.error(path, f"{event!r} is an event GA4 collects itself; a create-event rule must not produce it",
                f"give the derived goal its own name, e.g. {event}_goal" if event else None)
    elif event in naming.RESERVED_EVENT_NAMES:
        c.error(path, f"{event!r} is reserved by GA4", "give the derived goal another name")
    source = _text(c, data.get("from"), path + ("from",), "derive.from", required=True)
    if source is not None:
        bad = naming.event_name_problem(source)
        if bad:
            c.error(path + ("from",), bad[0], bad[1])
        if source == event:
            c.error(path + ("from",), "a goal cannot be derived from itself",
                    "derive it from another event, e.g. from: page_view")
    where_items = _as_list(c, data.get("where"), path + ("where",), "where",
                           "- {param: page_location, contains: /pricing}")
    conditions = []
    what = f"every {source} event" if source else "every source event"
    if "where" in data and where_items == []:
        c.error(path + ("where",), "where is empty: a derived goal needs at least one condition (derived "
                "from the whole event it only copies " + what + " under a new name)",
                "add a condition, e.g. - {param: page_location, contains: /pricing}; or count the source "
                "event itself as the goal")
    elif "where" not in data and source is not None:
        c.warn(path, f"the rule has no where: {what} is copied as {event!r}, so the goal counts the same as "
               f"{source}", "add where: [{param: page_location, contains: /pricing}] to pick some, unless a copy "
               "under a new name is what you want")
    if where_items is not None and len(where_items) > 9:
        c.error(path + ("where",), f"{len(where_items)} conditions; GA4 allows 10 per rule, one of which is the "
                "event name", "keep at most 9 conditions")
    for j, cond in enumerate(where_items or []):
        parsed = _condition(cond, path + ("where", j), c)
        if parsed:
            conditions.append(parsed)
    copy = data.get("copy_parameters", True)
    if not isinstance(copy, bool):
        c.error(path + ("copy_parameters",), "copy_parameters must be true or false", None)
        copy = True
    if source is None:
        return None
    return model.Derive(source=source, where=tuple(conditions), copy_parameters=copy)


_NUMERIC_OPS = {"less_than", "less_than_or_equal", "greater_than", "greater_than_or_equal", "not_equals"}


def _condition(value: Any, path: tuple, c: _Collector) -> model.Condition | None:
    """One condition of a derived goal; every problem in it is reported, not just the first."""
    if not isinstance(value, dict):
        c.error(path, f"a condition must be a mapping, not a {_kind(value)}",
                "write - {param: page_location, contains: /pricing}")
        return None
    before = len(c.problems)
    ops = [k for k in value if k in model.CONDITION_OPERATORS]
    unknown = [k for k in value if k not in model.CONDITION_OPERATORS and k not in ("param", "negate")]
    for key in unknown:
        guess = _suggest(key, list(model.CONDITION_OPERATORS) + ["param", "negate"])
        c.error(path + (key,), f"unknown key {key!r} in a condition",
                f"did you mean {guess!r}?" if guess else "use param: plus one of " + ", ".join(model.CONDITION_OPERATORS))
    param = value.get("param")
    if param is None:
        c.error(path, "the condition names no parameter", "add param: page_location (or another event parameter)")
    elif not isinstance(param, str) or not re.match(r"^[A-Za-z][A-Za-z0-9_]{0,39}$", param):
        c.error(path + ("param",), f"{param!r} is not a valid parameter name",
                "use letters, digits and underscores, starting with a letter, at most 40 characters")
    negate = value.get("negate", False)
    if not isinstance(negate, bool):
        c.error(path + ("negate",), "negate must be true or false", None)
    if len(ops) != 1:
        c.error(path, "a condition needs exactly one operator" + (f" (found {', '.join(ops)})" if ops else ""),
                "use one of " + ", ".join(model.CONDITION_OPERATORS))
    texts = {op: _operand(value[op], op, path, c) for op in ops}
    if len(c.problems) > before or len(ops) != 1:
        return None
    op = ops[0]
    return model.Condition(param=param, operator=op, value=texts[op], negated=negate)


def _operand(raw: Any, op: str, path: tuple, c: _Collector) -> str | None:
    """The value a condition compares with, as GA4 takes it (text), or None after reporting why not."""
    if raw is None or isinstance(raw, (dict, list)):
        c.error(path + (op,), f"the {op} condition needs a single value", None)
        return None
    text = str(raw).lower() if isinstance(raw, bool) else str(raw)
    if op in _NUMERIC_OPS:
        try:
            float(text)
        except ValueError:
            c.error(path + (op,), f"{op} compares numbers, but {raw!r} is not a number", None)
            return None
    if op.startswith("regex"):
        try:
            re.compile(text)
        except re.error as exc:
            c.error(path + (op,), f"the regular expression {text!r} is invalid: {exc}", None)
            return None
    return text


def _chains(value: Any, goals: dict[str, model.Goal], declared: dict[str, Any], c: _Collector) -> list[model.Chain]:
    items = _as_list(c, value, ("chains",), "chains", "- {name: checkout, steps: [view_item, add_to_cart, purchase]}")
    out: list[model.Chain] = []
    names: set[str] = set()
    for i, item in enumerate(items or []):
        path = ("chains", i)
        if not isinstance(item, dict):
            c.error(path, f"a chain must be a mapping, not a {_kind(item)}",
                    "write - {name: checkout, steps: [view_item, add_to_cart, purchase]}")
            continue
        _unknown_keys(c, item, CHAIN_KEYS, path, "a chain")
        name = _text(c, item.get("name"), path + ("name",), "the chain name", required=True)
        if name is not None:
            if name in names:
                c.error(path + ("name",), f"the chain name {name!r} is used twice", "give each chain its own name")
            names.add(name)
        steps = _as_list(c, item.get("steps"), path + ("steps",), "steps", "[view_item, add_to_cart, purchase]")
        if steps is None:
            continue
        if len(steps) < 2:
            c.error(path + ("steps",), "a chain needs at least two steps (micro goals, then a macro goal)",
                    "list the steps in order, ending with the macro goal")
            continue
        ok = True
        seen: set = set()
        for j, step in enumerate(steps):
            spath = path + ("steps", j)
            if not isinstance(step, str):
                c.error(spath, f"a step must be a goal's event name, not a {_kind(step)}", None)
                ok = False
                continue
            if step in seen:
                c.error(spath, f"{step!r} appears twice in the chain", "keep each step once")
                ok = False
            seen.add(step)
            if step not in declared:
                guess = _suggest(step, declared)
                c.error(spath, f"the step {step!r} is not a declared goal",
                        f"did you mean {guess!r}?" if guess else f"declare it under goals, or use one of: "
                        f"{', '.join(declared) or '(none declared)'}")
                ok = False
            elif step not in goals:
                ok = False  # the goal has its own error above
            elif goals[step].kind == model.SECONDARY:
                c.warn(spath, f"{step!r} is a secondary action, not a milestone on the path",
                       "chains usually hold milestones; keep secondary actions in the goal summary")
        last = steps[-1]
        if isinstance(last, str) and last in declared and declared[last] in (model.MICRO, model.MACRO) \
                and declared[last] != model.MACRO:
            c.error(path + ("steps", len(steps) - 1), f"the chain ends with {steps[-1]!r}, a micro goal; a chain "
                    "ends with a macro goal", "end the steps with a macro goal (type: macro), e.g. purchase")
            ok = False
        if ok and name is not None:
            out.append(model.Chain(name=name, steps=tuple(steps)))
    return out


def _report(value: Any, c: _Collector) -> model.ReportSettings:
    data = _as_mapping(c, value, ("report",), "report")
    if not data:
        return model.ReportSettings()
    _unknown_keys(c, data, REPORT_KEYS, ("report",), "report")
    segments: tuple[str, ...] = model.ReportSettings().segments
    if "segments" in data:
        items = _as_list(c, data["segments"], ("report", "segments"), "segments", "[sessionDefaultChannelGroup]")
        if items is not None:
            good = []
            for i, seg in enumerate(items):
                p = ("report", "segments", i)
                if not isinstance(seg, str) or not re.match(r"^[A-Za-z][A-Za-z0-9_:]*$", seg):
                    c.error(p, f"{seg!r} is not a GA4 dimension name", "e.g. sessionDefaultChannelGroup")
                    continue
                if _segment_problem(seg, p, c):
                    continue
                good.append(seg)
            if len(good) > MAX_SEGMENTS:
                c.error(("report", "segments"), f"{len(good)} segment dimensions; a report holds at most "
                        f"{MAX_SEGMENTS} beside the event name and the period", f"keep at most {MAX_SEGMENTS}")
            if len(set(good)) != len(good):
                c.error(("report", "segments"), "a segment dimension is listed twice", "list each once")
            segments = tuple(good)
    start, end = model.ReportSettings().start, model.ReportSettings().end
    rng = data.get("range")
    if rng is not None:
        rng = _as_mapping(c, rng, ("report", "range"), "range")
        if rng is not None:
            _unknown_keys(c, rng, RANGE_KEYS, ("report", "range"), "range")
            for key in RANGE_KEYS:
                if key in rng:
                    v = str(rng[key]) if rng[key] is not None else ""
                    if not naming.DATE_RE.match(v) or not _valid_date(v):
                        c.error(("report", "range", key), f"{key} {rng[key]!r} is not a GA4 date",
                                "use YYYY-MM-DD, NdaysAgo, yesterday or today")
                    elif key == "start":
                        start = v
                    else:
                        end = v
            order = _date_order(start, end)
            if order is not None:
                c.error(("report", "range"), f"the range starts ({start}) after it ends ({end}){order}",
                        "swap start and end")
    grain = data.get("grain", "range")
    if grain not in GRAINS:
        c.error(("report", "grain"), f"grain {grain!r} is not one of {', '.join(GRAINS)}", "e.g. grain: week")
        grain = "range"
    return model.ReportSettings(segments=segments, start=start, end=end, grain=grain)


def _segment_problem(seg: str, path: tuple, c: _Collector) -> bool:
    """Report a segment dimension GA4 does not have (an error) or one ga4kit does not check (a warning);
    True when it cannot be used."""
    if seg in naming.OWN_DIMENSIONS:
        c.error(path, f"{seg!r} is already in every report ga4kit asks for (with the event name and the "
                "period), so it cannot be a segment", "remove it; report.grain chooses day, week or month")
        return True
    if naming.CUSTOM_DIMENSION_RE.match(seg):
        return False
    if seg.lower().startswith("custom"):
        c.error(path, f"{seg!r} is not a GA4 custom dimension name",
                "write customEvent:PARAMETER (event scope) or customUser:PROPERTY (user scope), as registered "
                "in GA4 Admin > Custom definitions")
        return True
    if seg not in naming.GA4_DIMENSIONS:
        guess = _suggest(seg, naming.KNOWN_SEGMENTS) or _suggest(seg, naming.GA4_DIMENSIONS)
        if guess is None:
            lowered = {d.lower(): d for d in naming.GA4_DIMENSIONS}
            guess = lowered.get(seg.lower())
        c.error(path, f"{seg!r} is not a GA4 dimension",
                (f"did you mean {guess!r}? " if guess else "") + "Use an API name from GA4's Data API schema "
                "(e.g. sessionDefaultChannelGroup, deviceCategory, country), or a custom dimension as "
                "customEvent:NAME / customUser:NAME")
        return True
    if seg not in naming.KNOWN_SEGMENTS:
        c.warn(path, f"{seg!r} is a GA4 dimension, but not a session- or user-scoped one ga4kit knows for "
               "conversion segments", "check that users per segment mean what you want")
    return False


def _days_ago(value: str) -> int | None:
    """How many days before today a relative GA4 date is (today 0, yesterday 1, NdaysAgo N), else None."""
    if value == "today":
        return 0
    if value == "yesterday":
        return 1
    m = re.match(r"^(\d+)daysAgo$", value)
    return int(m.group(1)) if m else None


def _date_order(start: str, end: str) -> str | None:
    """"" or a note when the range starts after it ends (None when it does not, or cannot be known).

    Relative dates compare with each other; a relative and an absolute date compare through today's date,
    with a day to spare for time zones (GA4 resolves relative dates in the property's zone)."""
    import datetime as dt

    a, b = _days_ago(start), _days_ago(end)
    if a is not None and b is not None:
        return "" if a < b else None
    try:
        sa = dt.date.fromisoformat(start) if a is None else None
        sb = dt.date.fromisoformat(end) if b is None else None
    except ValueError:
        return None
    if sa is not None and sb is not None:
        return "" if sa > sb else None
    today = dt.date.today()
    first = sa if sa is not None else today - dt.timedelta(days=a)
    last = sb if sb is not None else today - dt.timedelta(days=b)
    if (first - last).days > 1:
        return f" (today is {today.isoformat()})"
    return None


def _valid_date(value: str) -> bool:
    import datetime as dt

    if re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return False
    return True
