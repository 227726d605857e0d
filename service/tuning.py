"""One entry to a tuning run, local or at the provider: what `citebot tune run` and the queued
`/citebot tune run` job both call, so the two never differ in how a run is wired."""

from __future__ import annotations

from sqlalchemy import Engine

from core.settings import Settings
from service.escalation import ServedEscalation, provider_chat
from tuning import registry
from tuning.provider import EventFn
from tuning.run import RunReport, run_tuning
from tuning.threads import ThreadLoad
from tuning.train import ProgressFn


def served_tuned_model(settings: Settings, engine: Engine) -> ServedEscalation | None:
    """The model being served when a tuned one is (local adapter or provider model), for comparisons;
    None (and nothing loaded) when the base model is served."""
    return ServedEscalation(settings, engine) if registry.serving(engine) is not None else None


def tune(settings: Settings, engine: Engine, threads: ThreadLoad, triggered_by: str, force: bool = False,
         max_minutes: float | None = None, consent: bool = False, progress: ProgressFn | None = None,
         on_event: EventFn | None = None) -> RunReport:
    """CITEBOT_TUNE_PROVIDER decides: local LoRA (`progress` gets the steps) or the provider's fine-tuning
    job (`on_event` gets its events; uploading needs `consent` or CITEBOT_TUNE_PROVIDER_CONSENT)."""
    if settings.tune_provider == "local":
        return run_tuning(engine, settings.storage, settings.tuning, threads, triggered_by, force, max_minutes,
                          progress)
    from tuning.provider_run import run_provider_tuning

    return run_provider_tuning(engine, settings.storage, settings.tuning, settings.answering, threads,
                               provider_chat(settings, settings.tune_provider),
                               lambda: served_tuned_model(settings, engine), triggered_by, force, consent, on_event)
