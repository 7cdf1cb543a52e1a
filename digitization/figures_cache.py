"""The overview's slow part, kept between requests: what the figures of a scope
owe to the inventory, the case reports and the exemptions (the running totals per
organization, the entries linked to the catalogue, the gap walk, the exemption
counts). An auditor's dashboard and the rates API read it instead of computing it
on every request (docs/performance.md, B4); the platform's own filings, which
change with every submission, are added to it on each request, so the figures
are never stale.

Every change to those running totals (digitization.totals) replaces the
generation token, right away and again when its transaction commits: a request
that read the old token or the old rows while the change was under way stores
its result under the old token, which no later request accepts. The exemptions
are read on every request (one small query) and are part of the key, as are the
scope's organizations with their names, the period and the day (an exemption
lapses without a write).
DIGITIZATION_OVERVIEW_CACHE_SECONDS = 0 turns it off."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

GENERATION_KEY = "digitization:figures-generation"
_KEY_PREFIX = "digitization:figures:"

T = TypeVar("T")


def _new_generation() -> None:
    cache.set(GENERATION_KEY, uuid.uuid4().hex, None)


def figures_changed() -> None:
    """Outdate every kept overview (call it where the running totals change)."""
    _new_generation()
    transaction.on_commit(_new_generation)


def kept(key_parts: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """`compute()`, or what it returned for the same key under the current
    generation."""
    seconds = settings.DIGITIZATION_OVERVIEW_CACHE_SECONDS
    if not seconds:
        return compute()
    key = _KEY_PREFIX + hashlib.sha256(repr(key_parts).encode()).hexdigest()
    found = cache.get_many([GENERATION_KEY, key])
    generation = found.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, uuid.uuid4().hex, None)
        generation = cache.get(GENERATION_KEY)
    elif key in found and found[key][0] == generation:
        return found[key][1]
    value = compute()
    cache.set(key, (generation, value), seconds)
    return value
