"""JSON Schema (draft 2020-12) of the goals file, for editors (e.g. the YAML language server).

The schema catches shapes and spellings while typing; the loader remains the authority (it checks what a
schema cannot: chains naming declared goals, the key event cap, currencies, measurement ids).
"""

from __future__ import annotations

from ga4kit.config import loader, model, naming

_EVENT = {
    "type": "string",
    "pattern": r"^[A-Za-z][A-Za-z0-9_]{0,39}$",
    "description": "GA4 event name: starts with a letter; letters, digits, underscores; at most 40 characters.",
}
_COUNTING = {"enum": list(loader.COUNTING), "description": "How GA4 counts the key event."}
_CURRENCY = {"enum": sorted(naming.CURRENCIES), "description": "ISO 4217 currency code."}
_DATE = {"type": "string", "pattern": naming.DATE_RE.pattern,
         "description": "YYYY-MM-DD, NdaysAgo, yesterday or today (in the property's time zone)."}


def goals_schema() -> dict:
    condition_ops = {op: {"type": ["string", "number", "boolean"]} for op in model.CONDITION_OPERATORS}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://ga4kit.dev/schema/goals-v1.json",
        "title": "ga4kit goals file",
        "type": "object",
        "additionalProperties": False,
        "required": ["goals"],
        "properties": {
            "version": {"const": 1},
            "properties": {
                "type": "array",
                "items": {
                    "oneOf": [
                        {"type": "string", "pattern": r"^(properties/)?\d+$"},
                        {"type": "integer", "minimum": 1},
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["id"],
                            "properties": {
                                "id": {"type": ["string", "integer"], "pattern": r"^(properties/)?\d+$",
                                       "description": "Numeric GA4 property id (not a G-... measurement id)."},
                                "label": {"type": "string"},
                                "stream": {"type": ["string", "integer"],
                                           "description": "Web data stream id for create-event rules."},
                                "service_level": {"enum": ["standard", "360"]},
                            },
                        },
                    ]
                },
            },
            "defaults": {
                "type": "object",
                "additionalProperties": False,
                "properties": {"counting": _COUNTING, "currency": _CURRENCY},
            },
            "goals": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["event", "type"],
                    "properties": {
                        "event": _EVENT,
                        "type": {"enum": [model.MICRO, model.MACRO]},
                        "kind": {"enum": [model.MILESTONE, model.SECONDARY],
                                 "description": "Micro goals only: a milestone on the path, or a secondary action."},
                        "counting": _COUNTING,
                        "value": {"type": "number", "minimum": 0},
                        "currency": _CURRENCY,
                        "description": {"type": "string"},
                        "derive": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["from"],
                            "properties": {
                                "from": _EVENT,
                                "copy_parameters": {"type": "boolean"},
                                "where": {
                                    "type": "array",
                                    "maxItems": 9,
                                    "items": {
                                        "type": "object",
                                        "required": ["param"],
                                        "additionalProperties": False,
                                        "minProperties": 2,
                                        "properties": {"param": {"type": "string"},
                                                       "negate": {"type": "boolean"}, **condition_ops},
                                    },
                                },
                            },
                        },
                    },
                    "if": {"properties": {"type": {"const": model.MICRO}}},
                    "then": {"required": ["kind"]},
                },
            },
            "chains": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "steps"],
                    "properties": {
                        "name": {"type": "string"},
                        "description": {"type": "string"},
                        "steps": {"type": "array", "minItems": 2, "items": _EVENT},
                    },
                },
            },
            "report": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "segments": {"type": "array", "maxItems": loader.MAX_SEGMENTS, "items": {"type": "string"}},
                    "range": {"type": "object", "additionalProperties": False,
                              "properties": {"start": _DATE, "end": _DATE}},
                    "grain": {"enum": list(loader.GRAINS)},
                },
            },
        },
    }
