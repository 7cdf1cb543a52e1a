"""The application window of a procedure (procedures.window): the rule at its exact
bounds in Japan time, how residents read it in both languages, and how departments
set it through the services, the builder, the API and the exchange format."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone, translation
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import Role
from audit.models import AuditEvent
from core.errors import ValidationFailed
from procedures import services
from procedures.demo import SUBSIDY, subsidy_window
from procedures.models import Procedure
from procedures.window import WindowState, accepting_applications
from tests.factories import (
    PASSWORD,
    MembershipFactory,
    ProcedureFactory,
    UserFactory,
    confirmed_totp,
    current_code,
    publish_procedure,
    valid_definition,
)

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
UTC = ZoneInfo("UTC")
OPENS = datetime(2027, 4, 1, 0, 0, tzinfo=TOKYO)
CLOSES = datetime(2027, 5, 1, 0, 0, tzinfo=TOKYO)
TICK = timedelta(microseconds=1)
BEFORE = datetime(2027, 3, 15, 12, 0, tzinfo=TOKYO)
DURING = datetime(2027, 4, 15, 12, 0, tzinfo=TOKYO)
AFTER = datetime(2027, 5, 15, 12, 0, tzinfo=TOKYO)


def _window(opens_at=OPENS, closes_at=CLOSES) -> Procedure:
    return Procedure(opens_at=opens_at, closes_at=closes_at)


# --- The rule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "state"),
    [
        (OPENS - TICK, WindowState.NOT_YET_OPEN),
        (OPENS, WindowState.OPEN),
        # The same instants written in UTC: Japan's midnight is 15:00 the day before.
        (datetime(2027, 3, 31, 14, 59, 59, tzinfo=UTC), WindowState.NOT_YET_OPEN),
        (datetime(2027, 3, 31, 15, 0, tzinfo=UTC), WindowState.OPEN),
        (CLOSES - TICK, WindowState.OPEN),
        (CLOSES, WindowState.CLOSED),
        (datetime(2027, 4, 30, 15, 0, tzinfo=UTC), WindowState.CLOSED),
        (datetime(2027, 4, 30, 14, 59, 59, tzinfo=UTC), WindowState.OPEN),
    ],
)
def test_the_window_opens_at_its_opening_and_is_closed_from_its_closing_on(moment, state):
    assert accepting_applications(_window(), moment).state == state


def test_a_missing_bound_is_no_bound():
    far_past, far_future = datetime(2001, 1, 1, tzinfo=TOKYO), datetime(2999, 1, 1, tzinfo=TOKYO)
    always = _window(None, None)
    assert accepting_applications(always, far_past).is_open
    assert accepting_applications(always, far_future).is_open
    assert accepting_applications(_window(None, CLOSES), far_past).is_open
    assert not accepting_applications(_window(None, CLOSES), CLOSES).is_open
    assert accepting_applications(_window(OPENS, None), far_future).is_open
    assert not accepting_applications(_window(OPENS, None), OPENS - TICK).is_open


def test_residents_read_the_close_as_the_last_minute_taken_in_japan_time():
    window = accepting_applications(_window(), DURING)
    assert window.opens == "2027年4月1日 0:00"
    assert window.until == "2027年4月30日 23:59"
    assert window.label == "受付中：2027年4月30日 23:59まで"
    # A close at 17:00 takes applications through 16:59.
    five_pm = accepting_applications(_window(closes_at=datetime(2027, 4, 30, 17, tzinfo=TOKYO)))
    assert five_pm.until == "2027年4月30日 16:59"
    with translation.override("en"):
        assert window.opens == "April 1, 2027, 0:00 (Japan time)"
        assert window.label == "Open until April 30, 2027, 23:59 (Japan time)"


@pytest.mark.parametrize(
    ("moment", "japanese", "english"),
    [
        (BEFORE, "受付開始：2027年4月1日 0:00", "Opens on April 1, 2027, 0:00 (Japan time)"),
        (
            AFTER,
            "受付終了（2027年4月30日 23:59まで）",
            "Closed: accepted until April 30, 2027, 23:59 (Japan time)",
        ),
    ],
)
def test_the_short_label_says_when_it_opens_or_until_when_it_took_applications(
    moment, japanese, english
):
    window = accepting_applications(_window(), moment)
    assert window.label == japanese
    with translation.override("en"):
        assert window.label == english


# --- The services ------------------------------------------------------------------------


@pytest.fixture
def procedure(government):
    return publish_procedure(
        code="subsidy",
        definition=valid_definition(),
        organization=government,
        title_ja="デジタル化助成金",
        title_en="Digitalization subsidy",
    )


def test_the_service_stores_a_window_and_audits_the_change(procedure):
    services.procedure_update(actor=None, procedure=procedure, opens_at=OPENS, closes_at=CLOSES)

    procedure.refresh_from_db()
    assert (procedure.opens_at, procedure.closes_at) == (OPENS, CLOSES)
    event = AuditEvent.objects.filter(action="procedures.updated").latest("sequence")
    assert event.data == {"fields": ["closes_at", "opens_at"]}


def test_a_naive_moment_given_to_the_service_is_japan_time(procedure):
    services.procedure_update(actor=None, procedure=procedure, opens_at=datetime(2027, 4, 1))
    procedure.refresh_from_db()
    assert procedure.opens_at == OPENS


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"opens_at": CLOSES, "closes_at": OPENS},
            "closes_at",
            "受付締切日時は、受付開始日時より後にしてください。",
        ),
        (
            {"opens_at": OPENS, "closes_at": OPENS},
            "closes_at",
            "受付締切日時は、受付開始日時より後にしてください。",
        ),
        (
            {"opens_at": datetime(1, 1, 1, tzinfo=TOKYO)},
            "opens_at",
            "2000年から2999年までの日時を入力してください。",
        ),
        ({"closes_at": "2027-05-01"}, "closes_at", "日時を入力してください。"),
    ],
)
def test_the_service_refuses_a_window_that_cannot_be(procedure, fields, field, message):
    with pytest.raises(ValidationFailed) as refused:
        services.procedure_update(actor=None, procedure=procedure, **fields)
    assert refused.value.details == {field: [message]}
    procedure.refresh_from_db()
    assert (procedure.opens_at, procedure.closes_at) == (None, None)


def test_a_new_closing_before_the_current_opening_is_refused_in_english_too(procedure):
    services.procedure_update(actor=None, procedure=procedure, opens_at=OPENS)
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        services.procedure_update(actor=None, procedure=procedure, closes_at=OPENS - TICK)
    assert str(refused.value.message) == "The closing time must be after the opening time."
    procedure.refresh_from_db()
    assert procedure.closes_at is None


def test_creating_a_procedure_checks_its_window(government):
    with pytest.raises(ValidationFailed):
        services.procedure_create(
            actor=None,
            organization=government,
            code="backwards",
            title_ja="逆",
            category="other",
            filer="individual",
            processing_days=5,
            opens_at=CLOSES,
            closes_at=OPENS,
        )
    assert not Procedure.objects.filter(code="backwards").exists()


# --- The exchange format -----------------------------------------------------------------


def test_export_and_import_carry_the_window_with_its_offset(procedure, government):
    services.procedure_update(actor=None, procedure=procedure, opens_at=OPENS, closes_at=CLOSES)
    procedure.refresh_from_db()
    document = services.procedure_export(procedure=procedure, version=procedure.versions.get())
    assert document["procedure"]["application_window"] == {
        "opens_at": "2027-04-01T00:00:00+09:00",
        "closes_at": "2027-05-01T00:00:00+09:00",
    }

    copied = copy.deepcopy(document)
    copied["procedure"]["code"] = "subsidy-copy"
    # Written in UTC by another city: the same instants.
    copied["procedure"]["application_window"]["closes_at"] = "2027-04-30T15:00:00Z"
    version = services.procedure_import(actor=None, document=copied, organization=government)
    imported = version.procedure
    assert (imported.opens_at, imported.closes_at) == (OPENS, CLOSES)


def test_importing_without_a_window_clears_it(procedure):
    services.procedure_update(actor=None, procedure=procedure, opens_at=OPENS)
    procedure.refresh_from_db()
    document = services.procedure_export(procedure=procedure, version=procedure.versions.get())
    del document["procedure"]["application_window"]
    services.procedure_import(actor=None, document=document)
    procedure.refresh_from_db()
    assert procedure.opens_at is None


@pytest.mark.parametrize(
    ("window", "path"),
    [
        (
            {"opens_at": "2027-05-01T00:00:00+09:00", "closes_at": "2027-04-01T00:00:00+09:00"},
            "procedure.application_window.closes_at",
        ),
        ({"opens_at": "2027-04-01T00:00:00"}, "procedure.application_window.opens_at"),
        ({"opens_at": "2027-02-30T00:00:00+09:00"}, "procedure.application_window.opens_at"),
        ({"closes": "2027-04-01T00:00:00+09:00"}, "procedure.application_window"),
    ],
)
def test_an_imported_window_that_cannot_be_is_refused_with_its_path(procedure, window, path):
    document = services.procedure_export(procedure=procedure, version=procedure.versions.get())
    document["procedure"]["code"] = "elsewhere"
    document["procedure"]["application_window"] = window
    with pytest.raises(services.DefinitionInvalid) as refused:
        services.procedure_import(actor=None, document=document)
    assert [problem["path"] for problem in refused.value.details] == [path]
    assert not Procedure.objects.filter(code="elsewhere").exists()


# --- The builder ---------------------------------------------------------------------------


@pytest.fixture
def admin(org_tree):
    admin = MembershipFactory(organization=org_tree["health"], role=Role.DEPARTMENT_ADMIN).user
    admin.preferred_language = "en"
    admin.save(update_fields=["preferred_language"])
    return admin


@pytest.fixture
def admin_client(client, admin):
    device = confirmed_totp(admin)
    client.post("/accounts/login/", {"email": admin.email, "password": PASSWORD})
    assert client.post("/accounts/2fa/", {"token": current_code(device)}).status_code == 302
    return client


def _details(procedure, **window):
    return {
        "title_ja": procedure.title_ja,
        "title_en": procedure.title_en,
        "category": procedure.category,
        "filer": procedure.filer,
        "identity_level": procedure.identity_level,
        "processing_days": str(procedure.processing_days),
        "annual_volume": "0",
        **window,
    }


def test_a_department_admin_sets_the_window_in_japan_time_in_the_builder(admin_client, org_tree):
    procedure = ProcedureFactory(owning_organization=org_tree["food"], code="stall")
    url = f"/manage/procedures/{procedure.code}/details/"

    saved = admin_client.post(
        url, _details(procedure, opens_at="2027-04-01T00:00", closes_at="2027-05-01T00:00")
    )

    assert saved.status_code == 302
    procedure.refresh_from_db()
    assert (procedure.opens_at, procedure.closes_at) == (OPENS, CLOSES)
    form = admin_client.get(url).content.decode()
    assert 'type="datetime-local" name="opens_at" value="2027-04-01T00:00"' in form
    assert 'value="2027-05-01T00:00"' in form
    editor = admin_client.get(f"/manage/procedures/{procedure.code}/").content.decode()
    assert "April 1, 2027, 0:00 (Japan time) to April 30, 2027, 23:59 (Japan time)" in editor


def test_the_builder_refuses_a_window_closing_before_it_opens(admin_client, admin, org_tree):
    procedure = ProcedureFactory(owning_organization=org_tree["food"], code="stall")
    url = f"/manage/procedures/{procedure.code}/details/"
    data = _details(procedure, opens_at="2027-05-01T00:00", closes_at="2027-04-01T00:00")

    refused = admin_client.post(url, data)

    assert refused.status_code == 400
    assert "The closing time must be after the opening time." in refused.content.decode()
    admin.preferred_language = "ja"
    admin.save(update_fields=["preferred_language"])
    japanese = admin_client.post(url, data)
    assert "受付締切日時は、受付開始日時より後にしてください。" in japanese.content.decode()
    procedure.refresh_from_db()
    assert (procedure.opens_at, procedure.closes_at) == (None, None)


# --- The API ------------------------------------------------------------------------------


def _api(user) -> APIClient:
    client = APIClient()
    _instance, token = AuthToken.objects.create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    return client


def test_the_api_sets_reads_and_refuses_windows(org_tree):
    admin = MembershipFactory(organization=org_tree["health"], role=Role.DEPARTMENT_ADMIN).user
    procedure = publish_procedure(
        code="stall", definition=valid_definition(), organization=org_tree["food"]
    )
    api = _api(admin)
    url = f"/api/v1/manage/procedures/{procedure.code}/"

    changed = api.patch(
        url,
        {"opens_at": "2027-03-31T15:00:00Z", "closes_at": "2027-05-01T00:00"},
        format="json",
    )

    assert changed.status_code == 200, changed.json()
    assert changed.json()["opens_at"] == "2027-04-01T00:00:00+09:00"
    assert changed.json()["closes_at"] == "2027-05-01T00:00:00+09:00"  # no offset: Japan time

    refused = api.patch(url, {"closes_at": "2027-03-01T00:00:00+09:00"}, format="json")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["details"] == {"closes_at": ["The closing time must be after the opening time."]}

    with time_machine.travel(BEFORE, tick=False):
        entry = APIClient().get(f"/api/v1/procedures/{procedure.code}/").json()
    assert entry["application_window"] == {
        "state": "not_yet_open",
        "opens_at": "2027-04-01T00:00:00+09:00",
        "closes_at": "2027-05-01T00:00:00+09:00",
    }
    cleared = api.patch(url, {"opens_at": None, "closes_at": None}, format="json")
    assert (cleared.json()["opens_at"], cleared.json()["closes_at"]) == (None, None)


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-12:00",
        "1999-12-31T23:59:59+09:00",
        "2027-13-01T00:00",
        5,
    ],
)
def test_the_api_answers_a_moment_it_cannot_take_with_a_400(admin, org_tree, value):
    publish_procedure(code="stall", definition=valid_definition(), organization=org_tree["food"])
    refused = _api(admin).patch(
        "/api/v1/manage/procedures/stall/", {"opens_at": value}, format="json"
    )
    assert refused.status_code == 400
    assert list(refused.json()["error"]["details"]) == ["opens_at"]
    assert Procedure.objects.get(code="stall").opens_at is None


# --- The catalogue ------------------------------------------------------------------------


@pytest.fixture
def windowed(procedure):
    services.procedure_update(actor=None, procedure=procedure, opens_at=OPENS, closes_at=CLOSES)
    return procedure


@pytest.mark.parametrize(
    ("moment", "japanese", "english"),
    [
        (BEFORE, "受付開始：2027年4月1日 0:00", "Opens on April 1, 2027, 0:00 (Japan time)"),
        (
            DURING,
            "受付中：2027年4月30日 23:59まで",
            "Open until April 30, 2027, 23:59 (Japan time)",
        ),
        (
            AFTER,
            "受付終了（2027年4月30日 23:59まで）",
            "Closed: accepted until April 30, 2027, 23:59 (Japan time)",
        ),
    ],
)
def test_the_catalogue_says_when_a_procedure_opens_until_when_or_since_when_it_is_closed(
    client, windowed, moment, japanese, english
):
    with time_machine.travel(moment, tick=False):
        page = client.get("/procedures/").content.decode()
        client.cookies["lang"] = "en"
        english_page = client.get("/procedures/").content.decode()
    assert japanese in page
    assert english in english_page


def test_the_procedure_page_replaces_the_start_button_outside_the_window(client, windowed):
    resident = UserFactory()
    url = f"/procedures/{windowed.code}/"
    start = f'action="/applications/start/{windowed.code}/"'
    pages = {}
    for name, moment in (("before", BEFORE), ("during", DURING), ("after", AFTER)):
        with time_machine.travel(moment, tick=False):
            client.force_login(resident)  # a session of today's would have expired
            pages[name] = client.get(url).content.decode()
    resident.preferred_language = "en"
    resident.save(update_fields=["preferred_language"])
    with time_machine.travel(AFTER, tick=False):
        client.force_login(resident)
        after_en = client.get(url).content.decode()
    before, during, after = pages["before"], pages["during"], pages["after"]

    assert start not in before
    assert "受付期間は2027年4月1日 0:00から2027年4月30日 23:59までです。" in before
    assert "受付期間" in before and "受付開始前" in before
    assert start in during
    assert "受付は2027年4月30日 23:59までです。それまでに申請を送信してください。" in during
    assert start not in after
    assert "受付は終了しました（2027年4月30日 23:59まで受け付けていました）。" in after
    assert (
        "Applications have closed: they were accepted until April 30, 2027, 23:59 (Japan time)."
        in after_en
    )


def test_an_anonymous_visitor_is_not_asked_to_log_in_to_a_closed_procedure(client, windowed):
    with time_machine.travel(AFTER, tick=False):
        page = client.get(f"/procedures/{windowed.code}/").content.decode()
    assert "/accounts/login/?next=" not in page
    assert "受付は終了しました" in page


# --- The demo ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "opens", "closes"),
    [
        (date(2026, 12, 8), "2026-04-01", "2027-02-01"),
        (date(2027, 3, 31), "2026-04-01", "2027-05-01"),
        (date(2027, 4, 1), "2027-04-01", "2027-06-01"),
        (date(2027, 11, 30), "2027-04-01", "2028-01-01"),
    ],
)
def test_the_demo_subsidy_is_open_since_april_until_the_end_of_next_month(today, opens, closes):
    assert subsidy_window(today) == {
        "opens_at": f"{opens}T00:00:00+09:00",
        "closes_at": f"{closes}T00:00:00+09:00",
    }


def test_the_seeded_subsidy_is_open_with_a_deadline_weeks_ahead(capsys):
    call_command("seed_demo")
    subsidy = Procedure.objects.get(code=SUBSIDY)
    window = accepting_applications(subsidy)
    assert window.is_open
    assert timedelta(weeks=4) <= subsidy.closes_at - timezone.now() <= timedelta(weeks=9)
    assert Procedure.objects.exclude(code=SUBSIDY).filter(closes_at__isnull=False).count() == 0
