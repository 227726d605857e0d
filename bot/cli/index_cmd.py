"""`citebot index PATH...`: incremental indexing of files and folders."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.cli.output import console, err_console, index_with_progress, print_json
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

    settings = get_settings()
    summary = index_with_progress(paths, settings, quiet or as_json)
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

