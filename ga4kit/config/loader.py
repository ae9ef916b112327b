"""Load a goals file (YAML) and validate it completely before any call to GA4.

Every problem is collected with its file, line and a fix, and all of them are raised together in one
:class:`ga4kit.errors.ConfigError`. Nothing but ``ConfigError`` ever leaves :func:`load` or
:func:`load_text` for bad input, whatever the text.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from typing import Any

from ga4kit import ids
from ga4kit.config import model, rules
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
COUNTING = {"once_per_event": model.ONCE_PER_EVENT, "once_per_session": model.ONCE_PER_SESSION}
GRAINS = ("day", "week", "month", "range")
MAX_SEGMENTS = 7  # 9 dimensions per request, minus eventName and the period dimension


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

def _parse_yaml(text: str, source: str) -> tuple[Any, dict[tuple, int]]:
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise ConfigError([Problem(source, line, "", f"this is not valid YAML: {what}",
                                   "check the indentation and quoting around that line")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(source, None, "", f"this is not valid YAML: {exc}", None)]) from None
    if root is None:
        raise ConfigError([Problem(source, None, "", "the file is empty",
                                   "start from an example in configs/, e.g. configs/shop.yaml")])
    constructor = yaml.SafeLoader("")
    lines: dict[tuple, int] = {}
    count = [0]

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
            constructor.flatten_mapping(node)
            out: dict = {}
            inner = active | {id(node)}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise ConfigError([Problem(source, key_node.start_mark.line + 1, _fmt_path(path),
                                               "a key here is a list or mapping; keys must be plain words",
                                               None)])
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
            inner = active | {id(node)}
            return [build(item, path + (i,), depth + 1, inner) for i, item in enumerate(node.value)]
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value  # dates stay text: GA4 takes YYYY-MM-DD, and a bad date is reported later
        try:
            return constructor.construct_object(node)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            raise ConfigError([Problem(source, node.start_mark.line + 1, _fmt_path(path),
                                       f"this value cannot be read: {exc}", None)]) from None

    try:
        return build(root, (), 0, frozenset()), lines
    except RecursionError:
        raise ConfigError([Problem(source, None, "", "the document is nested too deeply", None)]) from None


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
    data, lines = _parse_yaml(text, source)
    c = _Collector(source, lines)
    if not isinstance(data, dict):
        c.error((), f"the file holds a {_kind(data)}, but a goals file is a mapping with keys {', '.join(TOP_KEYS)}",
                "start from an example in configs/, e.g. configs/shop.yaml")
        raise ConfigError(c.problems)
    cfg = _validate(data, c)
    if c.problems:
        raise ConfigError(c.problems, c.warnings)
    return cfg


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
    if code in rules.CURRENCIES:
        if value != code:
            c.warn(path, f"currency {value!r} written as {code!r}", f"write {code!r}")
        return code
    guess = _suggest(code or str(value), rules.CURRENCIES) if isinstance(value, str) else None
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
    custom = [g for g in goals.values() if g.event != "purchase"]
    levels = {p.get("service_level", "standard") for p in props} or {"standard"}
    cap = min(rules.KEY_EVENT_CAP.get(level, 30) for level in levels)
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
        warnings=tuple(c.warnings),
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
        if isinstance(item.get("event"), str):
            declared.setdefault(item["event"], item.get("type"))
        goal = _goal(item, path, defaults, c)
        if goal is None:
            continue
        if goal.event in first_seen:
            c.error(path + ("event",), f"the goal {goal.event!r} is declared twice (first at line "
                    f"{c.line(('goals', first_seen[goal.event]))})", "keep one declaration")
            continue
        first_seen[goal.event] = i
        goals[goal.event] = goal
    return goals, declared


def _goal(item: dict, path: tuple, defaults: model.Defaults, c: _Collector) -> model.Goal | None:
    _unknown_keys(c, item, GOAL_KEYS, path, "a goal")
    before = len(c.problems)
    if item.get("event") is None:
        c.error(path, "the goal has no event name", "add event: NAME (the GA4 event to count)")
    event = _text(c, item.get("event"), path + ("event",), "event")
    if event is not None:
        bad = rules.event_name_problem(event)
        if bad:
            c.error(path + ("event",), bad[0], bad[1])
    gtype = item.get("type")
    if gtype is None:
        c.error(path, f"the goal {event!r} has no type", "add type: micro or type: macro")
    elif gtype not in (model.MICRO, model.MACRO):
        c.error(path + ("type",), f"type {gtype!r} is not micro or macro", "write type: micro or type: macro")
    kind = item.get("kind")
    if gtype == model.MICRO:
        if kind is None:
            c.error(path, f"the micro goal {event!r} has no kind",
                    "add kind: milestone (a step on the path to the macro goal) or kind: secondary (engagement "
                    "off the path)")
        elif kind not in (model.MILESTONE, model.SECONDARY):
            c.error(path + ("kind",), f"kind {kind!r} is not milestone or secondary",
                    "write kind: milestone or kind: secondary")
    elif gtype == model.MACRO and kind is not None:
        c.error(path + ("kind",), "kind is for micro goals only", "remove kind from this macro goal")
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
    if event in rules.AUTO_COLLECTED:
        c.error(path, f"{event!r} is an event GA4 collects itself; a create-event rule must not produce it",
                f"give the derived goal its own name, e.g. {event}_goal" if event else None)
    elif event in rules.RESERVED_EVENT_NAMES:
        c.error(path, f"{event!r} is reserved by GA4", "give the derived goal another name")
    source = _text(c, data.get("from"), path + ("from",), "derive.from", required=True)
    if source is not None:
        bad = rules.event_name_problem(source)
        if bad:
            c.error(path + ("from",), bad[0], bad[1])
        if source == event:
            c.error(path + ("from",), "a goal cannot be derived from itself",
                    "derive it from another event, e.g. from: page_view")
    where_items = _as_list(c, data.get("where"), path + ("where",), "where",
                           "- {param: page_location, contains: /pricing}")
    conditions = []
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
    if not isinstance(value, dict):
        c.error(path, f"a condition must be a mapping, not a {_kind(value)}",
                "write - {param: page_location, contains: /pricing}")
        return None
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
        param = None
    if len(ops) != 1:
        c.error(path, "a condition needs exactly one operator" + (f" (found {', '.join(ops)})" if ops else ""),
                "use one of " + ", ".join(model.CONDITION_OPERATORS))
        return None
    op = ops[0]
    raw = value[op]
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
    negate = value.get("negate", False)
    if not isinstance(negate, bool):
        c.error(path + ("negate",), "negate must be true or false", None)
        return None
    if param is None:
        return None
    return model.Condition(param=param, operator=op, value=text, negated=negate)


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
                if seg not in rules.KNOWN_SEGMENTS:
                    guess = _suggest(seg, rules.KNOWN_SEGMENTS)
                    c.warn(p, f"{seg!r} is not a dimension ga4kit knows for segments",
                           f"did you mean {guess!r}?" if guess else None)
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
                    if not rules.DATE_RE.match(v) or not _valid_date(v):
                        c.error(("report", "range", key), f"{key} {rng[key]!r} is not a GA4 date",
                                "use YYYY-MM-DD, NdaysAgo, yesterday or today")
                    elif key == "start":
                        start = v
                    else:
                        end = v
            if re.match(r"^\d{4}", start) and re.match(r"^\d{4}", end) and start > end:
                c.error(("report", "range"), f"the range starts ({start}) after it ends ({end})",
                        "swap start and end")
    grain = data.get("grain", "range")
    if grain not in GRAINS:
        c.error(("report", "grain"), f"grain {grain!r} is not one of {', '.join(GRAINS)}", "e.g. grain: week")
        grain = "range"
    return model.ReportSettings(segments=segments, start=start, end=end, grain=grain)


def _valid_date(value: str) -> bool:
    import datetime as dt

    if re.match(r"^\d{4}-\d{2}-\d{2}$", value):
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            return False
    return True
