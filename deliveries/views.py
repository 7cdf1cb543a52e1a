"""The delivery pages: a procedure's targets (for whoever manages it), the dead
letters, and the files of a delivery behind short-lived links."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import Action, holds
from core.errors import DomainError, NotFound, ValidationFailed
from deliveries import selectors, services
from deliveries.forms import TargetEditForm, TargetForm
from deliveries.models import TargetKind


@require_GET
def file_view(request: HttpRequest, token: str):
    response = selectors.linked_file_response(token)
    if response is None:
        raise Http404()
    return response


def _managed(function):
    """Login required, then "not found" for anyone who manages no procedure."""

    @login_required
    def wrapper(request, *args, **kwargs):
        if not holds(Action.MANAGE_PROCEDURES)(request.user):
            raise Http404()
        try:
            return function(request, *args, **kwargs)
        except NotFound:
            raise Http404() from None

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


def _errors_into(form, failure: ValidationFailed) -> None:
    for name, problems in (failure.details or {}).items():
        for problem in problems:
            form.add_error(name if name in form.fields else None, str(problem))
    if not failure.details:
        form.add_error(None, str(failure.message))


@_managed
@require_http_methods(["GET", "POST"])
def targets_view(request: HttpRequest, code: str) -> HttpResponse:
    procedure, targets = selectors.managed_targets(request.user, code)
    form = TargetForm(request.POST or None, initial={"kind": TargetKind.WEBHOOK})
    secret = created = None
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            created, secret = services.target_create(
                actor=request.user, procedure=procedure, **form.cleaned_data
            )
        except ValidationFailed as failure:
            _errors_into(form, failure)
        else:
            messages.success(request, _("The delivery target was added."))
            form = TargetForm(initial={"kind": TargetKind.WEBHOOK})
    if request.method == "POST" and form.errors:
        status = 400
    return render(
        request,
        "deliveries/targets.html",
        {
            "procedure": procedure,
            "targets": list(targets),
            "form": form,
            # Shown this once, on the answer to the post (never in a URL or a cookie).
            "new_secret": secret,
            "created": created,
        },
        status=status,
    )


@_managed
@require_http_methods(["GET", "POST"])
def target_view(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    target = selectors.managed_target(request.user, code, pk)
    initial = {
        "name": target.name,
        "url": target.url,
        "email": target.email,
        "events": target.events,
        "active": target.active,
    }
    form = TargetEditForm(request.POST or None, initial=initial, kind=target.kind)
    if request.method == "POST" and form.is_valid():
        try:
            services.target_update(actor=request.user, target=target, **form.cleaned_data)
        except ValidationFailed as failure:
            _errors_into(form, failure)
        else:
            messages.success(request, _("The delivery target was saved."))
            return redirect("deliveries:target", code=code, pk=target.pk)
    return _target_page(request, target, form, status=400 if form.errors else 200)


def _target_page(request, target, form, *, new_secret=None, status=200) -> HttpResponse:
    return render(
        request,
        "deliveries/target.html",
        {
            "procedure": target.procedure,
            "target": target,
            "form": form,
            "deliveries": list(selectors.target_deliveries(target)),
            "new_secret": new_secret,
        },
        status=status,
    )


@_managed
@require_POST
def rotate_view(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    target = selectors.managed_target(request.user, code, pk)
    try:
        secret = services.target_secret_rotate(actor=request.user, target=target)
    except DomainError as failure:
        messages.error(request, str(failure.message))
        return redirect("deliveries:target", code=code, pk=target.pk)
    target.refresh_from_db()
    form = TargetEditForm(
        initial={
            "name": target.name,
            "url": target.url,
            "events": target.events,
            "active": target.active,
        },
        kind=target.kind,
    )
    return _target_page(request, target, form, new_secret=secret)


@_managed
@require_GET
def dead_letters_view(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "deliveries/dead_letters.html",
        {"dead_letters": list(selectors.dead_letters(request.user)[:200])},
    )


@_managed
@require_POST
def replay_view(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = selectors.dead_letter(request.user, pk)
    try:
        services.dead_letter_replay(actor=request.user, delivery=delivery)
    except DomainError as failure:
        messages.error(request, str(failure.message))
    else:
        messages.success(
            request,
            _("The delivery will be sent again, with its original message id %(id)s.")
            % {"id": delivery.message_id},
        )
    return redirect("deliveries:dead_letters")
