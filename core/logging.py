import logging

from core import request_context


class RequestContextFilter(logging.Filter):
    """Adds the current request id to every log record (empty outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_context.current().request_id or "-"
        return True
