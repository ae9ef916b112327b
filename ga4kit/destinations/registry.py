"""Which Destination class a target names: a URL scheme (``sheets://...``) or a file extension (``.csv``).

Adding a kind of destination is one module with a :class:`~ga4kit.destinations.base.Destination` subclass
and one line: an entry in :data:`BUILTIN` (imported only when a target uses it, so ``openpyxl`` or
``pyarrow`` load only for their formats), or ``register(key, cls)`` from any code. A key that starts with
"." is a file extension; any other key is a URL scheme (``"sheets"`` or ``"sheets://"``).
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from ga4kit.destinations.base import Destination
from ga4kit.errors import OutputError

BUILTIN: dict[str, str] = {
    ".csv": "ga4kit.destinations.csv:CsvDestination",
    ".xlsx": "ga4kit.destinations.xlsx:XlsxDestination",
    ".json": "ga4kit.destinations.json:JsonDestination",
    ".ndjson": "ga4kit.destinations.json:NdjsonDestination",
    ".jsonl": "ga4kit.destinations.json:NdjsonDestination",
    ".parquet": "ga4kit.destinations.parquet:ParquetDestination",
    ".pq": "ga4kit.destinations.parquet:ParquetDestination",
    "sheets://": "ga4kit.destinations.sheets:SheetsDestination",
    "https://": "ga4kit.destinations.sheets:SheetsDestination",  # a spreadsheet's address
}

_registry: dict[str, type[Destination] | str] = dict(BUILTIN)


def _key(key: str) -> str:
    key = key.strip().lower()
    return key if key.startswith(".") else key.removesuffix("://") + "://"


def register(key: str, destination: type[Destination] | str) -> None:
    """Make targets with this extension (".csv") or URL scheme ("sheets") open ``destination``: a class,
    or "module:Class" to import when first used. A later registration of the same key wins."""
    _registry[_key(key)] = destination


def unregister(key: str) -> None:
    """Forget a registration (tests); a built-in key falls back to its built-in class."""
    k = _key(key)
    _registry.pop(k, None)
    if k in BUILTIN:
        _registry[k] = BUILTIN[k]


def _class(entry: type[Destination] | str) -> type[Destination]:
    if isinstance(entry, str):
        module, _, name = entry.partition(":")
        return getattr(importlib.import_module(module), name)
    return entry


def extensions() -> list[str]:
    return sorted(k for k in _registry if k.startswith("."))


def open_destination(target: str | os.PathLike | Destination, *, credentials_file: str | None = None,
                     emulator: str | None = None) -> Destination:
    """The destination ``target`` names (a Destination is returned as it is). Raises OutputError for an
    unknown scheme or extension, with the ones that exist. ``credentials_file`` and ``emulator`` reach a
    destination that calls an API (``sheets://``; as for :func:`ga4kit.connect.make_clients`, default: the
    environment); files ignore them."""
    if isinstance(target, Destination):
        return target
    text = os.fspath(target)
    if "://" in text:
        scheme = text.split("://", 1)[0].lower() + "://"
        entry = _registry.get(scheme)
        if entry is None:
            schemes = ", ".join(sorted(k for k in _registry if not k.startswith("."))) or "none"
            raise OutputError(f"Cannot write {text}: unknown destination {scheme!r}.",
                              f"Use a file name ending in one of {', '.join(extensions())}, or a URL with one "
                              f"of the known schemes ({schemes}).")
        cls = _class(entry)
        if cls.connects:
            return cls(text, credentials_file=credentials_file, emulator=emulator)
        return cls(text)
    path = Path(text)
    entry = _registry.get(path.suffix.lower())
    if entry is None:
        raise OutputError(
            f"Cannot write {path}: unknown output type {path.suffix or '(no extension)'!r}.",
            f"Name the file with one of {', '.join(extensions())} (e.g. report.csv or report.xlsx); the extension "
            "picks the format.")
    return _class(entry)(path)
