"""The auditors' and departments' pages, the PDF report and the public open-data
page. Each view checks who may come in, reads through one selector or calls one
service, and renders; refusals of a service are shown on the page.

Staff reach these pages after their second factor (StaffTwoFactorMiddleware).
Someone without the role gets 403; an organization, procedure or exemption
outside their organizations does not exist for them (404)."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as HttpForbidden
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.permissions import Action, actor_may
from core.errors import DomainError, NotFound
from digitization import figures_cache, metrics, presentation, selectors, services
from digitization.forms import (
    AuditLogFilterForm,
    CaseReportForm,
    CSVUploadForm,
    EntryForm,
    ExemptionDecisionForm,
    InventoryFilterForm,
    default_review_date,
)
from digitization.imports import CASE_COLUMNS, INVENTORY_COLUMNS
from digitization.models import PRINCIPLES, STAGES, Channel
from digitization.periods import fiscal_year_of
from procedures.services import exemption_decide

PAGE_SIZE = 50
GAP_PAGE_SIZE = 50
AUDIT_PAGE_SIZE = 50


def _require(request: HttpRequest, action: str) -> None:
    if not actor_may(request.user, action):
        raise HttpForbidden


def _require_inventory_reader(request: HttpRequest) -> None:
    if not (selectors.may_audit(request.user) or selectors.may_report(request.user)):
        raise HttpForbidden


def _not_found(error: NotFound):
    raise Http404 from error


def _page(request: HttpRequest, items: Any, size: int):
    paginator = Paginator(items, size)
    try:
        return paginator.page(request.GET.get("page") or 1)
    except (EmptyPage, PageNotAnInteger) as error:
        raise Http404 from error


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


def _section(request: HttpRequest, current: str) -> list[dict[str, Any]]:
    """The digitization section's own navigation, by what the user may do."""
    user = request.user
    items = []
    if selectors.may_audit(user):
        items += [
            ("dashboard", _("Dashboard"), reverse("digitization:dashboard")),
            ("gap", _("Gap to the target"), reverse("digitization:gap")),
        ]
    if selectors.may_audit(user) or selectors.may_report(user):
        items.append(("inventory", _("Inventory"), reverse("digitization:inventory")))
    if actor_may(user, Action.DECIDE_EXEMPTIONS):
        items.append(("exemptions", _("Exemption review"), reverse("digitization:exemptions")))
    if selectors.may_report(user):
        items.append(("reports", _("Case figures"), reverse("digitization:reports")))
    if selectors.may_view_audit_log(user):
        items.append(("audit_log", _("Audit log"), reverse("digitization:audit_log")))
    return [
        {"key": key, "label": label, "url": url, "current": key == current}
        for key, label, url in items
    ]


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], *, section: str, status: int = 200
):
    context = {"section_nav": _section(request, section), "target": metrics.target(), **context}
    return render(request, f"digitization/{template}", context, status=status)


def _fiscal_year(request: HttpRequest) -> int | None:
    text = request.GET.get("fiscal_year", "")
    if not text:
        return None
    if not text.isdigit() or not (2000 <= int(text) <= fiscal_year_of(timezone.localdate())):
        raise Http404
    return int(text)


def _ranked_items(
    figures: metrics.Figures, rows: list[selectors.EntryRow], *, start: int = 1, before: int = 0
) -> list[dict[str, Any]]:
    """Ranked rows with what each adds to the volume-weighted rate (in points) and
    the rate if it and every procedure above it were digital. `before`: the volume
    of the procedures ranked above the first row."""
    cumulative = figures.digital_volume + before
    goal = metrics.target()
    previous = metrics.rate(cumulative, figures.volume)
    items = []
    for rank, row in enumerate(rows, start=start):
        cumulative += row.entry.annual_volume
        rate_after = metrics.rate(cumulative, figures.volume)
        share = metrics.rate(row.entry.annual_volume * 100, figures.volume)
        items.append(
            {
                "rank": rank,
                "row": row,
                "points": share,
                "rate_after": rate_after,
                # Marked where the target is first reached, going down the list.
                "reaches": rate_after is not None
                and rate_after >= goal
                and (previous is None or previous < goal),
            }
        )
        previous = rate_after
    return items


def _overview_context(overview: selectors.Overview) -> dict[str, Any]:
    root = overview.scope.root
    return {
        "period": overview.period,
        "ranked": _ranked_items(overview.figures, overview.ranked),
        "scope_code": root.code if root else "",
        "overview": overview,
        "figures": overview.figures,
        "gap": overview.gap,
        "trend": presentation.trend(overview),
        "departments": presentation.departments(overview),
        "matrix": presentation.matrix(overview.figures),
        "principles": [(p, presentation.principle_label(p)) for p in PRINCIPLES],
        "stages": [(s, presentation.stage_label(s)) for s in STAGES],
        "fiscal_years": _fiscal_years(overview.today),
    }


def _fiscal_years(today) -> list[int]:
    return list(range(fiscal_year_of(today), fiscal_year_of(today) - 5, -1))


# --- The dashboard and drill-down ---------------------------------------------------------------------


@login_required
@require_safe
def dashboard_view(request: HttpRequest, code: str | None = None) -> HttpResponse:
    _require(request, Action.AUDIT_DIGITIZATION)
    fiscal_year = _fiscal_year(request)
    try:
        scope = selectors.audit_scope(request.user, code)
    except NotFound as error:
        _not_found(error)
    basis = selectors.overview_basis(scope, fiscal_year=fiscal_year)
    may_decide = actor_may(request.user, Action.DECIDE_EXEMPTIONS)
    return _render(
        request,
        "dashboard.html",
        {
            "basis": basis,
            "figures": _dashboard_figures(basis, may_decide=may_decide),
            "pdf_query": f"?organization={scope.root.code}" if scope.root else "",
            "fiscal_years": _fiscal_years(basis.today),
        },
        section="dashboard",
    )


def _dashboard_figures(basis: selectors.OverviewBasis, *, may_decide: bool) -> dict[str, str]:
    """The dashboard's figures as HTML, rendered once and kept (digitization.
    figures_cache): most of the page's time went into rendering the same tables
    for every view of it (docs/performance.md, B4). The headline rates and the
    organizations count the platform's filings and are rendered again after each
    filing; the gap, exemptions, trend, matrix and ranked list only when the
    inventory figures change. The keys hold everything shown that is not figures:
    the scope with its names, the day, the exemptions, the language, the target,
    and whether the viewer may decide exemptions."""

    @cache  # the overview, once, and only if a part must be rendered
    def overview_context() -> dict[str, Any]:
        overview = selectors.overview_of(basis.scope, basis=basis)
        return {"target": metrics.target(), **_overview_context(overview)}

    def render(template: str, **extra: Any) -> str:
        context = {**overview_context(), **extra}
        return mark_safe(render_to_string(f"digitization/{template}", context))  # noqa: S308

    common = (basis.key, get_language(), metrics.target())
    (rates, departments), (gap_trend, matrix_ranked) = figures_cache.kept_all(
        [
            figures_cache.Kept(
                ("dashboard-filings", *common),
                lambda: (render("_figures.html"), render("_departments.html", drill_links=True)),
                depends_on=(figures_cache.FIGURES, figures_cache.FILINGS),
            ),
            figures_cache.Kept(
                ("dashboard-inventory", *common, may_decide),
                lambda: (
                    render("_dashboard_gap_trend.html", may_decide=may_decide),
                    render("_dashboard_matrix_ranked.html"),
                ),
            ),
        ]
    )
    return {
        "rates": rates,
        "gap_trend": gap_trend,
        "departments": departments,
        "matrix_ranked": matrix_ranked,
    }


@login_required
@require_safe
def gap_view(request: HttpRequest) -> HttpResponse:
    """Every procedure in force that is not digital, the one that would move the
    volume-weighted rate most first, with the rate reached if it and all above
    it were digital."""
    _require(request, Action.AUDIT_DIGITIZATION)
    try:
        scope = selectors.audit_scope(request.user, request.GET.get("organization") or None)
    except NotFound as error:
        _not_found(error)
    today = timezone.localdate()
    overview = selectors.overview_of(scope, today=today, ranked_limit=0, with_trend=False)
    page = _page(request, selectors.ranked_of(overview), GAP_PAGE_SIZE)
    rows = selectors.entry_rows(page.object_list, today)
    # The cumulative volume before this page, to give each row "the rate if
    # this and every procedure above it were digital".
    before = 0
    if page.number > 1:
        above = selectors.ranked_of(overview).values("annual_volume")[: page.start_index() - 1]
        before = above.aggregate(volume=Sum("annual_volume"))["volume"] or 0
    ranked = _ranked_items(overview.figures, rows, start=page.start_index(), before=before)
    return _render(
        request,
        "gap.html",
        {
            "overview": overview,
            "figures": overview.figures,
            "gap": overview.gap,
            "ranked": ranked,
            "period": overview.period,
            "scope_code": scope.root.code if scope.root else "",
            "page": page,
            "query": _query_without_page(request),
            "stages": [(s, presentation.stage_label(s)) for s in STAGES],
        },
        section="gap",
    )


@login_required
@require_safe
def report_pdf_view(request: HttpRequest) -> HttpResponse:
    """The dashboard as a PDF document (WeasyPrint, charts included)."""
    from core.pdf import render_pdf

    _require(request, Action.AUDIT_DIGITIZATION)
    code = request.GET.get("organization") or None
    try:
        overview = selectors.overview(
            request.user, organization=code, fiscal_year=_fiscal_year(request), ranked_limit=20
        )
    except NotFound as error:
        _not_found(error)
    context = _overview_context(overview)
    context.update(
        {
            "organizations": selectors.organizations_with_figures(overview.scope, overview),
            "generated_at": timezone.localtime(),
            "author": request.user.display_name,
            "target": metrics.target(),
            "site_url": request.build_absolute_uri("/").rstrip("/"),
            "LANGUAGE_CODE": request.LANGUAGE_CODE,
        }
    )
    pdf = render_pdf("pdf/digitization_report.html", context)
    name = overview.scope.root.code if overview.scope.root else "all"
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="digitization-report-{name}-{overview.today:%Y%m%d}.pdf"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- The inventory ---------------------------------------------------------------------------------------


def _yes_no(value: str) -> bool | None:
    return {"true": True, "false": False}.get(value)


@login_required
@require_safe
def inventory_view(request: HttpRequest) -> HttpResponse:
    _require_inventory_reader(request)
    entries = selectors.inventory_for(request.user)
    organizations = list(selectors.visible_organizations(request.user).order_by("path"))
    form = InventoryFilterForm(request.GET or None, organizations=organizations)
    today = timezone.localdate()
    filters: dict[str, Any] = {"active": None}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        organization = next(
            (org for org in organizations if org.code == data["organization"]), None
        )
        filters = {
            "q": data["q"],
            "organization": organization,
            "channel": data["channel"],
            "digital": _yes_no(data["digital"]),
            "active": _yes_no(data["in_force"]),
            "principle": data["principle"],
            "principle_status": data["principle_status"],
        }
    filtered = selectors.filter_inventory(entries, today=today, **filters).order_by(
        "-annual_volume", "code"
    )
    page = _page(request, filtered, PAGE_SIZE)
    return _render(
        request,
        "inventory.html",
        {
            "form": form,
            "page": page,
            "rows": selectors.entry_rows(page.object_list, today),
            "query": _query_without_page(request),
            "stages": [(s, presentation.stage_label(s)) for s in STAGES],
            "may_report": selectors.may_report(request.user),
        },
        section="inventory",
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_safe
def entry_view(request: HttpRequest, code: str) -> HttpResponse:
    _require_inventory_reader(request)
    try:
        entry = selectors.entry_for(request.user, code)
    except NotFound as error:
        _not_found(error)
    today = timezone.localdate()
    row = selectors.entry_rows([entry], today)[0]
    return _render(
        request,
        "entry.html",
        {
            "entry": entry,
            "row": row,
            "stages": [(s, presentation.stage_label(s), status) for s, status in row.stages],
            "principle_rows": [
                (p, presentation.principle_label(p), status) for p, status in row.principles
            ],
            "exemptions": selectors.entry_exemptions(entry),
            "months": selectors.entry_months(entry, today=today),
            "may_edit": entry.channel != Channel.PLATFORM
            and actor_may(request.user, Action.REPORT_INVENTORY, entry.organization),
            "may_report": actor_may(request.user, Action.REPORT_INVENTORY, entry.organization),
            "may_view_audit_log": selectors.may_view_audit_log(request.user),
        },
        section="inventory",
    )


def _entry_data(form: EntryForm):
    data = form.cleaned_data
    return services.EntryData(
        title_ja=data["title_ja"],
        title_en=data["title_en"],
        organization=data["organization"],
        channel=data["channel"],
        annual_volume=data["annual_volume"],
        volume_fiscal_year=data["volume_fiscal_year"],
        online={stage: stage in data["stages"] for stage in STAGES},
        breaks=tuple(data["breaks"]),
        note=data["note"],
        active=data["active"],
    )


def _show_failure(form: Any, failure: DomainError) -> None:
    details = failure.details
    if isinstance(details, dict) and details:
        for name, problems in details.items():
            target = name if name in form.fields else None
            if name == "application_online" and "stages" in form.fields:
                target = "stages"
            for problem in problems if isinstance(problems, list) else [problems]:
                form.add_error(target, str(problem))
    else:
        form.add_error(None, str(failure.message))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def entry_create_view(request: HttpRequest) -> HttpResponse:
    _require(request, Action.REPORT_INVENTORY)
    organizations = selectors.reporting_organizations(request.user).order_by("path")
    form = EntryForm(
        request.POST if request.method == "POST" else None,
        organizations=organizations,
        initial={"active": True, "volume_fiscal_year": fiscal_year_of(timezone.localdate()) - 1},
    )
    if request.method == "POST" and form.is_valid():
        try:
            entry = services.inventory_entry_create(
                actor=request.user, code=form.cleaned_data["code"], data=_entry_data(form)
            )
        except DomainError as failure:
            _show_failure(form, failure)
        else:
            messages.success(request, _("The procedure was added to the inventory."))
            return redirect("digitization:entry", code=entry.code)
    return _render(
        request,
        "entry_form.html",
        {"form": form, "entry": None},
        section="inventory",
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def entry_edit_view(request: HttpRequest, code: str) -> HttpResponse:
    _require(request, Action.REPORT_INVENTORY)
    try:
        entry = selectors.reportable_entry(request.user, code)
    except NotFound as error:
        _not_found(error)
    if entry.channel == Channel.PLATFORM:
        messages.info(
            request,
            _("This procedure is on the platform: its figures come from its published version."),
        )
        return redirect("digitization:entry", code=entry.code)
    organizations = selectors.reporting_organizations(request.user).order_by("path")
    form = EntryForm(
        request.POST if request.method == "POST" else None,
        organizations=organizations,
        initial=EntryForm.initial_of(entry),
        editing=True,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.inventory_entry_update(actor=request.user, entry=entry, data=_entry_data(form))
        except DomainError as failure:
            _show_failure(form, failure)
        else:
            messages.success(request, _("The changes were saved."))
            return redirect("digitization:entry", code=entry.code)
    return _render(
        request,
        "entry_form.html",
        {"form": form, "entry": entry},
        section="inventory",
        status=400 if form.errors else 200,
    )


def _import_problems(failure: DomainError) -> list[dict[str, Any]]:
    details = failure.details
    if isinstance(details, list):
        return details
    if isinstance(details, dict):
        return [
            {"row": None, "column": name, "message": str(message)}
            for name, problems in details.items()
            for message in (problems if isinstance(problems, list) else [problems])
        ]
    return [{"row": None, "column": "", "message": str(failure.message)}]


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def inventory_import_view(request: HttpRequest) -> HttpResponse:
    _require(request, Action.REPORT_INVENTORY)
    form = CSVUploadForm(request.POST or None, request.FILES or None)
    problems: list[dict[str, Any]] = []
    failure_message = ""
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = services.inventory_import(
                actor=request.user, data=upload.read(), filename=upload.name
            )
        except DomainError as failure:
            problems, failure_message = _import_problems(failure), str(failure.message)
        else:
            messages.success(
                request,
                _("Imported %(rows)d rows: %(created)d procedures added, %(updated)d changed.")
                % result,
            )
            return redirect("digitization:inventory")
    return _render(
        request,
        "inventory_import.html",
        {
            "form": form,
            "problems": problems,
            "failure_message": failure_message,
            "columns": [column.name for column in INVENTORY_COLUMNS],
        },
        section="inventory",
        status=400 if (problems or form.errors) else 200,
    )


# --- Case figures ------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def reports_view(request: HttpRequest) -> HttpResponse:
    """Record one month's cases of a procedure, or upload a CSV file of them."""
    _require(request, Action.REPORT_INVENTORY)
    kind = request.POST.get("form") if request.method == "POST" else None
    initial = {"procedure_code": request.GET.get("code", "")}
    form = CaseReportForm(request.POST if kind == "one" else None, initial=initial)
    upload = CSVUploadForm(
        request.POST if kind == "file" else None, request.FILES if kind == "file" else None
    )
    problems: list[dict[str, Any]] = []
    failure_message = ""
    if kind == "one" and form.is_valid():
        data = form.cleaned_data
        try:
            entry = selectors.reportable_entry(request.user, data["procedure_code"])
        except NotFound:
            form.add_error(
                "procedure_code",
                _("“%(code)s” is not a procedure of the inventory that you report for.")
                % {"code": data["procedure_code"]},
            )
        else:
            try:
                services.case_report_record(
                    actor=request.user,
                    entry=entry,
                    month=data["month"],
                    online_cases=data["online_cases"],
                    offline_cases=data["offline_cases"],
                )
            except DomainError as failure:
                _show_failure(form, failure)
            else:
                messages.success(
                    request,
                    _("The cases of %(month)s for “%(title)s” were recorded.")
                    % {"month": f"{data['month']:%Y-%m}", "title": entry.title},
                )
                return redirect("digitization:reports")
    elif kind == "file" and upload.is_valid():
        file = upload.cleaned_data["file"]
        try:
            result = services.case_reports_import(
                actor=request.user, data=file.read(), filename=file.name
            )
        except DomainError as failure:
            problems, failure_message = _import_problems(failure), str(failure.message)
        else:
            messages.success(
                request,
                _("Imported %(rows)d rows: %(created)d months added, %(updated)d corrected.")
                % result,
            )
            return redirect("digitization:reports")
    elif kind not in (None, "one", "file"):
        raise Http404
    failed = bool(form.errors or upload.errors or problems)
    return _render(
        request,
        "reports.html",
        {
            "form": form,
            "upload": upload,
            "problems": problems,
            "failure_message": failure_message,
            "columns": [column.name for column in CASE_COLUMNS],
            "recent": selectors.recent_reports(request.user),
        },
        section="reports",
        status=400 if failed else 200,
    )


@login_required
@require_safe
def csv_template_view(request: HttpRequest, kind: str) -> HttpResponse:
    """An example file with the header row, to fill in a spreadsheet."""
    _require(request, Action.REPORT_INVENTORY)
    month = f"{timezone.localdate():%Y-%m}"
    year = fiscal_year_of(timezone.localdate()) - 1
    if kind == "cases":
        body = (
            "procedure_code,month,online_cases,offline_cases\r\n"
            f"example-procedure,{month},120,30\r\n"
        )
    elif kind == "inventory":
        header = ",".join(column.name for column in INVENTORY_COLUMNS)
        body = (
            f"{header}\r\n"
            f"example-procedure,例示の手続,Example procedure,example-department,offline,1200,{year},"
            "0,1,0,1,1,hanko_less,\r\n"
        )
    else:
        raise Http404
    response = HttpResponse("\ufeff" + body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{kind}-template.csv"'
    return response


# --- Exemption review ---------------------------------------------------------------------------------------


@login_required
@require_safe
def exemptions_view(request: HttpRequest) -> HttpResponse:
    _require(request, Action.DECIDE_EXEMPTIONS)
    today = timezone.localdate()
    everything = selectors.exemptions_to_review(request.user)
    sections = []
    volume = None
    for state in selectors.REVIEW_STATES:
        items = list(selectors.exemptions_in_state(everything, state, today)[:100])
        sections.append({"state": state, "items": items})
    requested = sections[0]["items"] + sections[1]["items"]
    if requested and selectors.may_audit(request.user):
        volume = selectors.total_volume(selectors.audit_scope(request.user))
    effects = selectors.exemption_effects(requested, volume or 0, today) if requested else {}
    return _render(
        request,
        "exemptions.html",
        {
            "sections": sections,
            "effects": effects,
            "today": today,
            "soon_days": selectors.REVIEW_SOON_DAYS,
        },
        section="exemptions",
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def exemption_decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Approve (with a review date) or refuse a requested exemption, through the
    procedures app's own service: the same rule as its API."""
    _require(request, Action.DECIDE_EXEMPTIONS)
    try:
        exemption = selectors.exemption_to_review(request.user, pk)
    except NotFound as error:
        _not_found(error)
    today = timezone.localdate()
    form = ExemptionDecisionForm(
        request.POST if request.method == "POST" else None,
        initial={"review_date": default_review_date()},
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        approve = data["decision"] == "approve"
        try:
            exemption_decide(
                actor=request.user,
                exemption=exemption,
                approve=approve,
                review_date=data["review_date"] if approve else None,
                note=data["note"],
            )
        except DomainError as failure:
            _show_failure(form, failure)
        else:
            if approve:
                messages.success(
                    request,
                    _("The exemption was approved until %(date)s. The rates count it from now on.")
                    % {"date": f"{data['review_date']:%Y-%m-%d}"},
                )
            else:
                messages.success(request, _("The exemption was refused."))
            return redirect("digitization:exemptions")
    volume = (
        selectors.total_volume(selectors.audit_scope(request.user))
        if selectors.may_audit(request.user)
        else 0
    )
    effect = selectors.exemption_effects([exemption], volume, today)[exemption.pk]
    return _render(
        request,
        "exemption_decide.html",
        {
            "exemption": exemption,
            "effect": effect,
            "form": form,
            "today": today,
            "decidable": exemption.status == "requested",
        },
        section="exemptions",
        status=400 if form.errors else 200,
    )


# --- The audit log -------------------------------------------------------------------------------------------


@login_required
@require_safe
def audit_log_view(request: HttpRequest) -> HttpResponse:
    """The audit log, newest first, with filters, keyset pages (`before`, a
    sequence number) and the latest result of the chain verification."""
    _require(request, Action.VIEW_AUDIT_LOG)
    params = request.GET.copy()
    before = params.pop("before", [""])[-1]
    form = AuditLogFilterForm(params or None)
    filters = selectors.AuditFilters()
    if form.is_bound and form.is_valid():
        filters = selectors.AuditFilters(**form.cleaned_data)
    events = selectors.audit_events(request.user, filters)
    if before:
        if not before.isdigit():
            raise Http404
        events = events.filter(sequence__lt=int(before))
    page = list(events[: AUDIT_PAGE_SIZE + 1])
    more = len(page) > AUDIT_PAGE_SIZE
    page = page[:AUDIT_PAGE_SIZE]
    next_query = ""
    if more:
        query = params.copy()
        query["before"] = str(page[-1].sequence)
        next_query = query.urlencode()
    return _render(
        request,
        "audit_log.html",
        {
            "form": form,
            "events": page,
            "next_query": next_query,
            "is_later_page": bool(before),
            "first_query": params.urlencode(),
            "check": selectors.latest_chain_check(),
            "actions": selectors.known_actions(),
        },
        section="audit_log",
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_POST
def audit_log_verify_view(request: HttpRequest) -> HttpResponse:
    _require(request, Action.VIEW_AUDIT_LOG)
    check = services.audit_chain_check(actor=request.user)
    if check.ok:
        messages.success(
            request,
            _("The audit chain is intact: %(count)d events checked.")
            % {"count": check.events_checked},
        )
    else:
        messages.error(
            request,
            _("The audit chain is broken at event %(sequence)s: %(reason)s.")
            % {"sequence": check.broken_sequence, "reason": check.reason},
        )
    return redirect("digitization:audit_log")


# --- Open data ---------------------------------------------------------------------------------------------


@require_safe
def open_data_view(request: HttpRequest) -> HttpResponse:
    """The whole government's figures for anyone, with links to the data."""
    overview = selectors.overview_of(selectors.whole_government(), ranked_limit=0, with_trend=False)
    return render(
        request,
        "digitization/open_data.html",
        {
            "overview": overview,
            "figures": overview.figures,
            "gap": overview.gap,
            "target": metrics.target(),
            "matrix": presentation.matrix(overview.figures, uid="open-matrix-chart"),
            "departments": presentation.departments(overview, uid="open-departments-chart"),
        },
    )
