"""Every JSON shape of an answer, in one place: the `ask --json` contract (a live answer), `audit show`
and `audit list --json` (a logged one), and the flat row of `audit export` (CSV and JSON lines).

The shapes are public contracts: add keys, never rename. Passages, sentences and latencies are written
by one helper each, so a field means the same in every shape.
"""

from __future__ import annotations

from collections import Counter

from answering.result import AnswerResult
from core.models import Answer

EXPORT_COLUMNS = ["audit_id", "created_at", "user", "channel", "thread_ts", "question", "answer", "route",
                  "route_reason", "model", "adapter_version", "retrieve_ms", "generate_ms", "total_ms",
                  "cited_sources", "best_score", "helpful", "not_helpful", "escalated", "error"]


def _latency(retrieve: float, generate: float, total: float) -> dict:
    return {"retrieve": retrieve, "generate": generate, "total": total}


def _passage(p, relevance: float | None, **extra) -> dict:
    return {"rank": p.rank, "title": p.title, "source": p.source, "score": p.score, "dense_score": p.dense_score,
            "relevance": relevance, **extra}


def _sentence(text: str, citations: list[int], support: float, kind: str = "sentence") -> dict:
    return {"text": text, "citations": citations, "support": support, "kind": kind}


def answer_json(result: AnswerResult) -> dict:
    """The `citebot ask --json` contract (keep stable; add keys, never rename)."""
    latency = result.latency_ms
    return {
        "answer": result.answer,
        "route": result.route,
        "route_reason": result.route_reason,
        "citations": [{"n": c.n, "title": c.title, "source": c.source, "url": c.url,
                       "chunk_id": c.chunk_id, "score": c.score, "heading": c.heading, "updated_at": c.updated_at}
                      for c in result.citations],
        "sentences": [_sentence(s.text, s.citations, s.support, s.kind) for s in result.sentences],
        "uncovered": result.uncovered,
        "thresholds": result.thresholds,
        "audit_id": result.audit_id,
        "model": result.model,
        "adapter_version": result.adapter_version,
        "tokens": {"prompt": result.prompt_tokens, "completion": result.completion_tokens},
        "latency_ms": {k: round(v, 1) for k, v in latency.items()},
        "retrieved": [_passage(p, result.relevance_of(i), heading=p.heading) for i, p in enumerate(result.passages)],
    }


def answer_record(row: Answer, with_passages: bool = False) -> dict:
    """A logged answer as `audit list --json` (summary) and `audit show --json` (with passages) print it."""
    data = {"audit_id": row.id, "created_at": row.created_at.isoformat(), "user": row.user_id,
            "channel": row.channel_id, "question": row.question, "answer": row.answer, "route": row.route,
            "route_reason": row.route_reason, "model": row.model, "adapter_version": row.adapter_version,
            "latency_ms": _latency(row.retrieve_ms, row.generate_ms, row.total_ms), "error": row.error,
            "thresholds": {"answer": row.answer_threshold, "abstain": row.abstain_threshold,
                           "source": row.threshold_source} if row.threshold_source else None}
    if with_passages:
        data["passages"] = [_passage(p, p.relevance, url=p.url, chunk_id=p.chunk_id, cited=p.cited)
                            for p in row.passages]
        data["sentences"] = [_sentence(s.text, [int(n) for n in s.citations.split(",") if n], s.support)
                             for s in row.sentences]
        data["feedback"] = [{"user": f.user_id, "verdict": f.verdict, "reason": f.reason,
                             "created_at": f.created_at.isoformat()} for f in row.feedback]
    return data


def best_score(row: Answer) -> float:
    """The best relevance the router compared with its thresholds; rows written before relevance was
    recorded fall back to the retrieval similarity (the same number with the default embedder)."""
    return max((p.relevance if p.relevance is not None else p.dense_score or 0.0 for p in row.passages), default=0.0)


def export_row(row: Answer) -> dict:
    """One flat record per answer, the same for CSV and JSONL."""
    verdicts = Counter(f.verdict for f in row.feedback)
    return {"audit_id": row.id, "created_at": row.created_at.isoformat(), "user": row.user_id,
            "channel": row.channel_id, "thread_ts": row.thread_ts, "question": row.question, "answer": row.answer,
            "route": row.route, "route_reason": row.route_reason, "model": row.model,
            "adapter_version": row.adapter_version, "retrieve_ms": row.retrieve_ms, "generate_ms": row.generate_ms,
            "total_ms": row.total_ms, "cited_sources": " | ".join(p.url or p.source for p in row.passages if p.cited),
            "best_score": best_score(row),
            "helpful": verdicts["helpful"], "not_helpful": verdicts["not_helpful"],
            "escalated": verdicts["escalated"], "error": row.error}
