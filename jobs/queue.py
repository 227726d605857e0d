"""The Celery app that runs jobs on workers (`citebot worker`), with RabbitMQ as the broker.

Why Celery on RabbitMQ: a job must survive its worker being killed. With `acks_late` the message is
acknowledged only after the job finished, and RabbitMQ hands an unacknowledged message to another
worker the moment the dead worker's connection drops. Redis as a broker (Celery or RQ) only redelivers
after a visibility timeout that must be longer than the longest job, hours for a tuning run. Redis
still does what it is good at here: the per-source locks and the event dedupe. A `redis://` broker URL
works too, with that caveat.

Tasks carry only a job id; everything else is in the `jobs` row, so a retried message needs nothing
the first attempt had in memory.
"""

from __future__ import annotations

import socket
from functools import lru_cache

from core.settings import OpsSettings, get_settings
from jobs.notify import NotifierFactory, silent
from jobs.work import LockBusy, run_job

LOCK_RETRY_SECONDS = 5
LOCK_RETRY_LIMIT = 720  # an hour of waiting for the job ahead to finish


@lru_cache(maxsize=4)
def celery_app(broker_url: str, notifier: NotifierFactory = silent):
    """The app for `broker_url`; a worker passes the notifier its jobs report progress through."""
    from celery import Celery

    app = Celery("citebot", broker=broker_url)
    app.conf.update(
        task_acks_late=True,  # acknowledge after the job, so a killed worker's job is redelivered
        task_reject_on_worker_lost=True,  # ...also when only the pool process died
        worker_prefetch_multiplier=1,  # a busy worker does not sit on jobs another could start
        task_serializer="json", accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 4 * 3600},  # only used by a redis:// broker
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,  # model loading prints progress bars; keep them out of the logs
        worker_send_task_events=False,
    )

    def run_job_task(task, job_id: str) -> dict:
        from core.db import get_engine

        settings = get_settings()
        try:
            return run_job(settings, get_engine(settings.resolved_database_url), job_id,
                           worker=task.request.hostname or socket.gethostname(), notifier=notifier)
        except LockBusy as busy:
            raise task.retry(countdown=LOCK_RETRY_SECONDS, exc=busy)

    # shared=False: a shared task joins every Celery app made later in the process, so a worker that had
    # made an app before (its queue-depth gauge) ran its jobs with that app's silent notifier
    app.task(name="citebot.run_job", bind=True, max_retries=LOCK_RETRY_LIMIT, shared=False)(run_job_task)
    return app


def enqueue(settings: OpsSettings, job_id: str) -> None:
    celery_app(settings.broker_url).send_task("citebot.run_job", args=[job_id], queue=settings.queue)


def queue_depth(settings: OpsSettings) -> int | None:
    """Messages waiting in the broker's queue (not yet taken by a worker); None if it cannot tell."""
    try:
        with celery_app(settings.broker_url).connection_for_write() as conn:
            return conn.default_channel.queue_declare(queue=settings.queue, passive=True).message_count
    except Exception:  # noqa: BLE001 - metrics never fail because the broker is unreachable
        return None
