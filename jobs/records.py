"""The `jobs` table: one row per reindex or tuning job, shared by whoever enqueues and whoever runs it.

The row outlives any one worker: a retry after a worker was killed finds it `running`, counts one more
attempt and carries on, so `citebot jobs list` and the Slack status message tell one story.
"""

from __future__ import annotations

import json

from sqlalchemy import Engine, func, select

from core.db import session_scope
from core.errors import NotFoundError
from core.models import Job, utcnow

ACTIVE = ("queued", "waiting", "running")


def create_job(engine: Engine, kind: str, target: str = "", requested_by: str = "cli", channel: str | None = None,
               message_ts: str | None = None, workspace: str | None = None) -> str:
    with session_scope(engine) as session:
        job = Job(kind=kind, target=target, status="queued", requested_by=requested_by, channel_id=channel,
                  message_ts=message_ts, workspace_id=workspace, attempts=0, progress="")
        session.add(job)
        session.flush()
        return job.id


def get_job(engine: Engine, job_id: str) -> Job:
    with session_scope(engine) as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFoundError(f"No job with id {job_id!r}; `citebot jobs list` shows recent ones.")
        return job


def start_attempt(engine: Engine, job_id: str, worker: str) -> Job:
    """A worker takes the job: one more attempt (a retry after a killed worker is attempt 2)."""
    with session_scope(engine) as session:
        job = session.get(Job, job_id)
        if job is None:
            raise NotFoundError(f"No job with id {job_id!r}")
        job.attempts += 1
        job.status, job.worker, job.error = "running", worker, None
        job.started_at = job.started_at or utcnow()
        return job


def update_job(engine: Engine, job_id: str, **values) -> None:
    with session_scope(engine) as session:
        job = session.get(Job, job_id)
        if job is not None:
            for key, value in values.items():
                setattr(job, key, value)


def finish_job(engine: Engine, job_id: str, result: dict) -> None:
    update_job(engine, job_id, status="done", result_json=json.dumps(result, default=str), finished_at=utcnow())


def fail_job(engine: Engine, job_id: str, error: str) -> None:
    update_job(engine, job_id, status="failed", error=error, finished_at=utcnow())


def list_jobs(engine: Engine, limit: int = 20, status: str | None = None) -> list[Job]:
    with session_scope(engine) as session:
        query = select(Job).order_by(Job.created_at.desc()).limit(limit)
        if status:
            query = query.where(Job.status == status)
        return list(session.scalars(query))


def active_count(engine: Engine) -> int:
    """Jobs queued, waiting for a lock or running: the queue depth the metrics report."""
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(Job).where(Job.status.in_(ACTIVE))) or 0
