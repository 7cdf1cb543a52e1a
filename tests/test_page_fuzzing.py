"""The HTML pages under hostile input (issue 18): 0 5xx, nothing stored.

Every URL pattern of the site is read from the resolver (config/urls.py, app
namespaces included), except /api/ (tests/test_api_fuzzing.py fuzzes it) and
/static/. Path parameters name real objects: the world of
tests/test_api_fuzzing.py `build_world` (applications in each state, an
attachment, a receipt, a payment, a draft version, an exemption), plus a proxy
filing, an inventory entry and a platform administrator. The admin site's pages
are among them, for the administrator (a superuser) only; its forms are posted
in a part of their own, last (below).

As each role (anonymous, resident, proxy filer, clerk, approver, department
admin, auditor, system admin; staff log in with their second factor), with a
Client that enforces CSRF and takes the token from the page:

- GET each page with hostile query parameters. The names are a fixed list of the
  ones the views read (grep request.GET) plus the names of the page's own
  <form method="get"> fields. Each hostile value is sent once with every name at
  once; on a page the role may open (a 200 without parameters), each name is
  also sent alone with each value, so a parameter refused early (a bad `page`)
  cannot hide one read later.
- POST each form found on the pages the role can see, to its action: once per
  hostile value with every field set to it, then each field alone (the others
  keep the page's own values) with one of the values, chosen by rotating
  through the list by field position (deterministic; all values reach some
  field of every form with fourteen or more fields). The CSRF token is one of those
  fields: a hostile token must be a 403, not a 500. A URL that accepts POST but
  has no form on any page the role sees is posted the fixed names, once per
  value. Logging out comes last for each role.

The values: NUL, percent-encoded invalid UTF-8 (%ED%A0%80, the UTF-8 form of a
lone surrogate, and %FF; a lone surrogate itself cannot be sent in a URL or a
form post), 10,000 characters, huge integers (10**30, -1, 400 nines), wrong
types ([] {} true 1.5 NaN), path traversal and markup.

Afterwards: no answer was 5xx (all failures are reported together), no text or
JSON column of any model holds a NUL, the 10,000-character value or the markup
value (free-text columns where a resident or clerk may legitimately type markup
are listed in FREE_TEXT and checked for NUL and the long value only), and the
row counts of the main models are unchanged but for the documented exceptions
in MAY_GROW (valid free text such as "1.5" creates a note or a draft).

Then the admin's posts, as the system administrator with a fresh session: for
every model registered on the admin site (`admin.site._registry`: ours, Django's
groups, django-axes' logs), its changelist's filter and date links (their
parameter names read from the page) with each value all at once with `q`, then
each alone with three values; its actions form as above (each field alone with
three values) and each real action on a hostile `_selected_action` (the selected
object is never the administrator, so the run keeps its second factor); its add
form and the change form of its first object (a model without one is left out),
posted as above with three values per field alone. Delete confirmation pages are
never posted, and a delete action without `post` only shows its confirmation,
so nothing is deleted. Creating and changing rows is what the admin is for, so
the row-growth check does not apply to this part: it is measured before it.
The stored-text check runs before it (as above) and after it, where organization
names, and the audit log's copy of them, are free text as well (ADMIN_FREE_TEXT).
Run time, most of it the requests: about 270 s on two cores at load 6 for the
roles; the admin part 10 s on a quiet machine, 43 s at load 9.5 (the whole file
then 490 s).
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import quote as admin_quote
from django.db import models
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.exceptions import Resolver404
from knox.auth import TokenAuthentication

from accounts.models import Organization, Role
from applications.models import Application
from payments.models import Payment, SandboxTransaction
from procedures.models import Procedure
from tests.applications.casework_setup import file_application, resident, staff, verified_login
from tests.applications.cosign_setup import cosigned_procedure, file_cosigned
from tests.applications.cosign_setup import draft as cosign_draft
from tests.factories import PASSWORD
from tests.test_api_fuzzing import build_world

pytestmark = pytest.mark.django_db(transaction=True)

LONG = "x" * 10_000
MARKUP = "<script>alert(1)</script>"
# name -> (the value as it goes into a query string or a form body, already encoded)
HOSTILE = {
    "nul": quote("a\x00b"),
    "surrogate_utf8": "%ED%A0%80",
    "invalid_utf8": "%FF",
    "long": LONG,
    "huge": "1" + "0" * 30,
    "minus_one": "-1",
    "nines": "9" * 400,
    "list": quote("[]"),
    "object": quote("{}"),
    "true": "true",
    "float": "1.5",
    "nan": "NaN",
    "traversal": quote("../../etc/passwd", safe=""),
    "markup": quote(MARKUP, safe=""),
}
VALUES = list(HOSTILE)
PER_FIELD = 1
# The admin part: each field alone gets three values of the rotation, and so does
# each changelist filter alone (a filter refused answers ?e=1 at once).
ADMIN_PER_FIELD = 3
ADMIN_PER_FILTER = 3

# The query parameters the views read (grep request.GET, params.get and the
# filter forms), for every page; each page's own GET form adds its fields.
QUERY_NAMES = [
    "q", "status", "page", "sort", "category", "life_event", "filer", "organization",
    "procedure", "assignee", "overdue", "due_within", "submitted_from", "submitted_to",
    "cursor", "next", "fiscal_year", "before", "version", "principle", "code", "type",
    "inline", "state", "error", "o", "p",
]  # fmt: skip

SKIPPED_PREFIXES = ("/api/", "/static/")

# Columns where free text is legitimate, markup included (it is escaped on output):
# checked for NUL and the 10,000-character value only. model label -> fields.
FREE_TEXT = {
    # cosigner_answers: the co-signers named in a draft, kept as typed like the answers.
    "applications.Application": {
        "answers",
        "cosigner_answers",
        "on_behalf_of_name",
        "on_behalf_of_relationship",
    },
    "applications.InternalNote": {"text"},  # a clerk's note is whatever the clerk writes
    "applications.LegalHold": {"reason", "release_reason"},  # a department admin's words
    "audit.AuditEvent": {"details"},
}
# The administrator may also name an organization as it likes (escaped on output),
# and its renaming is audited with the names: free text in the admin's part only.
ADMIN_FREE_TEXT = FREE_TEXT | {
    "accounts.Organization": {"name_ja", "name_en"},
    "audit.AuditEvent": {"data"},
}
# JSON columns whose texts (titles, labels, help) are free, but whose keys and
# machine words (a field's key and type, a step's key) must never hold markup.
FREE_WORDING = {"procedures.ProcedureVersion": {"definition"}}
MACHINE_WORDS = {"key", "type", "kind", "approval", "due", "principle"}
# Models whose rows may legitimately grow during the run, and why. Values such as
# "1.5", "true", "-1" or "NaN" are valid free text: a resident may start a filing
# on behalf of someone called "true", a clerk may write a note "1.5". Such rows
# are not hostile; hostile_stored() checks that none holds a NUL, the long value
# or misplaced markup.
MAY_GROW = {
    "audit.AuditEvent": "logins, refusals and every change are audited",
    "digitization.ChainCheck": "the audit log's verify button runs a check",
    "sessions.Session": "each login is a session, each logout ends one",
    "applications.Application": "starting a filing (on behalf of a person named '1.5')",
    "applications.ApplicationEvent": "the events of those filings and of notes",
    "applications.InternalNote": "a clerk's note with the text '1.5' or 'true'",
    "applications.LegalHold": "a department admin's legal hold with the reason '1.5'",
    "applications.ApplicationRevision": "a draft saved with free-text answers",
    "applications.Cosignature": "asking a co-signer again (the page's address, the name '1.5')",
    "applications.CosignerEmail": "the e-mail of that request",
    "digitization.InventoryEntry": "an inventory entry named 'true' with valid other fields",
    "digitization.InventoryTotals": "the inventory's running totals follow those entries",
    "digitization.Exemption": "an exemption requested with the reason 'NaN'",
    "procedures.ProcedureVersion": "a draft version the builder starts",
    "procedures.Procedure": "a procedure the builder creates with valid other fields",
}


@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)


class _Forms(HTMLParser):
    """The forms of a page: action, method and every named field with the value
    the page gives it (checked boxes and radios, selected options, the first
    submit button)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._select_value: str | None = None
        self._textarea: str | None = None
        self._text = ""
        self._submitted = False

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = Form(attrs.get("action", ""), attrs.get("method", "get").lower())
            self.forms.append(self._form)
            self._submitted = False
            return
        form, name = self._form, attrs.get("name")
        if form is None or not name:
            if tag == "option" and self._select is not None:
                self._option(attrs)
            return
        if tag == "input":
            kind = attrs.get("type", "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                if not any(existing == name for existing, _ in form.fields):
                    form.fields.append((name, attrs.get("value", "on")))
                return
            if kind in ("submit", "image"):
                if self._submitted:
                    return
                self._submitted = True
            if kind == "file":
                return
            form.fields.append((name, attrs.get("value", "")))
        elif tag == "button" and attrs.get("type", "submit") == "submit":
            if not self._submitted:
                self._submitted = True
                form.fields.append((name, attrs.get("value", "")))
        elif tag == "select":
            self._select, self._select_value = name, None
        elif tag == "textarea":
            self._textarea, self._text = name, ""

    def _option(self, attrs):
        if self._select_value is None or "selected" in attrs:
            self._select_value = attrs.get("value", "")

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None and self._form is not None:
            self._form.fields.append((self._select, self._select_value or ""))
            self._select = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            self._form.fields.append((self._textarea, self._text))
            self._textarea = None


def forms_of(html: str) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


# --- the URLs ------------------------------------------------------------------------------------------------


def url_names() -> list[tuple[str, list[str]]]:
    """Every named URL pattern as "namespace:name" with its parameter names."""
    found = []

    def walk(patterns, namespace, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}:{pattern.namespace}" if pattern.namespace else namespace
                walk(pattern.url_patterns, inner.strip(":"), route)
            elif isinstance(pattern, URLPattern) and pattern.name:
                parameters = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route)
                names = [a or b for a, b in parameters]
                qualified = f"{namespace}:{pattern.name}" if namespace else pattern.name
                found.append((qualified, names))

    walk(get_resolver().url_patterns, "", "")
    return sorted({(name, tuple(params)) for name, params in found})


def build_urls(objects: dict) -> tuple[list[tuple[str, str]], list[str]]:
    """(url name, url) for every pattern outside /api/ and /static/, and the
    patterns left out with the reason."""
    urls, left_out = [], []
    for name, parameters in url_names():
        namespace = name.split(":")[0] if ":" in name else ""
        kwargs = {}
        for parameter in parameters:
            value = objects.get(f"{name}.{parameter}")
            value = value if value is not None else objects.get(f"{namespace}.{parameter}")
            value = value if value is not None else objects.get(parameter)
            if value is None and name.startswith("api"):
                break  # under /api/, fuzzed by tests/test_api_fuzzing.py
            if value is None:
                left_out.append(f"{name}: no object for <{parameter}>")
                break
            kwargs[parameter] = value
        else:
            try:
                url = reverse(name, kwargs=kwargs)
            except Exception as error:  # reported below, never silent
                left_out.append(f"{name}: {error}")
                continue
            if url.startswith(SKIPPED_PREFIXES):
                continue
            if url.startswith("/admin/") and not objects.get("admin:ok"):
                continue
            urls.append((name, url))
    return urls, left_out


# --- the world -----------------------------------------------------------------------------------------------


def _user_of(token: str):
    user, _token = TokenAuthentication().authenticate_credentials(token.encode())
    return user


def world(base_url: str) -> tuple[dict, dict]:
    """(users by role, objects by path parameter)."""
    built = build_world(base_url)
    users = {role: _user_of(token) for role, token in built.tokens.items() if token}
    # build_world may already hold a proxy filer and a platform administrator
    # (its API run grew them); otherwise they are made here the same way.
    if "proxy_filer" not in users:
        proxy = resident("代理 花子")
        file_application(
            Procedure.objects.get(code="health-permit"),
            proxy,
            on_behalf_of_name="母 春子",
            on_behalf_of_relationship="母",
        )
        users["proxy_filer"] = proxy
    administrator = users.pop("platform_admin", None) or staff(
        Organization.objects.get(code="city"), Role.SYSTEM_ADMIN, "管理 六郎"
    )
    administrator.is_staff = administrator.is_superuser = True  # as bin/bootstrap_admin does
    administrator.save(update_fields=["is_staff", "is_superuser"])
    users["system_admin"] = administrator

    # The first four are always: submitted, draft, awaiting payment, someone else's.
    submitted, draft, unpaid = (Application.objects.get(pk=pk) for pk in built.known["id"][:3])
    # A filing waiting for its co-signers, and a draft naming them (docs/cosignature.md).
    housing = cosigned_procedure(Organization.objects.get(code="health"), code="fuzz-housing")
    waiting = file_cosigned(housing, users["resident"])
    naming = cosign_draft(housing, users["resident"])
    payment = Payment.objects.get(public_id=built.known["payment:public_id"][0])
    attachment = submitted.attachments.first()
    document = submitted.documents.first()
    objects = {
        "admin:ok": True,
        "code": "health-permit",
        "applications.pk": submitted.pk,
        "applications:step.pk": draft.pk,
        "applications:check.pk": draft.pk,
        "applications:cosigners.pk": naming.pk,
        "applications:cosigner_replace.pk": waiting.pk,
        "role": "guarantor",
        # Without the e-mailed link in the session a request's page is a 404; the
        # link itself is fuzzed through <token>.
        "request_id": waiting.cosignatures.get(role="guarantor").public_id,
        "applications:discard.pk": draft.pk,
        "casework.pk": submitted.pk,
        "pk": submitted.pk,
        "application_id": unpaid.pk,
        "step_key": "details",
        "field_key": "purpose",
        "group": "purpose",
        "public_id": attachment.public_id,
        "payments.public_id": payment.public_id,
        "document_id": document.pk,
        "digitization.pk": built.known["exemption:id"][0],
        "digitization:organization.code": "health",
        "digitization:csv_template.kind": "inventory",
        "kind": "inventory",
        "reference": SandboxTransaction.objects.order_by("pk").first().reference,
        "uidb64": "MQ",
        "token": "set-password",
        # The admin's object pages: the first organization (a model every site has).
        "object_id": str(Organization.objects.order_by("pk").first().pk),
        "app_label": "accounts",
        "content_type_id": "1",
    }
    return users, objects


def logged_in(role: str, user) -> Client:
    """A client of this role that enforces CSRF from then on (logging in does not
    need to: it is the set-up, not what is fuzzed)."""
    client = Client(raise_request_exception=False, headers={"Accept-Language": "en"})
    if user is not None and user.memberships.exists():
        verified_login(client, user)
    elif user is not None:
        client.post("/accounts/login/", {"email": user.email, "password": PASSWORD})
    assert ("_auth_user_id" in client.session) == (user is not None), role
    client.handler.enforce_csrf_checks = True
    return client


# --- what is stored ------------------------------------------------------------------------------------------


def project_models():
    return [
        model
        for model in apps.get_models()
        if model._meta.app_label in ("accounts", "applications", "procedures", "payments",
                                     "digitization", "audit", "otp_totp", "knox", "sessions")
    ]  # fmt: skip


def counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in project_models()}


def hostile_stored(free_text: dict[str, set[str]] = FREE_TEXT) -> list[str]:
    """Every text or JSON column that holds a NUL, the long value, or the markup
    where markup cannot legitimately be."""
    found = []
    for model in project_models():
        label = model._meta.label
        text_fields = [
            f.name
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.JSONField)
        ]
        if not text_fields:
            continue
        for row in model.objects.values("pk", *text_fields).iterator():
            for name in text_fields:
                text = str(row[name]) if row[name] is not None else ""
                problems = []
                if "\x00" in text or "\\u0000" in text:
                    problems.append("NUL")
                if LONG in text:
                    problems.append("the 10,000-character value")
                if name in FREE_WORDING.get(label, ()):
                    if _markup_in_machine_words(row[name]):
                        problems.append("markup in a key or a machine word")
                elif "<script>" in text and name not in free_text.get(label, ()):
                    problems.append("markup")
                if problems:
                    found.append(f"{label}.{name} (pk {row['pk']}): {', '.join(problems)}")
    return found


def _markup_in_machine_words(document) -> bool:
    pending = [(None, document)]
    while pending:
        key, item = pending.pop()
        if isinstance(item, dict):
            if any("<script>" in str(k) for k in item):
                return True
            pending.extend(item.items())
        elif isinstance(item, list):
            pending.extend((key, child) for child in item)
        elif key in MACHINE_WORDS and "<script>" in str(item):
            return True
    return False


# --- the run -------------------------------------------------------------------------------------------------


@dataclass
class Run:
    failures: list[str] = field(default_factory=list)
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    requests: Counter = field(default_factory=Counter)
    spent: Counter = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)

    def record(self, role, method, url, value, response, extra=""):
        self.requests[role] += 1
        now = time.monotonic()
        self.spent[(role, method, re.sub(r"\d+", "N", url))] += now - getattr(self, "_last", now)
        self._last = now
        self.statuses[role][response.status_code] += 1
        if response.status_code >= 500:
            self.failures.append(
                f"{method} {url[:150]} as {role}, value {value}{extra}: {response.status_code}"
            )


def _query(names, value: str) -> str:
    return "&".join(f"{quote(name, safe='')}={value}" for name in names)


def _body(fields: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(name, safe='')}={value}" for name, value in fields)


def _plain(value: str) -> str:
    return quote(value, safe="")


def _same_url(action: str, page: str) -> str:
    return urlsplit(urljoin(page, action or page)).path


def fuzz_role(run: Run, role: str, client: Client, urls) -> None:
    forms: dict[tuple[str, tuple[str, ...]], Form] = {}
    masked = []
    for position, (_name, url) in enumerate(urls):
        if url.startswith("/admin/") and role != "system_admin":
            continue
        response = client.get(url)
        run.record(role, "GET", url, "none", response)
        is_page = (
            response.status_code == 200
            and not response.streaming
            and "html" in response.get("Content-Type", "")
        )
        page_forms = forms_of(response.content.decode(errors="replace")) if is_page else []
        names = list(QUERY_NAMES)
        for form in page_forms:
            if form.method == "get":
                names += [n for n, _v in form.fields if n not in names]
            else:
                action = _same_url(form.action, url)
                key = (action, tuple(sorted({n for n, _v in form.fields})))
                forms.setdefault(key, Form(action, "post", form.fields))
        # A page the role cannot open answers before it reads anything, and a file
        # (a PDF, a CSV) costs a rendering each time: two values for those.
        values = VALUES if is_page else _rotation(position, 2)
        first_masked = None
        for value in values:
            target = f"{url}?{_query(names, HOSTILE[value])}"
            answer = client.get(target)
            run.record(role, "GET", url, f"{value} in every parameter", answer)
            # Refused by one parameter (a 404 for page=true): each name alone then,
            # with the first value so refused.
            if is_page and answer.status_code not in (200, 400) and first_masked is None:
                first_masked = value
                masked.append((url, names, value))
    for url, names, value in masked:
        for parameter in names:
            target = f"{url}?{_query([parameter], HOSTILE[value])}"
            run.record(role, "GET", url, f"{value} in {parameter}", client.get(target))

    posted = set()
    logout = reverse("accounts:logout")
    ordered = sorted(forms.values(), key=lambda form: form.action == logout)
    for form in ordered:
        posted.add(form.action)
        post_form(run, role, client, form)
    for position, (_name, url) in enumerate(urls):
        if url in posted or url.startswith("/admin/") or url == logout:
            continue
        for index, value in enumerate(VALUES[position % 2 :: 7]):
            response = client.post(
                url,
                _query(QUERY_NAMES, HOSTILE[value]),
                content_type="application/x-www-form-urlencoded",
            )
            run.record(role, "POST", url, f"{value} in every fixed name", response)
            if index == 0 and response.status_code in (302, 403, 404, 405):
                break  # not a POST this role may make here


def _rotation(index: int, count: int) -> list[str]:
    return [VALUES[(index * count + offset) % len(VALUES)] for offset in range(count)]


def post_form(run: Run, role: str, client: Client, form: Form) -> None:
    try:
        resolve(form.action)
    except Resolver404:
        return
    if form.action.startswith((*SKIPPED_PREFIXES, "/admin/")):
        return
    post_hostile(run, role, client, form, PER_FIELD)


def post_hostile(run: Run, role: str, client: Client, form: Form, per_field: int) -> None:
    """Every hostile value in every field at once, then each field alone with
    `per_field` values of the rotation."""
    original = [(name, _plain(value)) for name, value in form.fields]
    # Every field but the CSRF token at once, so the view itself reads them.
    for value in VALUES:
        fields = [
            (name, v if name == "csrfmiddlewaretoken" else HOSTILE[value])
            for name, v in _current(client, original)
        ]
        response = client.post(
            form.action, _body(fields), content_type="application/x-www-form-urlencoded"
        )
        run.record(role, "POST", form.action, f"{value} in every field", response)
    # Then each field alone, the token too, the others as the page gave them.
    for index, (name, _v) in enumerate(original):
        for value in _rotation(index, per_field):
            fields = [
                (n, HOSTILE[value] if n == name else v) for n, v in _current(client, original)
            ]
            response = client.post(
                form.action, _body(fields), content_type="application/x-www-form-urlencoded"
            )
            run.record(role, "POST", form.action, f"{value} in {name}", response)


def _current(client: Client, fields):
    """The page's fields with the session's current CSRF token (a login rotates it)."""
    token = client.cookies.get("csrftoken")
    if token is None:
        return fields
    return [
        (name, _plain(token.value) if name == "csrfmiddlewaretoken" else value)
        for name, value in fields
    ]


# --- the admin site's posts ----------------------------------------------------------------------------------

ADMIN = "admin_posts"  # the admin part's requests are counted apart from the roles'


@dataclass
class AdminTarget:
    label: str
    changelist: str
    add: str
    change: str | None  # None: the world has no object of this model
    pk: str | None


def admin_targets(administrator) -> list[AdminTarget]:
    """Every model registered on the admin site, with one existing object (not the
    administrator, whose own account the run keeps using)."""
    targets = []
    for model in sorted(admin.site._registry, key=lambda model: model._meta.label):
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        objects = model._default_manager.order_by("pk")
        if model is type(administrator):
            objects = objects.exclude(pk=administrator.pk)
        target = objects.first()
        pk = str(target.pk) if target is not None else None
        targets.append(
            AdminTarget(
                label=model._meta.label,
                changelist=reverse(f"{info}_changelist"),
                add=reverse(f"{info}_add"),
                change=reverse(f"{info}_change", args=[admin_quote(pk)]) if pk else None,
                pk=pk,
            )
        )
    return targets


def _page(run: Run, client: Client, url: str) -> str:
    response = client.get(url)
    run.record(ADMIN, "GET", url, "none", response)
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return ""
    return response.content.decode(errors="replace")


def _post_forms(html: str, url: str) -> list[Form]:
    """The page's own POST forms (the change form, the actions form), not the
    header's logout form."""
    logout = reverse("admin:logout")
    found = []
    for form in forms_of(html):
        form.action = _same_url(form.action, url)
        if form.method == "post" and form.action != logout:
            found.append(form)
    return found


def _filters(html: str) -> list[str]:
    """The query parameters of the changelist's filter and date links (the search
    box's q, o and p are fuzzed with the pages' GETs already)."""
    names = {
        name
        for link in re.findall(r'href="\?([^"]*)"', html)
        for name, _value in parse_qsl(unescape(link), keep_blank_values=True)
    }
    return sorted(names - set(QUERY_NAMES) - {"e", "_changelist_filters"})


def _actions(html: str) -> list[str]:
    select = re.search(r'<select name="action".*?</select>', html, re.S)
    return [a for a in re.findall(r'<option value="([^"]*)"', select[0]) if a] if select else []


def fuzz_admin(run: Run, client: Client, targets: list[AdminTarget]) -> Counter:
    """The admin's forms for every registered model: its changelist's filters and
    actions form, its add form and the change form of one object. Nothing is
    deleted: a delete action without `post` only shows its confirmation page, and
    the confirmation pages are not posted."""
    posted = Counter()
    for target in targets:
        html = _page(run, client, target.changelist)
        filters = _filters(html)
        for value in VALUES:
            query = _query([*filters, "q"], HOSTILE[value])
            answer = client.get(f"{target.changelist}?{query}")
            run.record(ADMIN, "GET", target.changelist, f"{value} in every filter", answer)
        # An invalid filter answers ?e=1 before the next one is read: each alone.
        for index, name in enumerate(filters):
            for value in _rotation(index, ADMIN_PER_FILTER):
                answer = client.get(f"{target.changelist}?{_query([name], HOSTILE[value])}")
                run.record(ADMIN, "GET", target.changelist, f"{value} in {name}", answer)
        for form in _post_forms(html, target.changelist):
            if not any(name == "action" for name, _v in form.fields):
                continue
            # The page's first row is whichever object sorts first: select the
            # target instead (never the administrator).
            form.fields = [
                (name, target.pk if name == ACTION_CHECKBOX_NAME and target.pk else value)
                for name, value in form.fields
            ]
            post_hostile(run, ADMIN, client, form, ADMIN_PER_FIELD)
            posted["actions"] += 1
            # Each real action on hostile selections (the page's action is blank).
            for action in _actions(html):
                for value in VALUES:
                    fields = [
                        ("csrfmiddlewaretoken", ""), ("action", action), ("select_across", "0"),
                        ("index", "0"), (ACTION_CHECKBOX_NAME, HOSTILE[value]),
                    ]  # fmt: skip
                    answer = client.post(
                        form.action,
                        _body(_current(client, fields)),
                        content_type="application/x-www-form-urlencoded",
                    )
                    run.record(ADMIN, "POST", form.action, f"{action} on {value}", answer)
        for url in (target.add, target.change):
            if url is None:
                continue
            for form in _post_forms(_page(run, client, url), url):
                post_hostile(run, ADMIN, client, form, ADMIN_PER_FIELD)
                posted["add" if url == target.add else "change"] += 1
    return posted


ROLES = [
    "anonymous",
    "resident",
    "proxy_filer",
    "clerk",
    "approver",
    "department_admin",
    "auditor",
    "system_admin",
]


def test_no_page_answers_hostile_input_with_a_server_error_or_stores_it(
    live_server, settings, tmp_path, capsys
):
    settings.MEDIA_ROOT = tmp_path
    started = time.monotonic()
    users, objects = world(live_server.url)
    urls, left_out = build_urls(objects)
    clients = {role: logged_in(role, users.get(role)) for role in ROLES}
    before = counts()
    assert not hostile_stored()

    run = Run()
    for role in ROLES:
        began = time.monotonic()
        fuzz_role(run, role, clients[role], urls)
        run.seconds[role] = time.monotonic() - began

    after_roles = counts()
    stored_by_roles = hostile_stored()
    grown = {
        label: (before[label], after)
        for label, after in after_roles.items()
        if after != before.get(label) and label not in MAY_GROW
    }

    # The admin's posts come last: creating and changing rows is the admin's job,
    # so they are outside the row-growth check (measured above, before them).
    began = time.monotonic()
    targets = admin_targets(users["system_admin"])
    posted = fuzz_admin(run, logged_in("system_admin", users["system_admin"]), targets)
    run.seconds[ADMIN] = time.monotonic() - began

    with capsys.disabled():
        print(f"\n{len(urls)} pages; {time.monotonic() - started:.0f} s")
        for role in [*ROLES, ADMIN]:
            print(
                f"  {role}: {run.requests[role]} requests in {run.seconds[role]:.0f} s, "
                f"{sorted(run.statuses[role].items())}"
            )
        for label, after in after_roles.items():
            if after != before.get(label):
                print(f"  rows of {label}: {before.get(label)} -> {after}")
        print(f"  admin: {len(targets)} models, forms posted {dict(posted)}")
        for label, after in counts().items():
            if after != after_roles.get(label):
                print(f"  rows of {label} after the admin's posts: {after_roles[label]} -> {after}")
        for line in left_out:
            print(f"  left out: {line}")
        for key, seconds in run.spent.most_common(5):
            print(f"  slow: {key} {seconds:.1f} s")
        for failure in run.failures:
            print(f"  5xx: {failure}")
    assert len(urls) > 80, "the resolver lost its pages"
    assert len(targets) >= 8 and sum(posted.values()) >= 10, "the admin lost its forms"
    assert not run.failures, f"{len(run.failures)} server errors:\n" + "\n".join(run.failures)
    assert not stored_by_roles, "\n".join(stored_by_roles)
    assert not grown, f"rows appeared where no valid POST creates any: {grown}"
    assert not (stored := hostile_stored(ADMIN_FREE_TEXT)), "\n".join(stored)
