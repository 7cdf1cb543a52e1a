"""Queueing background work so that a broker outage never fails a request.

Services schedule their side effects with `enqueue`, which publishes the task once
the transaction has committed. If the broker cannot take it then (Redis down, a
network blip), the request still succeeds: the work is recorded in the database
already (a submitted application without its receipt, an unsent notification),
and the periodic sweeps (`applications.tasks.sweep_pending_documents`,
`accounts.tasks.sweep_unsent_notifications`) pick it up once the broker is back.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from celery import current_app
from celery.exceptions import Retry
from django.db import transaction
from kombu.exceptions import KombuError, OperationalError

logger = logging.getLogger(__name__)

# A short publish retry: a request must not hang while the broker is away.
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}


def task_named(name: str) -> Any:
    """The task registered under a dotted name ("applications.tasks.issue_receipt").

    Services queue their tasks by name so that they never import the task modules,
    which import them (the tasks are the outer shell). The module is imported here,
    when the task is first queued; by then every service module has loaded."""
    module, _, _function = name.rpartition(".")
    importlib.import_module(module)
    return current_app.tasks[name]


def publish(task: Any, *args: Any) -> bool:
    """Send the task (a task, or its dotted name) now; False (and a warning naming the
    task, ids only) when the broker cannot take it."""
    if isinstance(task, str):
        task = task_named(task)
    try:
        task.apply_async(args=args, retry=True, retry_policy=PUBLISH_RETRY_POLICY)
    except (OperationalError, KombuError, ConnectionError, OSError) as error:
        logger.warning(
            "task not queued; the periodic sweep will run it",
            extra={"task": task.name, "task_args": list(args), "error": type(error).__name__},
        )
        return False
    except Retry as retry:
        # Without a broker the task ran here and failed in a way it retries (a store
        # or mail server away): the request that queued it has committed and must
        # still succeed; the periodic sweep runs the task again. With a broker a
        # retry happens in the worker and never reaches this point.
        logger.warning(
            "task failed in-process; the periodic sweep will run it",
            extra={
                "task": task.name,
                "task_args": list(args),
                "error": type(retry.exc).__name__ if retry.exc else "Retry",
            },
        )
        return False
    return True


def enqueue(task: Any, *args: Any) -> None:
    """Publish the task (a task, or its dotted name) after the current transaction
    commits (at once outside one)."""
    transaction.on_commit(lambda: publish(task, *args))
