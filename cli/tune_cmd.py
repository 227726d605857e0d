"""`citebot tune ...`: build the dataset, train, evaluate, and manage the adapter registry."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from cli.context import settings_and_engine
from cli.output import console, err_console, print_json
from core.errors import CitebotError

app = typer.Typer(help="Fine-tune the escalation model on resolved threads (local LoRA or OpenAI's fine-tuning "
                       "API) and manage the tuned models; "
                       "adapt the embedder to your docs.",
                  no_args_is_help=True)
EXPORT_HELP = "A Slack export folder to read resolved threads from (repeatable); adds to CITEBOT_TUNE_EXPORTS."
CHANNEL_HELP = "A Slack channel id whose resolved threads are read through the Web API (repeatable)."


@contextmanager
def _training_bar(quiet: bool):
    """A progress bar with loss and ETA on stderr; yields the train loop's progress callback."""
    if quiet:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
                  TimeRemainingColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task("training", total=None, loss="-")

        def progress(step: int, total: int, loss: float, _eta: float) -> None:
            bar.update(task, completed=step, total=total, loss=f"{loss:.3f}")

        yield progress


def _print_stats(stats) -> None:
    console.print(f"{stats.threads_in} threads: {stats.train} training and {stats.heldout} held-out examples "
                  f"(split by thread); skipped {stats.unresolved_skipped} not marked resolved, {stats.bot_only} "
                  f"with only bot messages, {stats.no_team_reply} with no team reply, {stats.duplicates} "
                  f"duplicates; {stats.secrets_scrubbed} messages had secrets or e-mails scrubbed.", highlight=False)
    groups = ", ".join(f"{g} {n}" for g, n in stats.groups.items()) or "none"
    console.print(f"escalating replies: {stats.escalating_share:.0%}; groups looped in: {groups}", highlight=False)
    for problem in stats.problems:
        err_console.print(f"  skipped {escape(problem)}", highlight=False)


@app.command("dataset")
def dataset(
    out: Path = typer.Option(..., "--out", "-o", help="Folder for train.jsonl, heldout.jsonl and stats.json."),
    export: list[Path] = typer.Option(None, "--export", help=EXPORT_HELP),
    channel: list[str] = typer.Option(None, "--slack-channel", help=CHANNEL_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print the stats as one JSON object."),
) -> None:
    """Turn resolved threads into (thread so far → the team's reply) examples, scrubbed and deduplicated."""
    from tuning.dataset import build_dataset
    from tuning.run import collect_threads

    settings, engine = settings_and_engine()
    threads = collect_threads(engine, settings.tuning, settings.slack, export, channel)
    data = build_dataset(threads, settings.tune_heldout_fraction, settings.tune_scrub_names)
    data.write(out)
    if as_json:
        print_json(asdict(data.stats))
        return
    _print_stats(data.stats)
    console.print(f"wrote {out}/train.jsonl, heldout.jsonl, stats.json", highlight=False)


@app.command("train")
def train(
    data: Path = typer.Option(..., "--data", help="A folder written by `citebot tune dataset`."),
    out: Path = typer.Option(..., "--out", "-o", help="Adapter folder; a checkpoint in it is resumed."),
    max_minutes: float = typer.Option(None, "--max-minutes", help="Training time budget: the run is sized to fit "
                                      "(shorter contexts, then fewer epochs, then fewer examples) so its learning-rate "
                                      "schedule ends in time; a hard stop remains as a safety net."),
    resume: bool = typer.Option(True, "--resume/--no-resume", help="Continue from OUT/checkpoint if there is one."),
    as_json: bool = typer.Option(False, "--json", help="Print the training result as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Train a LoRA adapter on a dataset folder (not registered: `citebot tune run` does everything)."""
    from tuning.dataset import read_examples
    from tuning.run import train_config
    from tuning.train import train_adapter

    settings, _ = settings_and_engine()
    if not (data / "train.jsonl").exists():
        raise CitebotError(f"{data} has no train.jsonl: build it with `citebot tune dataset --out {data}`.")
    examples = read_examples(data / "train.jsonl")
    stats = json.loads((data / "stats.json").read_text()) if (data / "stats.json").exists() else {}
    if len(examples) < settings.tune_min_examples:
        raise CitebotError(f"{len(examples)} training examples in {data}; at least {settings.tune_min_examples} "
                           "are needed (CITEBOT_TUNE_MIN_EXAMPLES).")
    with _training_bar(quiet or as_json) as progress:
        result = train_adapter(examples, out, settings.model_cache_dir, train_config(settings.tuning, max_minutes),
                               stats.get("dataset_hash", "unknown"), progress=progress, resume=resume)
    if as_json:
        print_json(asdict(result))
        return
    plan = result.plan
    budget = (f"; sized to --max-minutes: {plan['epochs']} epochs over {plan['examples']} examples, contexts of "
              f"{plan['max_tokens']} tokens" if plan else "") + (" (stopped by --max-minutes)" if result.stopped_by_budget
                                                                  else "")
    resumed = f", resumed at step {result.resumed_from}" if result.resumed_from else ""
    console.print(f"trained {result.steps}/{result.total_steps} steps on {result.examples} examples in "
                  f"{result.seconds:.0f} s ({result.tokens_per_s:.0f} tokens/s on {result.device}{resumed}){budget}; "
                  f"final loss {result.losses[-1] if result.losses else float('nan'):.3f}; adapter in {out}",
                  highlight=False)


def _evaluation_table(evaluation: dict) -> Table:
    table = Table("", *evaluation.keys())
    # provider runs have no held-out loss (the tuned model's is the job's validation loss)
    table.add_row("held-out loss", *(f"{e['loss']:.3f}" if e["loss"] is not None else "n/a" for e in evaluation.values()))
    table.add_row("perplexity", *(f"{e['perplexity']:.1f}" if e["perplexity"] is not None else "n/a"
                                  for e in evaluation.values()))
    for name in ("escalation_agreement", "group_agreement", "asks_details", "format_ok", "no_invented_facts",
                 "tone", "mean_chars"):  # runs recorded before the tone metric have none: n/a
        table.add_row(name.replace("_", " "), *(str(e["behaviour"].get(name, "n/a")) for e in evaluation.values()))
    return table


@app.command("eval")
def eval_adapter(
    data: Path = typer.Option(..., "--data", help="A folder written by `citebot tune dataset`."),
    adapter: Path = typer.Option(..., "--adapter", help="An adapter folder written by `citebot tune train`."),
    as_json: bool = typer.Option(False, "--json", help="Print base vs tuned as JSON."),
) -> None:
    """Compare the base model and an adapter on the held-out threads: loss and behaviour checks."""
    from tuning.dataset import Dataset, DatasetStats, read_examples
    from tuning.run import evaluate_adapter

    settings, _ = settings_and_engine()
    if not (adapter / "adapter_config.json").exists():
        raise CitebotError(f"{adapter} is not an adapter folder (no adapter_config.json).")
    stats = DatasetStats(**json.loads((data / "stats.json").read_text()))
    held = Dataset(read_examples(data / "train.jsonl"), read_examples(data / "heldout.jsonl"), stats)
    evaluated = evaluate_adapter(adapter, held, settings.tuning, settings.model_cache_dir)
    evaluation = {k: v.to_json() for k, v in evaluated.items()}
    if as_json:
        print_json(evaluation)
    else:
        console.print(_evaluation_table(evaluation))


@contextmanager
def _provider_bar(quiet: bool):
    """The provider job's events as they arrive: a progress bar on its metrics steps, the latest message."""
    if quiet:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, transient=True) as bar:
        task = bar.add_task("waiting for the provider", total=None)

        def on_event(message: str, step: int | None, total: int | None, _loss: float | None) -> None:
            bar.update(task, description=escape(message[:70]), completed=step or 0, total=total)

        yield on_event


def _provider_dry_run(settings, threads, out: Path | None):
    from tuning.provider_run import dry_run
    from tuning.run import make_dataset

    data = make_dataset(threads, settings.tuning)
    return dry_run(data, settings.tuning, out or settings.home / "tuning" / f"dry-run-{data.stats.dataset_hash[:6]}")[1]


@app.command("run")
def run(
    export: list[Path] = typer.Option(None, "--export", help=EXPORT_HELP),
    channel: list[str] = typer.Option(None, "--slack-channel", help=CHANNEL_HELP),
    force: bool = typer.Option(False, "--force", help="Train even if no thread was resolved since the last run."),
    max_minutes: float = typer.Option(None, "--max-minutes", help="Local training time budget: the run is sized "
                                      "to fit it (see `tune train --help`)."),
    provider: str = typer.Option(None, "--provider", help="local (LoRA on the small model), openai (OpenAI's "
                                 "fine-tuning API) or azure (Azure OpenAI's, deployed through Azure Resource "
                                 "Manager); default CITEBOT_TUNE_PROVIDER."),
    yes: bool = typer.Option(False, "--yes", help="Consent to upload the (scrubbed) resolved threads to the "
                             "provider for this run (or set CITEBOT_TUNE_PROVIDER_CONSENT=true)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Provider: write the JSONL that would be uploaded and "
                                 "print examples, trained tokens and cost; upload nothing."),
    out: Path = typer.Option(None, "--out", "-o", help="Folder for --dry-run's files (default "
                             "CITEBOT_HOME/tuning/dry-run-<dataset>)."),
    as_json: bool = typer.Option(False, "--json", help="Print the run report as JSON."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """The periodic job: new resolved threads → dataset → train → evaluate → promote or keep.

    Local: an adapter is promoted only if its held-out loss beats the model being served (or the base
    model) and no behaviour check regresses; a crashed run on the same data resumes from its checkpoint.
    Provider (--provider openai or azure): the same dataset as chat JSONL, uploaded with consent; the job's
    events show as progress; a crashed run re-attaches to its job; the tuned model (on Azure, deployed
    first) is promoted only if its replies' tone improves and no behaviour check regresses.
    """
    from service.tuning import tune
    from tuning.run import collect_threads

    settings, engine = settings_and_engine()
    if provider is not None:
        if provider not in ("local", "openai", "azure"):
            raise CitebotError(f"--provider must be local, openai or azure, not {provider!r}.")
        settings = settings.model_copy(update={"tune_provider": provider})
    if dry_run and settings.tune_provider == "local":
        raise CitebotError("--dry-run is for provider runs (--provider openai or azure); a local run uploads nothing.")
    threads = collect_threads(engine, settings.tuning, settings.slack, export, channel)
    if dry_run:
        report = _provider_dry_run(settings, threads, out)
    else:
        local, quiet = settings.tune_provider == "local", quiet or as_json
        with _training_bar(quiet or not local) as progress, _provider_bar(quiet or local) as on_event:
            report = tune(settings, engine, threads, "cli", force, max_minutes, yes, progress, on_event)
    if as_json:
        print_json(asdict(report))
        return
    console.print(f"[bold]{report.status}[/bold] {report.version or ''}: {escape(report.decision)}", highlight=False)
    if report.evaluation:
        console.print(_evaluation_table(report.evaluation))


@app.command("cancel")
def cancel(version: str = typer.Argument(..., help="A provider run's version from `citebot tune list`.")) -> None:
    """Cancel a provider run's fine-tuning job and delete its uploaded files."""
    from tuning.provider_run import cancel_run

    settings, engine = settings_and_engine()
    status = cancel_run(engine, settings.tuning, settings.answering, version)
    console.print(f"cancelled {version} (the provider's job is {status}); its uploaded files were deleted",
                  highlight=False)


@app.command("list")
def list_runs(
    limit: int = typer.Option(20, "--limit", "-n", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print the runs as JSON."),
) -> None:
    """Tuning runs, newest first: status, data, losses, and which adapter is active."""
    from tuning.registry import list_runs as runs

    _, engine = settings_and_engine()
    rows = runs(engine, limit)
    if as_json:
        print_json([{"version": r.version, "status": r.status, "active": r.active, "created_at": r.created_at,
                     "train_examples": r.train_examples, "heldout_examples": r.heldout_examples,
                     "base_loss": r.base_loss, "tuned_loss": r.tuned_loss, "decision": r.decision,
                     "adapter_bytes": r.adapter_bytes, "error": r.error, "provider": r.provider,
                     "provider_job_id": r.provider_job_id, "provider_model": r.provider_model,
                     "trained_tokens": r.trained_tokens, "cost_usd": r.cost_usd} for r in rows])
        return
    if not rows:
        console.print("No tuning runs yet. Start one with `citebot tune run`.")
        return
    table = Table("version", "model", "status", "examples", "loss base → tuned", "trained tokens (cost)", "decision")
    for r in rows:
        loss = f"{r.base_loss:.3f} → {r.tuned_loss:.3f}" if r.tuned_loss is not None and r.base_loss is not None \
            else (f"valid {r.tuned_loss:.3f}" if r.tuned_loss is not None else "-")
        model = r.provider_model or (f"{r.provider}:{r.base_model}" if r.provider != "local" else "local LoRA")
        cost = f"{r.trained_tokens:,} (${r.cost_usd:.2f})" if r.provider != "local" and r.cost_usd is not None else "-"
        table.add_row(("* " if r.active else "") + r.version, escape(model), r.status,
                      f"{r.train_examples}+{r.heldout_examples}", loss, cost, escape(r.error or r.decision))
    console.print(table)


@app.command("promote")
def promote(version: str = typer.Argument(..., help="A version from `citebot tune list`.")) -> None:
    """Serve this adapter or provider model; running bots pick it up within CITEBOT_ADAPTER_POLL_SECONDS."""
    from tuning.provider_run import ensure_served_deployment
    from tuning.registry import get_run
    from tuning.registry import promote as do_promote

    settings, engine = settings_and_engine()
    ensure_served_deployment(settings.tuning, get_run(engine, version))  # an Azure model answers once deployed
    do_promote(engine, version)
    console.print(f"promoted {version}; bots switch to it within their poll interval", highlight=False)


@app.command("rollback")
def rollback() -> None:
    """Stop serving the active tuned model and return to the previously promoted one (or the base model)."""
    from tuning.provider_run import ensure_served_deployment
    from tuning.registry import rollback as do_rollback
    from tuning.registry import rollback_target

    settings, engine = settings_and_engine()
    target = rollback_target(engine)
    if target is not None:
        ensure_served_deployment(settings.tuning, target)
    previous = do_rollback(engine)
    console.print(f"rolled back; now serving {previous or 'the base model'}", highlight=False)


@app.command("embedder")
def embedder(
    out: Path = typer.Option(None, "--out", "-o", help="Folder for the adapted model (must not exist); default "
                             "CITEBOT_HOME/embedders/<base>-adapted-<time>."),
    epochs: int = typer.Option(1, "--epochs", min=1, max=20, help="Passes over the chunks (mpnet: ~25 min each "
                               "per 600 chunks on 2 CPU cores, much less on a GPU)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON object."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Adapt the embedder (CITEBOT_EMBED_MODEL, or the base of an adapted one) to the indexed chunks, without
    labelled questions: a sentence of a chunk learns to find its chunk among the others (inverse cloze task).

    Writes a new model folder and changes nothing else: point CITEBOT_EMBED_MODEL at it and run
    `citebot index --rebuild`. Measure first: `citebot eval retrieval --beir DIR --adapt` for ranking, and
    `citebot eval answers --set QUESTIONS --docs DOCS` with CITEBOT_EMBED_MODEL set to the folder, as a gain on
    the docs' own phrasing need not carry over to how people ask (README, "Retrieval quality").
    """
    from datetime import datetime

    from cli.output import stage_progress
    from core.settings import get_settings
    from indexing.adaptation import AdaptParams, adapt_embedder, indexed_chunks
    from indexing.embed_models import base_of

    settings = get_settings()
    chunks = indexed_chunks(settings.index)
    if out is None:
        name = Path(base_of(settings.embed_model)).name
        out = settings.home / "embedders" / f"{name}-adapted-{datetime.now():%Y%m%d-%H%M%S}"
    params = AdaptParams(epochs=epochs)
    if quiet or as_json:
        report = adapt_embedder(chunks, settings.index, out, params)
    else:
        with stage_progress() as progress:
            report = adapt_embedder(chunks, settings.index, out, params, progress)
    if as_json:
        print_json(report.as_dict())
        return
    console.print(f"adapted {report.base} on {report.pairs_per_epoch} sentence→chunk pairs from {report.chunks} "
                  f"chunks in {report.seconds:.0f} s ({report.steps} steps, loss {report.first_loss:.3f} → "
                  f"{report.last_loss:.3f}); model in {report.out}\nto use it: CITEBOT_EMBED_MODEL={report.out} "
                  "citebot index --rebuild", highlight=False, soft_wrap=True)
