"""Fixtures shared by the applications tests."""

from __future__ import annotations

import pytest

from config.celery import app


@pytest.fixture
def broker_down():
    """Celery publishes to a port where no broker listens (not eagerly), as when
    Redis is down; the previous configuration comes back afterwards."""
    previous = {key: app.conf[key] for key in ("broker_write_url", "task_always_eager")}
    # broker_write_url: publishing uses it before broker_url (which the
    # CELERY_BROKER_URL environment variable of the test run overrides).
    app.conf.update(broker_write_url="redis://127.0.0.1:1/0", task_always_eager=False)
    _forget_connections()
    yield
    app.conf.update(previous)
    _forget_connections()


def _forget_connections():
    # Celery's connection and producer pools are made from broker_url when first
    # used; dropping them makes the next publish use the current setting.
    app._pool = None
    app.amqp._producer_pool = None
