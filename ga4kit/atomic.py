"""Atomic file writes: never a half-written file, whatever happens (errors, Ctrl-C, kill -9, a full disk).

Every file goes to a temporary file in its target's directory (``.<name>.<8 random characters>.tmp``), is
flushed to disk and moved into place with ``os.replace``; several files are all prepared first and then
moved together, so a failure or Ctrl-C leaves every old file untouched. A replaced file keeps its permission
bits; a new one gets the umask's.

Ctrl-C acts fast: while files are written, SIGINT (and a SIGTERM whose Python handler raises) is noted, and
writers call :func:`check_interrupt` between rows, so an interrupt Python swallowed (one raised inside a
finalizer) still stops the write. A temporary file that a killed run (kill -9, power loss) left behind is
removed by the next write to the same target once it is :data:`STALE_TEMP_SECONDS` old; only files of
exactly that naming are touched, and a live writer keeps its own temporary file fresh (:func:`keep_fresh`).

Used by the destinations (:mod:`ga4kit.destinations`) and for single text files (the HTML report, the
goals-file schema) through :func:`write_text`.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from ga4kit.errors import OutputError

STALE_TEMP_SECONDS = 15 * 60  # a temporary file untouched this long belongs to a run that died

Fill = Callable[[Path], None]  # writes the content to the temporary file it is given


def check_target(path: Path) -> None:
    """Raise OutputError unless ``path`` can be created or replaced."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError(f"Cannot write {path}: it is a directory.",
                          f"Give a file name inside it, e.g. {path / 'report.csv'}.")
    if not parent.is_dir():
        raise OutputError(f"Cannot write {path}: the directory {parent} does not exist.",
                          f"Create it first (mkdir -p {parent}) or choose another output path.")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"Cannot write {path}: no permission to create files in {parent}.",
                          "Choose a directory you can write to, or fix its permissions.")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputError(f"Cannot write {path}: the existing file is read-only.",
                          "Make it writable (chmod u+w) or choose another output path.")


def check_writable(path: str | os.PathLike) -> None:
    """Raise OutputError now if ``path`` could not be created or replaced (lets a command fail before it
    spends API quota)."""
    check_target(Path(path))


# ----------------------------------------------------------------------------------------- interrupts

_SIGNALS_SEEN: contextvars.ContextVar[list | None] = contextvars.ContextVar("ga4kit_signals_seen", default=None)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """While files are written, remember a Ctrl-C (or a SIGTERM whose Python handler raises).

    Python raises KeyboardInterrupt wherever the main thread happens to be, and when that is a finalizer
    (``__del__``, a generator's cleanup) it only prints "Exception ignored" and carries on: the write would
    finish and replace the old file after all. The handlers installed here note the signal, then call the
    original handler; :func:`check_interrupt` raises again where a write can stop.
    """
    seen: list[int] = []
    token = _SIGNALS_SEEN.set(seen)
    saved = {}
    if threading.current_thread() is threading.main_thread():  # signal handlers live in the main thread
        for sig in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
            original = signal.getsignal(sig) if sig is not None else None
            if callable(original):
                def handler(signum, frame, _original=original):
                    seen.append(signum)
                    _original(signum, frame)

                signal.signal(sig, handler)
                saved[sig] = original
    try:
        yield
    finally:
        for sig, original in saved.items():
            signal.signal(sig, original)
        _SIGNALS_SEEN.reset(token)


def check_interrupt() -> None:
    """Raise KeyboardInterrupt if a signal arrived during the write (call it between rows)."""
    if _SIGNALS_SEEN.get():
        raise KeyboardInterrupt


def keep_fresh(tmp: Path) -> None:
    """Mark a temporary file that is still being written as alive (a long write calls it now and then)."""
    os.utime(tmp)


# ----------------------------------------------------------------------------------------- writing

class AtomicFiles:
    """Files prepared beside their targets; :func:`atomic_files` moves them into place together."""

    def __init__(self, what: Path):
        self.target = what  # the file being written or moved (for messages)
        self._temps: list[tuple[Path, Path]] = []

    def add(self, target: Path, fill: Fill) -> Path:
        """Write ``target``'s new content with ``fill(tmp)`` into a temporary file; returns that file."""
        self.target = target
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        tmp = Path(name)
        self._temps.append((tmp, target))
        fill(tmp)
        check_interrupt()
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        if target.exists():
            # Keep the permission bits of the file being replaced (mkstemp creates 0600).
            os.chmod(tmp, target.stat().st_mode & 0o777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        return tmp

    def _commit(self) -> None:
        check_interrupt()
        for tmp, target in self._temps:
            self.target = target
            os.replace(tmp, target)
        self._temps = []

    def _discard(self) -> None:
        for tmp, _ in self._temps:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self._temps = []


@contextlib.contextmanager
def atomic_files(what: Path) -> Iterator[AtomicFiles]:
    """``with atomic_files(path) as files: files.add(target, fill)...``: every added file replaces its
    target when the block ends without error, in the order added; on any failure or interrupt the
    temporary files are removed and every target stays as it was. Failures become OutputError."""
    files = AtomicFiles(what)
    try:
        with interruptible():
            yield files
            files._commit()
    except OutputError:
        raise
    except OSError as exc:
        raise OutputError(f"Cannot write {files.target}: {exc.strerror or exc}.",
                          "Check that the disk has space and the directory is writable, or choose another "
                          "path; the previous file, if any, was left unchanged.") from exc
    except Exception as exc:
        raise OutputError(f"Cannot write {files.target}: serializing the data failed "
                          f"({type(exc).__name__}: {exc}).",
                          "Nothing was written and the previous file, if any, was left unchanged; check the "
                          "frame's values (every column must be text, numbers or dates).") from exc
    finally:
        files._discard()


def write_all(jobs: Sequence[tuple[Path, Fill]]) -> list[Path]:
    """Write every ``(target, fill)`` job, then move them all into place (see :func:`atomic_files`)."""
    with atomic_files(jobs[0][0]) as files:
        for target, fill in jobs:
            files.add(target, fill)
    return [t for t, _ in jobs]


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 text atomically (e.g. an HTML report); OutputError when the path cannot be written."""
    path = Path(path)
    check_target(path)
    clean_stale_temps([path])
    data = text.encode("utf-8")
    write_all([(path, lambda tmp: tmp.write_bytes(data))])
    return path


# ----------------------------------------------------------------------------------------- stale temps

def _temp_name(target: Path) -> re.Pattern:
    """The names :class:`AtomicFiles` gives ``target``'s temporary files (``tempfile.mkstemp``'s 8 characters)."""
    return re.compile(r"\." + re.escape(target.name) + r"\.[a-z0-9_]{8}\.tmp")


def clean_stale_temps(targets: Sequence[str | os.PathLike], *, older_than: float = STALE_TEMP_SECONDS,
                      note: Callable[[str], None] | None = None) -> list[Path]:
    """Remove the temporary files of ``targets`` that a killed run left behind; returns what was removed.

    Only files named as ga4kit names them, beside their target, and not modified for ``older_than``
    seconds: a live run's temporary file is younger (its writer refreshes it), and a merge removes them
    while it holds the destination's lock, so no other ga4kit merge is writing them.
    """
    removed = []
    now = time.time()
    for target in dict.fromkeys(Path(t) for t in targets):
        parent = target.parent if str(target.parent) else Path(".")
        pattern = _temp_name(target)
        try:
            entries = list(os.scandir(parent))
        except OSError:
            continue
        for entry in entries:
            if not pattern.fullmatch(entry.name):
                continue
            try:
                if not entry.is_file(follow_symlinks=False) or now - entry.stat().st_mtime < older_than:
                    continue
                os.unlink(entry.path)
            except OSError:
                continue
            removed.append(Path(entry.path))
            if note is not None:
                note(f"Removed {entry.path}: a temporary file an interrupted run left behind.")
    return removed
