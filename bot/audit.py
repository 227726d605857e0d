"""Writing and reading the audit log: one row per answer, one per retrieved passage."""

from __future__ import annotations

from sqlalchemy import Engine, select
from sqlalchemy.orm import selectinload

from bot.answering.result import AnswerResult
from core.db import session_scope
from core.errors import NotFoundError
from core.models import Answer, Feedback, RetrievedPassage


def record_answer(engine: Engine, result: AnswerResult, user: str | None, channel: str | None,
                  thread_ts: str | None = None) -> str:
    """Persist an answer with its passages; returns the audit id (also set on `result`)."""
    cited_chunks = {c.chunk_id for c in result.citations}
    row = Answer(
        user_id=user, channel_id=channel, thread_ts=thread_ts, question=result.question,
        answer=result.answer, route=result.route, route_reason=result.route_reason, model=result.model,
        retrieve_ms=result.latency_ms.get("retrieve", 0.0), generate_ms=result.latency_ms.get("generate", 0.0),
        total_ms=result.latency_ms.get("total", 0.0), error=result.error,
        passages=[RetrievedPassage(rank=p.rank, score=p.score, dense_score=p.dense_score, chunk_id=p.chunk_id,
                                   source=p.source, title=p.title, url=p.url, cited=p.chunk_id in cited_chunks)
                  for p in result.passages],
    )
    with session_scope(engine) as session:
        session.add(row)
        session.flush()
        result.audit_id = row.id
    return result.audit_id


def recent_answers(engine: Engine, limit: int = 20, route: str | None = None) -> list[Answer]:
    query = select(Answer).options(selectinload(Answer.passages)).order_by(Answer.created_at.desc()).limit(limit)
    if route:
        query = query.where(Answer.route == route)
    with session_scope(engine) as session:
        return list(session.scalars(query))


def get_answer(engine: Engine, audit_id: str) -> Answer:
    with session_scope(engine) as session:
        row = session.scalars(select(Answer).options(selectinload(Answer.passages))
                              .where(Answer.id == audit_id)).first()
    if row is None:
        raise NotFoundError(f"No answer with audit id {audit_id!r}. See `citebot audit list`.")
    return row


def record_feedback(engine: Engine, audit_id: str, user: str | None, verdict: str,
                    reason: str | None = None) -> None:
    """Attach a verdict to an answer; an unknown audit id is a NotFoundError, not a silent drop."""
    with session_scope(engine) as session:
        if session.get(Answer, audit_id) is None:
            raise NotFoundError(f"No answer with audit id {audit_id!r}.")
        session.add(Feedback(answer_id=audit_id, user_id=user, verdict=verdict, reason=reason))
