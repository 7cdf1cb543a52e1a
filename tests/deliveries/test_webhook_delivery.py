"""Deliveries to a back-office system over Standard Webhooks (issue 20, part 4).

The receiver is a real HTTP server on the loopback that checks every request with
the reference `standardwebhooks` library, exactly as a city's system would, and
answers as the test tells it (up, failing, or not listening at all)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone, translation
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from accounts.models import Notification, Role
from applications.casework.services import workflow_act
from applications.services import application_resubmit, application_save_step, application_withdraw
from audit.models import AuditEvent
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.signing import canonical_json, sha256_hex
from deliveries import services
from deliveries.models import Delivery, DeliveryAttempt, DeliveryState, EventType, TargetKind
from tests.applications.casework_setup import City, file_application, png_bytes, staff

pytestmark = pytest.mark.django_db


class Receiver:
    """A back-office endpoint: verifies each request with the reference library and
    keeps what it accepted; `status` is what it answers (None: it is down)."""

    def __init__(self) -> None:
        self.secrets: list[str] = []
        self.status: int | None = 204
        self.accepted: list[dict] = []
        self.refused: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.status is None:  # down: drop the connection unanswered
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                headers = {name.lower(): value for name, value in self.headers.items()}
                try:
                    for secret in receiver.secrets:
                        Webhook(secret).verify(body, headers)
                except WebhookVerificationError as error:
                    receiver.refused.append(str(error))
                    self.send_response(401)
                    self.end_headers()
                    return
                if receiver.status < 300:
                    receiver.accepted.append(
                        {
                            "id": headers["webhook-id"],
                            "payload": json.loads(body),
                            "headers": headers,
                        }
                    )
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/cityproc/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    running = Receiver()
    yield running
    running.close()


@pytest.fixture
def city():
    return City()


@pytest.fixture
def target(city, receiver):
    made, secret = services.target_create(
        actor=city.supervisor,
        procedure=city.permit,
        kind=TargetKind.WEBHOOK,
        name="福祉システム",
        url=receiver.url,
        events=[EventType.SUBMITTED, EventType.WITHDRAWN],
    )
    receiver.secrets = [secret]
    return made


@pytest.fixture
def filed(committed):
    """File an application as a resident does; its first deliveries are attempted
    when the submission commits."""

    def filed(city, *, with_file: bool = True):
        with committed():
            return file_application(
                city.permit, files=(("plan.png", png_bytes()),) if with_file else ()
            )

    return filed


def _deliveries(application) -> list[Delivery]:
    return list(Delivery.objects.filter(application=application).order_by("id"))


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what a commit would run (the queued attempts) at the end of the block;
    a test wrapped in a transaction never commits."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def record(committed):
    def record(application, event=EventType.SUBMITTED):
        with committed():
            return services.deliveries_record(
                application=application, event_type=event, revision=application.revision
            )

    return record


def _make_due(delivery):
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_a_filing_reaches_the_receiver_signed_as_standard_webhooks_says(
    city, target, receiver, filed
):
    application = filed(city)
    (delivery,) = _deliveries(application)  # the first attempt runs after the commit

    assert len(receiver.accepted) == 1, receiver.refused
    got = receiver.accepted[0]
    assert got["id"] == delivery.message_id
    assert got["headers"]["webhook-signature"].startswith("v1,")
    payload = got["payload"]
    assert payload["type"] == "application.submitted"
    data = payload["data"]
    assert data["application"]["reference"] == application.reference
    assert data["application"]["procedure"] == "health-permit"
    # The signed filing in the open format: its digest is the one the platform signed.
    revision = application.revisions.get(number=application.revision)
    assert data["filing"] == revision.filing
    assert sha256_hex(canonical_json(data["filing"])) == data["filing_digest"] == revision.digest
    assert data["filing_signature"] == revision.signature
    # The attachment, by a short-lived link (opened in the next test).
    (attachment,) = data["attachments"]
    assert attachment["name"] == "plan.png" and attachment["url_expires_at"]
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED
    (attempt,) = DeliveryAttempt.objects.filter(delivery=delivery)
    assert attempt.succeeded and attempt.status_code == 204 and attempt.number == 1


def test_the_files_link_serves_the_attachment_and_nothing_else(
    client, city, target, receiver, settings, filed
):
    filed(city)
    (attachment,) = receiver.accepted[0]["payload"]["data"]["attachments"]
    path = attachment["url"].removeprefix(settings.SITE_URL)
    response = client.get(path)
    assert response.status_code == 200
    content = b"".join(response.streaming_content)
    assert hashlib.sha256(content).hexdigest() == attachment["sha256"]
    assert response["Content-Disposition"].startswith("attachment")
    # A forged or altered token is a 404, as is a link once its target is off.
    assert client.get(path[:-3] + "abc/").status_code == 404
    target.active = False
    target.save(update_fields=["active"])
    assert client.get(path).status_code == 404


def test_an_expired_link_no_longer_works(client, city, target, receiver, settings, filed):
    settings.DELIVERY_LINK_MAX_AGE = 1
    filed(city)
    (attachment,) = receiver.accepted[0]["payload"]["data"]["attachments"]
    path = attachment["url"].removeprefix(settings.SITE_URL)
    time.sleep(2.1)
    assert client.get(path).status_code == 404


def test_a_tampered_body_is_refused_by_the_receivers_library(city, target, receiver, filed):
    # The check is real: the same headers over a changed body do not verify.
    filed(city)
    got = receiver.accepted[0]
    body = json.dumps(got["payload"]).encode() + b" "
    with pytest.raises(WebhookVerificationError):
        Webhook(receiver.secrets[0]).verify(body, got["headers"])


def test_a_failing_receiver_is_retried_with_the_same_message_id(
    city, target, receiver, committed, filed
):
    receiver.status = 503
    application = filed(city)
    (delivery,) = _deliveries(application)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING
    assert delivery.attempts == 1
    wait = delivery.next_attempt_at - timezone.now()
    assert timedelta(seconds=25) < wait < timedelta(seconds=35)
    assert DeliveryAttempt.objects.get(delivery=delivery).error == "HTTP 503"

    # Not due yet: the sweep leaves it alone.
    assert services.due_deliveries_sweep() == 0
    receiver.status = 200
    _make_due(delivery)
    with committed():
        assert services.due_deliveries_sweep() == 1  # eager: the attempt runs
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED
    assert [got["id"] for got in receiver.accepted] == [delivery.message_id]


@pytest.mark.parametrize(
    "outage", [timedelta(hours=1), timedelta(days=1)], ids=["an hour", "a day"]
)
def test_a_receiver_that_is_down_for_a_while_loses_nothing(city, target, receiver, outage, filed):
    receiver.status = None  # connections are dropped
    application = filed(city)
    (delivery,) = _deliveries(application)
    waited = timedelta()
    while waited < outage:
        delivery.refresh_from_db()
        assert delivery.state == DeliveryState.PENDING
        waited += delivery.next_attempt_at - timezone.now()
        _make_due(delivery)
        assert services.delivery_attempt(delivery_id=delivery.pk) == "retry"
    receiver.status = 204
    _make_due(delivery)
    assert services.delivery_attempt(delivery_id=delivery.pk) == "delivered"
    assert len(receiver.accepted) == 1
    attempts = DeliveryAttempt.objects.filter(delivery=delivery)
    assert attempts.filter(succeeded=False).count() >= 6
    assert {attempt.error for attempt in attempts if not attempt.succeeded} <= {
        "ConnectionError",
        "ChunkedEncodingError",
    }


def test_the_default_schedule_retries_for_more_than_a_day(settings):
    assert sum(settings.DELIVERY_RETRY_DELAYS) > 24 * 3600


def test_what_finally_fails_is_a_dead_letter_a_department_admin_can_replay(
    city, target, receiver, settings, committed, filed
):
    settings.DELIVERY_RETRY_DELAYS = [30, 30]
    receiver.status = 500
    application = filed(city)
    (delivery,) = _deliveries(application)
    for _attempt in range(2):
        _make_due(delivery)
        services.delivery_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DEAD and delivery.attempts == 3
    assert AuditEvent.objects.filter(action="deliveries.dead_lettered").count() == 1
    # Those who manage the procedure are told, with a link to the failures; nobody else.
    told = Notification.objects.filter(subject__startswith="Delivery failed")
    assert [note.user for note in told] == [city.supervisor]
    assert told.get().link == "/deliveries/dead-letters/"

    with pytest.raises(PermissionDenied):
        services.dead_letter_replay(actor=city.clerk, delivery=delivery)
    receiver.status = 204
    with committed():
        services.dead_letter_replay(actor=city.supervisor, delivery=delivery)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and delivery.replays == 1
    assert [got["id"] for got in receiver.accepted] == [delivery.message_id]
    with pytest.raises(Conflict):
        services.dead_letter_replay(actor=city.supervisor, delivery=delivery)
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 4


def test_an_event_recorded_twice_is_one_delivery(city, target, receiver, record, filed):
    application = filed(city)
    assert record(application) == []
    assert Delivery.objects.count() == 1 and len(receiver.accepted) == 1


def test_only_the_events_a_target_wants_are_delivered(city, target, receiver, record, filed):
    application = filed(city)
    receiver.accepted.clear()
    assert record(application, EventType.DECIDED) == []
    assert receiver.accepted == []


@pytest.mark.django_db(transaction=True)
def test_two_workers_running_the_same_attempt_send_it_once(receiver, filed):
    city = City()
    _made, secret = services.target_create(
        actor=city.supervisor,
        procedure=city.permit,
        kind=TargetKind.WEBHOOK,
        name="基幹",
        url=receiver.url,
        events=[EventType.SUBMITTED],
    )
    receiver.secrets = [secret]
    receiver.status = 503  # the first attempt (after the commit) fails and is retried
    application = filed(city)
    (delivery,) = _deliveries(application)
    receiver.status = 204
    _make_due(delivery)
    barrier = threading.Barrier(4)
    outcomes = []

    def attempt():
        barrier.wait()
        outcomes.append(services.delivery_attempt(delivery_id=delivery.pk))

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["delivered", "skipped", "skipped", "skipped"]
    assert len(receiver.accepted) == 1


def test_after_a_secret_rotation_both_secrets_verify_for_a_while(city, target, receiver, filed):
    old = receiver.secrets[0]
    new = services.target_secret_rotate(actor=city.supervisor, target=target)
    assert new != old and new.startswith("whsec_")
    receiver.secrets = [old]  # a receiver that has not switched yet
    filed(city)
    receiver.secrets = [new]  # and one that has
    filed(city, with_file=False)
    assert len(receiver.accepted) == 2, receiver.refused
    assert len(receiver.accepted[1]["headers"]["webhook-signature"].split(" ")) == 2
    assert AuditEvent.objects.filter(action="deliveries.secret_rotated").count() == 1


def test_only_those_who_manage_the_procedure_manage_its_targets(city, receiver):
    other = staff(city.taxation, Role.DEPARTMENT_ADMIN, "税務 課長")
    for actor in (city.clerk, other):
        with pytest.raises(PermissionDenied):
            services.target_create(
                actor=actor,
                procedure=city.permit,
                kind=TargetKind.WEBHOOK,
                name="x",
                url=receiver.url,
                events=[EventType.SUBMITTED],
            )


@pytest.mark.parametrize(
    ("url", "allow_http", "allow_private", "field_error"),
    [
        ("http://example.jp/hook", False, True, "https://"),
        ("https://127.0.0.1/hook", True, False, "private network"),
        ("https://10.1.2.3/hook", True, False, "private network"),
        ("https://user:pw@example.jp/hook", True, True, "user name"),
        ("ftp://example.jp/hook", True, True, "https://"),
    ],
)
def test_webhook_addresses_must_be_https_and_public(
    city, settings, url, allow_http, allow_private, field_error
):
    settings.DELIVERY_ALLOW_HTTP = allow_http
    settings.DELIVERY_ALLOW_PRIVATE_ADDRESSES = allow_private
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        services.target_create(
            actor=city.supervisor,
            procedure=city.permit,
            kind=TargetKind.WEBHOOK,
            name="x",
            url=url,
            events=[EventType.SUBMITTED],
        )
        assert field_error in str(refused.value.details["url"][0])


def test_an_email_target_gets_the_signed_filing_attached(city, mailoutbox, filed):
    services.target_create(
        actor=city.supervisor,
        procedure=city.permit,
        kind=TargetKind.EMAIL,
        name="保健課メール",
        email="hoken@city.example.jp",
        events=[EventType.SUBMITTED],
    )
    application = filed(city)
    (delivery,) = _deliveries(application)
    sent = [mail for mail in mailoutbox if mail.to == ["hoken@city.example.jp"]]
    assert len(sent) == 1
    (name, content, mimetype) = sent[0].attachments[0]
    assert mimetype == "application/json" and application.reference in name
    payload = json.loads(content)
    assert payload["data"]["filing_digest"] == application.revisions.get().digest
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED


def test_each_event_of_a_filing_reaches_the_targets_that_want_it(
    city, receiver, django_capture_on_commit_callbacks
):
    _target, secret = services.target_create(
        actor=city.supervisor,
        procedure=city.permit,
        kind=TargetKind.WEBHOOK,
        name="全イベント",
        url=receiver.url,
        events=list(EventType.values),
    )
    receiver.secrets = [secret]
    with django_capture_on_commit_callbacks(execute=True):
        application = file_application(city.permit)
    with django_capture_on_commit_callbacks(execute=True):
        workflow_act(actor=city.clerk, application=application, action="claim")
        workflow_act(
            actor=city.clerk,
            application=application,
            action="request_correction",
            comment="目的を具体的に書いてください。",
            fields=["purpose"],
        )
    application_save_step(
        actor=application.applicant,
        application=application,
        step_key="details",
        answers={"purpose": "飲食店の開業のため"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        application_resubmit(actor=application.applicant, application=application, declaration=True)
    with django_capture_on_commit_callbacks(execute=True):
        workflow_act(actor=city.clerk, application=application, action="claim")
        workflow_act(actor=city.clerk, application=application, action="recommend_approval")
        workflow_act(actor=city.approver, application=application, action="approve")
    kinds = [
        (got["payload"]["type"], got["payload"]["data"]["application"]["revision"])
        for got in receiver.accepted
    ]
    assert kinds == [
        ("application.submitted", 1),
        ("application.corrected", 2),
        ("application.decided", 2),
    ]
    decided = receiver.accepted[-1]["payload"]["data"]
    assert decided["decision"]["outcome"] == "approve"
    # Withdrawing another filing is announced as well.
    with django_capture_on_commit_callbacks(execute=True):
        other = file_application(city.permit)
    with django_capture_on_commit_callbacks(execute=True):
        application_withdraw(actor=other.applicant, application=other, reason="不要になりました")
    assert receiver.accepted[-1]["payload"]["type"] == "application.withdrawn"
    assert receiver.accepted[-1]["payload"]["data"]["withdrawal"]["reason"] == "不要になりました"
