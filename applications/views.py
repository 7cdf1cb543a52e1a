"""The resident's pages: start, fill step by step, check, submit, follow, withdraw.
Each POST calls one service; the form engine renders and validates the steps."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts.identity.selectors import verified_identity
from applications import cosigners, my_data, selectors, services
from applications.account_closing import account_close, account_closing_preview
from applications.downloads import attachment_response, document_response
from applications.sensitive_answers import reveal
from core.errors import DomainError, NotFound, ValidationFailed
from procedures import selectors as procedure_selectors
from procedures.form_engine import engine
from procedures.form_engine.html import (
    answer_rows,
    answers_from_post,
    error_links,
    group_button_pressed,
    step_views,
)
from procedures.form_engine.text import localized_text
from procedures.window import ProcedureNotOpen, accepting_applications


def _own(request: HttpRequest, pk: int):
    try:
        return selectors.own_application(request.user, pk)
    except NotFound as error:
        raise Http404 from error


def _visible_steps(application, answers: dict) -> list[dict]:
    """The steps the resident walks through: all visible steps of a draft; while a
    correction is due, only those holding the fields to correct."""
    steps = engine.visible_steps(application.version.form, answers)
    if application.is_draft:
        return steps
    editable = services.editable_step_keys(application)
    return [step for step in steps if step["key"] in editable]


def _field_labels(form: dict) -> dict[str, str]:
    """Each field's label in the requester's language, by key."""
    return {
        spec["key"]: localized_text(spec.get("label")) for _step, spec in engine.iter_fields(form)
    }


def _correction_context(application) -> dict:
    correction = application.open_correction
    if correction is None:
        return {"correction": None}
    labels = _field_labels(application.version.form)
    return {
        "correction": correction,
        "correction_fields": [labels.get(key, key) for key in correction.fields],
        "correction_keys": correction.fields,
    }


@login_required
@require_POST
def start_view(request: HttpRequest, code: str) -> HttpResponse:
    try:
        procedure, _version = procedure_selectors.published_procedure(code)
        application = services.application_start(
            actor=request.user,
            procedure=procedure,
            on_behalf_of_name=request.POST.get("on_behalf_of_name", ""),
            on_behalf_of_relationship=request.POST.get("on_behalf_of_relationship", ""),
        )
    except NotFound as error:
        raise Http404 from error
    except DomainError as failure:
        messages.error(request, failure.message)
        if failure.code == "identity_required":
            return redirect(
                f"{reverse('accounts:identity')}?next={reverse('catalogue:detail', args=[code])}"
            )
        for problems in (failure.details or {}).values():
            for problem in problems:
                messages.error(request, problem)
        return redirect("catalogue:detail", code=code)
    return redirect("applications:step", pk=application.pk, step_key=application.current_step)


@login_required
def step_view(request: HttpRequest, pk: int, step_key: str) -> HttpResponse:
    application = _own(request, pk)
    if not application.is_editable:
        return redirect("applications:detail", pk=application.pk)
    form = application.version.form
    answers = reveal(form, application.answers)
    steps = _visible_steps(application, answers)
    step = next((candidate for candidate in steps if candidate["key"] == step_key), None)
    if step is None:
        raise Http404
    errors: dict = {}
    status = 200
    upload_errors: dict[str, list[str]] = {}
    if request.method == "POST":
        posted = answers_from_post(step, request.POST)
        upload_errors = _handle_files(request, application, step)
        try:
            result = services.application_save_step(
                actor=request.user, application=application, step_key=step_key, answers=posted
            )
        except NotFound as error:
            raise Http404 from error
        except DomainError as failure:
            messages.error(request, failure.message)
            return redirect("applications:detail", pk=application.pk)
        answers.update(posted)
        if "save_draft" in request.POST:
            messages.success(request, _("Your answers are saved. You can continue at any time."))
            return redirect("applications:list")
        if request.POST.get("remove_file") or request.POST.get("upload_only"):
            pass  # stay on the step to show the files
        elif not group_button_pressed(request.POST):
            if result.is_valid and not upload_errors:
                steps = _visible_steps(application, result.data | answers)
                keys = [candidate["key"] for candidate in steps]
                position = keys.index(step_key) if step_key in keys else len(keys) - 1
                if position + 1 < len(keys):
                    return redirect(
                        "applications:step", pk=application.pk, step_key=keys[position + 1]
                    )
                return redirect(_after_the_steps(application, result.data | answers))
            errors, status = {**result.errors, **upload_errors}, 400
        if upload_errors:
            errors, status = {**errors, **upload_errors}, 400
    position = [candidate["key"] for candidate in steps].index(step_key)
    fields = step_views(form, step, answers, errors)
    _mark_prefilled(fields, request.user, answers)
    uploaded: dict[str, list] = {}
    for attachment in application.current_attachments:
        uploaded.setdefault(attachment.field_key, []).append(attachment)
    for view in fields:
        view.files = uploaded.get(view.key, [])
    return render(
        request,
        "applications/step.html",
        {
            "application": application,
            "step": step,
            "step_title": localized_text(step.get("title")),
            "step_description": localized_text(step.get("description")),
            "fields": fields,
            "error_links": error_links(form, errors),
            "steps": [
                {"key": candidate["key"], "title": localized_text(candidate.get("title"))}
                for candidate in steps
            ],
            "number": position + 1,
            "previous": steps[position - 1]["key"] if position > 0 else None,
            "cosigners_step": application.is_draft
            and bool(cosigners.applicable_roles(application.version, answers)),
            **_correction_context(application),
        },
        status=status,
    )


def _after_the_steps(application, answers: dict) -> str:
    """Where the last step leads: the co-signers' page when the draft's answers call
    for co-signers, else the check page."""
    if application.is_draft and cosigners.applicable_roles(application.version, answers):
        return reverse("applications:cosigners", args=[application.pk])
    return reverse("applications:check", args=[application.pk])


def _handle_files(request: HttpRequest, application, step: dict) -> dict[str, list[str]]:
    """Keep the files sent with the step and remove the one asked for; returns the
    refusals by field."""
    problems: dict[str, list[str]] = {}
    remove = request.POST.get("remove_file", "")
    if remove:
        try:
            services.attachment_remove(
                actor=request.user, application=application, public_id=remove
            )
        except DomainError as failure:
            messages.error(request, failure.message)
    for spec in step.get("fields", []):
        if spec["type"] != "file":
            continue
        for upload in request.FILES.getlist(f"f.{spec['key']}"):
            try:
                services.attachment_add(
                    actor=request.user,
                    application=application,
                    field_key=spec["key"],
                    upload=upload,
                )
            except DomainError as failure:
                for message in (failure.details or {}).get(spec["key"], [failure.message]):
                    problems.setdefault(spec["key"], []).append(message)
    return problems


def _mark_prefilled(fields, user, answers: dict) -> None:
    """Say where a value came from when it is still the one the verified identity
    gave (a value the resident changed is theirs)."""
    if not any(view.spec.get("prefill") for view in fields):
        return
    identity = verified_identity(user)
    if identity is None:
        return
    provider = settings.IDENTITY_PROVIDER_NAME or _("your digital ID")
    for view in fields:
        if not view.spec.get("prefill"):
            continue
        if _still_as_verified(answers.get(view.key), services.prefill_value(view.spec, identity)):
            view.source = _(
                "Filled in from your verified identity (%(provider)s, verified on "
                "%(date)s). Change it if it is not right."
            ) % {"provider": provider, "date": timezone.localdate(identity.verified_at).isoformat()}


def _still_as_verified(current, verified) -> bool:
    if not verified:
        return False
    if isinstance(verified, dict):
        return isinstance(current, dict) and all(current.get(k) == v for k, v in verified.items())
    return current == verified


@login_required
def attachment_view(request: HttpRequest, pk: int, public_id: str) -> HttpResponse:
    """The file, to its owner only, always as a download (never rendered inline)."""
    application = _own(request, pk)
    attachment = application.attachments.filter(public_id=public_id).first()
    if attachment is None:
        raise Http404
    return attachment_response(attachment)


@login_required
def document_view(request: HttpRequest, pk: int, document_id: int) -> HttpResponse:
    """An issued document (receipt, decision) as a PDF download, to the applicant."""
    application = _own(request, pk)
    document = application.documents.filter(pk=document_id).first()
    if document is None:
        raise Http404
    return document_response(application, document)


@login_required
def check_view(request: HttpRequest, pk: int) -> HttpResponse:
    application = _own(request, pk)
    if not application.is_editable:
        return redirect("applications:detail", pk=application.pk)
    form = application.version.form
    status = 200
    declaration_error = ""
    correcting = application.is_correcting
    # A draft outside the procedure's window is kept but cannot be submitted; a
    # correction is answered whatever the window.
    window = None if correcting else accepting_applications(application.procedure)
    window_refused = False
    if request.method == "POST":
        declared = request.POST.get("declaration") == "on"
        try:
            if correcting:
                submitted = services.application_resubmit(
                    actor=request.user,
                    application=application,
                    declaration=declared,
                    note=request.POST.get("note", ""),
                )
            else:
                submitted = services.application_submit(
                    actor=request.user, application=application, declaration=declared
                )
        except NotFound as error:
            raise Http404 from error
        except ProcedureNotOpen as failure:
            # The page says why in place of the declaration (the window as it is now).
            status, window_refused = failure.http_status, True
            window = accepting_applications(application.procedure)
        except DomainError as failure:
            status = 400
            if failure.details and "declaration" in failure.details:
                declaration_error = failure.details["declaration"][0]
            else:
                messages.error(request, failure.message)
        else:
            if correcting:
                messages.success(request, _("Your corrections were sent to the office."))
            else:
                messages.success(
                    request,
                    _("Your application was submitted. Your reference number is %(reference)s.")
                    % {"reference": submitted.reference},
                )
            return redirect("applications:detail", pk=submitted.pk)
    result = services.application_check(application)
    answers = reveal(form, application.answers)
    named = cosigners.draft_cosigners(application, answers) if application.is_draft else []
    sections = []
    editable = services.editable_step_keys(application)
    for step in engine.visible_steps(form, answers):
        step_errors = {
            path: problems
            for path, problems in result.errors.items()
            if engine.step_of_path(form, path) == step["key"]
        }
        sections.append(
            {
                "key": step["key"],
                "title": localized_text(step.get("title")),
                "rows": answer_rows(form, step, result.data),
                "has_errors": bool(step_errors),
                "editable": step["key"] in editable,
            }
        )
    # The fee is told before signing (a correction keeps the fee already set).
    fee = None
    if result.is_valid and application.is_draft:
        fee = selectors.application_fee(application, result.data)
        if fee.kind == "none":
            fee = None
    return render(
        request,
        "applications/check.html",
        {
            "application": application,
            "sections": sections,
            "fee": fee,
            "fee_due": (application.version.fee or {}).get("due", "before_review"),
            "valid": result.is_valid,
            "error_count": sum(len(problems) for problems in result.errors.values()),
            "cosigners": named,
            "cosigners_invalid": any(path.startswith("cosigners.") for path in result.errors),
            "declaration_error": declaration_error,
            "window": window,
            "window_refused": window_refused,
            **_correction_context(application),
        },
        status=status,
    )


@login_required
def list_view(request: HttpRequest) -> HttpResponse:
    applications = selectors.applications_of(request.user)
    return render(request, "applications/list.html", {"applications": applications})


@login_required
def detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The status page: where the application stands, what to do next, the
    documents, the answers as filed, corrections and revisions, and the timeline."""
    application = _own(request, pk)
    form = application.version.form
    data = reveal(form, application.data)
    sections = [
        {"title": localized_text(step.get("title")), "rows": answer_rows(form, step, data)}
        for step in engine.visible_steps(form, data)
    ]
    labels = _field_labels(form)
    corrections = [
        {"request": item, "fields": [labels.get(key, key) for key in item.fields]}
        for item in application.corrections.all()
    ]
    editable = _visible_steps(application, reveal(form, application.answers))
    continue_url = ""
    if application.is_draft and application.current_step:
        continue_url = reverse("applications:step", args=[application.pk, application.current_step])
    elif application.is_correcting and editable:
        continue_url = reverse("applications:step", args=[application.pk, editable[0]["key"]])
    return render(
        request,
        "applications/detail.html",
        {
            "application": application,
            "events": selectors.resident_events(application),
            "documents": application.documents.all(),
            "sections": sections,
            "fee": selectors.application_fee(application) if application.fee_amount else None,
            "next_step": selectors.resident_next_step(application),
            "corrections": corrections,
            "revisions": application.revisions.all(),
            "continue_url": continue_url,
            "cosignatures": cosigners.cosignature_rows(application),
            **_correction_context(application),
        },
    )


@login_required
@require_POST
def withdraw_view(request: HttpRequest, pk: int) -> HttpResponse:
    application = _own(request, pk)
    try:
        services.application_withdraw(
            actor=request.user, application=application, reason=request.POST.get("reason", "")
        )
    except DomainError as failure:
        for problems in (failure.details or {}).values():
            for problem in problems:
                messages.error(request, problem)
        if not failure.details:
            messages.error(request, failure.message)
    else:
        messages.success(request, _("Your application was withdrawn."))
    return redirect("applications:detail", pk=application.pk)


@login_required
@require_POST
def discard_view(request: HttpRequest, pk: int) -> HttpResponse:
    application = _own(request, pk)
    try:
        services.application_discard_draft(actor=request.user, application=application)
    except DomainError as failure:
        messages.error(request, failure.message)
        return redirect("applications:detail", pk=application.pk)
    messages.success(request, _("The draft was deleted."))
    return redirect("applications:list")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def my_data_view(request: HttpRequest) -> HttpResponse:
    """「自分のデータ」: what the archive holds, and the button that downloads it
    (POST). Refusals (too many downloads, the file store down) stay on the page."""
    refusal = None
    if request.method == "POST":
        try:
            archive = my_data.my_data_archive(actor=request.user)
        except DomainError as failure:
            refusal = failure
        else:
            return my_data.my_data_response(archive)
    response = render(
        request,
        "applications/my_data.html",
        {"refusal": refusal, "limit": my_data.DOWNLOADS_PER_HOUR},
        status=refusal.http_status if refusal is not None else 200,
    )
    if isinstance(refusal, my_data.MyDataLimitReached):
        response["Retry-After"] = str(refusal.retry_after)
    return response


class CloseAccountForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Your password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    confirm = forms.BooleanField(
        label=gettext_lazy(
            "I want to close my account. I understand that my drafts are deleted at once "
            "and that I can no longer sign in."
        ),
        required=False,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def close_account_view(request: HttpRequest) -> HttpResponse:
    """Close one's own account: what happens is shown first (drafts deleted, which
    cases are kept and until when), and the password confirms it."""
    form = CloseAccountForm(request.POST or None)
    refusal = None
    if request.method == "POST" and form.is_valid():
        try:
            account_close(
                actor=request.user,
                password=form.cleaned_data["password"],
                confirmed=form.cleaned_data["confirm"],
            )
        except ValidationFailed as failure:
            for field, problems in (failure.details or {}).items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
        except DomainError as failure:
            refusal = failure
        else:
            logout(request)
            messages.success(
                request, _("Your account was closed. We sent you what we keep, and until when.")
            )
            return redirect("home")
    status = 400 if form.errors else (refusal.http_status if refusal is not None else 200)
    return render(
        request,
        "applications/close_account.html",
        {"form": form, "preview": account_closing_preview(request.user), "refusal": refusal},
        status=status,
    )


# --- Co-signers -------------------------------------------------------------------------


def _posted_cosigners(post) -> dict[str, dict[str, str]]:
    """{role: {"name", "email"}} for the roles whose inputs were on the page."""
    values: dict[str, dict[str, str]] = {}
    for name, value in post.items():
        if name.startswith("c-") and name.count("-") >= 2:
            role, _sep, part = name[2:].rpartition("-")
            if part in ("name", "email"):
                values.setdefault(role, {})[part] = value
    return values


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def cosigners_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The step after the form's last one when the answers call for co-signers:
    the applicant names each (name and e-mail). Kept as typed, valid or not."""
    application = _own(request, pk)
    if not application.is_draft:
        return redirect("applications:detail", pk=application.pk)
    answers = reveal(application.version.form, application.answers)
    if not cosigners.applicable_roles(application.version, answers):
        return redirect("applications:check", pk=application.pk)
    status, show_errors = 200, False
    if request.method == "POST":
        try:
            problems = services.cosigners_save(
                actor=request.user,
                application=application,
                values=_posted_cosigners(request.POST),
            )
        except NotFound as error:
            raise Http404 from error
        except DomainError as failure:
            messages.error(request, failure.message)
            return redirect("applications:detail", pk=application.pk)
        if "save_draft" in request.POST:
            messages.success(request, _("Your answers are saved. You can continue at any time."))
            return redirect("applications:list")
        if not problems:
            return redirect("applications:check", pk=application.pk)
        application = _own(request, pk)
        status, show_errors = 400, True
    named = cosigners.draft_cosigners(application, answers)
    error_links = [
        {"anchor": f"c-{person.role.key}-{part}", "text": message}
        for person in named
        for part, problems in person.errors.items()
        for message in problems
    ]
    steps = engine.visible_steps(application.version.form, answers)
    return render(
        request,
        "applications/cosigners.html",
        {
            "application": application,
            "cosigners": named,
            "show_errors": show_errors,
            "error_links": error_links if show_errors else [],
            "steps": [{"title": localized_text(step.get("title"))} for step in steps],
            "previous": steps[-1]["key"] if steps else None,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def cosigner_replace_view(request: HttpRequest, pk: int, role: str) -> HttpResponse:
    """While the case waits for its co-signatures: name someone else for a role (or
    the same person again), after a decline, an expiry or a wrong address."""
    application = _own(request, pk)
    row = next(
        (item for item in cosigners.cosignature_rows(application, current_only=True)
         if item.request.role == role),
        None,
    )  # fmt: skip
    if row is None or not row.may_replace:
        raise Http404
    values = {"name": row.request.name, "email": row.request.email}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = {
            "name": request.POST.get("replace-name", "")[: cosigners.NAME_MAX],
            "email": request.POST.get("replace-email", "")[: cosigners.EMAIL_MAX],
        }
        try:
            services.cosigner_replace(
                actor=request.user,
                application=application,
                role_key=role,
                name=values["name"],
                email=values["email"],
            )
        except NotFound as error:
            raise Http404 from error
        except ValidationFailed as failure:
            errors, status = failure.details or {}, 400
        except DomainError as failure:
            messages.error(request, failure.message)
            return redirect("applications:detail", pk=application.pk)
        else:
            messages.success(
                request,
                _("We sent the request to co-sign to %(name)s.") % {"name": values["name"]},
            )
            return redirect("applications:detail", pk=application.pk)
    return render(
        request,
        "applications/cosigner_replace.html",
        {
            "application": application,
            "row": row,
            "values": values,
            "errors": errors,
            "error_links": [
                {"anchor": f"replace-{part}", "text": message}
                for part, problems in errors.items()
                for message in problems
            ],
        },
        status=status,
    )
