"""Faults, with real processes, the real Redis and the real PostgreSQL (issue 9):

- a Celery worker killed in the middle of rendering a receipt: the task is
  delivered again and the receipt exists exactly once;
- the broker down at the moment of submission: the application is saved, the
  resident sees success, and the receipt follows once the broker is back;
- a database connection dropped in the middle of a request: the request fails
  cleanly, nothing of it is written, and the next request succeeds.

The workers and the Redis server are processes of their own, started and stopped
here (tests/fault_processes.py). A worker holds a render in the middle through the
test-only PDF_RENDER_TEST_GATE setting (a file; config/settings/test.py).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import threading
from datetime import timedelta
from wsgiref.util import setup_testing_defaults

import pytest
import requests
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection, transaction
from django.utils import timezone
from knox.models import AuthToken

from applications.models import (
    Application,
    ApplicationEvent,
    ApplicationRevision,
    ApplicationStatus,
    CaseCount,
    DocumentKind,
    IssuedDocument,
)
from applications.services import application_save_step, application_start, application_submit
from applications.tasks import sweep_pending_documents
from audit.models import AuditChainHead, AuditEvent
from tests.core.test_settings import GOOD, _manage
from tests.factories import MY_NUMBER, UserFactory, applicant_step, publish_procedure
from tests.fault_processes import (
    Publishing,
    RedisServer,
    Worker,
    forget_broker_connections,
    free_port,
    wait_until,
    worker_environment,
)

DEFINITION = {
    "form": {"steps": [applicant_step()]},
    "fee": {"kind": "none"},
    "workflow": {"approval": "single"},
    "delivery": {"methods": ["electronic"]},
    "contact": {"channels": ["email"]},
}
TASK_RECEIVED = re.compile(r"Task applications\.tasks\.issue_receipt\[([0-9a-f-]{36})\] received")
# A killed worker's task is visible again this many seconds after its delivery, and
# the next worker looks every second (production: 600 s, config/settings/base.py).
FAST_REDELIVERY = json.dumps(
    {"visibility_timeout": 5, "unacked_restore_interval": 1, "unacked_restore_throttle": 1}
)


def _draft(resident=None) -> Application:
    procedure = publish_procedure(code="fault-permit", definition=DEFINITION)
    resident = resident or UserFactory(preferred_language="en")
    application = application_start(actor=resident, procedure=procedure)
    application_save_step(
        actor=resident,
        application=application,
        step_key="applicant",
        answers={"full_name": "山田 太郎", "my_number": MY_NUMBER},
    )
    return application


def _receipts(application: Application) -> int:
    return IssuedDocument.objects.filter(application=application, kind=DocumentKind.RECEIPT).count()


def _issuing_backend() -> int | None:
    """The database backend that holds a row of the application table locked
    (SELECT ... FOR UPDATE): a worker in the middle of issuing a document."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'applications_application' AND l.mode = 'RowShareLock' "
            "AND l.granted AND l.pid <> pg_backend_pid()"
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _wait_until_held_mid_render(gate) -> None:
    """The worker rendered the receipt's PDF and holds at the gate, before the
    transaction that stores it (the application's row is not locked meanwhile)."""
    held = gate.with_name(f"{gate.name}.held")
    wait_until(held.exists, timeout=60, what="the worker to render the receipt")
    assert _issuing_backend() is None


@pytest.fixture
def broker():
    """A Redis server of this test's own, used as the broker by this test process
    and by the workers it starts; stopped afterwards."""
    server = RedisServer(free_port()).start()
    try:
        with Publishing(server.url):
            yield server
    finally:
        server.stop()


@pytest.fixture
def workers():
    """Start workers with `workers(env, pool=...)`; every one is stopped afterwards,
    and its output printed (shown when the test fails)."""
    started: list[Worker] = []

    def start(env, *, pool: str = "solo") -> Worker:
        worker = Worker(env, pool=pool).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
        print(f"--- worker (pool {worker.pool}) ---\n{worker.output}")


# --- A worker killed in the middle of rendering a receipt --------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_receipt_whose_worker_was_killed_mid_render_is_issued_once_by_the_next_worker(
    broker, workers, tmp_path, settings
):
    settings.MEDIA_ROOT = media = tmp_path / "media"
    gate = tmp_path / "render-gate"
    gate.touch()
    env = worker_environment(
        broker.url,
        media,
        PDF_RENDER_TEST_GATE=str(gate),
        CELERY_BROKER_TRANSPORT_OPTIONS=FAST_REDELIVERY,
    )
    application = _draft()
    # The submission queues the receipt on commit, to the broker.
    application_submit(actor=application.applicant, application=application, declaration=True)

    first = workers(env)
    _wait_until_held_mid_render(gate)
    task_id = TASK_RECEIVED.search(first.output).group(1)
    first.kill()

    # Nothing of what the killed worker had begun is stored: no receipt, no file,
    # no audit row, and the application is unlocked.
    wait_until(lambda: _issuing_backend() is None, timeout=10, what="the lock to be released")
    assert _receipts(application) == 0
    assert not list(media.rglob("*.pdf"))
    assert not AuditEvent.objects.filter(action="applications.receipt_issued").exists()

    gate.unlink()
    second = workers(env)
    wait_until(lambda: _receipts(application), timeout=60, what="the receipt")
    second.wait_for(f"issue_receipt[{task_id}] succeeded", timeout=30)

    # The same task, delivered again (acks_late: it was never acknowledged).
    assert f"issue_receipt[{task_id}] received" in second.output
    assert _receipts(application) == 1
    assert AuditEvent.objects.filter(action="applications.receipt_issued").count() == 1
    receipt = IssuedDocument.objects.get(application=application)
    assert len(list(media.rglob("*.pdf"))) == 1
    assert receipt.pdf.read().startswith(b"%PDF")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_receipt_whose_pool_process_was_killed_mid_render_is_requeued_at_once(
    broker, workers, tmp_path, settings
):
    # The worker's pool process dies, its parent lives: reject_on_worker_lost gives
    # the task back to the broker at once, without waiting for the visibility
    # timeout (left at its production value of 600 s here).
    settings.MEDIA_ROOT = media = tmp_path / "media"
    gate = tmp_path / "render-gate"
    gate.touch()
    env = worker_environment(broker.url, media, PDF_RENDER_TEST_GATE=str(gate))
    application = _draft()
    application_submit(actor=application.applicant, application=application, declaration=True)

    worker = workers(env, pool="prefork")
    _wait_until_held_mid_render(gate)
    task_id = TASK_RECEIVED.search(worker.output).group(1)
    (child,) = worker.pool_children()
    os.kill(child, signal.SIGKILL)
    worker.wait_for("WorkerLostError", timeout=20)
    assert _receipts(application) == 0
    gate.unlink()

    wait_until(lambda: _receipts(application), timeout=30, what="the receipt")
    worker.wait_for(f"issue_receipt[{task_id}] succeeded", timeout=30)
    assert worker.output.count(f"issue_receipt[{task_id}] received") == 2
    assert _receipts(application) == 1
    assert AuditEvent.objects.filter(action="applications.receipt_issued").count() == 1
    assert len(list(media.rglob("*.pdf"))) == 1


def test_production_refuses_the_render_gate_of_the_fault_tests():
    result = _manage("check", env={**GOOD, "PDF_RENDER_TEST_GATE": "/tmp/gate"})
    assert result.returncode != 0
    assert "PDF_RENDER_TEST_GATE" in result.stderr


# --- The broker down at the moment of submission ----------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_filing_submitted_while_redis_is_down_is_saved_and_gets_its_receipt_once_it_is_back(
    broker, workers, tmp_path, settings, client, caplog
):
    settings.MEDIA_ROOT = media = tmp_path / "media"
    worker = workers(worker_environment(broker.url, media))
    worker.wait_for("ready.", timeout=60)
    application = _draft()
    client.force_login(application.applicant)

    broker.stop()
    with caplog.at_level(logging.WARNING, logger="core.tasks"):
        response = client.post(
            f"/applications/{application.pk}/check/", {"declaration": "on"}, follow=True
        )

    # The resident sees success, and the filing is saved; only its receipt waits.
    assert response.status_code == 200
    assert "Your application was submitted" in response.content.decode()
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert application.reference
    assert "task not queued; the periodic sweep will run it" in caplog.text
    assert _receipts(application) == 0

    broker.start()  # the same port, empty: the receipt's task is lost for good
    forget_broker_connections()
    # The sweep issues receipts of filings older than its grace period (5 minutes).
    Application.objects.filter(pk=application.pk).update(
        submitted_at=timezone.now() - timedelta(minutes=10)
    )
    sweep_pending_documents.delay()  # as beat sends it every five minutes
    wait_until(lambda: _receipts(application), timeout=60, what="the receipt after the outage")
    worker.wait_for("{'receipts': 1, 'decisions': 0}", timeout=30)

    sweep_pending_documents.delay()  # the next round finds nothing left to do
    worker.wait_for("{'receipts': 0, 'decisions': 0}", timeout=30)
    assert _receipts(application) == 1
    assert len(list(media.rglob("*.pdf"))) == 1


# --- A database connection dropped in the middle of a request ---------------------------


def _terminate_the_waiting_request() -> None:
    """From this connection, which holds the audit chain's head row: end the
    backend of the request that waits for it."""
    with connection.cursor() as cursor:
        # Inside a transaction, pg_stat_activity is a snapshot taken at first use.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
            "AND pg_backend_pid() = ANY(pg_blocking_pids(pid))"
        )
        row = cursor.fetchone()
        if row is None:
            return None
        cursor.execute("SELECT pg_terminate_backend(%s)", [row[0]])
        return row[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("via", ["api", "page"])
def test_a_database_connection_dropped_mid_request_fails_cleanly_and_writes_nothing(
    live_server, via
):
    application = _draft()
    resident = application.applicant
    before = {
        "events": ApplicationEvent.objects.count(),
        "revisions": ApplicationRevision.objects.count(),
        "counts": list(CaseCount.objects.values_list("online_filings", flat=True)),
        "audit": AuditEvent.objects.count(),
    }
    session = requests.Session()
    if via == "api":
        _instance, token = AuthToken.objects.create(user=resident)
        url = f"{live_server.url}/api/v1/applications/{application.pk}/submit/"
        send = lambda: session.post(  # noqa: E731
            url,
            json={"declaration": True},
            headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
            timeout=30,
        )
    else:
        session.cookies.update(_session_cookie(live_server, resident))
        url = f"{live_server.url}/applications/{application.pk}/check/"
        csrf = session.get(url, timeout=30).cookies.get("csrftoken") or session.cookies.get(
            "csrftoken"
        )
        send = lambda: session.post(  # noqa: E731
            url,
            data={"declaration": "on", "csrfmiddlewaretoken": csrf},
            headers={"Referer": url},
            allow_redirects=False,
            timeout=30,
        )

    answers: list = []
    # Hold the audit chain's head: the submission does all its writes, then waits
    # for this lock to append its audit row; its connection is ended right there.
    with transaction.atomic():
        AuditChainHead.objects.select_for_update().get()
        request = threading.Thread(target=lambda: answers.append(send()))
        request.start()
        wait_until(
            _terminate_the_waiting_request, timeout=30, what="the request to wait for the lock"
        )
        request.join(timeout=30)
    assert not request.is_alive()
    (answer,) = answers

    assert answer.status_code == 500
    if via == "api":
        assert answer.json() == {
            "error": {
                "code": "server_error",
                "message": "Something went wrong on our side. Please try again later.",
            }
        }
    else:
        assert answer.headers["Content-Type"].startswith("text/html")
        assert "<h1" in answer.text
    # Nothing of the failed submission was written.
    application.refresh_from_db()
    assert application.status == ApplicationStatus.DRAFT
    assert application.reference == ""
    assert application.submitted_at is None
    assert ApplicationEvent.objects.count() == before["events"]
    assert ApplicationRevision.objects.count() == before["revisions"]
    assert list(CaseCount.objects.values_list("online_filings", flat=True)) == before["counts"]
    assert AuditEvent.objects.count() == before["audit"]

    # The next request succeeds.
    again = send()
    assert again.status_code in (200, 302), again.text[:500]
    application.refresh_from_db()
    assert application.status == ApplicationStatus.SUBMITTED
    assert ApplicationRevision.objects.filter(application=application).count() == 1
    assert AuditEvent.objects.filter(action="applications.submitted").count() == 1


def _session_cookie(live_server, user) -> dict:
    from django.test import Client

    client = Client()
    client.force_login(user)
    return {"sessionid": client.cookies["sessionid"].value}


def _wsgi_get(handler: WSGIHandler, path: str, token: str) -> int:
    """One request through Django's WSGI handler in this thread, as a server makes
    it (request_started and request_finished included)."""
    environ: dict = {}
    setup_testing_defaults(environ)
    environ.update(PATH_INFO=path, HTTP_HOST="testserver", HTTP_AUTHORIZATION=f"Bearer {token}")
    status: list[str] = []
    body = handler(environ, lambda line, headers, exc_info=None: status.append(line))
    try:
        b"".join(body)
    finally:
        body.close()  # request_finished: Django decides whether to keep the connection
    return int(status[0].split()[0])


@pytest.mark.django_db(transaction=True)
def test_a_kept_database_connection_dropped_between_requests_is_replaced_unnoticed():
    # Production keeps connections (CONN_MAX_AGE 60) and health-checks them before
    # reuse (CONN_HEALTH_CHECKS). A connection the database dropped meanwhile (a
    # restart, a failover, an idle timeout) is replaced before the request uses it.
    application = _draft()
    _instance, token = AuthToken.objects.create(user=application.applicant)
    path = f"/api/v1/applications/{application.pk}/"
    handler = WSGIHandler()
    kept = connection.settings_dict
    previous = (kept["CONN_MAX_AGE"], kept["CONN_HEALTH_CHECKS"])
    kept["CONN_MAX_AGE"], kept["CONN_HEALTH_CHECKS"] = 60, True
    try:
        connection.close()  # reopened with the settings above
        assert _wsgi_get(handler, path, token) == 200
        pid = connection.connection.info.backend_pid
        _terminate_from_another_connection(pid)

        assert _wsgi_get(handler, path, token) == 200
        assert connection.connection.info.backend_pid != pid
    finally:
        kept["CONN_MAX_AGE"], kept["CONN_HEALTH_CHECKS"] = previous
        connection.close()


def _terminate_from_another_connection(pid: int) -> None:
    import psycopg

    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"],
        port=db["PORT"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        wait_until(
            lambda: (
                not other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
            ),
            timeout=10,
            what="the backend to end",
        )
