"""The Destination interface: what every place ga4kit writes tables to (a file, later a spreadsheet) does.

A destination holds named tables (a pull writes ``events`` and ``baseline``) and its incremental state.
The merge itself is not the destination's job: :func:`ga4kit.destinations.write` reads the tables, merges
them with :mod:`ga4kit.merge` and writes them back while it holds :meth:`Destination.lock`, so a new
destination only moves tables in and out:

- :meth:`~Destination.check` before any API call: raise :class:`~ga4kit.errors.OutputError` when a write
  could not succeed (bad path, no permission, a missing package); cheap, writes nothing.
- :meth:`~Destination.read` / :meth:`~Destination.read_columns`: the tables it holds, text exactly as
  stored (never a computed formula), so merge keys compare what is there.
- :meth:`~Destination.write`: replace the given tables and the state all at once, or change nothing.
- :meth:`~Destination.state`: the state :meth:`write` stored (:mod:`ga4kit.destinations.state`), or None.
- :meth:`~Destination.lock`: held around read-merge-write; by default an OS lock file
  (:func:`ga4kit.locking.destination_lock_path`), which works for any target, URLs included.

Destinations are picked from a URL scheme or a file extension by :mod:`ga4kit.destinations.registry`.
A destination that calls an API (a spreadsheet) sets ``connects = True`` and takes ``credentials_file``
and ``emulator`` (as :func:`ga4kit.connect.make_clients` does) from ``open_destination``.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import pandas as pd

    from ga4kit.destinations.state import DestinationState

Note = Callable[[str], None]
DEFAULT_TABLE = "data"  # the name of a single table written without a name


class Destination(ABC):
    """One place tables are written to, named by ``target`` (a path or a URL)."""

    connects: ClassVar[bool] = False  # True: opened with credentials_file= and emulator= (an API, not a file)

    def __init__(self, target: str | os.PathLike):
        self.target = target

    @property
    def description(self) -> str:
        """How messages name the destination (a path, a URL)."""
        return os.fspath(self.target)

    @abstractmethod
    def check(self, tables: Sequence[str] = (DEFAULT_TABLE,)) -> list[Any]:
        """Raise OutputError now if :meth:`write` could not write ``tables``; returns what it would write
        (files, URLs). Called before any API call, so a bad destination costs no quota."""

    @abstractmethod
    def read(self, tables: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
        """The tables held: {name: frame}; a table it does not hold gives no entry. Text as stored. May hold
        more tables than asked for when they share one container (the sheets of a workbook): a merge keeps
        those. Raises OutputError when what is there cannot be read (a merge must not overwrite it)."""

    def read_columns(self, tables: Sequence[str] | None = None) -> dict[str, list[str]]:
        """The columns of each table held ({name: columns}); read cheaply where the kind allows."""
        return {name: [str(c) for c in frame.columns] for name, frame in self.read(tables).items()}

    @abstractmethod
    def write(self, frames: Mapping[str, pd.DataFrame], *, state: DestinationState | None = None,
              note: Note | None = None) -> list[Any]:
        """Replace the tables ``frames`` ({name: frame}), and the state when given, all at once: on any
        failure or interrupt the destination stays as it was (OutputError; KeyboardInterrupt passes).
        Returns what was written (files, URLs). ``note(text)`` tells a waiting user something."""

    @abstractmethod
    def state(self) -> DestinationState | None:
        """The incremental state stored with the data, or None (none yet, or one that does not describe the
        data held)."""

    def lock(self, note: Note | None = None) -> AbstractContextManager:
        """Held while a merge reads, merges and writes, so concurrent merges queue instead of losing each
        other's rows."""
        from ga4kit.locking import FileLock, destination_lock_path

        return FileLock(destination_lock_path(self.target), on_wait=note, what=self.description)
