"""Which properties a run covers: ``-p`` ids (any accepted form; G-... refused) or else the goals file's,
normalised at the edge, each once, in the order given. An id that is also in the goals file keeps the
file's label and web stream."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ga4kit.config.model import GoalsConfig, PropertyRef
from ga4kit.ids import property_id


def select_properties(config: GoalsConfig, ids: Iterable[Any] | None = None) -> list[PropertyRef]:
    """The properties to work on: ``ids`` (``123``, ``"properties/123"``, PropertyRef) or else the file's."""
    ids = list(ids) if ids is not None else []
    if not ids:
        return list(dict.fromkeys(config.properties))
    known = {p.id: p for p in config.properties}
    out: dict[str, PropertyRef] = {}
    for raw in ids:
        ref = raw if isinstance(raw, PropertyRef) else known.get(property_id(raw), PropertyRef(id=property_id(raw)))
        out.setdefault(ref.id, ref)
    return list(out.values())


def property_ids(config: GoalsConfig, ids: Iterable[Any] | None = None) -> list[str]:
    """The numeric ids of :func:`select_properties`."""
    return [ref.id for ref in select_properties(config, ids)]
