"""Reads of the catalogue, already filtered by what the actor may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from accounts.permissions import Action, organizations_where
from core.errors import NotFound
from procedures.models import Procedure, ProcedureStatus, ProcedureVersion, VersionState


def published_procedures() -> QuerySet[Procedure]:
    """The public catalogue: active procedures with a published version, each with
    that version prefetched as `published`."""
    return (
        Procedure.objects.filter(
            status=ProcedureStatus.ACTIVE, versions__state=VersionState.PUBLISHED
        )
        .select_related("owning_organization")
        .prefetch_related(
            Prefetch(
                "versions",
                queryset=ProcedureVersion.objects.filter(state=VersionState.PUBLISHED),
                to_attr="published",
            )
        )
        .distinct()
    )


def published_procedure(code: str) -> tuple[Procedure, ProcedureVersion]:
    procedure = published_procedures().filter(code=code).first()
    if procedure is None or not procedure.published:
        raise NotFound()
    return procedure, procedure.published[0]


def managed_procedures(actor: Any) -> QuerySet[Procedure]:
    """Procedures the actor may edit: those owned by organizations where they
    manage procedures (their own and all below)."""
    return Procedure.objects.filter(
        owning_organization__in=organizations_where(actor, Action.MANAGE_PROCEDURES)
    ).select_related("owning_organization")


def managed_procedure(actor: Any, code: str) -> Procedure:
    """One procedure the actor manages; anyone else gets "not found"."""
    procedure = managed_procedures(actor).filter(code=code).first()
    if procedure is None:
        raise NotFound()
    return procedure


def procedure_version(procedure: Procedure, number: int) -> ProcedureVersion:
    version = procedure.versions.filter(number=number).first()
    if version is None:
        raise NotFound()
    version.procedure = procedure
    return version


def current_versions(
    procedure: Procedure,
) -> tuple[ProcedureVersion | None, ProcedureVersion | None]:
    """(draft, published) of a procedure."""
    draft = published = None
    for version in procedure.versions.filter(
        state__in=[VersionState.DRAFT, VersionState.PUBLISHED]
    ):
        version.procedure = procedure
        if version.state == VersionState.DRAFT:
            draft = version
        else:
            published = version
    return draft, published
