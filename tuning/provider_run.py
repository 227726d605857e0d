"""`citebot tune run --provider openai|azure`: the same dataset, trained at the provider, kept in the same
registry.

The sequence is the local run's (dataset → train → evaluate → promote or keep) with what a paid, remote
job needs on top: consent before anything leaves the machine (`--yes` or CITEBOT_TUNE_PROVIDER_CONSENT),
a dry run that shows what would be sent and what it costs, the job id kept in the registry so that a
crashed run re-attaches to its job instead of paying for a second one, and the uploaded files deleted
when the job ends. Providers report no held-out loss, so the promotion rests on the behaviour checks and
the tone metric on the held-out threads, with replies written through the same chat interface the bot
serves escalations with (`chat(model)`, given by the caller: answering's LlamaIndex LLMs).

On Azure OpenAI a tuned model answers only once deployed: the candidate is deployed (`tuning.
azure_deployments`) before it is evaluated, `chat` is given deployment names (the base model's is
CITEBOT_TUNE_AZURE_BASE_DEPLOYMENT), and a candidate that is not promoted is undeployed again, since
deployments of tuned models are billed by the hour.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from sqlalchemy.engine import Engine

from core.errors import CitebotError
from core.models import TuningRun
from core.settings import AnsweringSettings, StorageSettings, TuningSettings
from tuning import registry
from tuning.azure_deployments import Deployments, deployment_name
from tuning.dataset import Dataset
from tuning.evaluate import Behaviour, Completer, behaviour, behaviour_decision, replies_of
from tuning.provider import Estimate, EventFn, FineTuning, JobOutcome, client, estimate, write_files
from tuning.run import RunReport, known_handles, make_dataset, new_version, newest_thread, nothing_new, write_meta
from tuning.threads import ThreadLoad

Chat = Callable[[str], Completer]  # model id (Azure: deployment name) → something that writes replies with it
SUFFIX = "citebot-escalation"
log = logging.getLogger("citebot.tuning")


def consent_error(provider: str) -> CitebotError:
    return CitebotError(f"Fine-tuning at {provider} uploads the resolved threads (scrubbed) to {provider}: pass "
                        "--yes or set CITEBOT_TUNE_PROVIDER_CONSENT=true. `--dry-run` writes the files and shows "
                        "the cost without uploading.")


def dry_run(dataset: Dataset, settings: TuningSettings, out: Path) -> tuple[Estimate, RunReport]:
    """Write the JSONL that would be uploaded and estimate the training; nothing leaves the machine."""
    guess = estimate(dataset, settings)
    guess.files = [str(path) for path in write_files(dataset, out)]
    decision = (f"dry run: {guess.examples} training and {guess.validation_examples} validation examples, about "
                f"{guess.trained_tokens:,} trained tokens ({guess.epochs} epochs of {guess.tokens_per_epoch:,}), "
                f"about ${guess.cost_usd:.2f} at ${settings.tune_provider_price_per_mtok}/M tokens on "
                f"{guess.model}; files in {out}")
    return guess, RunReport("dry_run", None, decision, asdict(dataset.stats), {"estimate": asdict(guess)})


def _attach_or_start(engine: Engine, storage: StorageSettings, settings: TuningSettings, api: FineTuning,
                     dataset: Dataset, load: ThreadLoad, triggered_by: str, guess: Estimate) -> TuningRun:
    """The run whose job we follow: an unfinished one on this dataset whose job is still alive (or finished
    at the provider while we were gone), else a new one with its files uploaded and its job created."""
    provider = settings.tune_provider
    row = registry.unfinished_run(engine, dataset.stats.dataset_hash, provider)
    if row is not None and row.provider_job_id:
        if api.status(row.provider_job_id) not in ("failed", "cancelled"):
            registry.update_run(engine, row.version, status="running", error=None)
            return registry.get_run(engine, row.version)
        left = api.delete_files(json.loads(row.provider_files_json or "[]"))  # the failed job's files
        registry.finish_run(engine, row.version, provider_files_json=left)
        row = None
    if row is None:
        version = new_version(engine, dataset)
        registry.start_run(engine, version, triggered_by, dataset.stats.dataset_hash, settings.tune_provider_model,
                           {"epochs": guess.epochs, "seed": settings.tune_seed}, dataset.stats.train,
                           dataset.stats.heldout, newest_thread(load), provider=provider, threads=dataset.threads,
                           users=dataset.users)
        row = registry.get_run(engine, version)
    files = json.loads(row.provider_files_json or "[]")
    if len(files) != 2:  # a run that crashed before both files were up uploads them again
        train, validation = write_files(dataset, storage.home / "tuning" / row.version)
        files = [api.upload(train), api.upload(validation)]
        registry.update_run(engine, row.version, provider_files_json=files)
    job_id = api.create_job(settings.tune_provider_model, files[0], files[1], guess.epochs, settings.tune_seed,
                            SUFFIX)
    registry.update_run(engine, row.version, provider_job_id=job_id, cost_usd=guess.cost_usd)
    return registry.get_run(engine, row.version)


def evaluate_models(chat: Chat, dataset: Dataset, settings: TuningSettings, base: str, candidate: str,
                    served: Completer | None) -> dict[str, Behaviour]:
    """Base, candidate (and the served model) on the same held-out threads, through the serving interface."""
    picked, handles = dataset.heldout[:settings.tune_eval_samples], known_handles(dataset)
    models = {"base": chat(base), "tuned": chat(candidate)}
    if served is not None:
        models["incumbent"] = served
    return {name: behaviour(picked, replies_of(model, picked), handles) for name, model in models.items()}


def _evaluation_json(results: dict[str, Behaviour], outcome: JobOutcome) -> dict:
    """Shaped like the local runs' table; the provider's validation loss stands in for the tuned model's."""
    return {name: {"loss": outcome.valid_loss if name == "tuned" else None, "perplexity": None,
                   "behaviour": asdict(result)} for name, result in results.items()}


def run_provider_tuning(engine: Engine, storage: StorageSettings, settings: TuningSettings,
                        answering: AnsweringSettings, load: ThreadLoad, chat: Chat,
                        served: Callable[[], Completer | None], triggered_by: str = "cli", force: bool = False,
                        consent: bool = False, on_event: EventFn | None = None) -> RunReport:
    """Train at CITEBOT_TUNE_PROVIDER, evaluate, and promote or keep; `served()` gives the model being served
    when a tuned one is (local adapter or provider model), for the comparison. The provider's API key and
    address are the answering backend's (`answering`)."""
    provider = settings.tune_provider
    dataset = make_dataset(load, settings)
    skipped = nothing_new(engine, load, dataset, force)
    if skipped:
        return skipped
    if not (consent or settings.tune_provider_consent):
        raise consent_error(provider)
    deployments = _azure_deployments(settings) if provider == "azure" else None  # checked before paying
    guess = estimate(dataset, settings)
    api = FineTuning(client(answering, provider), settings.tune_provider_poll_seconds, provider)
    row = _attach_or_start(engine, storage, settings, api, dataset, load, triggered_by, guess)
    try:
        outcome = api.follow(row.provider_job_id, on_event)
    except BaseException as exc:  # the job goes on at the provider: the next run re-attaches to it
        registry.finish_run(engine, row.version, status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    left = api.delete_files(json.loads(row.provider_files_json or "[]"))
    cost = round(outcome.trained_tokens / 1e6 * settings.tune_provider_price_per_mtok, 4) if outcome.trained_tokens \
        else guess.cost_usd
    training = {"job_id": outcome.job_id, "status": outcome.status, "model": outcome.model,
                "trained_tokens": outcome.trained_tokens, "cost_usd": cost, "losses": outcome.train_losses,
                "valid_loss": outcome.valid_loss, "seconds": round(outcome.seconds, 1)}
    registry.update_run(engine, row.version, provider_files_json=left, losses_json=outcome.train_losses,
                        trained_tokens=outcome.trained_tokens, cost_usd=cost, train_seconds=outcome.seconds,
                        provider_model=outcome.model)
    if outcome.status != "succeeded":
        status = "cancelled" if outcome.status == "cancelled" else "failed"
        error = f"the {provider} job {outcome.job_id} {outcome.status}" + (f": {outcome.error}" if outcome.error else "")
        registry.finish_run(engine, row.version, status=status, error=error)
        return RunReport(status, row.version, error, asdict(dataset.stats), training)
    base, candidate = settings.tune_provider_model, outcome.model
    if deployments is not None:
        base, candidate = settings.tune_azure_base_deployment, deployment_name(row.version)
    try:
        if deployments is not None:
            deployments.deploy(candidate, outcome.model)
        results = evaluate_models(chat, dataset, settings, base, candidate, served())
    except BaseException as exc:
        registry.finish_run(engine, row.version, status="failed", error=f"evaluation: {type(exc).__name__}: {exc}")
        _undeploy(deployments, candidate)
        raise
    promote, decision = behaviour_decision(results["tuned"], results.get("incumbent", results["base"]))
    evaluation = _evaluation_json(results, outcome)
    write_meta(storage.adapters_dir / row.version, row.version, dataset, evaluation, provider_model=outcome.model,
               job_id=outcome.job_id)
    registry.finish_run(engine, row.version, status="kept", decision=decision, evaluation_json=evaluation,
                        tuned_loss=outcome.valid_loss)
    if promote:
        registry.promote(engine, row.version)
    else:
        _undeploy(deployments, candidate)
    return RunReport("promoted" if promote else "kept", row.version, decision, asdict(dataset.stats), training,
                     evaluation)


def _azure_deployments(settings: TuningSettings) -> Deployments:
    if not settings.tune_azure_base_deployment:
        raise CitebotError("Fine-tuning at azure needs CITEBOT_TUNE_AZURE_BASE_DEPLOYMENT: the deployment of "
                           f"{settings.tune_provider_model} the tuned model is compared with.")
    return Deployments(settings, settings.tune_provider_poll_seconds)


def _undeploy(deployments: Deployments | None, name: str) -> None:
    """A candidate that will not serve stops being billed; failing that, the log says what to delete."""
    if deployments is None:
        return
    try:
        deployments.delete(name)
    except CitebotError as exc:
        log.warning("could not delete Azure deployment %s (delete it in the portal): %s", name, exc)


def ensure_served_deployment(settings: TuningSettings, row: TuningRun) -> None:
    """Before an Azure run is promoted (again) or rolled back to: its deployment exists and serves."""
    if row.provider == "azure" and row.provider_model:
        Deployments(settings, settings.tune_provider_poll_seconds).ensure(deployment_name(row.version),
                                                                           row.provider_model)


def cancel_run(engine: Engine, settings: TuningSettings, answering: AnsweringSettings, version: str) -> str:
    """Cancel a provider run's job and delete its files; the run is recorded as cancelled."""
    row = registry.get_run(engine, version)
    if row.provider == "local":
        raise CitebotError(f"Run {version} trains locally: stop it with Ctrl-C (or stop its worker); a crashed "
                           "local run resumes from its checkpoint.")
    if not row.provider_job_id or row.status not in ("running", "failed"):
        raise CitebotError(f"Run {version} has no job to cancel (status {row.status}).")
    api = FineTuning(client(answering, row.provider), settings.tune_provider_poll_seconds, row.provider)
    status = api.cancel(row.provider_job_id)
    left = api.delete_files(json.loads(row.provider_files_json or "[]"))
    registry.finish_run(engine, version, status="cancelled", provider_files_json=left,
                        error=f"cancelled; the {row.provider} job {row.provider_job_id} is {status}")
    return status
