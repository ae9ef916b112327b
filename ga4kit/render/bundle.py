"""The tables of an analysis (chains, goals, flags) in one text format, for stdout or for files.

One table per document where the format holds one table (CSV, NDJSON): on stdout that is the chains table;
written to ``-o DIR`` (an existing directory, or a path ending in "/") every table gets its own file
``DIR/chains.csv``, ``DIR/goals.csv``, ``DIR/flags.csv``; written to ``-o NAME.csv`` the chains table goes
to that file and the others beside it (``NAME.goals.csv``, ``NAME.flags.csv``), as ``ga4kit pull`` names
its tables. JSON is one document ``{"chains": [...], "goals": [...], "flags": [...], "meta": {...}}``;
Markdown and the text table hold every table, one after the other.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ga4kit.render import text

EXTENSIONS = {"csv": ".csv", "ndjson": ".ndjson", "json": ".json", "markdown": ".md", "table": ".txt"}
ONE_TABLE = ("csv", "ndjson")
TITLES = {"chains": "Chains", "goals": "Goals", "flags": "Flags"}


def is_directory_target(path: str | os.PathLike) -> bool:
    text_path = str(path)
    return Path(path).is_dir() or text_path.endswith(("/", os.sep))


def targets(path: str | os.PathLike, fmt: str, names: list[str]) -> dict[str, Path]:
    """Where each table goes: {name: file}; one file may hold several names (JSON, Markdown, table)."""
    ext = EXTENSIONS[fmt]
    if is_directory_target(path):
        base = Path(path)
        if fmt in ONE_TABLE:
            return {n: base / f"{n}{ext}" for n in names}
        return {n: base / f"chains{ext}" for n in names}
    p = Path(path)
    if fmt in ONE_TABLE:
        suffix = p.suffix or ext
        stem = p.name[: -len(p.suffix)] if p.suffix else p.name
        return {n: (p if n == names[0] else p.with_name(f"{stem}.{n}{suffix}")) for n in names}
    return {n: p for n in names}


def document(frames: Mapping[str, Any], fmt: str, *, meta: Mapping | None = None, segments=(),
             currencies: dict | None = None, kinds: Mapping[str, str] | None = None) -> str:
    """Several tables as one text (JSON, Markdown or table; CSV/NDJSON: the first table only)."""
    if fmt in ONE_TABLE:
        name = next(iter(frames))
        return text.render(frames[name], fmt)
    if fmt == "json":
        from ga4kit.serialize import frame_to_json

        doc = {name: json.loads(frame_to_json(frame)) for name, frame in frames.items()}
        if meta is not None:
            doc["meta"] = meta
        return json.dumps(doc, indent=1, default=str, ensure_ascii=False) + "\n"
    parts = []
    for name, frame in frames.items():
        kind = (kinds or {}).get(name, name)
        shown = text.view(frame, segments, kind)
        parts.append(text.render(shown, fmt, title=TITLES.get(name, name), width=None, segments=segments,
                                 currencies=currencies, max_rows=None))
    return "\n".join(parts)


def write(path: str | os.PathLike, frames: Mapping[str, Any], fmt: str, **kw) -> list[Path]:
    """Write the tables to ``path`` (see the module docstring); returns the files written."""
    from ga4kit.atomic import write_text

    by_file: dict[Path, list[str]] = {}
    for name, target in targets(path, fmt, list(frames)).items():
        by_file.setdefault(target, []).append(name)
    written = []
    for target, names in by_file.items():
        write_text(target, document({n: frames[n] for n in names}, fmt, **kw))
        written.append(target)
    return written


def check(path: str | os.PathLike, fmt: str, names: list[str]) -> None:
    """Raise OutputError now if any file of :func:`write` could not be written (before any API call)."""
    from ga4kit.errors import OutputError
    from ga4kit.atomic import check_writable

    if is_directory_target(path) and not Path(path).is_dir():
        raise OutputError(f"Cannot write to {path}: the directory does not exist.",
                          f"Create it first (mkdir -p {path}) or name a file instead.")
    for target in set(targets(path, fmt, names).values()):
        check_writable(target)
