"""The answer service: answer (pure `answering`), then the audit row, then metrics and a log line.

The CLI, the Slack app, `ask --batch` and `eval answers` all call `AnswerService.ask`, so every answer
anyone sees is audited the same way and no entry point re-implements the sequence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from answering.llm import Generator
from answering.pipeline import Answerer
from answering.result import AnswerResult
from audit.log import open_audit, record_answer
from core.settings import Settings
from indexing.retrieval import HybridRetriever, Passage
from ops.metrics import observe_answer
from service.escalation import ServedEscalation

log = logging.getLogger("citebot.answers")


class AnswerService:
    """Long-lived, like the answerer it wraps; a database that is down means rows wait in the spool."""

    def __init__(self, settings: Settings, generator: Generator | None = None, escalation: Generator | None = None):
        self.settings = settings
        self.engine, self.spool = open_audit(settings.storage)
        self.answerer = Answerer(settings.index, settings.answering, generator=generator,
                                 escalation=escalation or (lambda: ServedEscalation(settings, self.engine)))

    @property
    def retriever(self) -> HybridRetriever:
        return self.answerer.retriever

    @property
    def escalation_generator(self) -> Generator:
        return self.answerer.escalation_generator

    def warm_up(self) -> None:
        self.answerer.warm_up()

    def ask(self, question: str, user: str | None = None, channel: str | None = None,
            thread_ts: str | None = None, context: str | None = None,
            allowed: Callable[[Passage], bool] | None = None, unhappy: bool = False,
            contact: str | None = None, workspace: str | None = None,
            on_text: Callable[[str], None] | None = None) -> AnswerResult:
        """Answer and audit one question; `user`, `channel`, `thread_ts` and `workspace` (the Slack team
        id, for multi-workspace installs) are only recorded. See `Answerer.answer` for the rest."""
        result = self.answerer.answer(question, context=context, allowed=allowed, unhappy=unhappy, contact=contact,
                                      on_text=on_text)
        result.workspace = workspace
        record_answer(self.engine, result, user, channel, thread_ts, self.spool, self.settings.redact_emails,
                      escalated_to=result.escalated_to)
        observe_answer(result.route, result.latency_ms)
        log.info("answered %s in %.0f ms", result.route, result.latency_ms["total"],
                 extra={"audit_id": result.audit_id, "route": result.route, "channel": channel,
                        "stage_ms": {k: round(v, 1) for k, v in result.latency_ms.items()}})
        return result
