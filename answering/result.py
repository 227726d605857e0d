"""The answer as everything downstream sees it: CLI `--json`, Slack blocks and the audit log."""

from __future__ import annotations

from dataclasses import dataclass, field

from indexing.retrieval import Passage


@dataclass
class Citation:
    n: int
    title: str
    source: str
    url: str | None
    chunk_id: str
    score: float
    heading: str = ""
    updated_at: str | None = None  # ISO 8601: when the cited document last changed


@dataclass
class Sentence:
    """A sentence of a generated answer, or a whole quoted unit (Markdown) of an extractive one."""

    text: str
    citations: list[int]
    support: float = 0.0
    kind: str = "sentence"  # sentence, paragraph, list, code, table, quote


@dataclass
class AnswerResult:
    question: str
    answer: str
    route: str
    route_reason: str
    model: str
    citations: list[Citation] = field(default_factory=list)
    sentences: list[Sentence] = field(default_factory=list)
    passages: list[Passage] = field(default_factory=list)
    relevance: list[float] = field(default_factory=list)  # the router's score of each passage (MiniLM similarity)
    latency_ms: dict[str, float] = field(default_factory=dict)
    audit_id: str = ""
    error: str | None = None
    adapter_version: str | None = None  # the LoRA adapter that wrote an escalation reply
    workspace: str | None = None  # Slack team id
    prompt_tokens: int | None = None  # model tokens in and out; None when no model wrote anything
    completion_tokens: int | None = None
    escalated_to: str | None = None  # who an escalation loops in (CITEBOT_ESCALATION_CONTACT or the channel's)
    uncovered: list[str] = field(default_factory=list)  # parts of the question the quoted docs do not answer
    thresholds: dict | None = None  # what the router compared: {"answer", "abstain", "source"}

    def relevance_of(self, index: int) -> float | None:
        return self.relevance[index] if index < len(self.relevance) else None
