"""Sharding: a deterministic share of the properties for one of N workers (``--shard I/N``).

A scheduler fans a run out over N workers (Cloud Run job tasks, an Airflow task per shard, a CI matrix);
each worker runs the same command with its own index and takes the properties whose shard is that index.
GA4's quotas are per property, so N workers on N machines move N times as much data.

A property's shard is ``sha256(property id) mod N``: it depends on the id alone, never on the property's
position in a list, so adding or removing properties does not move the others between workers (a
property keeps its worker, its lock and its place in the schedule from run to run). The price of that
stability is balance: with few properties the shares can be uneven (12 properties over 4 shards may split
5/3/2/2); with many they even out.

Indexes start at 0, as Cloud Run's ``CLOUD_RUN_TASK_INDEX`` does: ``--shard 0/4`` .. ``--shard 3/4``.
Without ``--shard``, a Cloud Run job with more than one task (``CLOUD_RUN_TASK_COUNT`` > 1) shards by
its task index on its own: every task runs the same command, and without sharding each would pull
every property. ``--shard 0/1`` turns that off.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ga4kit import ids
from ga4kit.errors import Ga4kitError

TASK_INDEX, TASK_COUNT = "CLOUD_RUN_TASK_INDEX", "CLOUD_RUN_TASK_COUNT"

OPTION_HELP = ("Take a deterministic share of the properties: shard I of N (0-based, I from 0 to N-1), by a "
               "hash of the property id, so adding properties does not move the others. For a scheduler's "
               "fan-out: Cloud Run job tasks (default there: CLOUD_RUN_TASK_INDEX/CLOUD_RUN_TASK_COUNT), an "
               "Airflow task or a CI matrix entry per shard. Shards may write one destination: writes queue "
               "and each replaces only its own properties' rows.")

_FORM = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count`` (0 <= index < count)."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, property_id: str) -> bool:
        return shard_of(property_id, self.count) == self.index

    def select(self, property_ids: Iterable[str]) -> list[str]:
        """The properties of this shard, in the order given."""
        return [p for p in property_ids if self.owns(p)]


def shard_of(property_id: str, count: int) -> int:
    """The shard (0..count-1) a property belongs to: sha256 of its bare numeric id, mod ``count``."""
    pid = ids.property_id(property_id)
    return int.from_bytes(hashlib.sha256(pid.encode("ascii")).digest()[:8], "big") % count


def parse(text: str, *, source: str = "--shard") -> Shard:
    """``"I/N"`` as a Shard; raises Ga4kitError with what to write instead."""
    m = _FORM.match(str(text))
    if not m:
        raise Ga4kitError(f"{source} {text!r} is not a shard: write I/N, e.g. 0/4 for the first of four shards.",
                          "Indexes start at 0 (as CLOUD_RUN_TASK_INDEX does): 0/4, 1/4, 2/4 and 3/4 together "
                          "take every property once.")
    index, count = int(m.group(1)), int(m.group(2))
    if count < 1:
        raise Ga4kitError(f"{source} {text!r} has {count} shards; there must be at least one.", "Write I/N with N >= 1.")
    if index >= count:
        raise Ga4kitError(f"{source} {text!r}: shard index {index} is out of range for {count} shards.",
                          f"Indexes start at 0 (as CLOUD_RUN_TASK_INDEX does): use 0/{count} to {count - 1}/{count}.")
    return Shard(index, count)


def resolve(option: str | None, environ: Mapping[str, str] | None = None) -> Shard | None:
    """The shard of this run: ``option`` ("I/N") when given, else Cloud Run's task index and count when
    the job has more than one task, else None (every property)."""
    if option:
        return parse(option)
    env = os.environ if environ is None else environ
    count = env.get(TASK_COUNT)
    if not count or count.strip() in ("", "1", "0"):
        return None
    return parse(f"{env.get(TASK_INDEX, '').strip()}/{count.strip()}", source=f"{TASK_INDEX}/{TASK_COUNT}")
