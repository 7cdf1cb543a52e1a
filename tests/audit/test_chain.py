import itertools
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit.models import AuditChainHead, AuditEvent
from audit.services import GENESIS_HASH, audit_chain_verify, audit_record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _record_three():
    user = UserFactory()
    for step in range(3):
        audit_record(actor=user, action="test.step", target=user, data={"step": step})
    return user


def test_each_event_chains_to_the_one_before():
    _record_three()
    events = list(AuditEvent.objects.order_by("sequence"))
    assert [event.sequence for event in events] == list(range(1, len(events) + 1))
    assert events[0].previous_hash == GENESIS_HASH
    for before, after in itertools.pairwise(events):
        assert after.previous_hash == before.hash


def test_audit_verify_passes_on_an_untouched_chain(capsys):
    _record_three()
    call_command("audit_verify")
    assert "Audit chain intact" in capsys.readouterr().out


def _tamper(sql, params):
    """Change rows behind the ORM's back, as someone with database access could."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")


def test_audit_verify_names_the_first_edited_row():
    _record_three()
    target = AuditEvent.objects.get(data__step=1)
    _tamper("UPDATE audit_auditevent SET data = %s WHERE id = %s", ['{"step": 99}', target.pk])

    with pytest.raises(CommandError, match=f"broken at row {target.sequence}: content"):
        call_command("audit_verify")


def test_audit_verify_detects_a_removed_row():
    _record_three()
    middle = AuditEvent.objects.get(data__step=1)
    _tamper("DELETE FROM audit_auditevent WHERE id = %s", [middle.pk])

    result = audit_chain_verify()
    assert not result.ok
    assert result.broken_sequence == middle.sequence
    assert "missing" in result.reason


def test_audit_verify_detects_rows_removed_from_the_end():
    _record_three()
    last = AuditEvent.objects.order_by("-sequence").first()
    _tamper("DELETE FROM audit_auditevent WHERE id = %s", [last.pk])

    result = audit_chain_verify()
    assert not result.ok
    assert result.broken_sequence == last.sequence


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_auditevent SET action = 'forged'", "DELETE FROM audit_auditevent"],
)
def test_the_database_refuses_to_change_audit_rows(statement):
    _record_three()
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert not AuditEvent.objects.filter(action="forged").exists()


def test_an_audit_row_rolls_back_with_the_change_it_records():
    user = UserFactory()
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=user, action="test.rolled_back", target=user)
        raise RuntimeError("the change failed")
    assert AuditEvent.objects.count() == before
    audit_record(actor=user, action="test.after", target=user)
    assert audit_chain_verify().ok


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_cannot_fork_the_chain():
    user = UserFactory()
    threads_count, events_each = 6, 10
    errors = []
    barrier = threading.Barrier(threads_count)

    def write(thread_number):
        try:
            barrier.wait()
            for index in range(events_each):
                with transaction.atomic():
                    audit_record(
                        actor=user,
                        action="test.concurrent",
                        data={"thread": thread_number, "index": index},
                    )
        except Exception as error:  # surfaced by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert (
        AuditEvent.objects.filter(action="test.concurrent").count() == threads_count * events_each
    )
    result = audit_chain_verify()
    assert result.ok, result
    assert result.checked == AuditEvent.objects.count()


def test_an_event_is_appended_in_two_statements_without_a_savepoint(django_assert_num_queries):
    user = UserFactory()
    audit_record(actor=user, action="test.first", target=user)  # the chain head exists now

    # The head read and locked; the row written and the head advanced together.
    with transaction.atomic(), django_assert_num_queries(2):
        event = audit_record(actor=user, action="test.counted", target=user, data={"n": 1})

    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.sequence, stored.hash, stored.data) == (event.sequence, event.hash, {"n": 1})
    assert AuditChainHead.objects.get().hash == event.hash
    assert audit_chain_verify().ok
