"""`citebot worker` and `citebot jobs ...`: the queue workers that run reindex and tuning jobs, and the
jobs' record in the audit log."""

from __future__ import annotations

import json
import logging
import os
import socket
import time

import typer
from rich.markup import escape

from cli.context import settings_and_engine
from cli.output import console, err_console, print_json
from core.errors import CitebotError

app = typer.Typer(help="Reindex and tuning jobs: submit them, follow them, list them.", no_args_is_help=True)
FINISHED = ("done", "failed")


def _job_json(job) -> dict:
    return {"id": job.id, "kind": job.kind, "target": job.target, "status": job.status, "attempts": job.attempts,
            "requested_by": job.requested_by, "worker": job.worker, "progress": job.progress,
            "created_at": job.created_at.isoformat(),
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
            "result": json.loads(job.result_json) if job.result_json else None, "error": job.error}


def worker(
    concurrency: int = typer.Option(1, "--concurrency", "-c", min=1, max=32,
                                    help="Jobs at once (1: the worker process itself runs them; more: threads)."),
    metrics_port: int = typer.Option(0, "--metrics-port", help="Serve Prometheus metrics on this port (0: off)."),
) -> None:
    """Run a queue worker: takes reindex and tuning jobs from CITEBOT_BROKER_URL until stopped.

    A job is acknowledged only when it finished, so a worker killed mid-job hands it to another worker,
    which resumes it (attempt 2). One reindex per source runs at a time, across all workers.
    """
    from bot.job_status import slack_status
    from jobs.gauges import state_gauges
    from jobs.queue import celery_app
    from jobs.runner import require_shared_services
    from ops.logs import configure_logging
    from ops.metrics import register_state

    settings, engine = settings_and_engine()
    require_shared_services(settings)
    configure_logging(settings.log_format)
    if metrics_port:
        from prometheus_client import start_http_server

        register_state(state_gauges(settings, engine))
        start_http_server(metrics_port)
    logging.getLogger("citebot.jobs").info("worker ready on queue %s at %s", settings.queue,
                                           settings.broker_url.split("@")[-1])
    celery_app(settings.broker_url, slack_status(settings.slack, settings.resolved_database_url)).worker_main([
        "worker", "--queues", settings.queue, "--hostname", f"citebot-{os.getpid()}@{socket.gethostname()}",
        "--pool", "solo" if concurrency == 1 else "threads", "--concurrency", str(concurrency),
        "--loglevel", "INFO", "--without-gossip", "--without-mingle"])


@app.command("submit")
def submit(
    kind: str = typer.Argument(..., help="reindex or tune."),
    source: str = typer.Option("", "--source", help="reindex: one configured source (default: all)."),
    wait: bool = typer.Option(False, "--wait", help="Follow the job until it is done; exit 1 if it failed."),
    as_json: bool = typer.Option(False, "--json", help="Print the job as JSON."),
) -> None:
    """Queue a job for the workers (with CITEBOT_BROKER_URL), or run it here and now without one."""
    from jobs.records import create_job, get_job
    from jobs.runner import JobRunner, run_when_free

    if kind not in ("reindex", "tune"):
        raise CitebotError(f"Unknown job kind {kind!r}: use reindex or tune.")
    if source and kind != "reindex":
        raise CitebotError("--source only applies to reindex jobs.")
    settings, engine = settings_and_engine()
    if settings.broker_url:
        job_id = JobRunner(settings, engine).submit(kind, source, "cli")
        if not as_json:
            err_console.print(f"queued job {job_id}", highlight=False)
        while wait and get_job(engine, job_id).status not in FINISHED:
            time.sleep(1.0)
    else:
        job_id = create_job(engine, kind, source, "cli")
        run_when_free(settings, engine, job_id, f"{socket.gethostname()} (cli)",
                      on_wait=lambda busy: err_console.print(f"waiting for {busy.name}…", highlight=False))
    job = get_job(engine, job_id)
    if as_json:
        print_json(_job_json(job))
    else:
        _print_job(job)
    if job.status == "failed" and (wait or not settings.broker_url):
        raise typer.Exit(1)


def _print_job(job) -> None:
    what = job.target or "all sources" if job.kind == "reindex" else "escalation model"
    console.print(f"{job.id} {job.created_at:%Y-%m-%d %H:%M} {job.kind} {escape(what)} [bold]{job.status}[/bold] "
                  f"(attempts {job.attempts})", highlight=False)
    if job.progress and job.status not in FINISHED:
        console.print(f"  {escape(job.progress)}", highlight=False)
    if job.error:
        console.print(f"  [red]{escape(job.error)}[/red]", highlight=False)


@app.command("list")
def list_jobs(
    limit: int = typer.Option(20, "--limit", "-n", min=1),
    status: str | None = typer.Option(None, "--status", help="queued, waiting, running, done or failed."),
    as_json: bool = typer.Option(False, "--json", help="Print the jobs as JSON lines."),
) -> None:
    """Recent jobs, newest first: kind, status, attempts, progress or error."""
    from jobs.records import list_jobs as rows

    _, engine = settings_and_engine()
    jobs = rows(engine, limit, status)
    if as_json:
        print_json([_job_json(j) for j in jobs])
        return
    for job in jobs:
        _print_job(job)
    if not jobs:
        console.print("No jobs yet: /reindex in Slack or `citebot jobs submit reindex` starts one.")


@app.command("show")
def show(job_id: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """One job with its result (what each source's reindex changed, or the tuning decision)."""
    from jobs.records import get_job

    _, engine = settings_and_engine()
    data = _job_json(get_job(engine, job_id))
    if as_json:
        print_json(data)
        return
    console.print_json(json.dumps(data, default=str))
