"""Automatic retention: a running bot applies CITEBOT_RETENTION_DAYS at start and then once a day.

Several replicas may run it at once: deleting or redacting rows already deleted or redacted changes
nothing, so no coordination is needed. `citebot audit retention` does the same on demand.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from audit.queries import apply_retention
from core.models import utcnow

log = logging.getLogger("citebot.retention")
DAY_SECONDS = 24 * 3600


class RetentionJob:
    def __init__(self, engine: Engine, days: int, mode: str, interval_s: float = DAY_SECONDS):
        self.engine, self.days, self.mode, self.interval_s = engine, days, mode, interval_s
        self._stop = threading.Event()

    def run_once(self) -> int:
        touched = apply_retention(self.engine, utcnow() - timedelta(days=self.days), self.mode)
        if touched:
            log.info("retention: %s %d answers older than %d days", self.mode, touched, self.days)
        return touched

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except SQLAlchemyError as exc:  # database down: try again at the next interval
                log.warning("retention skipped: %s", type(exc).__name__)
            self._stop.wait(self.interval_s)

    def start(self) -> RetentionJob:
        threading.Thread(target=self._loop, name="citebot-retention", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
