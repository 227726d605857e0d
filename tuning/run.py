"""`citebot tune run`: new resolved threads → dataset → train → evaluate → promote or keep.

Safe to run from cron: it trains only when threads were resolved since the last run (or `force`),
refuses to train on too little data, resumes a run that crashed on the same dataset, and promotes an
adapter only when it beats the one being served (or the base model) on the same held-out threads.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import Engine

from core.errors import CitebotError
from core.settings import SlackSettings, StorageSettings, TuningSettings
from tuning import registry
from tuning.base_model import base_model_id
from tuning.dataset import Dataset, build_dataset, group_references
from tuning.evaluate import Evaluation, behaviour_checker, evaluate, promotion_decision
from tuning.threads import ThreadLoad, from_audit, from_export, from_slack_api
from tuning.train import CHECKPOINT, ProgressFn, TrainConfig, adapter_bytes, train_adapter

ADAPTER_META = "citebot.json"


class NotEnoughData(CitebotError):
    """Too few examples to learn anything; training would only overfit a handful of threads."""


@dataclass
class RunReport:
    status: str  # promoted | kept | nothing_new
    version: str | None = None
    decision: str = ""
    dataset: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    evaluation: dict = field(default_factory=dict)


def train_config(settings: TuningSettings, max_minutes: float | None = None) -> TrainConfig:
    return TrainConfig(rank=settings.tune_rank, alpha=settings.tune_alpha, lr=settings.tune_lr,
                       epochs=settings.tune_epochs, batch_size=settings.tune_batch_size,
                       grad_accum=settings.tune_grad_accum, max_tokens=settings.tune_max_tokens,
                       seed=settings.tune_seed, max_minutes=max_minutes, base_model=settings.tune_base_model,
                       dtype=settings.tune_dtype)


def collect_threads(engine: Engine, settings: TuningSettings, slack: SlackSettings, exports: list[Path] | None = None,
                    channels: list[str] | None = None) -> ThreadLoad:
    """Threads marked resolved in Slack (audit log), every configured or given export folder, and the
    resolved threads of `channels` read through the Web API."""
    load = from_audit(engine)
    for folder in [*settings.tune_export_paths, *(exports or [])]:
        load.extend(from_export(folder, slack.resolved_reaction))
    if channels:
        from core.slack_web import web_client

        if not slack.slack_bot_token:
            raise CitebotError("Reading threads from Slack needs SLACK_BOT_TOKEN (scopes channels:history, "
                               "groups:history).")
        client = web_client(slack.slack_bot_token, slack.slack_api_url)
        load.extend(from_slack_api(client, channels, slack.resolved_reaction))
    return load


def make_dataset(load: ThreadLoad, settings: TuningSettings) -> Dataset:
    dataset = build_dataset(load, settings.tune_heldout_fraction, settings.tune_scrub_names)
    stats = dataset.stats
    if stats.train < settings.tune_min_examples or not stats.heldout:
        raise NotEnoughData(
            f"Only {stats.train} training and {stats.heldout} held-out examples from {stats.threads_in} threads "
            f"({stats.unresolved_skipped} not marked resolved, {stats.bot_only} with only bot messages); "
            f"at least {settings.tune_min_examples} training examples are needed "
            "(CITEBOT_TUNE_MIN_EXAMPLES). Mark more threads resolved with the ✅ reaction or add a Slack export.")
    return dataset


def adapter_meta(path: Path) -> dict:
    file = Path(path) / ADAPTER_META
    return json.loads(file.read_text()) if file.exists() else {}


def known_handles(dataset: Dataset) -> set[str]:
    return set(dataset.stats.groups)


def evaluate_adapter(adapter_dir: Path, dataset: Dataset, settings: TuningSettings, model_cache: Path,
                     incumbent: registry.ActiveAdapter | None = None) -> dict[str, Evaluation]:
    """{"base": …, "tuned": …[, "incumbent": …]} on the same held-out examples."""
    from peft import PeftModel

    from tuning.base_model import default_device, fresh_base_model

    base, tokenizer = fresh_base_model(model_cache, default_device(), settings.tune_base_model, settings.tune_dtype)
    model = PeftModel.from_pretrained(base, str(adapter_dir), adapter_name="candidate")
    handles, held, n = known_handles(dataset), dataset.heldout, settings.tune_eval_samples
    results = {"base": evaluate(model, tokenizer, held, handles, settings.tune_max_tokens, n, adapter=False)[0],
               "tuned": evaluate(model, tokenizer, held, handles, settings.tune_max_tokens, n)[0]}
    if incumbent is not None:
        model.load_adapter(str(incumbent.path), adapter_name="incumbent")
        model.set_adapter("incumbent")
        results["incumbent"] = evaluate(model, tokenizer, held, handles, settings.tune_max_tokens, n)[0]
    return results


def _resumable_version(engine: Engine, dataset_hash: str, adapters: Path) -> str | None:
    """A run on this very dataset that crashed or was killed, with its checkpoint still on disk."""
    row = registry.unfinished_run(engine, dataset_hash, "local")
    return row.version if row and (adapters / row.version / CHECKPOINT / "state.pt").exists() else None


def newest_thread(load: ThreadLoad) -> float:
    return max((t.last_ts for t in load.threads), default=0.0)


def nothing_new(engine: Engine, load: ThreadLoad, dataset: Dataset, force: bool) -> RunReport | None:
    """The report of a run that has nothing to learn: no thread was resolved since the last one."""
    previous = registry.last_run(engine)
    if previous and newest_thread(load) <= previous.newest_thread_ts and not force:
        return RunReport("nothing_new", previous.version,
                         f"no thread was resolved since run {previous.version}; nothing to learn (use --force)",
                         dataset=asdict(dataset.stats))
    return None


def new_version(engine: Engine, dataset: Dataset) -> str:
    """Time and dataset; a second run on the same data within the same second gets a "-2"."""
    base = f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{dataset.stats.dataset_hash[:6]}"
    taken = {run.version for run in registry.list_runs(engine, limit=50)}
    return next(v for v in (base, *(f"{base}-{n}" for n in range(2, 100))) if v not in taken)


def run_tuning(engine: Engine, storage: StorageSettings, settings: TuningSettings, load: ThreadLoad,
               triggered_by: str = "cli",
               force: bool = False, max_minutes: float | None = None,
               progress: ProgressFn | None = None) -> RunReport:
    dataset = make_dataset(load, settings)
    skipped = nothing_new(engine, load, dataset, force)
    if skipped:
        return skipped
    cfg = train_config(settings, max_minutes)
    adapters = storage.adapters_dir
    version = _resumable_version(engine, dataset.stats.dataset_hash, adapters)
    if version is None:
        version = new_version(engine, dataset)
        registry.start_run(engine, version, triggered_by, dataset.stats.dataset_hash, base_model_id(cfg.base_model),
                           asdict(cfg), dataset.stats.train, dataset.stats.heldout, newest_thread(load),
                           threads=dataset.threads, users=dataset.users)
    else:
        registry.finish_run(engine, version, status="running", error=None)
    out = adapters / version
    out.mkdir(parents=True, exist_ok=True)
    try:
        # A budgeted run is checked for behaviour as it trains (held-out threads the final evaluation
        # does not use, then training threads), so the adapter kept is one that does not invent handles.
        checker = (behaviour_checker(dataset.heldout[settings.tune_eval_samples:] + dataset.train[::-1],
                                     known_handles(dataset)) if max_minutes else None)
        trained = train_adapter(dataset.train, out, storage.model_cache_dir, cfg, dataset.stats.dataset_hash,
                                progress=progress, checker=checker)
        incumbent = registry.active_adapter(engine)
        results = evaluate_adapter(out, dataset, settings, storage.model_cache_dir, incumbent)
    except BaseException as exc:  # KeyboardInterrupt too: the row must not stay "running" forever
        registry.finish_run(engine, version, status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    promote, decision = promotion_decision(results["tuned"], results.get("incumbent", results["base"]))
    evaluation = {name: result.to_json() for name, result in results.items()}
    write_meta(out, version, dataset, evaluation, base_model=base_model_id(cfg.base_model), config=asdict(cfg),
               training={k: v for k, v in asdict(trained).items() if k != "losses"})
    registry.finish_run(engine, version, status="kept", decision=decision, losses_json=trained.losses,
                        base_loss=results["base"].loss, tuned_loss=results["tuned"].loss,
                        evaluation_json=evaluation, adapter_path=str(out), adapter_bytes=adapter_bytes(out),
                        train_seconds=trained.seconds, tokens_per_s=trained.tokens_per_s)
    if promote:
        registry.promote(engine, version)
    return RunReport("promoted" if promote else "kept", version, decision, asdict(dataset.stats),
                     asdict(trained), evaluation)


def write_meta(folder: Path, version: str, dataset: Dataset, evaluation: dict, **about) -> None:
    """Everything needed to trust and reproduce a tuned model, next to its weights (or, for a provider
    model, where an adapter's would be): what it was trained on, how it scored, and the team's groups and
    words, which the escalation guard lets it use; `about` adds what is particular to the kind of run."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / ADAPTER_META).write_text(json.dumps({
        "version": version, **about, "dataset_hash": dataset.stats.dataset_hash,
        "train_examples": dataset.stats.train, "heldout_examples": dataset.stats.heldout,
        "evaluation": evaluation, "groups": sorted(dataset.stats.groups), "vocabulary": dataset.vocabulary,
        "group_references": group_references(dataset.train),
    }, indent=2))

