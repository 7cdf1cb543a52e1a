"""Registry of demo-data seeders. Each app registers one in its AppConfig.ready;
`manage.py seed_demo` runs them in order, so core never imports the apps above it.

A seeder takes the results of the seeders before it (a dict it may add to) and
must be idempotent: running it again changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Seeder = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class RegisteredSeeder:
    order: int
    name: str
    seed: Seeder


_seeders: dict[str, RegisteredSeeder] = {}


def register(name: str, seed: Seeder, *, order: int) -> None:
    _seeders[name] = RegisteredSeeder(order, name, seed)


def seeders() -> list[RegisteredSeeder]:
    return sorted(_seeders.values(), key=lambda entry: entry.order)
