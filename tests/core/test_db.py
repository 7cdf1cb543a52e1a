"""core.db.insert_returning_pk, on PostgreSQL (the main run) and on SQLite (the
embedded run, `-m embedded`): the audit log and the payment webhooks use it on both."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.db import insert_returning_pk
from payments.models import WebhookEvent, WebhookOutcome

pytestmark = pytest.mark.django_db


def _event(event_id: str = "evt_1", outcome: str = WebhookOutcome.APPLIED) -> WebhookEvent:
    return WebhookEvent(
        provider="sandbox",
        event_id=event_id,
        event_type="payment.succeeded",
        occurred_at=timezone.now(),
        payload={"data": {"amount": 1200, "note": "領収"}},
        outcome=outcome,
    )


def _inserts_the_row_and_returns_its_primary_key():
    event = _event()
    pk = insert_returning_pk(event)
    assert pk is not None and event.pk == pk
    assert not event._state.adding and event._state.db == connection.alias
    stored = WebhookEvent.objects.get(pk=pk)
    assert stored.event_id == "evt_1"
    assert stored.payload == {"data": {"amount": 1200, "note": "領収"}}
    assert stored.occurred_at == event.occurred_at
    assert stored.received_at is not None  # auto_now_add, as the ORM's save() sets it
    event.outcome = WebhookOutcome.IGNORED
    event.save(update_fields=["outcome"])  # saved: an UPDATE, not a second row
    assert WebhookEvent.objects.get().outcome == WebhookOutcome.IGNORED


def _a_conflict_inserts_nothing_and_returns_none():
    first = _event()
    assert insert_returning_pk(first, on_conflict=("provider", "event_id")) is not None
    twin = _event(outcome=WebhookOutcome.UNKNOWN_PAYMENT)
    assert insert_returning_pk(twin, on_conflict=("provider", "event_id")) is None
    assert twin.pk is None and twin._state.adding
    assert list(WebhookEvent.objects.values_list("pk", "outcome")) == [
        (first.pk, WebhookOutcome.APPLIED)
    ]
    other = _event("evt_2")
    assert insert_returning_pk(other, on_conflict=("provider", "event_id")) is not None
    assert WebhookEvent.objects.count() == 2


def _the_second_statement_runs_with_the_insert(statements: int):
    earlier = _event("evt_0")
    insert_returning_pk(earlier)
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    outcome, pk = (connection.ops.quote_name(name) for name in ("outcome", "id"))
    update = f"UPDATE {table} SET {outcome} = %s WHERE {pk} = %s"
    event = _event()
    with CaptureQueriesContext(connection) as queries:
        new_pk = insert_returning_pk(event, then=(update, [WebhookOutcome.IGNORED, earlier.pk]))
    assert len(queries) == statements
    assert all(table in query["sql"] for query in queries)  # identifiers quoted
    assert new_pk == event.pk
    assert WebhookEvent.objects.get(pk=new_pk).event_id == "evt_1"
    assert WebhookEvent.objects.get(pk=earlier.pk).outcome == WebhookOutcome.IGNORED


def test_insert_returning_pk_on_postgresql():
    assert connection.vendor == "postgresql"
    _inserts_the_row_and_returns_its_primary_key()


def test_insert_returning_pk_on_conflict_does_nothing_on_postgresql():
    _a_conflict_inserts_nothing_and_returns_none()


def test_insert_returning_pk_and_its_second_statement_are_one_statement_on_postgresql():
    _the_second_statement_runs_with_the_insert(statements=1)


@pytest.mark.embedded
def test_insert_returning_pk_on_sqlite():
    assert connection.vendor == "sqlite"
    _inserts_the_row_and_returns_its_primary_key()


@pytest.mark.embedded
def test_insert_returning_pk_on_conflict_does_nothing_on_sqlite():
    _a_conflict_inserts_nothing_and_returns_none()


@pytest.mark.embedded
def test_insert_returning_pk_runs_its_second_statement_after_it_on_sqlite():
    _the_second_statement_runs_with_the_insert(statements=2)
