"""After a decision the resident reads one thing everywhere: the status on their
application's page, in their list of applications and in the API says what was
decided, in the words of the result on the page and of the e-mail, and whether
the result has been sent (not 「許可・承認」 beside a bare 「結果通知済み」)."""

from __future__ import annotations

import html
import re

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from applications.casework.services import workflow_act
from applications.models import ApplicationStatus
from applications.services import application_save_step, application_start, application_submit
from tests.factories import (
    MY_NUMBER,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
    applicant_step,
    publish_procedure,
)

pytestmark = pytest.mark.django_db

DEFINITION = {
    "form": {"steps": [applicant_step()]},
    "fee": {"kind": "none"},
    "workflow": {"approval": "single"},
    "delivery": {"methods": ["electronic"]},
    "contact": {"channels": ["email"]},
    "result_document": {
        "kind": "permit",
        "title": {"ja": "営業許可書", "en": "Business Permit"},
        "body": {"ja": "許可します。", "en": "Permitted."},
    },
}

# (language, decision) -> (the result's headline, the status after the result is sent)
EXPECTED = {
    ("ja", "approve"): ("許可・承認されました。", "許可・承認されました（結果通知済み）"),
    ("ja", "reject"): ("不許可となりました。", "不許可となりました（結果通知済み）"),
    ("en", "approve"): ("Approved.", "Approved (result sent)"),
    ("en", "reject"): ("Not approved.", "Not approved (result sent)"),
}
NOT_ISSUED = {
    ("ja", "approve"): "許可・承認されました（結果の文書は発行前です）",
    ("ja", "reject"): "不許可となりました（通知書は発行前です）",
    ("en", "approve"): "Approved (result document not issued yet)",
    ("en", "reject"): "Not approved (notice not issued yet)",
}


def _filed(language):
    department = OrganizationFactory(code="health", name_ja="保健所")
    clerk = UserFactory(display_name="審査 一郎")
    MembershipFactory(user=clerk, organization=department, role="clerk")
    procedure = publish_procedure(code="shop", definition=DEFINITION, organization=department)
    resident = UserFactory(preferred_language=language)
    application = application_start(actor=resident, procedure=procedure)
    application_save_step(
        actor=resident,
        application=application,
        step_key="applicant",
        answers={"full_name": "山田 太郎", "my_number": MY_NUMBER},
    )
    application = application_submit(actor=resident, application=application, declaration=True)
    workflow_act(actor=clerk, application=application, action="claim")
    return clerk, resident, application


def _decide(clerk, application, decision):
    comment = "営業所が基準を満たしていません。" if decision == "reject" else ""
    workflow_act(actor=clerk, application=application, action=decision, comment=comment)


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def _status_on_page(client, application) -> str:
    page = client.get(reverse("applications:detail", args=[application.pk])).content.decode()
    return _text(re.search(r"</dt><dd><strong>(.*?)</strong></dd>", page).group(1))


def _status_in_list(client, application) -> str:
    page = client.get(reverse("applications:list")).content.decode()
    row = re.search(
        rf'<a href="{reverse("applications:detail", args=[application.pk])}">.*?</tr>',
        page,
        re.S,
    ).group(0)
    return _text(re.findall(r"<td>(.*?)</td>", row)[1])


def _result_headline(client, application) -> str:
    page = client.get(reverse("applications:detail", args=[application.pk])).content.decode()
    section = re.search(r'aria-labelledby="result-title">(.*?)</section>', page, re.S).group(1)
    return _text(re.search(r"<p><strong>(.*?)</strong>", section).group(1))


def _api_status_label(user, application) -> str:
    api = APIClient()
    api.force_authenticate(user)  # after the language middleware: it goes by the header
    api.credentials(HTTP_ACCEPT_LANGUAGE=user.preferred_language)
    return api.get(f"/api/v1/applications/{application.pk}/").json()["status_label"]


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_after_the_result_the_status_says_what_was_decided_as_the_result_and_the_email_do(
    client, django_capture_on_commit_callbacks, language, decision
):
    clerk, resident, application = _filed(language)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _decide(clerk, application, decision)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.RESULT_ISSUED
    client.force_login(resident)
    headline, status = EXPECTED[(language, decision)]

    assert _result_headline(client, application) == headline
    assert _status_on_page(client, application) == status
    assert _status_in_list(client, application) == status
    assert _api_status_label(resident, application) == status
    # The status begins with the result's own words: the decision is named once.
    decided = headline.rstrip(".。")
    assert status.startswith(decided)
    [message] = [item for item in mail.outbox if item.to == [resident.email]]
    assert decided.lower() in message.body.lower()
    assert reverse("applications:detail", args=[application.pk]) in message.body


@pytest.mark.parametrize("language", ["ja", "en"])
@pytest.mark.parametrize("decision", ["approve", "reject"])
def test_before_its_document_is_issued_the_status_names_the_decision_and_says_so(
    client, language, decision
):
    clerk, resident, application = _filed(language)
    _decide(clerk, application, decision)  # the document's task never ran
    client.force_login(resident)

    expected = NOT_ISSUED[(language, decision)]
    assert _status_on_page(client, application) == expected
    assert _status_in_list(client, application) == expected
    assert (
        'aria-labelledby="result-title"'
        not in client.get(reverse("applications:detail", args=[application.pk])).content.decode()
    )


def test_the_states_before_a_decision_keep_their_own_labels(client):
    _, resident, application = _filed("en")
    client.force_login(resident)
    assert _status_on_page(client, application) == "Under review"
    assert _status_in_list(client, application) == "Under review"
