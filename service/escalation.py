"""The escalation model the bot serves: whatever the registry says is promoted, followed by polling.

Exactly one tuned escalation model is served at a time, a local LoRA adapter or a model fine-tuned at a
provider. Every CITEBOT_ADAPTER_POLL_SECONDS the registry is asked which; a promotion or rollback in
any process reaches every running bot without a restart. With nothing promoted (or a local adapter), the
configured CITEBOT_ESCALATION_LLM writes the replies as before: the local model, which hot-swaps local
adapters itself, or an OpenAI-compatible server serving the adapter.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from answering.llm import Generator, Message, Usage, azure_deployment, llamaindex_llm
from core.settings import Settings
from tuning import registry
from tuning.azure_deployments import deployment_name
from tuning.run import adapter_meta

log = logging.getLogger("citebot.escalation")


def provider_chat(settings: Settings, provider: str) -> Callable[[str], Generator]:
    """model id → that OpenAI model through LlamaIndex, with the bot's key, endpoint, timeout and retries;
    on Azure, deployment name → that deployment of the resource at AZURE_OPENAI_ENDPOINT."""
    if provider == "azure":
        return lambda deployment: azure_deployment(settings.answering, deployment, settings.tune_provider_model)
    return lambda model: llamaindex_llm(settings.answering, "openai", model)


def _served_provider_model(settings: Settings, served: registry.ServedModel) -> Generator:
    """The promoted provider model; on Azure its deployment (named after the run), labelled with the model id."""
    if served.provider == "azure":
        return azure_deployment(settings.answering, deployment_name(served.version), settings.tune_provider_model,
                                name=f"azure:{served.model}")
    return provider_chat(settings, served.provider)(served.model)


def configured_model(settings: Settings, engine: Engine) -> Generator:
    """CITEBOT_ESCALATION_LLM: the local model with the promoted adapter (hot-swapped from the registry
    in the audit database), or that adapter served by an OpenAI-compatible server such as vLLM (any
    backend CITEBOT_LLM accepts, under the model name CITEBOT_ESCALATION_MODEL)."""
    if settings.escalation_llm != "local":
        return llamaindex_llm(settings.answering, settings.escalation_llm, settings.escalation_model)
    from tuning.serving import EscalationModel

    return EscalationModel(engine, settings.tuning, settings.model_cache_dir, settings.adapter_poll_seconds)


class ServedEscalation:
    """The Generator answering uses for escalations: the promoted provider model when there is one, else
    the configured model (made on first use, so a team serving a provider model never loads the local one)."""

    def __init__(self, settings: Settings, engine: Engine):
        self.settings, self.engine = settings, engine
        self._configured: Generator | None = None
        self._provider: tuple[str, Generator] | None = None  # (model id, its generator)
        self._served: registry.ServedModel | None = None
        self._checked = float("-inf")
        self._lock = threading.Lock()

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < self.settings.adapter_poll_seconds:
            return
        self._checked = now
        try:
            self._served = registry.serving(self.engine)
        except SQLAlchemyError as exc:  # database down: keep serving what we have, ask again next poll
            log.warning("cannot read the model registry (%s); keeping the model served so far", type(exc).__name__)

    def current(self) -> Generator:
        with self._lock:
            self._refresh()
            served = self._served
            if served is not None and served.provider != "local" and served.model:
                if self._provider is None or self._provider[0] != served.model:
                    self._provider = (served.model, _served_provider_model(self.settings, served))
                return self._provider[1]
            if self._configured is None:
                self._configured = configured_model(self.settings, self.engine)
            return self._configured

    @property
    def name(self) -> str:
        return self.current().name

    @property
    def meta(self) -> dict:
        """The served model's citebot.json (the team's words and groups the escalation guard allows)."""
        model = self.current()
        if model is self._configured:
            return getattr(model, "meta", {}) or {}
        return adapter_meta(self.settings.adapters_dir / self._served.version)

    @property
    def version(self) -> str | None:
        """The registry version being served (a provider run's or an adapter's); None: the base model."""
        model = self.current()
        return self._served.version if model is not self._configured else getattr(model, "version", None)

    def stream(self, messages: list[Message], max_tokens: int = 90, usage: Usage | None = None) -> Iterator[str]:
        yield from self.current().stream(messages, max_tokens, usage)

    def complete(self, messages: list[Message], max_tokens: int = 90, usage: Usage | None = None) -> str:
        return self.current().complete(messages, max_tokens, usage)
