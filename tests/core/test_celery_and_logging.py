import json
import logging

from config.celery import app
from core import request_context
from core.logging import RequestContextFilter


def test_celery_reads_our_reliability_settings():
    # A misspelt CELERY_* setting is silently ignored; this catches it.
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert conf.task_time_limit > conf.task_soft_time_limit > 0
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert "audit-verify-chain-nightly" in conf.beat_schedule


def test_json_logs_carry_the_request_id():
    from pythonjsonlogger.json import JsonFormatter

    formatter = JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
        rename_fields={"levelname": "level"},
    )
    record = logging.LogRecord("cityproc", logging.INFO, __file__, 1, "hello", None, None)
    token = request_context.bind(request_context.RequestContext(request_id="abc123def456"))
    try:
        RequestContextFilter().filter(record)
    finally:
        request_context.reset(token)
    line = json.loads(formatter.format(record))
    assert line["request_id"] == "abc123def456"
    assert line["level"] == "INFO"
    assert line["message"] == "hello"
