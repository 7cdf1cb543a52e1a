"""What the overview of a scope owes to slow reads, kept between requests
(docs/performance.md, B4). Each kept value depends on one or more generations:

- FIGURES: the inventory, its case reports and running totals, the exemptions'
  effect on the stages, the snapshots. Every change to them (digitization.totals,
  snapshot_take) replaces the token.
- FILINGS: the platform's own filings (applications.CaseCount), replaced by each
  submission (applications.hooks.case_counted, subscribed in digitization/apps.py).

A token is replaced right away and again when the changing transaction commits:
a request that read the old token, or the old rows while the change was under
way, stored its result under a token that no later request accepts, so what is
shown is never stale. The exemptions are read on every request (one small
query) and are part of the keys, as are the scope's organizations with their
names, the period and the day (an exemption lapses without a write).
DIGITIZATION_OVERVIEW_CACHE_SECONDS = 0 turns it off."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

FIGURES = "figures"
FILINGS = "filings"
_KEY_PREFIX = "digitization:figures:"

T = TypeVar("T")


def generation_key(name: str) -> str:
    return f"digitization:{name}-generation"


def _replace(name: str) -> Callable[[], None]:
    def replace() -> None:
        cache.set(generation_key(name), uuid.uuid4().hex, None)

    return replace


def _changed(name: str) -> None:
    _replace(name)()
    transaction.on_commit(_replace(name))


def figures_changed() -> None:
    """Outdate every kept value that depends on the inventory figures (call it
    where the running totals change)."""
    _changed(FIGURES)


def filings_changed() -> None:
    """Outdate every kept value that counts the platform's filings (call it where
    a filing is counted)."""
    _changed(FILINGS)


@dataclass(frozen=True)
class Kept:
    """A value to keep: its key, how to compute it, the generations it depends on."""

    key_parts: tuple[Any, ...]
    compute: Callable[[], Any]
    depends_on: tuple[str, ...] = (FIGURES,)

    @property
    def cache_key(self) -> str:
        digest = hashlib.sha256(repr((self.depends_on, self.key_parts)).encode()).hexdigest()
        return _KEY_PREFIX + digest


def kept_all(wanted: Sequence[Kept]) -> list[Any]:
    """Each value's `compute()`, or what it returned for the same key while none of
    the generations it depends on was replaced; the tokens and the kept values are
    read in one round trip."""
    seconds = settings.DIGITIZATION_OVERVIEW_CACHE_SECONDS
    if not seconds:
        return [item.compute() for item in wanted]
    tokens = {name: generation_key(name) for item in wanted for name in item.depends_on}
    found = cache.get_many([*tokens.values(), *(item.cache_key for item in wanted)])
    missing = [token for token in tokens.values() if token not in found]
    if missing:
        for token in missing:
            cache.add(token, uuid.uuid4().hex, None)
        found.update(cache.get_many(missing))
    values = []
    for item in wanted:
        generations = tuple(found.get(tokens[name]) for name in item.depends_on)
        stored = found.get(item.cache_key)
        if stored is not None and stored[0] == generations:
            values.append(stored[1])
            continue
        value = item.compute()
        if None not in generations:  # no token to keep it under: the cache lost them
            cache.set(item.cache_key, (generations, value), seconds)
        values.append(value)
    return values


def kept(
    key_parts: tuple[Any, ...],
    compute: Callable[[], T],
    *,
    depends_on: tuple[str, ...] = (FIGURES,),
) -> T:
    """`compute()`, or what it returned for the same key while none of the
    generations it `depends_on` was replaced."""
    return kept_all([Kept(key_parts, compute, depends_on)])[0]


def on_case_counted(**_details: Any) -> None:
    """Listener of applications.hooks.case_counted."""
    filings_changed()
