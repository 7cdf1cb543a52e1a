"""An approved exemption lasts until its review date; then the department asks
again, the lapsed approval is closed as expired (kept, audited) and the renewal
goes to the auditors."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from core.errors import Conflict
from procedures.models import Exemption, ExemptionStatus
from procedures.services import exemption_decide, exemption_request
from tests.factories import publish_procedure, valid_definition

pytestmark = pytest.mark.django_db


def _request(procedure):
    return exemption_request(
        actor=None,
        procedure=procedure,
        principle="paperless",
        reason="法令で原本の提出が求められるため",
        within_city_discretion=False,
    )


def test_a_lapsed_approval_can_be_renewed_and_a_current_one_cannot():
    procedure = publish_procedure(code="renewal", definition=valid_definition())
    first = exemption_decide(
        actor=None,
        exemption=_request(procedure),
        approve=True,
        review_date=timezone.localdate() + timedelta(days=30),
    )

    with pytest.raises(Conflict) as refused:
        _request(procedure)  # still current
    assert refused.value.code == "exemption_exists"

    Exemption.objects.filter(pk=first.pk).update(
        review_date=timezone.localdate() - timedelta(days=1)
    )
    renewal = _request(procedure)

    first.refresh_from_db()
    assert first.status == ExemptionStatus.EXPIRED
    assert renewal.status == ExemptionStatus.REQUESTED
    assert AuditEvent.objects.filter(action="procedures.exemption_expired").count() == 1
