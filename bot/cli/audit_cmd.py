"""`citebot audit ...`: review what citebot answered and from which passages."""

from __future__ import annotations

import typer
from rich.markup import escape
from rich.table import Table

from bot.cli.output import console, print_json

app = typer.Typer(help="Review the audit log of answers.", no_args_is_help=True)


def _engine():
    from core.db import ensure_schema, get_engine
    from core.settings import get_settings

    engine = get_engine(get_settings().resolved_database_url)
    ensure_schema(engine)
    return engine


def _row_json(row, with_passages: bool = False) -> dict:
    data = {"audit_id": row.id, "created_at": row.created_at.isoformat(), "user": row.user_id,
            "channel": row.channel_id, "question": row.question, "answer": row.answer, "route": row.route,
            "route_reason": row.route_reason, "model": row.model, "adapter_version": row.adapter_version,
            "latency_ms": {"retrieve": row.retrieve_ms, "generate": row.generate_ms, "total": row.total_ms},
            "error": row.error}
    if with_passages:
        data["passages"] = [{"rank": p.rank, "score": p.score, "dense_score": p.dense_score, "title": p.title,
                             "source": p.source, "url": p.url, "chunk_id": p.chunk_id, "cited": p.cited}
                            for p in row.passages]
    return data


@app.command("list")
def list_answers(
    limit: int = typer.Option(20, "--limit", "-n", min=1, max=10000, help="How many recent answers."),
    route: str = typer.Option(None, "--route", help="Only this route: rag, abstain or escalate."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """List recent answers, newest first."""
    from bot.audit import recent_answers

    rows = recent_answers(_engine(), limit=limit, route=route)
    if as_json:
        print_json([_row_json(r) for r in rows])
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
    from bot.audit import get_answer

    row = get_answer(_engine(), audit_id)
    if as_json:
        print_json(_row_json(row, with_passages=True))
        return
    console.print(f"[bold]{row.id}[/bold] {row.created_at:%Y-%m-%d %H:%M:%S} route={row.route} ({escape(row.route_reason)})"
                  f" model={row.model}", highlight=False)
    console.print(f"Q: {escape(row.question)}\nA: {escape(row.answer)}", highlight=False)
    for p in row.passages:
        mark = "cited" if p.cited else "     "
        console.print(f"  #{p.rank} {mark} score={p.score:.4f} dense={p.dense_score or 0:.3f} "
                      f"{escape(p.title)} — {escape(p.url or p.source)}", highlight=False)


@app.command("replay")
def replay(as_json: bool = typer.Option(False, "--json", help="Print the result as JSON.")) -> None:
    """Write rows spooled while the database was down (CITEBOT_HOME/spool) to the database, exactly once.

    The running bot does this by itself on its next write; this command is for a bot that is stopped,
    or to check. If the database is still unreachable the rows stay in the spool.
    """
    from bot.audit_spool import AuditSpool
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
