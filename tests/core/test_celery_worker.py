"""A real Celery worker, a real Redis broker: a task enqueued on commit runs."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from accounts.services import resident_sign_up
from config.celery import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(tmp_path, settings):
    """Start `celery worker` against the test database and Redis; stop it after."""
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "needs the real Redis broker"
    db = connection.settings_dict
    mail_dir = tmp_path / "mail"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
    }
    # Purge leftovers from earlier runs so this worker sees only our task.
    app.connection_for_write(settings.CELERY_BROKER_URL).default_channel.client.delete("celery")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield mail_dir
    process.terminate()
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    print(output)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_sends_the_verification_mail_enqueued_on_commit(worker, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    try:
        resident_sign_up(
            email="worker@example.jp",
            password="a-long-passphrase-9",
            display_name="ワーカー 確認",
            preferred_language="ja",
        )
        deadline = time.monotonic() + 60
        files = []
        while time.monotonic() < deadline and not files:
            time.sleep(0.5)
            files = list(worker.glob("*.log")) if worker.exists() else []
    finally:
        app.conf.task_always_eager = True

    assert files, "the worker did not send the mail within 60 seconds"
    message = files[0].read_text()
    assert "worker@example.jp" in message
    assert "/accounts/verify/" in message
