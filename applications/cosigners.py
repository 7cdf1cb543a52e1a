"""Co-signers as a procedure version declares them (the `cosigners` section of the
open format), the checks of the people an applicant names for them, and the reads
the pages and the API show (docs/cosignature.md). Nothing here writes; the writes
are applications.cosigning.

The rules for naming, the same on the pages, in the API and at submission:
- a role applies while its condition holds on the applicant's answers;
- a required role that applies needs a name and an e-mail address; an optional
  one is asked only when the applicant gives both;
- a co-signer is someone else: never the applicant's own address, and each role
  a different person (two roles, two addresses).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from applications.models import Application, ApplicationStatus, Cosignature, CosignatureStatus
from core.signing import canonical_json, sha256_hex, verify_digest
from procedures.form_engine import engine
from procedures.form_engine.conditions import evaluate
from procedures.form_engine.html import AnswerRow, answer_rows
from procedures.form_engine.text import localized_text
from procedures.models import IdentityLevel

NAME_MAX, EMAIL_MAX = 150, 254


@dataclass(frozen=True)
class CosignerRole:
    """One role of a version's `cosigners` section."""

    key: str
    label: dict
    statement: dict
    required: bool = True
    identity_level: str = IdentityLevel.EMAIL_VERIFIED
    shows: tuple[str, ...] = ()
    condition: Any = None

    @property
    def label_text(self) -> str:
        return localized_text(self.label) or self.key

    @property
    def statement_text(self) -> str:
        return localized_text(self.statement)

    @property
    def needs_identity(self) -> bool:
        return self.identity_level == IdentityLevel.IDENTITY_VERIFIED


def roles_of(version: Any) -> list[CosignerRole]:
    """Every co-signer role the version declares, in its order."""
    return [
        CosignerRole(
            key=item["key"],
            label=item.get("label") or {},
            statement=item.get("statement") or {},
            required=bool(item.get("required", True)),
            identity_level=item.get("identity_level", IdentityLevel.EMAIL_VERIFIED),
            shows=tuple(item.get("shows", [])),
            condition=item.get("condition"),
        )
        for item in version.definition.get("cosigners") or []
    ]


def role_of(version: Any, key: str) -> CosignerRole | None:
    return next((role for role in roles_of(version) if role.key == key), None)


def applicable_roles(version: Any, answers: dict) -> list[CosignerRole]:
    """The roles whose condition holds on these answers (no condition: always)."""
    return [
        role
        for role in roles_of(version)
        if role.condition is None or evaluate(role.condition, answers)
    ]


def typed(value: Any, limit: int) -> str:
    """A typed value as kept: a string, trimmed, at most `limit` characters."""
    return value.strip()[:limit] if isinstance(value, str) else ""


def named_of(application: Application, role_key: str) -> dict[str, str]:
    entry = (application.cosigner_answers or {}).get(role_key) or {}
    return {
        "name": typed(entry.get("name"), NAME_MAX),
        "email": typed(entry.get("email"), EMAIL_MAX),
    }


def person_errors(
    name: str,
    email: str,
    *,
    required: bool,
    applicant_email: str,
    taken: set[str],
    prefix: str,
) -> dict[str, list[str]]:
    """The problems of one person named for a role (see the module's rules), by
    "<prefix>.name" and "<prefix>.email" ("name", "email" without a prefix);
    `taken` holds the addresses of the other roles, lower-cased."""
    errors: dict[str, list[str]] = {}
    name_key, email_key = (f"{prefix}.name", f"{prefix}.email") if prefix else ("name", "email")
    if not name and not email:
        if required:
            errors[name_key] = [_("Enter the co-signer's name.")]
            errors[email_key] = [_("Enter the co-signer's e-mail address.")]
        return errors
    if not name:
        errors[name_key] = [_("Enter the co-signer's name.")]
    if not email:
        errors[email_key] = [_("Enter the co-signer's e-mail address.")]
        return errors
    try:
        validate_email(email)
    except ValidationError:
        errors[email_key] = [
            _("Enter an e-mail address in the right format, like name@example.jp.")
        ]
        return errors
    if email.lower() == (applicant_email or "").lower():
        errors[email_key] = [
            _("A co-signer is someone other than you: enter their own e-mail address.")
        ]
    elif email.lower() in taken:
        errors[email_key] = [
            _("Each co-signer must be a different person: this address is already named.")
        ]
    return errors


def cosigner_errors(application: Application, roles: list[CosignerRole]) -> dict[str, list[str]]:
    """The problems of the co-signers the draft names for these roles, by path
    ("cosigners.spouse.email"), in the roles' order."""
    errors: dict[str, list[str]] = {}
    taken: set[str] = set()
    for role in roles:
        person = named_of(application, role.key)
        errors |= person_errors(
            person["name"],
            person["email"],
            required=role.required,
            applicant_email=application.applicant.email,
            taken=taken,
            prefix=f"cosigners.{role.key}",
        )
        if person["email"]:
            taken.add(person["email"].lower())
    return errors


# --- What people see ------------------------------------------------------------------


@dataclass
class NamedCosigner:
    """A role and the person the draft names for it (check page, API)."""

    role: CosignerRole
    name: str
    email: str
    errors: dict[str, list[str]] = field(default_factory=dict)


def draft_cosigners(application: Application, answers: dict) -> list[NamedCosigner]:
    """The roles that apply to the draft's answers and whom it names for each."""
    roles = applicable_roles(application.version, answers)
    errors = cosigner_errors(application, roles)
    return [
        NamedCosigner(
            role=role,
            **named_of(application, role.key),
            errors={
                part: errors.get(f"cosigners.{role.key}.{part}", []) for part in ("name", "email")
            },
        )
        for role in roles
    ]


@dataclass
class CosignatureRow:
    """A request as the applicant and the clerks read it, with its role."""

    request: Cosignature
    role: CosignerRole | None

    @property
    def label(self) -> str:
        return self.role.label_text if self.role else self.request.role

    @property
    def verified_name(self) -> str:
        identity = (self.request.document.get("cosigner") or {}).get("verified_identity") or {}
        return identity.get("full_name", "")

    @property
    def may_replace(self) -> bool:
        """The applicant may name someone else (or ask again) while the case waits."""
        return (
            self.request.is_current
            and self.request.status != CosignatureStatus.SIGNED
            and self.request.application.status == ApplicationStatus.COSIGNATURE_PENDING
        )


def cosignature_rows(
    application: Application, *, current_only: bool = False
) -> list[CosignatureRow]:
    """The application's co-signature requests (the current ones first by role
    order, then the superseded ones), each with its role."""
    roles = {role.key: role for role in roles_of(application.version)}
    order = {key: index for index, key in enumerate(roles)}
    requests = list(application.cosignatures.select_related("signer"))
    if current_only:
        requests = [item for item in requests if item.is_current]
    requests.sort(
        key=lambda item: (not item.is_current, order.get(item.role, 99), item.requested_at, item.pk)
    )
    for item in requests:
        item.application = application
    return [CosignatureRow(request=item, role=roles.get(item.role)) for item in requests]


def needs_replacement(application: Application) -> bool:
    """A required co-signature the case waits for was declined or ran out."""
    return application.cosignatures.filter(
        required=True,
        superseded_at__isnull=True,
        status__in=[CosignatureStatus.DECLINED, CosignatureStatus.EXPIRED],
    ).exists()


def shown_rows(application: Application, role: CosignerRole | None, data: dict) -> list[AnswerRow]:
    """The answers the role's co-signer is shown, in the form's order (never an
    Individual Number or a file: the definition refuses them, and they are left
    out here too)."""
    if role is None or not role.shows:
        return []
    wanted = set(role.shows)
    specs = [
        spec
        for _step, spec in engine.iter_fields(application.version.form)
        if spec["key"] in wanted and spec["type"] not in ("my_number", "file")
    ]
    return answer_rows(application.version.form, {"fields": specs}, data)


# --- Checking ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CosignatureCheck:
    """A signed co-signature, checked again now: its document still hashes to its
    digest, the platform's signature verifies, and it names the digest of the
    revision it was asked for."""

    digest_ok: bool
    signature_ok: bool
    bound_ok: bool

    @property
    def valid(self) -> bool:
        return self.digest_ok and self.signature_ok and self.bound_ok


def cosignature_check(request: Cosignature, revision_digest: str | None) -> CosignatureCheck:
    return CosignatureCheck(
        digest_ok=bool(request.document)
        and sha256_hex(canonical_json(request.document)) == request.digest,
        signature_ok=verify_digest(request.digest, request.signature),
        bound_ok=(request.document.get("filing") or {}).get("digest") == revision_digest
        and revision_digest == request.filing_digest,
    )
