"""Smoke test of the embedded default that bin/serve runs: SQLite, tasks in-process."""

import threading
import time

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper

pytestmark = [pytest.mark.embedded, pytest.mark.django_db]


def test_the_embedded_default_migrates_seeds_and_answers(client):
    assert connection.vendor == "sqlite"
    assert settings.CELERY_TASK_ALWAYS_EAGER

    call_command("seed_demo")
    call_command("seed_demo")  # idempotent
    call_command("audit_verify")

    page = client.get("/")
    assert page.status_code == 200
    assert '<html lang="ja"' in page.content.decode()

    token = client.post(
        "/api/v1/auth/token/",
        {"email": "resident@example.jp", "password": "Tokyo-demo-2026"},
        content_type="application/json",
    )
    assert token.status_code == 201
    me = client.get("/api/v1/auth/me/", HTTP_AUTHORIZATION=f"Bearer {token.json()['token']}")
    assert me.status_code == 200
    assert me.json()["email"] == "resident@example.jp"
    assert client.get("/healthz").json()["checks"] == {"database": "ok", "broker": "eager"}


def _totp(email, capsys):
    capsys.readouterr()
    call_command("demo_totp", email)
    return capsys.readouterr().out.strip()


def test_staff_work_their_queue_and_dashboard_on_the_embedded_default(client, capsys):
    """The statements written out for speed (the queue's page, its keyset, the
    catalogue's fingerprint) run on SQLite too: a clerk pages through the queue by
    the API, an auditor opens the dashboard and the rates."""
    assert connection.vendor == "sqlite"
    call_command("seed_demo")

    token = client.post(
        "/api/v1/auth/token/",
        {
            "email": "clerk@example.jp",
            "password": "Tokyo-demo-2026",
            "otp": _totp("clerk@example.jp", capsys),
        },
        content_type="application/json",
    )
    assert token.status_code == 201, token.content
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token.json()['token']}"}
    seen = []
    url = "/api/v1/queue/?page_size=1&status=submitted&status=under_review"
    while url:
        page = client.get(url, **bearer)
        assert page.status_code == 200, page.content
        body = page.json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert len(seen) >= 2 and len(seen) == len(set(seen))
    assert len(seen) == body["counts"]["submitted"] + body["counts"]["under_review"]
    by_time = client.get("/api/v1/queue/?sort=-submitted&page_size=1", **bearer).json()
    assert client.get(by_time["next"], **bearer).status_code == 200

    auditor = _signed_in(client, "auditor@example.jp", _totp("auditor@example.jp", capsys))
    assert auditor.get("/digitization/").status_code == 200
    summary = auditor.get("/api/v1/digitization/summary/")
    assert summary.status_code == 200 and "availability" in str(summary.json())


def _signed_in(client, email, code):
    client.logout()
    client.post("/accounts/login/", {"email": email, "password": "Tokyo-demo-2026"})
    assert client.post("/accounts/2fa/", {"token": code}).status_code == 302
    return client


def test_many_threads_write_at_once_without_database_is_locked(tmp_path):
    """What bin/serve's threads do under load, on a file database with the very
    options of the settings (WAL, a busy timeout, BEGIN IMMEDIATE): 24 threads each
    run 15 read-then-write transactions at once. None may fail with "database is
    locked" (a deferred transaction that reads and then writes would), and none may
    lose an update."""
    alias = "embedded_concurrent_writes"  # each thread's own connection, as a server's
    options = {**connections.settings["default"], "NAME": str(tmp_path / "writes.sqlite3")}
    threads, rounds = 24, 15

    def connect():
        # Registered for this thread only (so transaction.atomic finds it), and not
        # among the settings' databases, whose use from threads the test case forbids.
        connections[alias] = DatabaseWrapper(options, alias)
        return connections[alias]

    with connect().cursor() as cursor:
        cursor.execute("CREATE TABLE counter (n INTEGER NOT NULL)")
        cursor.execute("CREATE TABLE entry (thread INTEGER, round INTEGER, n INTEGER)")
        cursor.execute("INSERT INTO counter VALUES (0)")
    failures, start = [], threading.Barrier(threads)

    def write(number):
        connection = connect()
        try:
            start.wait()
            for round_ in range(rounds):
                with transaction.atomic(using=alias), connection.cursor() as cursor:
                    cursor.execute("SELECT n FROM counter")
                    (seen,) = cursor.fetchone()
                    time.sleep(0.002)  # hold the transaction while the others queue
                    cursor.execute("UPDATE counter SET n = %s", [seen + 1])
                    cursor.execute(
                        "INSERT INTO entry VALUES (%s, %s, %s)", [number, round_, seen + 1]
                    )
        except Exception as failure:  # reported below, with the others
            failures.append(repr(failure))
        finally:
            connection.close()

    workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    began = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert not failures, failures[:3]
    assert time.monotonic() - began < 30
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT n FROM counter")
        assert cursor.fetchone()[0] == threads * rounds
        cursor.execute("SELECT COUNT(DISTINCT n) FROM entry")
        assert cursor.fetchone()[0] == threads * rounds
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
    connections[alias].close()
