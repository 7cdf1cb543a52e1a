"""Reads of the catalogue, already filtered by what the actor may see."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Concat

from accounts.permissions import Action, organizations_where
from core.errors import NotFound
from core.retention import RetentionPeriod
from procedures.models import (
    Exemption,
    Procedure,
    ProcedureStatus,
    ProcedureVersion,
    VersionState,
)
from procedures.reading import normalize_for_search
from procedures.search import QueryWord, query_words


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


def catalogue_category_counts() -> dict[str, int]:
    """How many published procedures each category holds."""
    rows = (
        Procedure.objects.filter(
            status=ProcedureStatus.ACTIVE, versions__state=VersionState.PUBLISHED
        )
        .order_by()
        .values("category")
        .annotate(count=Count("pk", distinct=True))
    )
    return {row["category"]: row["count"] for row in rows}


def with_life_event(queryset: QuerySet[Procedure], life_event: str) -> QuerySet[Procedure]:
    return queryset.filter(_life_event_condition(queryset, [life_event]))


# How much a query word counts where it is found: in the title most, then in the
# department's keywords, then a life event, then elsewhere; as typed above its
# reading or a synonym.
_RANK_TITLE, _RANK_TITLE_RELATED = 8, 6
_RANK_KEYWORDS, _RANK_KEYWORDS_RELATED = 4, 3
_RANK_LIFE_EVENT, _RANK_TEXT = 2, 1


def _containing(column: str, forms: list[str]) -> Q:
    condition = Q()
    for form in forms:
        condition |= Q(**{f"{column}__contains": form})
    return condition


def _word_condition(word: QueryWord, column: str) -> Q:
    condition = _containing(column, word.alternatives)
    if word.parts:
        every_part = Q()
        for part in word.parts:
            every_part &= _containing(column, part)
        condition |= every_part
    return condition


def _life_event_condition(queryset: QuerySet[Procedure], events: list[str]) -> Q:
    condition = Q()
    for event in events:
        if connections[queryset.db].features.supports_json_field_contains:
            condition |= Q(life_events__contains=[event])
        else:
            # SQLite (the embedded default) has no JSON containment; the value is
            # one of the choices, so matching its quoted form in the JSON is exact.
            condition |= Q(life_events__icontains=f'"{event}"')
    return condition


def search_procedures(queryset: QuerySet[Procedure], query: str) -> QuerySet[Procedure]:
    """Procedures matching every word of the query (by its spelling, reading,
    synonyms or life event), best first: annotated with `search_rank`, ordered
    by it, then by how many cases a year the procedure has."""
    words = query_words(query)
    if not words:
        return queryset
    rank = Value(0)
    for word in words:
        events = _life_event_condition(queryset, word.life_events)
        queryset = queryset.filter(_word_condition(word, "search_text") | events)
        where = [
            When(_containing("search_title", word.forms), then=Value(_RANK_TITLE)),
            When(_word_condition(word, "search_title"), then=Value(_RANK_TITLE_RELATED)),
            When(_containing("search_keywords", word.forms), then=Value(_RANK_KEYWORDS)),
            When(_word_condition(word, "search_keywords"), then=Value(_RANK_KEYWORDS_RELATED)),
        ]
        if word.life_events:
            where.append(When(events, then=Value(_RANK_LIFE_EVENT)))
        rank = rank + Case(*where, default=Value(_RANK_TEXT), output_field=IntegerField())
    return queryset.annotate(search_rank=rank).order_by("-search_rank", "-annual_volume", "code")


def closest_procedures(
    queryset: QuerySet[Procedure], query: str, limit: int = 3
) -> list[Procedure]:
    """For a search that found nothing (a typo, an unknown word): the procedures
    whose titles are most like the query. PostgreSQL compares trigrams; the
    embedded SQLite database compares in Python, which its small catalogue allows."""
    folded = normalize_for_search(query)
    if not folded:
        return []
    if connections[queryset.db].vendor == "postgresql":
        from django.contrib.postgres.search import TrigramWordSimilarity

        return list(
            queryset.annotate(
                likeness=TrigramWordSimilarity(
                    folded,
                    Concat("search_title", Value(" "), "search_keywords", output_field=TextField()),
                )
            )
            .filter(likeness__gte=0.3)
            .order_by("-likeness", "code")[:limit]
        )
    scored = []
    for procedure in queryset:
        forms = f"{procedure.search_title} {procedure.search_keywords}".split()
        likeness = max((word_likeness(folded, form) for form in forms), default=0)
        if likeness >= 0.3:
            scored.append((-likeness, procedure.code, procedure))
    return [procedure for *_key, procedure in sorted(scored)[:limit]]


def _trigrams(text: str) -> set[str]:
    padded = f"  {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def word_likeness(query: str, text: str) -> float:
    """The share of the query's trigrams found in the text: close to pg_trgm's
    word_similarity, for the database that has no pg_trgm."""
    ours = _trigrams(query)
    return len(ours & _trigrams(text)) / len(ours) if ours else 0.0


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


def _version_number(state: str) -> Subquery:
    return Subquery(
        ProcedureVersion.objects.filter(procedure=OuterRef("pk"), state=state).values("number")[:1]
    )


def managed_procedures_overview(actor: Any) -> QuerySet[Procedure]:
    """managed_procedures, each annotated with `draft_number` and
    `published_number` (None when there is none), for lists."""
    return managed_procedures(actor).annotate(
        draft_number=_version_number(VersionState.DRAFT),
        published_number=_version_number(VersionState.PUBLISHED),
    )


def managed_versions(actor: Any, code: str) -> QuerySet[ProcedureVersion]:
    """The versions of a procedure the actor manages, newest first, without their
    definitions; anyone else gets "not found"."""
    procedure = managed_procedure(actor, code)
    return procedure.versions.order_by("-number").defer("definition")


def managed_version(actor: Any, code: str, number: int) -> ProcedureVersion:
    return procedure_version(managed_procedure(actor, code), number)


def version_to_export(actor: Any, code: str, number: int | None = None) -> ProcedureVersion:
    """Version `number` of a procedure the actor manages; without a number the
    published version, else the draft, else the latest (a retired procedure)."""
    procedure = managed_procedure(actor, code)
    if number is not None:
        return procedure_version(procedure, number)
    draft, published = current_versions(procedure)
    version = published or draft
    if version is None:
        version = procedure.versions.order_by("-number").first()
        if version is None:
            raise NotFound()
        version.procedure = procedure
    return version


def managed_exemptions(actor: Any, code: str) -> QuerySet[Exemption]:
    """Every exemption (refused ones too) of a procedure the actor manages."""
    procedure = managed_procedure(actor, code)
    return procedure.exemptions.select_related(
        "procedure__owning_organization", "requested_by", "decided_by"
    )


def exemptions_for_auditor(actor: Any) -> QuerySet[Exemption]:
    """Exemptions of procedures in the organizations where the actor decides
    exemptions (their own and all below)."""
    return Exemption.objects.filter(
        procedure__owning_organization__in=organizations_where(actor, Action.DECIDE_EXEMPTIONS)
    ).select_related("procedure__owning_organization", "requested_by", "decided_by")


def exemption_for_auditor(actor: Any, exemption_id: int) -> Exemption:
    exemption = exemptions_for_auditor(actor).filter(pk=exemption_id).first()
    if exemption is None:
        raise NotFound()
    return exemption


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


def published_policy(procedure: Procedure, version: ProcedureVersion):
    """The five-less report of a published version, with the procedure's exemptions."""
    from procedures.policy import policy_report

    return policy_report(version.definition, procedure.exemptions.all())


def fee_summary(fee: dict) -> dict:
    """What the catalogue says about the fee, in yen."""
    kind = fee.get("kind", "none")
    return {
        "kind": kind,
        "amount": fee.get("amount") if kind in ("fixed", "computed") else None,
        "unit_amount": fee.get("unit_amount") if kind == "per_item" else None,
        "due": fee.get("due", "before_review"),
        "methods": fee.get("methods", []),
        "waivers": fee.get("waivers", []),
    }


def attachment_requirements(form: dict) -> list[dict]:
    """The file fields of a form: what documents a resident should have ready."""
    return [
        spec
        for step in form.get("steps", [])
        for spec in step.get("fields", [])
        if spec["type"] == "file"
    ]


def retention_summary(version) -> dict:
    """How long a case of this version is kept and when its Individual Numbers go,
    as the catalogue says it (the department's default for an older version)."""
    retention = version.definition.get("retention") or {}
    period = retention.get("period") or version.owning_organization.default_retention_period
    return {
        "period": period,
        "label": RetentionPeriod(period).label,
        "permanent": period == RetentionPeriod.PERMANENT,
        "individual_number_days": retention.get("individual_number_days", 0),
        "from_fiscal_year": settings.RETENTION_PERIOD_START == "fiscal_year",
    }
