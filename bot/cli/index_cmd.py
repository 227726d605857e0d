"""`citebot index PATH...`: incremental indexing of files and folders."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.cli.output import console, err_console, print_json
from core.errors import CitebotError


def index(
    paths: list[Path] = typer.Argument(..., help="Files or folders (.md, .txt, .html) to index."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Index files and folders incrementally.

    Unchanged files are not re-embedded, edited files are replaced, and files deleted from an indexed
    folder are removed from the index. Unreadable files are skipped with a reason and the previously
    indexed version of them is kept.
    """
    from core.settings import get_settings
    from indexing.pipeline import index_paths

    settings = get_settings()
    summary = _run_with_progress(index_paths, paths, settings, quiet or as_json)
    named_files = {str(p.resolve()) for p in paths if p.is_file()}
    failed = [s for s in summary.skipped if str(Path(s.path).resolve()) in named_files]
    if as_json:
        print_json(summary.as_dict())
    else:
        console.print(f"Indexed in {summary.seconds:.1f} s: {summary.added} added, {summary.updated} updated, "
                      f"{summary.unchanged} unchanged, {summary.deleted} deleted, {len(summary.skipped)} skipped; "
                      f"{summary.chunks_embedded} chunks embedded, {summary.chunks_total} in the index "
                      f"({settings.where()}).", highlight=False)
        for skipped in summary.skipped:
            if skipped not in failed:
                err_console.print(f"  skipped {skipped.path}: {skipped.reason}", highlight=False, soft_wrap=True)
    if failed:
        raise CitebotError(f"cannot index {failed[0].path}: {failed[0].reason}")


def _run_with_progress(index_paths, paths, settings, quiet: bool):
    """Run indexing with a progress bar per stage (reading, embedding) on stderr."""
    if quiet:
        return index_paths(paths, settings)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err_console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        return index_paths(paths, settings, progress)
