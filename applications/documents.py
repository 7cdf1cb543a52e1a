"""Documents the platform issues for an application (the receipt, 受付票, and the
decision: permit, certificate or notice), and checking one that someone holds.

Rules enforced here:
- an application gets exactly one receipt and one decision document, however often
  issuing is retried or runs at once: the PDF is rendered and signed outside the
  application's row lock, which is taken briefly to store it only if none is stored
  yet (a partial unique constraint backs it);
- a receipt shows what was filed, with the Individual Number masked and files only
  counted, and is rendered from the very data its content digest covers;
- the platform signs a seal binding the kind, the verification code, the content
  digest and the PDF digest: a document checks out only if that signature verifies,
  so neither a changed file nor a changed database row passes;
- checking a document reveals nothing beyond what the document itself identifies.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from applications.cosigners import cosignature_rows
from applications.models import (
    Application,
    ApplicationEvent,
    ApplicationStatus,
    Cosignature,
    CosignatureStatus,
    Decision,
    DocumentKind,
    EventKind,
    IssuedDocument,
)
from applications.reference import ALPHABET
from applications.selectors import application_fee
from applications.sensitive_answers import reveal
from applications.transitions import applicant_notify, transition_check, transition_take
from applications.workflow import GUARDS
from audit.services import audit_record
from core.errors import Conflict, NotFound
from core.pdf import qr_png_data_uri, render_pdf
from core.signing import canonical_json, sha256_hex, sign_digest, verify_digest
from payments.selectors import receipt_facts
from procedures.form_engine import engine
from procedures.form_engine.html import answer_rows
from procedures.form_engine.japanese import format_japanese_date
from procedures.form_engine.numbers import format_yen
from procedures.form_engine.text import localized_text

TOKYO = ZoneInfo("Asia/Tokyo")
CODE_LENGTH = 16
RECEIPT_TEMPLATE = "pdf/receipt.html"
DECISION_TEMPLATE = "pdf/decision.html"


# --- Work left behind --------------------------------------------------------------------

# Younger filings are still in the hands of their own task.
PENDING_GRACE = timedelta(minutes=5)
SWEEP_BATCH = 200


def documents_pending_issue(*, now: datetime | None = None) -> dict[str, int]:
    """Issue the receipts and decision documents that should exist by now but do
    not, because their task was never queued or was lost. Each is issued exactly
    once however often this runs (the issuing services are idempotent); a decision
    still waiting for its fee is left waiting."""
    cutoff = (now or timezone.now()) - PENDING_GRACE
    missing_receipts = (
        Application.objects.filter(submitted_at__lt=cutoff)
        .exclude(status__in=[ApplicationStatus.DRAFT, ApplicationStatus.COSIGNATURE_PENDING])
        .exclude(documents__kind=DocumentKind.RECEIPT)
        .exclude(_never_complete())
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    missing_decisions = (
        Application.objects.filter(
            status__in=[ApplicationStatus.APPROVED, ApplicationStatus.REJECTED],
            decided_at__lt=cutoff,
        )
        .exclude(documents__kind=DocumentKind.DECISION)
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    issued = {"receipts": 0, "decisions": 0}
    for application_id in list(missing_receipts):
        receipt_issue(application_id=application_id)
        issued["receipts"] += 1
    for application_id in list(missing_decisions):
        try:
            decision_issue(application_id=application_id)
        except Conflict:
            continue  # the fee due on approval is not paid yet
        issued["decisions"] += 1
    return issued


def _never_complete() -> Q:
    """Filings closed while they still waited for a required co-signature: they
    never reached the office, so they have no receipt."""
    required = Cosignature.objects.filter(application=OuterRef("pk"), required=True)
    return Q(cosigned_at__isnull=True) & Exists(required)


# --- Verification codes ---------------------------------------------------------------


def new_verification_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(body[index : index + 4] for index in range(0, CODE_LENGTH, 4))


def normalize_verification_code(text: str) -> str | None:
    """The stored form of a typed code ("abcd efgh-jkmn－pqrs", full-width or not),
    or None when it cannot be one."""
    cleaned = "".join(
        char for char in unicodedata.normalize("NFKC", text or "").upper() if char.isalnum()
    )
    if len(cleaned) != CODE_LENGTH or any(char not in ALPHABET for char in cleaned):
        return None
    return "-".join(cleaned[index : index + 4] for index in range(0, CODE_LENGTH, 4))


def verification_url(code: str) -> str:
    return f"{settings.SITE_URL}{reverse('verify')}?code={code}"


# --- The receipt -----------------------------------------------------------------------


def _tokyo_time(moment: datetime) -> dict[str, str]:
    local = moment.astimezone(TOKYO)
    return {
        "iso": local.isoformat(timespec="seconds"),
        "ja": f"{format_japanese_date(local.date())} {local:%H:%M}",
        "en": f"{local:%Y-%m-%d %H:%M} JST",
    }


def _row(row: Any) -> dict[str, Any]:
    return {
        "label": row.label,
        "value": row.value,
        "items": [[_row(sub) for sub in item] for item in row.items],
    }


def _answers(application: Application) -> tuple[list[dict], list[dict]]:
    """(sections of answered questions by step, file fields with their counts)."""
    form = application.version.form
    data = reveal(form, application.data)
    sections, attachments = [], []
    for step in engine.visible_steps(form, data):
        fields = []
        for spec in step.get("fields", []):
            if spec["type"] == "file":
                files = data.get(spec["key"])
                if files:
                    attachments.append(
                        {"label": localized_text(spec.get("label")), "count": len(files)}
                    )
            else:
                fields.append(spec)
        rows = answer_rows(form, {**step, "fields": fields}, data)
        if rows:
            sections.append(
                {"title": localized_text(step.get("title")), "rows": [_row(r) for r in rows]}
            )
    return sections, attachments


def _fee(application: Application) -> dict[str, Any] | None:
    """The fee as filed and how it was reached, in Japanese and in English, as the
    check page told it before signing (None when the procedure has no fee)."""
    if (application.version.fee or {}).get("kind", "none") == "none":
        return None
    fee: dict[str, Any] = {"amount": application.fee_amount}
    for language in ("ja", "en"):
        with translation.override(language):
            breakdown = application_fee(application)
            explained = breakdown is not None and breakdown.explained
            fee[language] = {
                "total": format_yen(application.fee_amount),
                "lines": [line.text for line in breakdown.lines] if explained else [],
            }
    return fee


def _applicant(application: Application) -> dict[str, str]:
    """The applicant as filed, and the name their identity was verified under
    where the two differ (a filing for a family member from one's own account)."""
    applicant = {"name": application.filed_name}
    latest = application.revisions.order_by("-number").only("filing").first()
    verified = ((latest.filing if latest else {}).get("applicant") or {}).get("verified_identity")
    if verified and verified.get("full_name") and verified["full_name"] != applicant["name"]:
        applicant["verified_name"] = verified["full_name"]
    return applicant


def _receipt_content(application: Application, code: str, issued_at: datetime) -> dict[str, Any]:
    """What the receipt says, as data. Built in Japanese (labels and display values);
    the template adds the English headings."""
    procedure, version = application.procedure, application.version
    with translation.override("ja"):
        sections, attachments = _answers(application)
    proxy = None
    if application.on_behalf_of_name:
        proxy = {
            "name": application.on_behalf_of_name,
            "relationship": application.on_behalf_of_relationship,
        }
    content = {
        "kind": DocumentKind.RECEIPT.value,
        "verification_code": code,
        "reference": application.reference,
        "procedure": {
            "code": procedure.code,
            "title_ja": procedure.title_ja,
            "title_en": procedure.title_en,
            "version": version.number,
        },
        "applicant": _applicant(application),
        "on_behalf_of": proxy,
        "submitted_at": _tokyo_time(application.submitted_at),
        "issued_at": _tokyo_time(issued_at),
        "fee": _fee(application),
        "answers": sections,
        "attachments": attachments,
        "submission_digest": application.submission_digest,
    }
    if cosignatures := _cosignatures(application):
        content["cosignatures"] = cosignatures
    return content


def _cosignatures(application: Application) -> list[dict[str, Any]]:
    """The co-signatures signed so far, as the receipt lists them: the role in both
    languages, the co-signer as named and as verified, when, and the digest."""
    rows = []
    for row in cosignature_rows(application, current_only=True):
        request = row.request
        if request.status != CosignatureStatus.SIGNED:
            continue
        label = row.role.label if row.role else {"ja": request.role}
        rows.append(
            {
                "role_ja": label.get("ja", request.role),
                "role_en": label.get("en", ""),
                "name": request.name,
                "verified_name": row.verified_name,
                "signed_at": _tokyo_time(request.closed_at),
                "digest": request.digest,
            }
        )
    return rows


def _unused_code() -> str:
    for _attempt in range(5):
        code = new_verification_code()
        if not IssuedDocument.objects.filter(verification_code=code).exists():
            return code
    return code  # 31**16 codes: a repeat here is practically impossible; the index decides


def _render(template: str, content: dict, code: str) -> tuple[str, bytes]:
    content_digest = sha256_hex(canonical_json(content))
    pdf_bytes = render_pdf(
        template,
        {
            "content": content,
            "content_digest": content_digest,
            "verification_url": verification_url(code),
            "verify_page_url": f"{settings.SITE_URL}{reverse('verify')}",
            "qr_code": qr_png_data_uri(verification_url(code)),
        },
    )
    return content_digest, pdf_bytes


def _issuing(application_id: int, *, lock: bool = False) -> Application:
    applications = Application.objects.select_related(
        "procedure__owning_organization", "version", "applicant"
    )
    if lock:
        applications = applications.select_for_update(of=("self",))
    application = applications.filter(pk=application_id).first()
    if application is None:
        raise NotFound()
    return application


def _made(
    application: Application,
    *,
    kind: str,
    template: str,
    build: Callable[[Application, str, datetime], dict[str, Any]],
    title: Callable[[Application], str],
) -> tuple[IssuedDocument, datetime]:
    """The document rendered, signed and its PDF stored, not saved yet; and the
    time it says it was issued."""
    issued_at = timezone.now()
    code = _unused_code()
    content = build(application, code, issued_at)
    content_digest, pdf_bytes = _render(template, content, code)
    document = IssuedDocument(
        application=application,
        kind=kind,
        title=title(application)[:200],
        verification_code=code,
        content=content,
        content_digest=content_digest,
        pdf_digest=sha256_hex(pdf_bytes),
    )
    document.signature = sign_digest(sha256_hex(canonical_json(document.seal)))
    document.pdf.save(f"{kind}.pdf", ContentFile(pdf_bytes), save=False)
    return document, issued_at


def _issue_once(
    *,
    application_id: int,
    kind: str,
    template: str,
    build: Callable[[Application, str, datetime], dict[str, Any]],
    title: Callable[[Application], str],
    check: Callable[[Application], None],
    issued: Callable[[Application, IssuedDocument], None],
) -> IssuedDocument:
    """Issue the one document of `kind` for an application, or return the one
    already issued. Safe to call again and again (task retries, redelivery after a
    crash, two runs at once). The PDF is rendered and signed without holding the
    application's row lock (that takes tens of milliseconds, more under load);
    the lock is then taken briefly to store it, only if none is stored yet and the
    application still says what the document says (otherwise it is made again,
    under the lock). A partial unique constraint backs that up. `check` refuses
    when the application is not ready; `issued` runs in the storing transaction
    (timeline, notification, audit)."""
    existing = IssuedDocument.objects.filter(application_id=application_id, kind=kind).first()
    if existing is not None:
        return existing
    make = {"kind": kind, "template": template, "build": build, "title": title}
    application = _issuing(application_id)
    check(application)
    stored: list[str] = []  # PDFs written to storage; all but the one kept are removed
    kept = None
    try:
        document, issued_at = _made(application, **make)
        stored.append(document.pdf.name)
        with transaction.atomic():
            locked = _issuing(application_id, lock=True)
            existing = locked.documents.filter(kind=kind).first()
            if existing is None:
                check(locked)
                if build(locked, document.verification_code, issued_at) != document.content:
                    # Changed while the PDF was rendered: made again, now under the lock.
                    document, issued_at = _made(locked, **make)
                    stored.append(document.pdf.name)
                document.application = locked
                document.save()
                issued(locked, document)
                audit_record(
                    action=f"applications.{kind}_issued",
                    target=locked,
                    data={
                        "document": document.pk,
                        "reference": locked.reference,
                        "content_digest": document.content_digest,
                        "pdf_digest": document.pdf_digest,
                    },
                )
                kept = document.pdf.name
    except IntegrityError:
        _discard(*stored)
        # The constraint kept it to one (a writer that did not take the lock got
        # there first): that one is the answer.
        existing = IssuedDocument.objects.filter(application_id=application_id, kind=kind).first()
        if existing is None:
            raise
        return existing
    except BaseException:
        _discard(*stored)
        raise
    _discard(*(name for name in stored if name != kept))
    return document if existing is None else existing


def _receipt_ready(application: Application) -> None:
    if application.is_draft or not application.submitted_at:
        raise Conflict(_("A draft has no receipt."), code="not_submitted")
    if (
        application.cosigned_at is None
        and application.version.definition.get("cosigners")
        and application.cosignatures.filter(required=True).exists()
    ):
        # Waiting for its co-signatures, or closed before they came: not received yet.
        raise Conflict(
            _("The receipt is issued once every required co-signer has signed."),
            code="awaiting_cosignatures",
        )


def _receipt_issued(application: Application, document: IssuedDocument) -> None:
    ApplicationEvent.objects.create(
        application=application, kind=EventKind.RECEIPT_ISSUED, to_status=application.status
    )
    applicant_notify(
        application,
        subject=gettext_lazy("Application %(reference)s received"),
        body=gettext_lazy(
            "We received your application (%(procedure)s). Your receipt is ready to "
            "download on the application's page. Reference number: %(reference)s."
        ),
    )


def receipt_issue(*, application_id: int) -> IssuedDocument:
    """Issue the receipt (受付票) of a submitted application, exactly once."""
    return _issue_once(
        application_id=application_id,
        kind=DocumentKind.RECEIPT,
        template=RECEIPT_TEMPLATE,
        build=_receipt_content,
        title=lambda application: f"受付票 {application.reference}",
        check=_receipt_ready,
        issued=_receipt_issued,
    )


# --- The decision -------------------------------------------------------------------------

# 教示 (Administrative Complaint Review Act art. 82, Administrative Case Litigation
# Act art. 46): a refusal must tell the resident how to challenge it.
APPEAL = {
    "ja": (
        "この処分に不服がある場合は、この処分があったことを知った日の翌日から起算して"
        "3か月以内に、審査請求をすることができます。また、この処分の取消しの訴えは、"
        "この処分があったことを知った日から6か月以内に提起することができます。"
    ),
    "en": (
        "If you disagree with this decision, you may file a request for review within "
        "three months from the day after you learned of it, and an action for its "
        "revocation within six months from the day you learned of it."
    ),
}

REFUSAL_TITLE = {"ja": "不許可決定通知書", "en": "Notice of Refusal"}
APPROVAL_TITLE = {"ja": "決定通知書", "en": "Notice of Decision"}


def _decision_ready(application: Application) -> None:
    if application.decision not in (
        Decision.APPROVE,
        Decision.REJECT,
    ) or application.status not in (
        ApplicationStatus.APPROVED,
        ApplicationStatus.REJECTED,
    ):
        raise Conflict(_("No decision has been taken yet."), code="not_decided")
    problem = GUARDS["payment_settled"](application, None)
    if problem is not None:
        raise Conflict(problem, code="payment_due")


def _decision_content(application: Application, code: str, issued_at: datetime) -> dict[str, Any]:
    content = _receipt_content(application, code, issued_at)
    approved = application.decision == Decision.APPROVE
    result = application.version.definition.get("result_document") or {}
    title = _decision_title(application)
    body = (result.get("body") or {}) if approved else {}
    organization = application.procedure.owning_organization
    content.update(
        {
            "kind": DocumentKind.DECISION.value,
            "decision": application.decision,
            "document": {
                "kind": result.get("kind", "notice") if approved else "notice",
                "title_ja": title.get("ja", ""),
                "title_en": title.get("en", ""),
                "body_ja": body.get("ja", ""),
                "body_en": body.get("en", ""),
            },
            "reason": "" if approved else application.decision_reason,
            "appeal": None if approved else APPEAL,
            "decided_at": _tokyo_time(application.decided_at or issued_at),
            "issuer": {"name_ja": organization.name_ja, "name_en": organization.name_en},
            "revision": application.revision,
        }
    )
    if not approved:
        content["answers"], content["attachments"] = [], []
    # A decision states the result; what is paid is on the receipts.
    del content["fee"]
    return content


def _decision_issued(application: Application, document: IssuedDocument) -> None:
    transition = transition_check(application, None, "issue_result", "")
    transition_take(application, None, transition)
    approved = application.decision == Decision.APPROVE
    applicant_notify(
        application,
        subject=gettext_lazy("Decision on your application %(reference)s"),
        body=(
            gettext_lazy(
                "Your application (%(procedure)s) was approved. The signed document is ready "
                "to download on the application's page."
            )
            if approved
            else gettext_lazy(
                "A decision was taken on your application (%(procedure)s): it was not "
                "approved. The notice with the reason and how to appeal is ready to download "
                "on the application's page."
            )
        ),
    )


def decision_issue(*, application_id: int) -> IssuedDocument:
    """Issue the signed decision document (permit, certificate or notice; or the
    notice of refusal with its reason and how to appeal), deliver it to the
    resident's page and close the case (`issue_result`). Waits, by refusing, while
    a fee due on approval is unpaid."""
    return _issue_once(
        application_id=application_id,
        kind=DocumentKind.DECISION,
        template=DECISION_TEMPLATE,
        build=_decision_content,
        title=lambda application: (
            f"{_decision_title(application).get('ja', '')} {application.reference}"
        ),
        check=_decision_ready,
        issued=_decision_issued,
    )


def _decision_title(application: Application) -> dict:
    """The document's title in both languages: the procedure's own result document
    for an approval, the notice of refusal otherwise."""
    if application.decision == Decision.APPROVE:
        result = application.version.definition.get("result_document") or {}
        return result.get("title") or APPROVAL_TITLE
    return REFUSAL_TITLE


def _discard(*names: str) -> None:
    """Remove stored PDFs whose database row never committed (or lost the race)."""
    storage = IssuedDocument._meta.get_field("pdf").storage
    for name in names:
        if name:
            storage.delete(name)


# --- Verification ---------------------------------------------------------------------


def _authentic(document: IssuedDocument) -> bool:
    if document.application.purged_at is not None:
        # Purged at the end of its retention period: the content is gone, and the
        # seal (kind, code, the content's and the PDF's digests) still verifies.
        return verify_digest(sha256_hex(canonical_json(document.seal)), document.signature)
    return sha256_hex(
        canonical_json(document.content)
    ) == document.content_digest and verify_digest(
        sha256_hex(canonical_json(document.seal)), document.signature
    )


def verify_code(code: str) -> IssuedDocument | None:
    """The document issued with this verification code, if it is one of ours and
    its signature holds; None otherwise."""
    normalized = normalize_verification_code(code)
    if normalized is None:
        return None
    document = (
        IssuedDocument.objects.select_related("application__procedure")
        .filter(verification_code=normalized)
        .first()
    )
    return document if document is not None and _authentic(document) else None


def verify_pdf(data: bytes) -> IssuedDocument | None:
    """The document these exact bytes are, if we issued them; any change to the
    file changes its digest, and then it is not ours."""
    document = (
        IssuedDocument.objects.select_related("application__procedure")
        .filter(pdf_digest=sha256_hex(data))
        .first()
    )
    return document if document is not None and _authentic(document) else None


# --- The payment receipt (領収書) ----------------------------------------------------------

PAYMENT_RECEIPT_TEMPLATE = "pdf/payment_receipt.html"


def payment_receipt_issue(*, application_id: int, payment_id: int) -> IssuedDocument:
    """Issue the payment receipt (領収書) of an application's settled fee payment,
    once per application (as the receipt and the decision), signed and verifiable at
    /verify/ like them. It states the amount received, what for, how and when it was
    paid, and who received it; it appears among the resident's documents."""
    facts = receipt_facts(payment_id=payment_id)
    if facts is None or (facts.subject_kind, facts.subject_id) != ("application", application_id):
        raise NotFound()

    def ready(application: Application) -> None:
        if not facts.settled:
            raise Conflict(_("The fee has not been paid yet."), code="not_paid")

    def build(application: Application, code: str, issued_at: datetime) -> dict[str, Any]:
        content = _receipt_content(application, code, issued_at)
        organization = application.procedure.owning_organization
        content.update(
            {
                "kind": DocumentKind.PAYMENT_RECEIPT.value,
                "payment": {
                    "number": facts.public_id,
                    "amount": facts.amount,
                    "amount_text": f"{facts.amount:,}",
                    "method": facts.method,
                    "method_ja": facts.method_ja,
                    "method_en": facts.method_en,
                    "provider_reference": facts.provider_reference,
                    "paid_at": _tokyo_time(facts.paid_at or issued_at),
                },
                "purpose": {
                    "ja": f"{application.procedure.title_ja}の手数料として",
                    "en": f"Fee for {application.procedure.title_en or application.procedure.title_ja}",
                },
                "issuer": {"name_ja": organization.name_ja, "name_en": organization.name_en},
                # A receipt names the payment, not the answers of the filing.
                "answers": [],
                "attachments": [],
            }
        )
        return content

    def issued(application: Application, document: IssuedDocument) -> None:
        applicant_notify(
            application,
            subject=gettext_lazy("Your receipt for %(reference)s is ready"),
            body=gettext_lazy(
                "The receipt (領収書) for the fee you paid for your application (%(procedure)s) "
                "is ready to download on the application's page."
            ),
        )

    return _issue_once(
        application_id=application_id,
        kind=DocumentKind.PAYMENT_RECEIPT,
        template=PAYMENT_RECEIPT_TEMPLATE,
        build=build,
        title=lambda application: f"領収書 {application.reference}",
        check=ready,
        issued=issued,
    )
