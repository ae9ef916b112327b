"""What every file destination shares: where each table goes, atomic writes, the state sidecar, reading back.

One file holds every table (XLSX: a sheet each, JSON: ``{name: records}``), or one table per file (CSV,
NDJSON, Parquet): then each table goes to ``<stem>.<name><ext>`` beside the path; a single table goes to
the path itself. Every write goes through :mod:`ga4kit.atomic`: all files are prepared first, then moved
into place together, the state sidecar ``.<name>.ga4kit-state.json`` last; stale temporary files of a
killed run are removed first. The sidecar records the SHA-256 of the data files it describes, so a state
whose data was not moved into place with it (kill -9 between the two) is recognised and not trusted.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ga4kit.atomic import AtomicFiles, atomic_files, check_target, clean_stale_temps
from ga4kit.destinations.base import DEFAULT_TABLE, Destination, Note
from ga4kit.destinations.state import DestinationState
from ga4kit.errors import OutputError

if TYPE_CHECKING:
    import pandas as pd


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("._") or DEFAULT_TABLE


def table_names(tables: Sequence[str] | None) -> list[str]:
    return list(tables) if tables else [DEFAULT_TABLE]


class FileDestination(Destination):
    """A destination that is one file, or a file per table beside it (``one_table_per_file``)."""

    one_table_per_file: ClassVar[bool] = False

    def __init__(self, target):
        self.path = Path(target)
        super().__init__(self.path)

    @property
    def description(self) -> str:
        return str(self.path)

    @property
    def state_path(self) -> Path:
        return self.path.with_name(f".{self.path.name}.ga4kit-state.json")

    def files(self, tables: Sequence[str]) -> dict[str, Path]:
        """Which file each table goes to."""
        if self.one_table_per_file and len(tables) > 1:
            stem, suffix = self.path.stem, self.path.suffix
            return {n: self.path.with_name(f"{stem}.{safe_name(n)}{suffix}") for n in tables}
        return {n: self.path for n in tables}

    def require(self) -> None:
        """Raise OutputError when a package this kind needs is missing."""

    def check(self, tables: Sequence[str] = (DEFAULT_TABLE,)) -> list[Path]:
        self.require()
        targets = list(dict.fromkeys(self.files(table_names(tables)).values()))
        for t in targets:
            check_target(t)
        return targets

    def check_frames(self, frames: Mapping[str, pd.DataFrame]) -> None:
        """Raise OutputError when the frames do not fit this kind (e.g. rows per sheet)."""

    # ------------------------------------------------------------------------------------- writing

    def write(self, frames: Mapping[str, pd.DataFrame], *, state: DestinationState | None = None,
              note: Note | None = None) -> list[Path]:
        frames = dict(frames)
        if not frames:
            raise OutputError(f"Cannot write {self.path}: there is nothing to write (no frames).",
                              "Pass at least one DataFrame.")
        self.check(list(frames))
        self.check_frames(frames)
        targets = self.files(list(frames))
        clean_stale_temps([*targets.values(), self.state_path], note=note)
        with atomic_files(self.path) as out:
            temps = self.write_files(out, frames, targets)
            if state is not None:
                check_target(self.state_path)
                text = state.to_json({t.name: sha256(tmp) for t, tmp in temps.items()}).encode("utf-8")
                out.add(self.state_path, lambda tmp: tmp.write_bytes(text))  # moved into place last
        return list(temps)

    def write_files(self, out: AtomicFiles, frames: dict[str, pd.DataFrame],
                    targets: dict[str, Path]) -> dict[Path, Path]:
        """Add the data files to ``out``: {target: temporary file}. One table per file by default."""
        return {targets[name]: out.add(targets[name], lambda tmp, f=frame: self.write_table(tmp, f))
                for name, frame in frames.items()}

    def write_table(self, tmp: Path, frame: pd.DataFrame) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------------------------- reading

    def _unreadable(self, exc: Exception) -> OutputError:
        return OutputError(f"Cannot merge into {self.path}: the existing file could not be read ({exc}).",
                           "Move it aside or write to a new file; ga4kit will not overwrite a file it cannot "
                           "read in merge mode.")

    def read(self, tables: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
        """One table per file: each existing file read with :meth:`read_table`."""
        try:
            self.require()
            return {name: self.read_table(target) for name, target in self.files(table_names(tables)).items()
                    if target.exists()}
        except OutputError:
            raise
        except Exception as exc:
            raise self._unreadable(exc) from exc

    def read_columns(self, tables: Sequence[str] | None = None) -> dict[str, list[str]]:
        try:
            self.require()
            return {name: self.read_header(target) for name, target in self.files(table_names(tables)).items()
                    if target.exists()}
        except OutputError:
            raise
        except Exception as exc:
            raise self._unreadable(exc) from exc

    def read_table(self, path: Path) -> pd.DataFrame:
        raise NotImplementedError

    def read_header(self, path: Path) -> list[str]:
        return [str(c) for c in self.read_table(path).columns]

    def state(self) -> DestinationState | None:
        try:
            text = self.state_path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        parsed = DestinationState.from_json(text)
        if parsed is None:
            return None
        state, files = parsed
        for name, digest in files.items():
            data = self.path.with_name(name)
            try:
                if sha256(data) != digest:
                    return None
            except OSError:
                return None
        return state
