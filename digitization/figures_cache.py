"""What the overview of a scope owes to slow reads, kept between requests
(docs/performance.md, B4). Each kept value depends on one or more generations:

- FIGURES: the inventory, its case reports and running totals, the exemptions'
  effect on the stages, the snapshots. Every change to them (digitization.totals,
  snapshot_take) replaces the token.
- FILINGS: the platform's own filings (applications.CaseCount), replaced by each
  submission (applications.services).

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
from collections.abc import Callable
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


def kept(
    key_parts: tuple[Any, ...],
    compute: Callable[[], T],
    *,
    depends_on: tuple[str, ...] = (FIGURES,),
) -> T:
    """`compute()`, or what it returned for the same key while none of the
    generations it `depends_on` was replaced."""
    seconds = settings.DIGITIZATION_OVERVIEW_CACHE_SECONDS
    if not seconds:
        return compute()
    key = _KEY_PREFIX + hashlib.sha256(repr((depends_on, key_parts)).encode()).hexdigest()
    generation_keys = [generation_key(name) for name in depends_on]
    found = cache.get_many([*generation_keys, key])
    if any(name not in found for name in generation_keys):
        for name in generation_keys:
            cache.add(name, uuid.uuid4().hex, None)
        generations = tuple(cache.get_many(generation_keys).get(name) for name in generation_keys)
    else:
        generations = tuple(found[name] for name in generation_keys)
        if key in found and found[key][0] == generations:
            return found[key][1]
    value = compute()
    cache.set(key, (generations, value), seconds)
    return value
