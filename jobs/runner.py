"""Submitting jobs: to the queue's workers when CITEBOT_BROKER_URL is set, else to a thread here.

The laptop default has one bot process and no broker, so a job runs in a background thread of that
process; in production the bot replicas only enqueue, and `citebot worker` processes do the work.
Both paths go through the same `jobs` row, locks and `run_job`.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

from core.errors import CitebotError
from core.settings import Settings
from jobs.notify import NotifierFactory, silent
from jobs.records import create_job, fail_job
from jobs.work import LockBusy, busy_lock, run_job

log = logging.getLogger("citebot.jobs")
LOCK_POLL_SECONDS = 2.0


def require_shared_services(settings: Settings) -> None:
    """With a queue, bots and workers share the index and the locks: say what is missing up front."""
    missing = [name for name, value in (("CITEBOT_BROKER_URL", settings.broker_url),
                                        ("CITEBOT_REDIS_URL", settings.redis_url),
                                        ("CITEBOT_CHROMA_URL", settings.chroma_url)) if not value]
    if missing:
        raise CitebotError(f"Queue workers need {', '.join(missing)}: the broker (amqp://guest@host:5672//) "
                           "carries jobs, Redis holds the per-source locks, and a Chroma server is the index "
                           "every bot replica and worker shares. See README \"Scaling out\".")


class JobRunner:
    def __init__(self, settings: Settings, engine: Engine, notifier: NotifierFactory = silent):
        """`notifier` reports the progress of jobs run in this process (a worker reports those it runs)."""
        if settings.broker_url:
            require_shared_services(settings)
        self.settings, self.engine, self.notifier = settings, engine, notifier

    @property
    def queued(self) -> bool:
        return bool(self.settings.broker_url)

    def warm_up(self) -> None:
        """Do the job commands' first-use work now (the queue and lock clients' imports, the sources file,
        a lock lookup, which opens the Redis connection later lookups reuse) rather than inside Slack's
        3-second acknowledgement of the first `/reindex`: in a bot that had just started beside busy workers
        it took longer, and Slack saw the command fail."""
        if self.queued:
            import jobs.queue  # noqa: F401 - Celery and kombu, imported by the first enqueue otherwise
        try:
            self.busy("reindex")
        except Exception as exc:  # noqa: BLE001 - /readyz reports an unreachable Redis; serving goes on
            log.warning("could not look up the job locks at start: %s", exc)

    def busy(self, kind: str, target: str = "") -> str | None:
        """The lock a new job of this kind would wait for, or None: lets Slack say "already running"."""
        return busy_lock(self.settings, kind, target)

    def submit(self, kind: str, target: str = "", requested_by: str = "cli", channel: str | None = None,
               message_ts: str | None = None, workspace: str | None = None) -> str:
        job_id = create_job(self.engine, kind, target, requested_by, channel, message_ts, workspace)
        if self.queued:
            from jobs.queue import enqueue

            try:
                enqueue(self.settings.ops, job_id)
            except Exception as exc:  # noqa: BLE001 - broker down: say so, keep the row as the record
                fail_job(self.engine, job_id, f"could not reach the job queue: {exc}")
                raise
        else:
            threading.Thread(target=self._run_here, args=(job_id,), daemon=True, name=f"job-{job_id}").start()
        return job_id

    def _run_here(self, job_id: str) -> None:
        try:
            run_when_free(self.settings, self.engine, job_id, f"{socket.gethostname()} (in-process)",
                          notifier=self.notifier)
        except Exception as exc:  # noqa: BLE001 - a job thread must never die silently
            log.exception("job %s crashed", job_id)
            fail_job(self.engine, job_id, f"{type(exc).__name__}: {exc}")


def run_when_free(settings: Settings, engine: Engine, job_id: str, worker: str,
                  on_wait: Callable[[LockBusy], None] = lambda busy: None,
                  notifier: NotifierFactory = silent) -> dict:
    """Run a job here, polling while another job holds a lock it needs (no queue retries it for us)."""
    while True:
        try:
            return run_job(settings, engine, job_id, worker, notifier)
        except LockBusy as busy:
            on_wait(busy)
            time.sleep(LOCK_POLL_SECONDS)
