"""Role-aware navigation. Each app registers its entries at start-up (in its
AppConfig.ready), so accounts never imports the apps above it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from accounts.permissions import actor_may


@dataclass(frozen=True)
class NavItem:
    label: Any  # lazy translation
    url_name: str
    order: int = 100
    # None: everyone signed in. Otherwise an Action the user must hold somewhere,
    # or a predicate on the user.
    requires: str | Callable[[Any], bool] | None = None
    anonymous: bool = False

    def visible_to(self, user: Any) -> bool:
        if not user.is_authenticated:
            return self.anonymous
        if self.requires is None:
            return True
        if callable(self.requires):
            return bool(self.requires(user))
        return actor_may(user, self.requires)


_items: list[NavItem] = []


def register(item: NavItem) -> None:
    if item not in _items:
        _items.append(item)


def navigation_for(user: Any) -> list[dict[str, str]]:
    return [
        {"label": str(item.label), "url": reverse(item.url_name), "url_name": item.url_name}
        for item in sorted(_items, key=lambda entry: entry.order)
        if item.visible_to(user)
    ]
