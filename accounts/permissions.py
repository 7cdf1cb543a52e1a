"""The one place that answers "may this actor do X to this object?".

A role held in an organization applies to that organization and every descendant
(a bureau's department admin administers its departments). Every selector and
every object check goes through `actor_may` or `organizations_where`; no view
decides permissions on its own.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import models, transaction
from django.db.models import Q, QuerySet

from accounts.models import Membership, Organization, Role, User


class Action(models.TextChoices):
    """What staff can do, and so what a role grants. Residents act only on their
    own objects, which the owning app's selectors check by ownership."""

    MANAGE_PROCEDURES = "procedures.manage"
    REVIEW_APPLICATIONS = "applications.review"
    DECIDE_APPLICATIONS = "applications.decide"
    ASSIGN_APPLICATIONS = "applications.assign"
    REFUND_PAYMENTS = "payments.refund"
    REPORT_INVENTORY = "digitization.report"
    AUDIT_DIGITIZATION = "digitization.audit"
    DECIDE_EXEMPTIONS = "digitization.decide_exemptions"
    VIEW_AUDIT_LOG = "audit.view"
    MANAGE_MEMBERSHIPS = "accounts.manage_memberships"


ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.CLERK: frozenset({Action.REVIEW_APPLICATIONS, Action.REPORT_INVENTORY}),
    Role.APPROVER: frozenset(
        {Action.REVIEW_APPLICATIONS, Action.DECIDE_APPLICATIONS, Action.REFUND_PAYMENTS}
    ),
    Role.DEPARTMENT_ADMIN: frozenset(
        {
            Action.MANAGE_PROCEDURES,
            Action.REVIEW_APPLICATIONS,
            Action.DECIDE_APPLICATIONS,
            Action.ASSIGN_APPLICATIONS,
            Action.REFUND_PAYMENTS,
            Action.REPORT_INVENTORY,
            Action.MANAGE_MEMBERSHIPS,
        }
    ),
    Role.AUDITOR: frozenset(
        {Action.AUDIT_DIGITIZATION, Action.DECIDE_EXEMPTIONS, Action.VIEW_AUDIT_LOG}
    ),
    Role.SYSTEM_ADMIN: frozenset(
        {Action.MANAGE_PROCEDURES, Action.MANAGE_MEMBERSHIPS, Action.VIEW_AUDIT_LOG}
    ),
}


def roles_granting(action: str) -> frozenset[str]:
    return frozenset(role for role, actions in ROLE_ACTIONS.items() if action in actions)


def users_who_may(action: str, organization: Organization) -> QuerySet:
    """The active users holding `action` in `organization` (a role there or in an
    organization above it), e.g. whom to tell that something of it needs them."""
    ancestors = [
        "/" + "/".join(organization.path.strip("/").split("/")[:depth]) + "/"
        for depth in range(1, organization.path.strip("/").count("/") + 2)
    ]
    return (
        User.objects.filter(
            is_active=True,
            memberships__role__in=roles_granting(action),
            memberships__organization__path__in=ancestors,
        )
        .distinct()
        .order_by("pk")
    )


# Roles are read on almost every staff request; across requests they are kept in
# the shared cache under a generation that every change of any membership replaces
# (on commit), so a revoked role is gone at the next request in every process.
GENERATION_KEY = "accounts:memberships:generation"
CACHE_SECONDS = 300


def _shared_cache():
    """The cache, when every process shares it (Redis); None for a per-process
    cache, which could not forget a revoked role in the other processes."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if "redis" not in backend.lower():
        return None
    return cache


def _user_key(actor: Any) -> str:
    return f"accounts:memberships:{actor.pk}"


def _memberships(actor: Any) -> list[tuple[str, str]]:
    """(role, organization path) pairs of the actor: once per user object, and from
    the shared cache while no membership changed."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return []
    cached = getattr(actor, "_membership_cache", None)
    if cached is not None:
        return cached
    shared = _shared_cache()
    generation = None
    if shared is not None:
        found = shared.get_many([GENERATION_KEY, _user_key(actor)])
        generation = found.get(GENERATION_KEY)
        entry = found.get(_user_key(actor))
        if generation is not None and entry is not None and entry[0] == generation:
            actor._membership_cache = [tuple(pair) for pair in entry[1]]
            return actor._membership_cache
    cached = list(
        Membership.objects.filter(user=actor, user__is_active=True).values_list(
            "role", "organization__path"
        )
    )
    actor._membership_cache = cached
    if shared is not None:
        if generation is None:
            generation = _new_generation(shared)
        shared.set(_user_key(actor), (generation, cached), CACHE_SECONDS)
    return cached


def _new_generation(shared) -> str:
    # add: a concurrent first reader's generation wins; both then read it back.
    shared.add(GENERATION_KEY, secrets.token_hex(8), None)
    return shared.get(GENERATION_KEY)


def memberships_changed() -> None:
    """A role was granted or revoked: after the commit, every cached set of roles
    is stale (a new generation)."""
    shared = _shared_cache()
    if shared is not None:
        transaction.on_commit(
            lambda: shared.set(GENERATION_KEY, secrets.token_hex(8), None), robust=True
        )


def forget_memberships(actor: Any) -> None:
    """Drop the roles cached on this user object after they changed."""
    actor.__dict__.pop("_membership_cache", None)


def actor_roles(actor: Any) -> set[str]:
    return {role for role, _path in _memberships(actor)}


def actor_is_staff(actor: Any) -> bool:
    """Staff are users with any membership; they must use a second factor."""
    return bool(_memberships(actor)) or bool(getattr(actor, "is_superuser", False))


def _granting_paths(actor: Any, action: str) -> list[str]:
    roles = roles_granting(action)
    return [path for role, path in _memberships(actor) if role in roles]


def _organization_path(target: Any) -> str | None:
    if isinstance(target, Organization):
        return target.path
    organization = getattr(target, "owning_organization", None) or getattr(
        target, "organization", None
    )
    return organization.path if organization is not None else None


def actor_may(actor: Any, action: str, target: Any = None) -> bool:
    """True when the actor holds a role granting `action` in the organization that
    owns `target` or one of its ancestors. Without a target: anywhere at all.

    A target is an Organization, or any object with an `owning_organization` or
    `organization` attribute."""
    paths = _granting_paths(actor, action)
    if target is None:
        return bool(paths)
    target_path = _organization_path(target)
    if target_path is None:
        return False
    return any(target_path.startswith(path) for path in paths)


@functools.cache
def holds(action: str) -> Callable[[Any], bool]:
    """A predicate: does a user hold `action` anywhere? For navigation entries
    (core.navigation), which know nothing of roles. Cached, so registering an entry
    twice registers it once (entries compare equal)."""

    def user_holds(user: Any) -> bool:
        return actor_may(user, action)

    user_holds.__name__ = f"holds_{action.replace('.', '_')}"
    return user_holds


def organizations_where(actor: Any, action: str) -> QuerySet[Organization]:
    """Every organization in which the actor may take `action`, for selectors to
    filter by (`owning_organization__in=organizations_where(...)`)."""
    paths = _granting_paths(actor, action)
    if not paths:
        return Organization.objects.none()
    condition = Q()
    for path in paths:
        condition |= Q(path__startswith=path)
    return Organization.objects.filter(condition)
