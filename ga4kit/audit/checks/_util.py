"""Small helpers the check modules share: shares, bands, lists for evidence."""

from __future__ import annotations

from typing import Iterable

MIN_SESSIONS = 100  # fewer sessions in 28 days say too little for a share


def band(value: float, bands: Iterable[tuple[float, str]]) -> str | None:
    """The severity of the highest band ``value`` reaches (bands as (threshold, severity), any order)."""
    hit = None
    for threshold, severity in sorted(bands):
        if value >= threshold:
            hit = severity
    return hit


def top(counts: dict, n: int = 5) -> list[str]:
    """The ``n`` largest entries as "name (count)" texts, largest first."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))[:n]
    return [f"{k} ({int(v):,})" for k, v in items]


def pct(share: float) -> str:
    return f"{share:.1%}"


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"
