"""Logging for the long-running processes (bot, worker, review page): text for people, JSON for shippers.

With CITEBOT_LOG_FORMAT=json every line is one JSON object with time, level, logger and message, plus
the `audit_id`, `job_id`, `route` or `event_id` a call passed in `extra=`, so a log search can join
log lines to audit rows.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

FIELDS = ("audit_id", "job_id", "route", "event_id", "channel", "stage_ms")
QUIET_LIBRARIES = ("alembic", "bm25s", "httpx", "sentence_transformers", "celery", "kombu", "amqp", "urllib3")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
                 "level": record.levelname.lower(), "logger": record.name, "message": record.getMessage(),
                 "process": record.process}
        entry.update({key: getattr(record, key) for key in FIELDS if hasattr(record, key)})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """Replace the root handlers (idempotent: a second call does not double every line)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
