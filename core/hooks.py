"""Hooks: how a lower app lets higher apps take part in what it does, without
importing them.

A hook is declared by the app that owns the moment (`applications.hooks.case_counted`)
and announced from its service; the apps above subscribe in their AppConfig.ready().
Listeners run synchronously, in subscription order, inside the announcing service's
transaction, so what they write commits or rolls back with it; work that must wait
for the commit is theirs to put in `transaction.on_commit`. Unlike Django signals a
hook is one explicit object: its module says what is announced and who may listen,
and a search for it finds every subscriber."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Listener = Callable[..., None]


class Hook:
    def __init__(self, name: str, doc: str = "") -> None:
        self.name = name
        self.__doc__ = doc
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Add a listener (once: AppConfig.ready() may run twice in tests)."""
        if listener not in self._listeners:
            self._listeners.append(listener)

    def announce(self, **details: Any) -> None:
        for listener in self._listeners:
            listener(**details)

    def __repr__(self) -> str:
        return f"<Hook {self.name}: {len(self._listeners)} listener(s)>"
