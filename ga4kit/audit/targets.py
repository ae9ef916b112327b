"""Which properties an audit covers: the properties of goals files, ``-p`` ids, a list file, an account, or
every property the credentials can see; then one shard of them.

- Goals files: each property with its file's goals (the goal checks compare against them).
- A list file: one property id per line (any form ``ga4kit`` accepts), optionally followed by a label;
  ``#`` starts a comment. Measurement ids (G-...) are refused with the line they are on.
- ``--account A``: ListProperties of the account, including properties in the trash (``show_deleted``),
  so the audit can say they are there; the listing's settings spare a GetProperty per property.
- ``--all``: the accounts of ListAccountSummaries, each listed the same way (a listing that is refused
  falls back to the summary's properties).

A property named twice is audited once; the first goals file that declares it gives its goals.
``--shard I/N`` (the command line) takes one shard of the merged list with :mod:`ga4kit.shard`, as pull does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ga4kit import properties as props
from ga4kit.audit.facts import Target
from ga4kit.errors import ApiError, Ga4kitError, IdentifierError
from ga4kit.ids import property_id

__all__ = ["Target", "from_goals", "from_ids", "read_list_file", "from_account", "from_all", "merge"]


def from_goals(config: Any) -> list[Target]:
    return [Target(ref.id, ref.label, goals=config) for ref in config.properties]


def from_ids(ids: Iterable[Any]) -> list[Target]:
    return [Target(property_id(i)) for i in ids]


def read_list_file(path: str | Path) -> list[Target]:
    """The properties of a list file (see the module docstring); every bad line is reported at once."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise Ga4kitError(f"The property list {p} cannot be read: {exc.strerror or type(exc).__name__}.",
                          "Give a text file with one property id per line.") from None
    out, problems = [], []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        raw, label = _split(line)
        try:
            out.append(Target(property_id(raw), label or None))
        except IdentifierError as exc:
            problems.append(f"  {p}:{n}: {exc.message}")
    if problems:
        raise Ga4kitError(f"{len(problems)} line{'s' if len(problems) > 1 else ''} of {p} "
                          f"{'are' if len(problems) > 1 else 'is'} not a property id:\n" + "\n".join(problems),
                          "Find property ids in GA4 under Admin > Property details, or list them with "
                          "`ga4kit properties`.")
    return out


def _split(line: str) -> tuple[str, str]:
    """(id, label) of a line: the id, then anything after a space, comma or semicolon."""
    parts = re.split(r"[\s,;]+", line, maxsplit=1)
    return parts[0], (parts[1].strip() if len(parts) > 1 else "")


def from_account(clients: Any, account: str) -> list[Target]:
    """Every property of ``account`` (trashed ones included), with its settings from the listing."""
    acc = str(account).strip().removeprefix("accounts/")
    if not acc.isdigit():
        raise Ga4kitError(f"{account!r} is not an account id.", "Account ids are numbers: `ga4kit properties` lists "
                          "them beside each property.")
    return [Target(i.id, i.display_name, account=acc, info=i)
            for i in props.list_account_properties(clients, acc, show_deleted=True)]


def from_all(clients: Any) -> list[Target]:
    """Every property the credentials can see, account by account (see the module docstring)."""
    summaries = props.list_properties(clients)
    accounts: dict[str, list] = {}
    for s in summaries:
        accounts.setdefault(s.account, []).append(s)
    out: list[Target] = []
    for acc, listed in accounts.items():
        try:
            out += from_account(clients, acc)
        except ApiError:
            out += [Target(s.property, s.display_name, account=acc) for s in listed]
    return out


def merge(*groups: Iterable[Target]) -> list[Target]:
    """The targets of every group, each property once: the first mention wins, except that a mention with a
    goals file (or a listing's settings) completes one without."""
    out: dict[str, Target] = {}
    for group in groups:
        for t in group:
            old = out.get(t.id)
            if old is None:
                out[t.id] = t
                continue
            out[t.id] = Target(old.id, old.label or t.label, old.account or t.account, old.goals or t.goals,
                               old.info or t.info)
    return list(out.values())
