"""Cross-process locks on this machine: one apply per property, one read-merge-write per destination.

A lock is an OS advisory lock (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows) on a small file.
The OS drops it when the process ends, however it ends (kill -9 included), so a crashed run never leaves
a stale lock behind. These locks only coordinate runs on the same machine (or the same shared disk with
working flock): two machines applying to one property are not serialised by them.

    with FileLock(path, timeout=600, on_wait=print):
        ...

``property_lock(pid)`` and ``destination_lock(path)`` name the lock files.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Callable

from ga4kit.errors import Ga4kitError

LOCK_DIR_ENV = "GA4KIT_LOCK_DIR"


class LockTimeout(Ga4kitError):
    """Another run held the lock for longer than we were willing to wait."""


def lock_dir() -> Path:
    """Where property locks live: $GA4KIT_LOCK_DIR, else $XDG_RUNTIME_DIR/ga4kit, else ~/.cache/ga4kit/locks,
    else the system temp directory."""
    explicit = os.environ.get(LOCK_DIR_ENV)
    candidates = [Path(explicit)] if explicit else []
    if os.environ.get("XDG_RUNTIME_DIR"):
        candidates.append(Path(os.environ["XDG_RUNTIME_DIR"]) / "ga4kit")
    candidates.append(Path.home() / ".cache" / "ga4kit" / "locks")
    import tempfile

    candidates.append(Path(tempfile.gettempdir()) / f"ga4kit-locks-{_uid()}")
    for c in candidates:
        try:
            c.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(c, os.W_OK | os.X_OK):
            return c
    raise Ga4kitError("ga4kit cannot create a directory for its lock files.",
                      f"Set {LOCK_DIR_ENV} to a writable directory.")


def _uid() -> str:
    getuid = getattr(os, "getuid", None)
    return str(getuid()) if getuid else os.environ.get("USERNAME", "user")


def property_lock_path(property_id: str) -> Path:
    return lock_dir() / f"property-{property_id}.lock"


def destination_lock_path(target: str | os.PathLike) -> Path:
    """A lock file beside a file destination (so every machine sharing that disk sees it), named after the
    destination; for a destination that is no file (a URL) a file in :func:`lock_dir`."""
    text = os.fspath(target)
    if "://" in text:
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]
        return lock_dir() / f"destination-{digest}.lock"
    path = Path(text).resolve()
    return path.with_name(f".{path.name}.ga4kit.lock")


class FileLock:
    """An exclusive lock on ``path`` held for the ``with`` block.

    Waits up to ``timeout`` seconds (None: forever) for another holder, calling ``on_wait(message)`` once
    when it has to wait, then raises :class:`LockTimeout`. ``what`` names the locked thing in messages.
    """

    def __init__(self, path: str | os.PathLike, *, timeout: float | None = 600.0,
                 on_wait: Callable[[str], None] | None = None, what: str | None = None, poll: float = 0.1):
        self.path = Path(path)
        self.timeout = timeout
        self.on_wait = on_wait
        self.what = what or str(self.path)
        self.poll = poll
        self._fh = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+b")  # noqa: SIM115 (held open for as long as the lock is held)
        start = time.monotonic()
        told = False
        try:
            while not _try_lock(fh):
                waited = time.monotonic() - start
                if self.timeout is not None and waited >= self.timeout:
                    raise LockTimeout(
                        f"Another ga4kit run has held the lock on {self.what} for {waited:.0f} s; gave up waiting.",
                        "Wait for the other run to finish (or stop it), then run this command again.")
                if not told and self.on_wait is not None:
                    self.on_wait(f"Waiting for another ga4kit run that is working on {self.what}...")
                    told = True
                time.sleep(self.poll)
        except BaseException:
            fh.close()
            raise
        self._fh = fh

    def release(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            try:
                _unlock(fh)
            finally:
                fh.close()

    def __enter__(self) -> "FileLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


if os.name == "nt":  # pragma: no cover (CI runs on Linux)
    import msvcrt

    def _try_lock(fh) -> bool:
        try:
            fh.seek(0)
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fh) -> None:
        fh.seek(0)
        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
else:
    import fcntl

    def _try_lock(fh) -> bool:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock(fh) -> None:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
