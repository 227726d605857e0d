"""`citebot index`: incremental indexing of paths given on the command line or of configured sources."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.output import console, err_console, index_with_progress, print_json
from core.errors import CitebotError
from core.settings import IndexSettings


def _report(summary, settings, failed: list) -> None:
    console.print(f"[bold]{summary.source}[/bold]: {summary.added} added, {summary.updated} updated, "
                  f"{summary.unchanged} unchanged, {summary.deleted} deleted, {len(summary.skipped)} skipped "
                  f"in {summary.seconds:.1f} s; {summary.chunks_embedded} chunks embedded, "
                  f"{summary.chunks_total} in the index ({settings.where()}).", highlight=False)
    if summary.routing:
        console.print(f"  routing thresholds derived from this index: answer ≥ {summary.routing['answer_threshold']}, "
                      f"escalate < {summary.routing['abstain_threshold']} (CITEBOT_ANSWER_THRESHOLD / "
                      "CITEBOT_ABSTAIN_THRESHOLD override them)", highlight=False)
    if not summary.complete:
        err_console.print("  the source could not be listed in full: nothing was deleted from it this run",
                          highlight=False)
    for skipped in summary.skipped:
        if skipped in failed:
            continue  # reported once, as the command's error
        err_console.print(f"  skipped {skipped.path}: {skipped.reason}", highlight=False, soft_wrap=True)


def _index_locked(source, settings: IndexSettings, redis_url: str | None, quiet: bool):
    """Index one source holding its lock, so a queue worker never reindexes it at the same time."""
    import os

    from jobs.lock import process_locks, reindex_lock

    locks = process_locks(redis_url)
    held = locks.hold(reindex_lock(source.name), f"cli-{os.getpid()}")
    if held is None:
        raise CitebotError(f"A reindex of {source.name} is running (job {locks.holder(reindex_lock(source.name))}); "
                           "run this again when it is done, or queue one: `citebot jobs submit reindex "
                           f"--source {source.name} --wait`.")
    with held:
        return index_with_progress(source, settings, quiet)


def index(
    paths: list[Path] = typer.Argument(None, help="Files or folders (.md, .txt, .html, .pdf) to index. "
                                       "Without paths, every source of the config file is indexed."),
    source: str = typer.Option(None, "--source", "-s", help="Index only this configured source."),
    url_template: str = typer.Option(None, "--url-template",
                                     help="Link for files given as paths, e.g. "
                                          "'https://git.example.com/docs/blob/main/{relpath}'."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    rebuild: bool = typer.Option(False, "--rebuild",
                                 help="Build the index again from scratch, e.g. after changing CITEBOT_EMBED_MODEL "
                                      "or CITEBOT_CHUNK_CHARS. The old index keeps answering until the new one "
                                      "is complete."),
) -> None:
    """Index files, folders or configured sources (files, Slack, Slack exports, web pages) incrementally.

    Unchanged documents are not re-embedded, edited ones are replaced, and documents gone from a source
    are removed from the index. Unreadable ones are skipped with a reason and their previously indexed
    version is kept. Sources are listed in citebot.toml (or CITEBOT_CONFIG); see `citebot sources`.
    """
    from core.settings import get_settings
    from indexing.sources.config import find_source, load_sources
    from indexing.sources.files import FileSource

    settings = get_settings()
    if paths and source:
        raise CitebotError("Give either paths or --source, not both.")
    if rebuild and source:
        raise CitebotError("--rebuild rebuilds the whole index, so it takes every configured source (or the "
                           "paths given): drop --source.")
    if paths:
        sources = [FileSource.adhoc(paths, url_template)]
    elif source:
        sources = [find_source(settings.config_path, settings.slack, source)]
    else:
        sources = load_sources(settings.config_path, settings.slack)
        if not sources:
            raise CitebotError("Nothing to index: give paths (`citebot index docs/`) or list sources in "
                               "citebot.toml (see `citebot sources --help`).")
    from audit.log import open_audit, record_index_run

    target = settings.index
    if rebuild:
        from indexing.store import drop_collection, replace_collection

        target = target.model_copy(update={"collection": f"{settings.collection}-rebuild"})
        drop_collection(target)  # what an interrupted rebuild left behind
    summaries = [_index_locked(s, target, settings.redis_url, quiet or as_json) for s in sources]
    if rebuild:
        replace_collection(settings.index, target.collection)
    engine, spool = open_audit(settings.storage)
    for summary in summaries:
        record_index_run(engine, summary, "cli", spool)
    named_files = {str(p.expanduser().resolve()) for p in paths or [] if p.is_file()}
    failed = [s for s in summaries[0].skipped if s.path in named_files]
    if as_json:
        print_json(summaries[0].as_dict() if len(summaries) == 1 else
                   {"sources": [s.as_dict() for s in summaries]})
    else:
        for summary in summaries:
            _report(summary, settings, failed)
    if failed:
        raise CitebotError(f"cannot index {failed[0].path}: {failed[0].reason}")


def sources(as_json: bool = typer.Option(False, "--json", help="Print the sources as JSON.")) -> None:
    """List the sources configured in citebot.toml (or the file in CITEBOT_CONFIG).

    Each [[sources]] table has a unique `name` and a `type`: files (paths, url_template), slack
    (channels; token from SLACK_BOT_TOKEN), slack_export (path, workspace_url) or web (urls).
    """
    from core.settings import get_settings
    from indexing.sources.config import load_sources

    settings = get_settings()
    found = load_sources(settings.config_path, settings.slack)
    if as_json:
        print_json({"config": str(settings.config_path) if settings.config_path else None,
                    "sources": [{"name": s.name, "type": type(s).__name__, "description": s.describe()}
                                for s in found]})
        return
    if not found:
        console.print("No sources configured: create citebot.toml or set CITEBOT_CONFIG.")
    for s in found:
        console.print(s.describe(), highlight=False)
