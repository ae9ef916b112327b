"""Work on many properties at once within GA4's limits: a bounded pool of threads, one property per thread.

The caps, and why:

- ``concurrency`` (default 10) threads per run, each working on one property at a time and sending one
  request at a time, so a run has at most ``concurrency`` requests in flight. Calls to GA4 wait on the
  network, not on the CPU: ten threads make 200 properties about six times faster than one at a time,
  and more than ten would only run into the Admin API's per-minute rate below.
- Data API: at most 10 requests in flight per property (:data:`DATA_CONCURRENT_PER_PROPERTY`). GA4 counts
  concurrent requests per property (10 on a standard property, 50 on 360) and answers RESOURCE_EXHAUSTED
  beyond; the slot is held for the call, so work that sends several requests for one property at once
  (or two stages of one run) waits instead of failing.
- Admin API: at most :data:`ADMIN_REQUESTS_PER_MINUTE` (540) requests in any 60 seconds, shared by every
  thread of the process that uses the same clients. GA4 allows 600 requests a minute per user and 1,200
  per project; the tenth kept back covers the retries Google's client makes on its own, later pages of
  a list, and other tools of the same user. Writes are paced further by ``apply`` (175 in any minute,
  under GA4's 180 writes per minute per user), with one pacer for all its threads.
- Results come back in input order whatever the completion order. A property's :class:`Ga4kitError` is
  that property's result: it never stops the others. Ctrl-C stops starting new properties and raises
  :class:`Interrupted` carrying what finished (threads in a call finish it in the background: a write
  may still land, as it may after Ctrl-C without threads).
"""

from __future__ import annotations

import queue
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, TypeVar

from ga4kit.errors import Ga4kitError

DEFAULT_CONCURRENCY = 10
DATA_CONCURRENT_PER_PROPERTY = 10  # GA4's concurrent requests per standard property
ADMIN_REQUESTS_PER_MINUTE = 540  # GA4: 600 per minute per user, 1,200 per project; 10% kept back

T = TypeVar("T")


@dataclass
class Done(Generic[T]):
    """One item's outcome: ``value`` when ``fn`` returned, ``error`` when it raised a Ga4kitError."""

    item: Any
    value: T | None = None
    error: Ga4kitError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run_per_property`. ``done`` is in input order, ``None`` where not finished."""

    def __init__(self, done: list):
        super().__init__("interrupted")
        self.done = done


def run_per_property(items: Iterable[Any], fn: Callable[[Any], T], *, max_workers: int = DEFAULT_CONCURRENCY,
                     on_done: Callable[[Done[T]], None] | None = None,
                     stop: threading.Event | None = None) -> list[Done[T]]:
    """``fn(item)`` for every item, at most ``max_workers`` at once; the outcomes in input order.

    ``on_done(done)`` is called in the calling thread as each item finishes (completion order: for
    progress). A Ga4kitError from ``fn`` is the item's ``error``; any other exception stops the run and
    is raised once the running items finished. ``stop`` (set on Ctrl-C, or by the caller) keeps items
    not yet started from starting; ``fn`` may watch it to stop early. With one worker or one item
    everything runs in the calling thread.
    """
    items = list(items)
    stop = stop if stop is not None else threading.Event()
    if max_workers <= 1 or len(items) <= 1:
        return _inline(items, fn, on_done, stop)
    return _pooled(items, fn, min(max_workers, len(items)), on_done, stop)


def _attempt(item: Any, fn: Callable[[Any], T]) -> Done[T]:
    try:
        return Done(item, value=fn(item))
    except Ga4kitError as exc:
        return Done(item, error=exc)


def _inline(items, fn, on_done, stop) -> list:
    results: list = [None] * len(items)
    try:
        for i, item in enumerate(items):
            if stop.is_set():
                break
            results[i] = _attempt(item, fn)
            if on_done is not None:
                on_done(results[i])
    except KeyboardInterrupt as exc:
        stop.set()
        if isinstance(exc, Interrupted):
            raise
        raise Interrupted(results) from None
    return results


def _pooled(items, fn, workers: int, on_done, stop) -> list:
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for i in range(len(items)):
        todo.put(i)
    finished: queue.SimpleQueue = queue.SimpleQueue()

    def work() -> None:
        while not stop.is_set():
            try:
                i = todo.get_nowait()
            except queue.Empty:
                return
            try:
                finished.put((i, _attempt(items[i], fn), None))
            except BaseException as exc:  # a bug, or Ctrl-C raised inside fn: the caller decides
                finished.put((i, None, exc))
                return

    # Daemon threads: after Ctrl-C the process may exit while a call is still on its way.
    threads = [threading.Thread(target=work, name=f"ga4kit-worker-{k}", daemon=True) for k in range(workers)]
    for t in threads:
        t.start()
    results: list = [None] * len(items)
    left = len(items)
    try:
        while left:
            try:
                i, done, exc = finished.get(timeout=0.2)  # a timeout keeps Ctrl-C responsive
            except queue.Empty:
                if not any(t.is_alive() for t in threads) and finished.empty():
                    break  # every worker stopped (stop was set by the caller)
                continue
            if exc is not None:
                stop.set()
                if isinstance(exc, KeyboardInterrupt):
                    raise Interrupted(results)
                for t in threads:
                    t.join()
                raise exc
            results[i] = done
            left -= 1
            if on_done is not None:
                on_done(done)
    except KeyboardInterrupt as exc:
        stop.set()
        if isinstance(exc, Interrupted):
            raise
        raise Interrupted(results) from None
    except BaseException:  # on_done failed: let the workers stop
        stop.set()
        raise
    for t in threads:
        t.join()
    return results


# --- rates and slots -------------------------------------------------------------------------------

class RateWindow:
    """At most ``limit`` events in any ``period`` seconds (a sliding window), fair between threads.

    ``take()`` reserves the earliest moment that keeps the window true and sleeps until then (outside the
    lock, so other threads reserve meanwhile); it returns the seconds waited.
    """

    def __init__(self, limit: int, period: float = 60.0, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if limit < 1:
            raise ValueError("a rate window needs a limit of at least 1")
        self.limit = int(limit)
        self.period = float(period)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._times: deque = deque()  # the last ``limit`` reserved moments, ascending

    def take(self) -> float:
        with self._lock:
            now = self._clock()
            at = now
            if len(self._times) >= self.limit:
                at = max(now, self._times[0] + self.period)
                self._times.popleft()
            self._times.append(at)
        wait = at - now
        if wait > 0:
            self._sleep(wait)
        return max(0.0, wait)


class Limits:
    """What every thread using one set of clients shares: the Admin API's request window and each
    property's Data API slots (see the module docstring)."""

    def __init__(self, *, admin_per_minute: int = ADMIN_REQUESTS_PER_MINUTE,
                 data_per_property: int = DATA_CONCURRENT_PER_PROPERTY, admin_period: float = 60.0):
        self.admin = RateWindow(admin_per_minute, admin_period)
        self.data_per_property = data_per_property
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def data_slot(self, prop: str | None) -> threading.BoundedSemaphore:
        key = prop or ""
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = threading.BoundedSemaphore(self.data_per_property)
            return slot


_SHARED: dict[int, Limits] = {}
_SHARED_LOCK = threading.Lock()


def shared_limits(clients: Any) -> Limits:
    """The Limits of ``clients``: one per clients object, so plan and apply of one command share them."""
    if isinstance(clients, Guarded):
        return clients.limits
    key = id(clients)
    with _SHARED_LOCK:
        limits = _SHARED.get(key)
        if limits is None:
            limits = _SHARED[key] = Limits()
            try:
                weakref.finalize(clients, _SHARED.pop, key, None)
            except TypeError:  # an object without weak references (a test double): kept for the process
                pass
        return limits


def guard(clients: Any, limits: Limits | None = None) -> "Guarded":
    """``clients`` whose calls keep within ``limits`` (default: :func:`shared_limits`). Idempotent."""
    if isinstance(clients, Guarded) and (limits is None or limits is clients.limits):
        return clients
    return Guarded(clients, limits or shared_limits(clients))


class Guarded:
    """A view of :class:`ga4kit.connect.Clients`: Admin calls take a place in the Admin window, Data calls
    a slot of their property. Everything else is the clients' own."""

    _ADMIN = ("admin", "admin_alpha")
    _DATA = ("data", "data_alpha")

    def __init__(self, clients: Any, limits: Limits):
        self.clients = clients
        self.limits = limits

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.clients, name)
        if value is None:
            return None
        if name in self._ADMIN:
            return _GuardedApi(value, self._admin_call)
        if name in self._DATA:
            return _GuardedApi(value, self._data_call)
        return value

    def _admin_call(self, fn: Callable, args: tuple, kwargs: dict) -> Any:
        self.limits.admin.take()
        return fn(*args, **kwargs)

    def _data_call(self, fn: Callable, args: tuple, kwargs: dict) -> Any:
        with self.limits.data_slot(_property_of(args, kwargs)):
            return fn(*args, **kwargs)

    def __enter__(self) -> "Guarded":
        return self

    def __exit__(self, *exc) -> None:
        self.clients.close()


class _GuardedApi:
    def __init__(self, api: Any, around: Callable[[Callable, tuple, dict], Any]):
        self._api = api
        self._around = around

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._api, name)
        if name.startswith("_") or not callable(attr) or name.endswith("_path") or name.startswith("parse_") \
                or name in ("close", "raw"):
            return attr

        def call(*args, **kwargs):
            return self._around(attr, args, kwargs)

        call.__name__ = name
        return call


def _property_of(args: tuple, kwargs: dict) -> str | None:
    """The property a Data API call is about (``properties/123``), from its request or keywords."""
    request = kwargs.get("request", args[0] if args else None)
    value = None
    if isinstance(request, dict):
        value = request.get("property")
    elif request is not None:
        value = getattr(request, "property", None)
    value = value or kwargs.get("property")
    return str(value) if value else None
