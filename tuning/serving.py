"""The escalation model as the bot serves it: the base small model plus the promoted LoRA adapter.

The adapter is swapped in place when another one is promoted or rolled back: every
CITEBOT_ADAPTER_POLL_SECONDS the registry is asked which version is active, and a change loads the
new adapter next to the old one, switches, then drops the old one. Loading a LoRA adapter of a 135M
model takes well under a second, so there is no restart and no gap in service. Generation and
swapping share one lock, so a reply is never written by half an adapter.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from core.errors import CitebotError
from core.settings import TuningSettings
from tuning import registry
from tuning.base_model import base_model_id, fresh_base_model
from tuning.generation import stream_text
from tuning.run import adapter_meta

log = logging.getLogger("citebot.tuning")


class EscalationModel:
    """Duck-types the bot's generator interface (`name`, `stream`, `complete`)."""

    def __init__(self, engine: Engine, settings: TuningSettings, model_cache: Path, poll_seconds: float):
        """`poll_seconds`: how often the adapter registry is read (CITEBOT_ADAPTER_POLL_SECONDS)."""
        self.engine, self.poll_seconds = engine, poll_seconds
        self.base_id = base_model_id(settings.tune_base_model)
        self.base, self.tokenizer = fresh_base_model(model_cache, base=settings.tune_base_model)
        self.model = self.base  # becomes a PeftModel with the first adapter
        self.version: str | None = None  # the adapter in use; None = the base model
        self._loaded: str | None = None  # the adapter whose weights are in memory
        self.meta: dict = {}
        self.last_swap_seconds = 0.0
        self._checked = float("-inf")
        self._lock = threading.Lock()
        self.refresh(force=True)

    @property
    def name(self) -> str:
        return f"local:{self.base_id}" + (f"+lora:{self.version}" if self.version else "")

    def refresh(self, force: bool = False) -> bool:
        """Follow the registry; True when the served adapter changed."""
        now = time.monotonic()
        if not force and now - self._checked < self.poll_seconds:
            return False
        self._checked = now
        try:
            active = registry.active_adapter(self.engine)
        except SQLAlchemyError as exc:  # database down: keep serving what we have, ask again next poll
            log.warning("cannot read the adapter registry (%s); keeping %s", type(exc).__name__,
                        self.version or "the base model")
            return False
        if (active.version if active else None) == self.version:
            return False
        with self._lock:
            started = time.perf_counter()
            try:
                self._swap(active)
            except Exception:  # a missing or corrupt adapter folder must not take escalations down
                log.exception("could not load adapter %s; keeping %s", active.version if active else None,
                              self.version or "the base model")
                return False
            self.last_swap_seconds = time.perf_counter() - started
        return True

    def _swap(self, active: registry.ActiveAdapter | None) -> None:
        """Load the new adapter beside the old one, switch, then free the old one.

        Rolling back to the base model keeps the last adapter loaded but disabled, so promoting it
        again is instant.
        """
        from peft import PeftModel

        meta = adapter_meta(active.path) if active else {}
        trained_on = meta.get("base_model", self.base_id)
        if trained_on != self.base_id:  # LoRA weights only fit the model they were trained on
            raise CitebotError(f"adapter {active.version} was trained on {trained_on}, but this bot serves "
                               f"{self.base_id} (CITEBOT_TUNE_BASE_MODEL)")
        if active is not None and active.version != self._loaded:
            if self.model is self.base:
                self.model = PeftModel.from_pretrained(self.base, str(active.path), adapter_name=active.version)
            else:
                self.model.load_adapter(str(active.path), adapter_name=active.version)
                self.model.set_adapter(active.version)
                self.model.delete_adapter(self._loaded)
            self.model.eval()
            self._loaded = active.version
        elif active is not None:
            self.model.set_adapter(active.version)
        self.version = active.version if active else None
        self.meta = meta

    def stream(self, messages: list[dict[str, str]], max_tokens: int = 90,
               usage: dict[str, int] | None = None) -> Iterator[str]:
        self.refresh()
        with self._lock:
            disabled = self.version is None and self.model is not self.base
            with self.model.disable_adapter() if disabled else nullcontext():
                yield from stream_text(self.model, self.tokenizer, messages, max_tokens, usage)

    def complete(self, messages: list[dict[str, str]], max_tokens: int = 90,
                 usage: dict[str, int] | None = None) -> str:
        return "".join(self.stream(messages, max_tokens, usage)).strip()
