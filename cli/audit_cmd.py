"""`citebot audit ...`: review what citebot answered and from which passages."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from cli.context import settings_and_engine
from cli.output import console, print_json

app = typer.Typer(help="Review the audit log of answers.", no_args_is_help=True)


def _engine():
    return settings_and_engine()[1]


@app.command("list")
def list_answers(
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=10000, help="How many recent answers."),
    route: str = typer.Option(None, "--route", help="Only this route: rag, abstain or escalate."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """List recent answers, newest first."""
    from audit.log import recent_answers
    from audit.serialize import answer_record

    rows = recent_answers(_engine(), limit=limit, route=route)
    if as_json:
        print_json([answer_record(r) for r in rows])
        return
    table = Table("audit id", "time (UTC)", "route", "question", "cited", "ms")
    for r in rows:
        cited = sum(p.cited for p in r.passages)
        table.add_row(r.id, r.created_at.strftime("%Y-%m-%d %H:%M"), r.route, escape(r.question[:70]),
                      str(cited), f"{r.total_ms:.0f}")
    console.print(table if rows else "No answers logged yet. Try `citebot ask \"...\"`.")


@app.command("show")
def show(audit_id: str = typer.Argument(..., help="The audit id printed with the answer."),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """Show one answer with its retrieved passages, scores and citations."""
    from audit.log import get_answer
    from audit.serialize import answer_record

    row = get_answer(_engine(), audit_id)
    if as_json:
        print_json(answer_record(row, with_passages=True))
        return
    console.print(f"[bold]{row.id}[/bold] {row.created_at:%Y-%m-%d %H:%M:%S} route={row.route} ({escape(row.route_reason)})"
                  f" model={row.model}", highlight=False)
    console.print(f"Q: {escape(row.question)}\nA: {escape(row.answer)}", highlight=False)
    for p in row.passages:
        mark = "cited" if p.cited else "     "
        relevance = "" if p.relevance is None else f" relevance={p.relevance:.3f}"
        console.print(f"  #{p.rank} {mark} score={p.score:.4f} dense={p.dense_score or 0:.3f}{relevance} "
                      f"{escape(p.title)} — {escape(p.url or p.source)}", highlight=False)


@app.command("replay")
def replay(as_json: bool = typer.Option(False, "--json", help="Print the result as JSON.")) -> None:
    """Write rows spooled while the database was down (CITEBOT_HOME/spool) to the database, exactly once.

    The running bot does this by itself on its next write; this command is for a bot that is stopped,
    or to check. If the database is still unreachable the rows stay in the spool.
    """
    from audit.spool import AuditSpool
    from core.db import get_engine
    from core.settings import get_settings

    settings = get_settings()
    spool = AuditSpool(settings.home)
    pending = spool.pending()
    written = spool.replay(get_engine(settings.resolved_database_url))
    if as_json:
        print_json({"spooled": pending, "written": written})
    else:
        console.print(f"{pending} spooled rows, {written} written to the audit database "
                      f"({pending - written} were already there).", highlight=False)


def _filters(since: str | None, channel: str | None, route: str | None, feedback: str | None, limit=None):
    from audit.queries import Filters
    from core.dates import parse_when
    from core.errors import CitebotError

    try:
        when = parse_when(since)
    except ValueError:
        raise CitebotError(f"--since wants a date like 2026-11-01 (or 2026-11-01T09:00), got {since!r}.") from None
    if feedback not in (None, "negative"):
        raise CitebotError("--feedback takes `negative` (answers marked not helpful or escalated).")
    return Filters(since=when, channel=channel, route=route, negative_feedback=feedback == "negative", limit=limit)


SINCE = typer.Option(None, "--since", help="Only answers from this date (YYYY-MM-DD) on.")
CHANNEL = typer.Option(None, "--channel", help="Only this Slack channel id.")
ROUTE = typer.Option(None, "--route", help="Only this route: rag, abstain, escalate or error.")
FEEDBACK = typer.Option(None, "--feedback", help="`negative`: only answers marked not helpful or escalated.")


@app.command("stats")
def stats(since: str = SINCE, channel: str = CHANNEL, route: str = ROUTE, feedback: str = FEEDBACK,
          as_json: bool = typer.Option(False, "--json", help="Print the numbers as JSON.")) -> None:
    """Answers, routes, abstain/escalate and negative-feedback rates, latency and answers per day."""
    from audit.queries import find_answers, summary

    numbers = summary(find_answers(_engine(), _filters(since, channel, route, feedback)))
    if as_json:
        print_json(numbers)
        return
    console.print(f"{numbers['answers']} answers · routes {numbers['routes']} · abstain "
                  f"{numbers['abstain_rate']:.0%} · escalate {numbers['escalate_rate']:.0%} · negative feedback "
                  f"{numbers['negative_feedback_rate']:.0%} of {numbers['with_feedback']} rated · latency p50 "
                  f"{numbers['latency_ms_p50']:.0f} ms, p95 {numbers['latency_ms_p95']:.0f} ms", highlight=False)
    for day, count in numbers["per_day"].items():
        console.print(f"  {day}  {count}", highlight=False)


@app.command("export")
def export(fmt: str = typer.Option("jsonl", "--format", help="csv or jsonl."),
           out: str = typer.Option(None, "--out", help="File to write; default standard output."),
           since: str = SINCE, channel: str = CHANNEL, route: str = ROUTE, feedback: str = FEEDBACK) -> None:
    """Export answers (one row each, with cited sources and feedback counts) as CSV or JSON lines."""
    import csv
    import json
    import sys

    from audit.queries import find_answers
    from audit.serialize import EXPORT_COLUMNS, export_row
    from core.errors import CitebotError

    if fmt not in ("csv", "jsonl"):
        raise CitebotError(f"--format must be csv or jsonl, not {fmt!r}.")
    rows = [export_row(r) for r in find_answers(_engine(), _filters(since, channel, route, feedback))]
    handle = open(out, "w", newline="", encoding="utf-8") if out else sys.stdout
    try:
        if fmt == "jsonl":
            handle.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        else:
            writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    finally:
        if out:
            handle.close()
    if out:
        console.print(f"{len(rows)} answers written to {out}", highlight=False)


@app.command("retention")
def retention(days: int = typer.Option(..., "--days", min=1, help="Keep answers younger than this many days."),
              mode: str = typer.Option("delete", "--mode", help="delete: remove old answers; redact: keep "
                                       "their numbers, blank their text."),
              as_json: bool = typer.Option(False, "--json", help="Print the result as JSON.")) -> None:
    """Apply the retention policy: delete or redact answers older than N days (run it daily, e.g. cron)."""
    from datetime import datetime, timedelta, timezone

    from audit.queries import apply_retention
    from core.errors import CitebotError

    if mode not in ("delete", "redact"):
        raise CitebotError(f"--mode must be delete or redact, not {mode!r}.")
    cutoff = datetime.now(timezone.utc) - timedelta(days=days)
    touched = apply_retention(_engine(), cutoff, mode)
    if as_json:
        print_json({"mode": mode, "older_than": cutoff.isoformat(), "answers": touched})
    else:
        console.print(f"{touched} answers older than {cutoff:%Y-%m-%d %H:%M} UTC {mode}d.", highlight=False)


@app.command("user")
def user_data(user: str = typer.Argument(..., help="Slack user id (e.g. U0123ABC)."),
              delete: bool = typer.Option(False, "--delete", help="Delete the person's questions and feedback "
                                          "instead of exporting them."),
              yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation when deleting.")) -> None:
    """Export (JSON lines on stdout) or delete everything the audit log holds about one person."""
    import json

    from audit.queries import delete_user, user_answers
    from audit.serialize import export_row

    engine = _engine()
    if not delete:
        for row in user_answers(engine, user):
            print(json.dumps({**export_row(row), "feedback": [
                {"user": f.user_id, "verdict": f.verdict, "reason": f.reason, "created_at": f.created_at.isoformat()}
                for f in row.feedback if f.user_id == user]}, ensure_ascii=False))
        return
    if not yes:
        typer.confirm(f"Delete every question and feedback of {user}?", abort=True)
    answers, feedback = delete_user(engine, user)
    console.print(f"Deleted {answers} answers and {feedback} feedback rows of {user}.", highlight=False)
    _report_tuned_models(engine, user)


def _report_tuned_models(engine, user: str) -> None:
    """Deleting rows does not untrain a model: say which tuned models learned from the person's threads."""
    from tuning.registry import runs_trained_on

    runs = runs_trained_on(engine, user)
    if not runs:
        console.print(f"No tuned escalation model was trained on threads with messages of {user}.", highlight=False)
        return
    console.print(f"{len(runs)} tuned escalation models were trained on threads with messages of {user}; retrain "
                  "without them and delete these (`citebot tune list`):", highlight=False)
    for run in runs:
        where = run.provider_model or run.adapter_path or "no model kept"
        state = "SERVED NOW" if run.active else run.status
        console.print(f"  {run.version} ({run.provider}, {state}): {where}", highlight=False)


@app.command("serve")
def serve(
    port: int = typer.Option(8080, "--port", "-p", help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Interface; 0.0.0.0 to serve beyond this machine."),
    secure_cookies: bool = typer.Option(False, "--secure-cookies", help="Mark the session cookie Secure (set it "
                                        "when the page is served over HTTPS, e.g. behind a TLS proxy)."),
) -> None:
    """The review web page: filterable answers, each answer with its supporting passages highlighted,
    knowledge gaps and charts. Log in with CITEBOT_REVIEW_TOKEN. Served by uvicorn with request limits
    and a graceful stop on SIGTERM (README, "Web servers")."""
    from core.errors import CitebotError
    from core.settings import get_settings
    from ops.web import serve as serve_app
    from review.app import review_app
    from review.auth import TokenAuth

    settings = get_settings()
    if not settings.review_token:
        raise CitebotError("Set CITEBOT_REVIEW_TOKEN to a long random string first; reviewers log in with it.")
    console.print(f"citebot audit page on http://{host}:{port}/ (Ctrl-C to stop)", highlight=False)
    serve_app(review_app(_engine(), TokenAuth(settings.review_token), secure_cookies), host, port)
