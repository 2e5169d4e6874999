"""JSON log lines (``LOG_FORMAT=json``): one object per line, for a log shipper.

Fields: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, ``request_id`` when the
record belongs to a request (Django's request and security loggers attach the request; its
``X-Request-Id`` is the correlation id the transaction log keeps), ``method`` and ``path``
then too, and ``exc_info`` with the traceback.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request = getattr(record, "request", None)
        request_id = getattr(record, "request_id", None) or getattr(
            request, "correlation_id", None)
        if request_id:
            line["request_id"] = request_id
        if request is not None and hasattr(request, "method"):
            line["method"] = request.method
            line["path"] = getattr(request, "path", "")
        status_code = getattr(record, "status_code", None)
        if status_code:
            line["status"] = status_code
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)
