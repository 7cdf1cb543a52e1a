"""What payments are for, without importing it.

Payments know a payment is for "an application with id N" and nothing more. The
app that owns such subjects registers, in its AppConfig.ready(), a handler for its
kind:

- `resolve(subject_id, lock=False)` tells payments the amount due now, who may pay
  it, a description, the allowed methods, the organization paid to (whose staff may
  refund) and whether paying is allowed now (and if not, why);
- `settled(subject_id, payment_id)` is called once a payment for it has settled
  (in a task, after the commit; again by the daily reconciliation), and must be
  idempotent. It returns True when it moved something on.

applications/payment_handlers.py registers the kind "application".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.errors import NotFound


@dataclass(frozen=True)
class PaymentSubject:
    kind: str
    id: int
    owner_id: int
    # What is due now, in yen (0 once paid or when nothing is to be paid).
    amount_due: int
    # For pages, in the active language.
    title: str
    # Stored with the payment and sent to the provider: Japanese, at most 200 characters.
    description: str
    methods: tuple[str, ...]
    # The organization paid to (accounts.Organization), for staff permissions.
    organization: Any = None
    payable: bool = True
    # Why paying is not possible now: a stable code and a message for people.
    blocked_code: str = ""
    blocked_message: Any = ""
    reference: str = ""
    resident_url: str = ""
    staff_url: str = ""
    extra: dict = field(default_factory=dict, compare=False)


Resolver = Callable[..., PaymentSubject | None]
SettledHandler = Callable[[int, int], bool]


@dataclass(frozen=True)
class SubjectHandler:
    kind: str
    resolve: Resolver
    settled: SettledHandler


_handlers: dict[str, SubjectHandler] = {}


def register_subject(kind: str, *, resolve: Resolver, settled: SettledHandler) -> None:
    """Register (or replace) the handler of a kind of subject."""
    _handlers[kind] = SubjectHandler(kind=kind, resolve=resolve, settled=settled)


def subject_handler(kind: str) -> SubjectHandler:
    try:
        return _handlers[kind]
    except KeyError as error:
        raise NotFound() from error


def resolve_subject(kind: str, subject_id: int, *, lock: bool = False) -> PaymentSubject | None:
    return subject_handler(kind).resolve(subject_id, lock=lock)
