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


@dataclass
class Sentence:
    text: str
    citations: list[int]
    support: float = 0.0


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

    def relevance_of(self, index: int) -> float | None:
        return self.relevance[index] if index < len(self.relevance) else None

    def to_json(self) -> dict:
        """The `citebot ask --json` contract (keep stable; add keys, never rename)."""
        return {
            "answer": self.answer,
            "route": self.route,
            "route_reason": self.route_reason,
            "citations": [{"n": c.n, "title": c.title, "source": c.source, "url": c.url,
                           "chunk_id": c.chunk_id, "score": c.score, "heading": c.heading} for c in self.citations],
            "sentences": [{"text": s.text, "citations": s.citations, "support": s.support} for s in self.sentences],
            "audit_id": self.audit_id,
            "model": self.model,
            "adapter_version": self.adapter_version,
            "tokens": {"prompt": self.prompt_tokens, "completion": self.completion_tokens},
            "latency_ms": {k: round(v, 1) for k, v in self.latency_ms.items()},
            "retrieved": [{"rank": p.rank, "title": p.title, "heading": p.heading, "source": p.source,
                           "score": p.score, "dense_score": p.dense_score, "relevance": self.relevance_of(i)}
                          for i, p in enumerate(self.passages)],
        }
