"""Creating, editing, checking, publishing, exporting and importing procedures.

Rules enforced here, for the builder pages, the API and code alike:
- only a department admin (or system admin) of the owning organization or an
  ancestor manages a procedure;
- a published version never changes; editing happens in the single draft;
- a draft must always be valid against the JSON Schema of the format; the finer
  rules (see procedures.form_engine.definition) and the five-less policy check must
  pass before it is published;
- at most one version is published at a time; publishing retires the previous one;
- an application window (opens_at, closes_at) closes after it opens (the rule of
  the window itself is procedures.window's).
"""

from __future__ import annotations

import copy
import re
from datetime import date, datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Organization
from accounts.permissions import Action, actor_may
from audit.services import audit_record
from core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from procedures.form_engine.definition import (
    Problem,
    document_problems,
    fee_problems,
    schema_problems,
    version_problems,
)
from procedures.hooks import exchange_exported, exchange_imported
from procedures.models import (
    Exemption,
    ExemptionStatus,
    Principle,
    Procedure,
    ProcedureStatus,
    ProcedureVersion,
    VersionState,
)
from procedures.policy import policy_report
from procedures.search import search_index_refresh
from procedures.window import in_japan_time, iso_moment, window_problems

FORMAT = "cityproc.procedure-definition"
FORMAT_VERSION = 1
# The exchange format's pattern for codes (see the JSON Schema), so that every
# procedure can be exported; codes appear in URLs, so a few words are reserved
# for the routes beside them (".../procedures/import/").
CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"
RESERVED_CODES = frozenset({"import", "export", "new"})
# Deeper documents are refused before the JSON Schema check, whose validator
# recurses once per level (conditions nest freely in the schema). Real
# definitions stay far below this.
MAX_NESTING = 64
PROCEDURE_FIELDS = (
    "title_ja",
    "title_en",
    "description_ja",
    "description_en",
    "legal_basis_ja",
    "legal_basis_en",
    "category",
    "life_events",
    "keywords",
    "readings",
    "filer",
    "identity_level",
    "processing_days",
    "annual_volume",
    "opens_at",
    "closes_at",
)


class DefinitionInvalid(ValidationFailed):
    code = "definition_invalid"

    def __init__(self, problems: list[Problem]):
        super().__init__(
            _("The procedure definition has %(count)d problem(s).") % {"count": len(problems)},
            details=[problem.as_dict() for problem in problems],
        )


class PolicyViolation(DomainError):
    code = "policy_failed"
    http_status = 409


def starter_definition() -> dict[str, Any]:
    """What a new procedure's first draft holds: one empty step and the defaults
    that already comply with all five principles."""
    return {
        "form": {
            "steps": [
                {
                    "key": "application",
                    "title": {"ja": "申請内容", "en": "Application"},
                    "fields": [],
                }
            ]
        },
        "fee": {"kind": "none"},
        "workflow": {"approval": "four_eyes", "identity_check": "online"},
        "delivery": {"methods": ["electronic"]},
        "contact": {"channels": ["email", "web_form"]},
        "result_document": {"kind": "notice"},
    }


def _require_manager(actor: Any, target: Any) -> None:
    """Actor None is the platform itself (seeding, management commands); views
    always pass the request's user, anonymous included."""
    if actor is None:
        return
    if not actor_may(actor, Action.MANAGE_PROCEDURES, target):
        raise PermissionDenied(_("You do not manage procedures of this organization."))


def _too_deep(document: Any, limit: int = MAX_NESTING) -> bool:
    stack = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _nesting_problem(path: str) -> Problem:
    return Problem(
        path,
        _("The document is nested more than %(limit)d levels deep.") % {"limit": MAX_NESTING},
    )


def _check_version_schema(definition: Any) -> None:
    """A version's definition must always be valid against the format's schema."""
    if _too_deep(definition):
        raise DefinitionInvalid([_nesting_problem("version")])
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "procedure": _placeholder_procedure(),
        "version": definition,
    }
    problems = [
        problem for problem in schema_problems(document) if problem.path.startswith("version")
    ]
    if problems:
        raise DefinitionInvalid(problems)


SEARCH_WORDS_MAX = 50
_KANA_ONLY = re.compile(r"^[\u3041-\u309f\u30a0-\u30ff\uff66-\uff9f\s]+$")


def _cleaned_search_words(fields: dict[str, Any]) -> dict[str, Any]:
    """Keywords and readings trimmed and without repeats; a reading must be kana
    (it is what the analyser got wrong), and each list stays short."""
    problems: dict[str, list[str]] = {}
    for name, longest in (("keywords", 100), ("readings", 200)):
        if name not in fields:
            continue
        value = fields[name]
        if not isinstance(value, list | tuple) or not all(isinstance(w, str) for w in value):
            problems[name] = [_("Give a list of words.")]
            continue
        words = list(dict.fromkeys(" ".join(word.split()) for word in value if word.strip()))
        if len(words) > SEARCH_WORDS_MAX:
            problems[name] = [
                _("At most %(count)d words, one per line.") % {"count": SEARCH_WORDS_MAX}
            ]
        elif any(len(word) > longest for word in words):
            problems[name] = [
                _("Each word can be at most %(count)d characters long.") % {"count": longest}
            ]
        elif name == "readings" and not all(_KANA_ONLY.match(word) for word in words):
            problems[name] = [_("Write readings in hiragana or katakana only.")]
        fields = {**fields, name: words}
    if problems:
        raise ValidationFailed(details=problems)
    return fields


def _check_code(code: str) -> None:
    if not re.fullmatch(CODE_PATTERN, code or ""):
        raise ValidationFailed(
            details={
                "code": [
                    _(
                        "Use 2 to 63 lower-case letters, digits and hyphens, starting with a letter or digit."
                    )
                ]
            }
        )
    if code in RESERVED_CODES:
        raise ValidationFailed(details={"code": [_("This code is reserved; choose another.")]})


def _placeholder_procedure() -> dict[str, Any]:
    return {
        "code": "placeholder",
        "title": {"ja": "-"},
        "organization": "-",
        "category": "other",
        "filer": "individual",
        "identity_level": "email_verified",
        "processing_days": 1,
    }


def _locked_procedure(procedure: Procedure) -> Procedure:
    return (
        Procedure.objects.select_for_update()
        .select_related("owning_organization")
        .get(pk=procedure.pk)
    )


# --- Procedures --------------------------------------------------------------------------


def procedure_create(
    *,
    actor: Any,
    organization: Organization,
    code: str,
    definition: dict | None = None,
    **fields: Any,
) -> Procedure:
    """Create a procedure with its first draft version. The code must fit the
    exchange format (so the procedure can always be exported) and be free."""
    _require_manager(actor, organization)
    _check_code(code)
    unknown = set(fields) - set(PROCEDURE_FIELDS)
    if unknown:
        raise ValidationFailed(details={name: [_("Unknown field.")] for name in unknown})
    fields = _cleaned_search_words(fields)
    fields = _window_checked(fields, None)
    definition = definition if definition is not None else starter_definition()
    _check_version_schema(definition)
    try:
        with transaction.atomic():
            procedure = Procedure.objects.create(
                code=code, owning_organization=organization, **fields
            )
            procedure.save(update_fields=search_index_refresh(procedure))
            ProcedureVersion.objects.create(
                procedure=procedure, number=1, definition=definition, created_by=_user(actor)
            )
            audit_record(
                actor=actor,
                action="procedures.created",
                target=procedure,
                data={"code": code, "organization": organization.code},
            )
    except IntegrityError as error:
        raise Conflict(
            _("A procedure with the code “%(code)s” already exists.") % {"code": code},
            code="code_taken",
        ) from error
    return procedure


def _user(actor: Any):
    return actor if getattr(actor, "is_authenticated", False) else None


def _window_checked(fields: dict[str, Any], current: Procedure | None) -> dict[str, Any]:
    """The fields with the application window's bounds as aware moments (a naive
    one is Japan time), refused when a year is out of range or the window would
    close at or before it opens (a bound not given is the procedure's current one)."""
    fields = dict(fields)
    for name in ("opens_at", "closes_at"):
        if name in fields:
            if fields[name] is not None and not isinstance(fields[name], datetime):
                raise ValidationFailed(details={name: [_("Enter a date and time.")]})
            fields[name] = in_japan_time(fields[name])
    opens_at = fields.get("opens_at", current.opens_at if current else None)
    closes_at = fields.get("closes_at", current.closes_at if current else None)
    problems = window_problems(opens_at, closes_at)
    if problems:
        raise ValidationFailed(
            next(iter(problems.values())),
            details={name: [message] for name, message in problems.items()},
        )
    return fields


def procedure_update(*, actor: Any, procedure: Procedure, **fields: Any) -> Procedure:
    """Change the catalogue entry (titles, category, processing period, application
    window, ...)."""
    _require_manager(actor, procedure)
    unknown = set(fields) - set(PROCEDURE_FIELDS)
    if unknown:
        raise ValidationFailed(details={name: [_("Unknown field.")] for name in unknown})
    fields = _cleaned_search_words(fields)
    with transaction.atomic():
        locked = _locked_procedure(procedure)
        fields = _window_checked(fields, locked)
        changed = {name: value for name, value in fields.items() if getattr(locked, name) != value}
        for name, value in changed.items():
            setattr(locked, name, value)
        if changed:
            locked.save(update_fields=[*changed, *search_index_refresh(locked), "updated_at"])
            audit_record(
                actor=actor,
                action="procedures.updated",
                target=locked,
                data={"fields": sorted(changed)},
            )
    return locked


def procedure_retire(*, actor: Any, procedure: Procedure) -> Procedure:
    """Take a procedure out of the catalogue; its published version is retired."""
    _require_manager(actor, procedure)
    with transaction.atomic():
        locked = _locked_procedure(procedure)
        if locked.status == ProcedureStatus.RETIRED:
            return locked
        now = timezone.now()
        locked.versions.filter(state=VersionState.PUBLISHED).update(
            state=VersionState.RETIRED, retired_at=now
        )
        locked.status = ProcedureStatus.RETIRED
        locked.save(update_fields=["status", "updated_at"])
        audit_record(actor=actor, action="procedures.retired", target=locked)
    return locked


# --- Versions -----------------------------------------------------------------------------


def procedure_draft(*, actor: Any, procedure: Procedure) -> ProcedureVersion:
    """The procedure's draft, started from the published version if there is none."""
    return procedure_draft_get_or_create(actor=actor, procedure=procedure)[0]


def procedure_draft_get_or_create(
    *, actor: Any, procedure: Procedure
) -> tuple[ProcedureVersion, bool]:
    """(draft, created): the procedure's single draft, started from the published
    version (else the latest, else the starter) when there is none."""
    _require_manager(actor, procedure)
    with transaction.atomic():
        locked = _locked_procedure(procedure)
        draft = locked.versions.filter(state=VersionState.DRAFT).first()
        if draft is not None:
            return draft, False
        base = (
            locked.versions.filter(state=VersionState.PUBLISHED).first()
            or locked.versions.order_by("-number").first()
        )
        number = (locked.versions.aggregate(Max("number"))["number__max"] or 0) + 1
        draft = ProcedureVersion.objects.create(
            procedure=locked,
            number=number,
            definition=copy.deepcopy(base.definition) if base else starter_definition(),
            created_by=_user(actor),
        )
        audit_record(
            actor=actor,
            action="procedures.draft_started",
            target=locked,
            data={"version": number, "from_version": base.number if base else None},
        )
    return draft, True


def _locked_draft(version: ProcedureVersion) -> ProcedureVersion:
    locked = (
        ProcedureVersion.objects.select_for_update()
        .select_related("procedure__owning_organization")
        .get(pk=version.pk)
    )
    if locked.state != VersionState.DRAFT:
        raise Conflict(
            _("Version %(number)d is %(state)s and can no longer change; edit the draft instead.")
            % {"number": locked.number, "state": locked.get_state_display()},
            code="version_not_draft",
        )
    return locked


def version_update(*, actor: Any, version: ProcedureVersion, definition: dict) -> ProcedureVersion:
    """Replace a draft's definition (the builder's every edit comes here)."""
    _require_manager(actor, version.procedure)
    _check_version_schema(definition)
    with transaction.atomic():
        locked = _locked_draft(version)
        if locked.definition == definition:
            return locked
        locked.definition = definition
        locked.save(update_fields=["definition", "updated_at"])
        audit_record(
            actor=actor,
            action="procedures.draft_edited",
            target=locked.procedure,
            data={"version": locked.number},
        )
    return locked


def version_fee_problems(*, version: ProcedureVersion, fee: dict) -> list[Problem]:
    """What publishing would find wrong with this fee on this draft's form (an
    amount, the field counting the items, a payment method, fields its rules and
    waivers read), after the format's schema."""
    _check_version_schema({**version.definition, "fee": fee})
    return fee_problems(fee, version.definition.get("form", {}), root="version.fee")


def version_fee_update(*, actor: Any, version: ProcedureVersion, fee: dict) -> ProcedureVersion:
    """Replace a draft's fee from the fee page. Unlike an edit of a single field,
    the page edits the fee as a whole, so it is saved only complete: without any
    of the problems publishing would refuse (version_fee_problems)."""
    _require_manager(actor, version.procedure)
    problems = version_fee_problems(version=version, fee=fee)
    if problems:
        raise DefinitionInvalid(problems)
    return version_update(
        actor=actor, version=version, definition={**version.definition, "fee": fee}
    )


def version_problems_of(version: ProcedureVersion) -> list[Problem]:
    return version_problems(version.definition)


def version_policy(version: ProcedureVersion, *, today: date | None = None):
    return policy_report(version.definition, version.procedure.exemptions.all(), today=today)


def version_report(version: ProcedureVersion, *, today: date | None = None) -> dict[str, Any]:
    """What the builder and the API show before publishing: the five-less result
    of every principle and the definition's problems. `publishable` is exactly
    what version_publish will decide: no problems and no failing principle."""
    report = version_policy(version, today=today)
    problems = version_problems_of(version)
    return {
        **report.as_dict(),
        "publishable": report.publishable and not problems,
        "problems": [problem.as_dict() for problem in problems],
    }


def _retention_stamped(version: ProcedureVersion) -> None:
    """A version published without a retention period gets its department's default
    of the day, written into it: each case keeps the period of the version it was
    filed under, so a later change of the default changes no published version."""
    retention = version.definition.setdefault("retention", {})
    if not retention.get("period"):
        retention["period"] = version.procedure.owning_organization.default_retention_period


def version_publish(*, actor: Any, version: ProcedureVersion) -> ProcedureVersion:
    """Publish a draft: it must have no definition problems and pass (or be
    exempt from) every five-less principle. The previously published version is
    retired in the same transaction; applications keep the version they pinned."""
    _require_manager(actor, version.procedure)
    with transaction.atomic():
        _locked_procedure(version.procedure)
        locked = _locked_draft(version)
        problems = version_problems(locked.definition)
        if problems:
            raise DefinitionInvalid(problems)
        report = version_policy(locked)
        if not report.publishable:
            names = ", ".join(result.label for result in report.failing)
            raise PolicyViolation(
                _("Publishing is refused: the procedure breaks these principles: %(names)s.")
                % {"names": names},
                details=[result.as_dict() for result in report.failing],
            )
        now = timezone.now()
        ProcedureVersion.objects.filter(
            procedure=locked.procedure, state=VersionState.PUBLISHED
        ).update(state=VersionState.RETIRED, retired_at=now)
        _retention_stamped(locked)
        locked.state = VersionState.PUBLISHED
        locked.published_at = now
        locked.published_by = _user(actor)
        locked.save(
            update_fields=["state", "published_at", "published_by", "definition", "updated_at"]
        )
        if locked.procedure.status != ProcedureStatus.ACTIVE:
            Procedure.objects.filter(pk=locked.procedure_id).update(status=ProcedureStatus.ACTIVE)
        audit_record(
            actor=actor,
            action="procedures.published",
            target=locked.procedure,
            data={
                "version": locked.number,
                "exempt": [p for p, r in report.results.items() if r.status == "exempt"],
            },
        )
    return locked


# --- Exemptions -------------------------------------------------------------------------


def exemption_request(
    *,
    actor: Any,
    procedure: Procedure,
    principle: str,
    reason: str,
    legal_basis: str = "",
    within_city_discretion: bool,
) -> Exemption:
    """A department asks to be exempted from one principle, with its reason. An
    approval whose review date has passed no longer counts; asking again closes it
    as expired (kept as history) so that the renewal can be decided."""
    _require_manager(actor, procedure)
    if principle not in Principle.values:
        raise ValidationFailed(details={"principle": [_("Unknown principle.")]})
    if not reason.strip():
        raise ValidationFailed(details={"reason": [_("Give the reason.")]})
    try:
        with transaction.atomic():
            lapsed = Exemption.objects.select_for_update().filter(
                procedure=procedure,
                principle=principle,
                status=ExemptionStatus.APPROVED,
                review_date__lt=timezone.localdate(),
            )
            for old in lapsed:
                old.status = ExemptionStatus.EXPIRED
                old.save(update_fields=["status", "updated_at"])
                audit_record(
                    actor=actor,
                    action="procedures.exemption_expired",
                    target=old,
                    data={"procedure": procedure.code, "principle": principle},
                )
            exemption = Exemption.objects.create(
                procedure=procedure,
                principle=principle,
                reason=reason.strip(),
                legal_basis=legal_basis.strip(),
                within_city_discretion=within_city_discretion,
                requested_by=_user(actor),
            )
            audit_record(
                actor=actor,
                action="procedures.exemption_requested",
                target=exemption,
                data={"procedure": procedure.code, "principle": principle},
            )
    except IntegrityError as error:
        raise Conflict(
            _("An exemption from this principle is already requested or approved."),
            code="exemption_exists",
        ) from error
    return exemption


def exemption_decide(
    *,
    actor: Any,
    exemption: Exemption,
    approve: bool,
    review_date: date | None = None,
    note: str = "",
) -> Exemption:
    """An auditor approves (with a review date) or refuses a requested exemption."""
    if actor is not None and not actor_may(actor, Action.DECIDE_EXEMPTIONS, exemption.procedure):
        raise NotFound()
    if approve and (review_date is None or review_date <= timezone.localdate()):
        raise ValidationFailed(details={"review_date": [_("Give a review date in the future.")]})
    with transaction.atomic():
        locked = Exemption.objects.select_for_update().get(pk=exemption.pk)
        if locked.status != ExemptionStatus.REQUESTED:
            raise Conflict(_("This exemption was already decided."), code="already_decided")
        locked.status = ExemptionStatus.APPROVED if approve else ExemptionStatus.REFUSED
        locked.review_date = review_date if approve else None
        locked.decided_by = _user(actor)
        locked.decided_at = timezone.now()
        locked.decision_note = note.strip()
        locked.save()
        audit_record(
            actor=actor,
            action="procedures.exemption_approved" if approve else "procedures.exemption_refused",
            target=locked,
            data={
                "procedure": locked.procedure.code,
                "principle": locked.principle,
                "review_date": review_date,
            },
        )
    return locked


# --- The exchange format ---------------------------------------------------------------


def _text(obj: Any, field: str) -> dict[str, str] | None:
    ja, en = getattr(obj, f"{field}_ja"), getattr(obj, f"{field}_en")
    if not ja:
        return None
    return {"ja": ja, "en": en} if en else {"ja": ja}


def procedure_export(*, procedure: Procedure, version: ProcedureVersion) -> dict[str, Any]:
    """One JSON document holding the procedure and one of its versions."""
    entry: dict[str, Any] = {
        "code": procedure.code,
        "title": _text(procedure, "title"),
        "organization": procedure.owning_organization.code,
        "category": procedure.category,
        "life_events": list(procedure.life_events),
        "filer": procedure.filer,
        "identity_level": procedure.identity_level,
        "processing_days": procedure.processing_days,
        "annual_volume": procedure.annual_volume,
    }
    for field in ("description", "legal_basis"):
        if text := _text(procedure, field):
            entry[field] = text
    for field in ("keywords", "readings"):
        if words := list(getattr(procedure, field)):
            entry[field] = words
    window = {
        name: iso_moment(moment)
        for name in ("opens_at", "closes_at")
        if (moment := getattr(procedure, name)) is not None
    }
    if window:
        entry["application_window"] = window
    exemptions = []
    for exemption in procedure.exemptions.exclude(status=ExemptionStatus.REFUSED):
        record: dict[str, Any] = {
            "principle": exemption.principle,
            "reason": {"ja": exemption.reason},
            "within_city_discretion": exemption.within_city_discretion,
            "status": exemption.status,
        }
        if exemption.legal_basis:
            record["legal_basis"] = {"ja": exemption.legal_basis}
        if exemption.review_date:
            record["review_date"] = exemption.review_date.isoformat()
        exemptions.append(record)
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "procedure": entry,
        "version": copy.deepcopy(version.definition),
    }
    if exemptions:
        document["exemptions"] = exemptions
    exchange_exported.announce(procedure=procedure, document=document)
    return document


def _window_of(entry: dict[str, Any]) -> dict[str, datetime | None]:
    """opens_at and closes_at of an exchange document's procedure (the schema has
    checked their shape: ISO 8601 with an offset); a missing bound is no bound."""
    window = entry.get("application_window") or {}
    moments: dict[str, datetime | None] = {}
    problems = []
    for name in ("opens_at", "closes_at"):
        text = window.get(name)
        try:
            moments[name] = datetime.fromisoformat(text) if text else None
        except ValueError:
            moments[name] = None
            problems.append(
                Problem(
                    f"procedure.application_window.{name}",
                    _("“%(value)s” is not a real date and time.") % {"value": text},
                )
            )
    if not problems:
        problems = [
            Problem(f"procedure.application_window.{name}", message)
            for name, message in window_problems(moments["opens_at"], moments["closes_at"]).items()
        ]
    if problems:
        raise DefinitionInvalid(problems)
    return moments


def procedure_import(
    *, actor: Any, document: Any, organization: Organization | None = None
) -> ProcedureVersion:
    """Import an exchange document as a draft: a new procedure, or a new draft of
    the procedure with that code. Every problem is reported with its path, and
    nothing is written unless the whole document is valid.

    The owning organization is `organization` when given, else the one named in
    the document. Exemptions in the document are not carried over: each city's
    auditors decide their own."""
    if _too_deep(document):
        raise DefinitionInvalid([_nesting_problem("")])
    problems = document_problems(document)
    if problems:
        raise DefinitionInvalid(problems)
    entry = document["procedure"]
    if organization is None:
        organization = Organization.objects.filter(code=entry["organization"]).first()
        if organization is None:
            raise DefinitionInvalid(
                [
                    Problem(
                        "procedure.organization",
                        _("No organization has the code “%(code)s”; choose the owner on import.")
                        % {"code": entry["organization"]},
                    )
                ]
            )
    fields = {
        "title_ja": entry["title"]["ja"],
        "title_en": entry["title"].get("en", ""),
        "description_ja": entry.get("description", {}).get("ja", ""),
        "description_en": entry.get("description", {}).get("en", ""),
        "legal_basis_ja": entry.get("legal_basis", {}).get("ja", ""),
        "legal_basis_en": entry.get("legal_basis", {}).get("en", ""),
        "category": entry["category"],
        "life_events": entry.get("life_events", []),
        "keywords": entry.get("keywords", []),
        "readings": entry.get("readings", []),
        "filer": entry["filer"],
        "identity_level": entry["identity_level"],
        "processing_days": entry["processing_days"],
        "annual_volume": entry.get("annual_volume", 0),
        **_window_of(entry),
    }
    with transaction.atomic():
        existing = Procedure.objects.filter(code=entry["code"]).first()
        if existing is None:
            procedure = procedure_create(
                actor=actor,
                organization=organization,
                code=entry["code"],
                definition=document["version"],
                **fields,
            )
            version = procedure.versions.get()
        else:
            procedure = procedure_update(actor=actor, procedure=existing, **fields)
            draft = procedure_draft(actor=actor, procedure=procedure)
            version = version_update(actor=actor, version=draft, definition=document["version"])
        exchange_imported.announce(actor=actor, procedure=procedure, document=document)
        audit_record(
            actor=actor,
            action="procedures.imported",
            target=procedure,
            data={"version": version.number},
        )
    return version
