"""Console output shared by commands: human text on stdout, progress and notes on stderr."""

from __future__ import annotations

import json
from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape

from answering.result import AnswerResult
from core.dates import updated_ago
from core.settings import IndexSettings

console = Console()
err_console = Console(stderr=True)


def print_json(data) -> None:
    """Exactly one JSON document on stdout, for scripts."""
    print(json.dumps(data, ensure_ascii=False, default=str))


def print_answer(result: AnswerResult) -> None:
    colour = {"rag": "green", "abstain": "yellow", "escalate": "magenta"}.get(result.route, "white")
    console.print(escape(result.answer))
    if result.citations:
        console.print("[bold]Sources[/bold]")
        for c in result.citations:
            where = c.url or c.source
            fresh = updated_ago(c.updated_at)
            console.print(f"  [{c.n}] {escape(c.heading or c.title)} — {escape(where)}" + (f" · {fresh}" if fresh else ""))
    latency = ", ".join(f"{k} {v:.0f} ms" for k, v in result.latency_ms.items())
    console.print(f"[{colour}]route: {result.route}[/{colour}] ({escape(result.route_reason)})", highlight=False)
    console.print(f"audit id: [bold]{result.audit_id}[/bold] · {latency}", highlight=False)


@contextmanager
def stage_progress(width: int = 10):
    """A `(stage, done, total)` callback drawing one bar per stage on stderr while the block runs."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn(f"{{task.description:<{width}}}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err_console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield progress


def index_with_progress(source, settings: IndexSettings, quiet: bool):
    """Index one source with a progress bar per stage (reading, chunking, embedding) on stderr."""
    from indexing.pipeline import index_source

    if quiet:
        return index_source(source, settings)
    with stage_progress() as progress:
        return index_source(source, settings, progress)
