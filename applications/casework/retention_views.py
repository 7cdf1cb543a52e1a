"""The retention page of department admins and auditors (/casework/retention/):
the cases to be purged in the next 30 days, the purged ones by month, and the
legal holds; and the holds' forms, on the case page (place, release) and on the
retention page (release). Each POST calls one service of applications.purge;
a refusal is shown on the page it came from (400, what was typed kept).

Auditors see the page and release nothing; a department admin places and releases
holds on the cases of the procedures they manage. Outside those, a case or a hold
does not exist for them (404)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from applications.casework import retention
from applications.casework.views import _case, _problems, _render_case
from applications.purge import legal_hold_place, legal_hold_release
from core.errors import DomainError, NotFound


def _render_retention(
    request: HttpRequest,
    *,
    hold_id: int | None = None,
    failure: DomainError | None = None,
    posted: QueryDict | None = None,
) -> HttpResponse:
    overview = retention.Retention(request.user)
    page = Paginator(overview.upcoming(), retention.PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = overview.rows(page.object_list)
    problems = [text for _name, text in _problems(failure)] if failure else []
    context = {
        "today": overview.today,
        "until": overview.until,
        "days": retention.UPCOMING_DAYS,
        "page": page,
        "by_procedure": overview.upcoming_by_procedure(),
        "purged": overview.purged_by_month(),
        "open_holds": overview.open_holds(),
        "released_holds": overview.released_holds(),
        "released_shown": retention.RELEASED_SHOWN,
        "may_hold": retention.may_hold_somewhere(request.user),
        "release_form": hold_id,
        "release_errors": problems,
        "release_value": posted.get("reason", "") if posted else "",
        "error_links": [{"text": text, "anchor": f"release-reason-{hold_id}"} for text in problems],
    }
    status = failure.http_status if failure else 200
    return render(request, "casework/retention.html", context, status=status)


@login_required
@require_safe
def retention_view(request: HttpRequest) -> HttpResponse:
    if not retention.may_see_retention(request.user):
        raise HttpForbidden
    return _render_retention(request)


def _reason(request: HttpRequest) -> str:
    return request.POST.get("reason", "")[: retention.REASON_MAX]


@login_required
@require_POST
def hold_place_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A department admin of the case's procedure puts a hold on it."""
    application = _case(request, pk)
    if not retention.may_hold(request.user, application):
        raise HttpForbidden
    try:
        legal_hold_place(actor=request.user, application=application, reason=_reason(request))
    except NotFound as error:
        raise Http404 from error
    except DomainError as failure:
        return _render_case(
            request, _case(request, pk), form="hold", failure=failure, posted=request.POST
        )
    messages.success(
        request,
        _("%(reference)s is on hold: it will not be purged while the hold is open.")
        % {"reference": application.reference},
    )
    return redirect(reverse("casework:case", args=[application.pk]) + "#legal-hold")


@login_required
@require_POST
def hold_release_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A department admin releases a hold, with a reason; from the case page
    (back=case) or the retention page."""
    if not retention.may_hold_somewhere(request.user):
        # Auditors see the holds; they release none.
        raise HttpForbidden
    try:
        hold = retention.hold_for_release(request.user, pk)
    except NotFound as error:
        raise Http404 from error
    application = hold.application
    from_case = request.POST.get("back") == "case"
    try:
        reason = retention.release_reason(_reason(request))
        if hold.released_at is None:
            legal_hold_release(actor=request.user, hold=hold, reason=reason)
    except DomainError as failure:
        if from_case:
            return _render_case(
                request,
                _case(request, application.pk),
                form=f"release:{hold.pk}",
                failure=failure,
                posted=request.POST,
            )
        return _render_retention(request, hold_id=hold.pk, failure=failure, posted=request.POST)
    if hold.released_at is not None:
        messages.info(request, _("This hold was already released."))
    else:
        messages.success(
            request,
            _(
                "The hold on %(reference)s is released. The case will be purged once "
                "its period has run out."
            )
            % {"reference": application.reference},
        )
    if from_case:
        return redirect(reverse("casework:case", args=[application.pk]) + "#legal-hold")
    return redirect(reverse("casework:retention") + "#legal-holds")
