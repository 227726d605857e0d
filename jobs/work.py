"""What a job does, wherever it runs (a queue worker, or a thread of the laptop's single bot process).

A reindex takes the lock of every source it touches before it starts, a tuning run the `tune` lock;
both report progress to the job row and to a notifier (the Slack message the job was asked from, when
the process that runs it was given a Slack notifier), and leave an `index_runs` / `tuning_runs` row
like their CLI twins. This package never imports Slack: the bot hands a notifier in.
"""

from __future__ import annotations

import logging
import time
from contextlib import ExitStack
from dataclasses import asdict

from sqlalchemy import Engine

from core.errors import CitebotError
from core.settings import Settings
from jobs.lock import process_locks, reindex_lock
from jobs.notify import Notifier, NotifierFactory, silent
from jobs.records import fail_job, finish_job, get_job, start_attempt, update_job
from ops.metrics import JOBS

log = logging.getLogger("citebot.jobs")


class LockBusy(Exception):
    """Another job holds a lock this one needs; the job waits its turn (queue retry or polling)."""

    def __init__(self, name: str, holder: str | None):
        super().__init__(f"{name} is held by job {holder}")
        self.name, self.holder = name, holder


def _sources(settings: Settings, target: str) -> list:
    """The configured sources a reindex job covers: the one named, or all of them."""
    from indexing.sources.config import find_source, load_sources

    if target:
        return [find_source(settings.config_path, settings.slack, target)]
    sources = load_sources(settings.config_path, settings.slack)
    if not sources:
        raise CitebotError("no sources are configured (citebot.toml / CITEBOT_CONFIG)")
    return sources


def lock_names(kind: str, target: str, settings: Settings) -> list[str]:
    """The locks a job needs: one per source it reindexes, or the single tuning lock."""
    if kind == "tune":
        return ["tune"]
    return [reindex_lock(s.name) for s in _sources(settings, target)]


def busy_lock(settings: Settings, kind: str, target: str) -> str | None:
    """Which of the job's locks is held now (to tell the person asking), or None. A bot asks this inside
    Slack's 3-second acknowledgement: the process's lock client opens no connection for it."""
    locks = process_locks(settings.redis_url)
    try:
        names = lock_names(kind, target, settings)
    except CitebotError:
        return None  # the job itself will report the configuration problem
    return next((name for name in names if locks.holder(name)), None)


def run_job(settings: Settings, engine: Engine, job_id: str, worker: str,
            notifier: NotifierFactory = silent) -> dict:
    """Run one job to the end; raises LockBusy (nothing started) when another job holds a lock it needs."""
    job = get_job(engine, job_id)
    status = notifier(job)
    what = (job.target or "all sources") if job.kind == "reindex" else "the escalation model"
    try:
        names = lock_names(job.kind, job.target, settings)
    except CitebotError as exc:
        fail_job(engine, job_id, str(exc))
        status.post(f":x: {job.kind} of {what} failed: {exc}", final=True)
        return {"status": "failed", "error": str(exc)}
    locks = process_locks(settings.redis_url)
    with ExitStack() as held:
        for name in names:
            lock = locks.hold(name, job_id)
            if lock is None:
                if job.status != "waiting":  # say it once, not on every retry
                    update_job(engine, job_id, status="waiting", progress=f"waiting for {name}")
                    status.post(f":hourglass: The {job.kind} of {what} waits for the job already running on it.")
                raise LockBusy(name, locks.holder(name))
            held.enter_context(lock)
        job = start_attempt(engine, job_id, worker)
        started = time.perf_counter()
        try:
            result = (_reindex if job.kind == "reindex" else _tune)(settings, engine, job, status)
        except Exception as exc:  # noqa: BLE001 - recorded and shown; a CitebotError is the user's to fix
            reason = str(exc) if isinstance(exc, CitebotError) else f"{type(exc).__name__}: {exc}"
            fail_job(engine, job_id, reason)
            JOBS.labels(job.kind, "failed").inc()
            status.post(f":x: {job.kind} of {what} failed: {reason}", final=True)
            log.exception("job %s failed", job_id, extra={"job_id": job_id})
            return {"status": "failed", "error": reason}
        result["seconds"] = round(time.perf_counter() - started, 3)
        result["attempts"] = job.attempts
        finish_job(engine, job_id, result)
        JOBS.labels(job.kind, "done").inc()
        status.post(result.pop("message"), final=True)
        log.info("job %s (%s %s) done in %.1f s", job_id, job.kind, what, result["seconds"],
                 extra={"job_id": job_id})
        return {"status": "done", **result}


def _reindex(settings: Settings, engine: Engine, job, status: Notifier) -> dict:
    from audit.log import record_index_run
    from indexing.pipeline import index_source

    summaries = []
    saved = [0.0]
    for source in _sources(settings, job.target):
        def progress(stage: str, n: int, total: int, name: str = source.name) -> None:
            text = f"{stage} {n}/{total or '?'}"
            status.post(f":arrows_counterclockwise: Reindexing {name}: {text}")
            if n == total or time.monotonic() - saved[0] >= 1.0:  # the row, like the message, once a second
                saved[0] = time.monotonic()
                update_job(engine, job.id, progress=f"{name}: {text}")

        summary = index_source(source, settings.index, progress)
        record_index_run(engine, summary, job.requested_by)
        summaries.append(summary.as_dict())
    lines = [f"*{s['source']}*: {s['added']} added, {s['updated']} updated, {s['deleted']} deleted, "
             f"{s['unchanged']} unchanged, {len(s['skipped'])} skipped" for s in summaries]
    retried = f" (attempt {job.attempts})" if job.attempts > 1 else ""
    return {"sources": summaries, "message": f":white_check_mark: Reindex finished{retried}\n" + "\n".join(lines)}


def _tune(settings: Settings, engine: Engine, job, status: Notifier) -> dict:
    """Local LoRA or the provider's job (CITEBOT_TUNE_PROVIDER; uploading needs CITEBOT_TUNE_PROVIDER_CONSENT,
    as nobody is there to pass --yes); progress reaches the Slack status message either way."""
    from service.tuning import tune
    from tuning.run import collect_threads

    def progress(step: int, total: int, loss: float, eta: float) -> None:
        status.post(f":brain: Tuning the escalation model: step {step}/{total}, loss {loss:.3f}, "
                    f"about {eta / 60:.0f} min left")
        update_job(engine, job.id, progress=f"step {step}/{total}, loss {loss:.3f}")

    def on_event(message: str, step: int | None, total: int | None, loss: float | None) -> None:
        steps = f" (step {step}/{total}, loss {loss:.3f})" if step and total and loss is not None else ""
        status.post(f":brain: Tuning the escalation model at {settings.tune_provider}: {message}{steps}")
        update_job(engine, job.id, progress=f"{message}{steps}"[:200])

    threads = collect_threads(engine, settings.tuning, settings.slack)
    report = tune(settings, engine, threads, job.requested_by, progress=progress, on_event=on_event)
    return {**asdict(report), "message": f":white_check_mark: Tuning {report.status} {report.version or ''}: "
                                        f"{report.decision}"}
