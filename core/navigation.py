"""Role-aware navigation. Each app registers its entries at start-up (in its
AppConfig.ready), so the kernel never imports the apps above it. Who may see an
entry is a predicate on the user, so the kernel needs no notion of roles: apps
build one with `accounts.permissions.holds(action)`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse


@dataclass(frozen=True)
class NavItem:
    label: Any  # lazy translation
    url_name: str
    order: int = 100
    # None: everyone signed in. Otherwise a predicate on the signed-in user.
    requires: Callable[[Any], bool] | None = None
    anonymous: bool = False

    def visible_to(self, user: Any) -> bool:
        if not user.is_authenticated:
            return self.anonymous
        if self.requires is None:
            return True
        return bool(self.requires(user))


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


def navigation(request) -> dict[str, list[dict[str, str]]]:
    """Context processor: the entries the request's user may see."""
    user = getattr(request, "user", None)
    return {"navigation": navigation_for(user) if user is not None else []}
