"""Writing and reading the audit log: one row per answer, one per retrieved passage, and feedback.

Writes never break answering: when the database is down or locked the row goes to the on-disk spool
(see `audit.spool`) and the caller still gets its audit id; the next successful write replays the
spool, and so does `citebot audit replay`.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, select
from sqlalchemy.orm import selectinload

from answering.result import AnswerResult
from audit.spool import UNAVAILABLE, AuditSpool, write_record
from core.db import session_scope
from core.errors import NotFoundError
from core.models import Answer, new_audit_id, utcnow
from core.redaction import redact
from core.settings import StorageSettings

log = logging.getLogger("citebot.audit")


def open_audit(settings: StorageSettings) -> tuple[Engine, AuditSpool]:
    """The audit database and its spool; a database that is down now only means rows are spooled."""
    from core.db import get_engine
    from migrations.schema import ensure_schema

    engine, spool = get_engine(settings.resolved_database_url), AuditSpool(settings.home)
    try:
        ensure_schema(engine)
    except UNAVAILABLE as exc:
        log.warning("audit database unavailable (%s); spooling to %s", exc, spool.path)
    return engine, spool


def _store(engine: Engine, record: dict, spool: AuditSpool | None) -> None:
    """Write one record, older spooled rows first; spool it when the database cannot take it."""
    try:
        if spool is not None and spool.has_pending():
            spool.replay(engine)
        with session_scope(engine) as session:
            write_record(session, record)
    except UNAVAILABLE as exc:
        if spool is None:
            raise
        spool.append(record)
        log.warning("audit database unavailable (%s); row spooled to %s", type(exc).__name__, spool.path)


def record_answer(engine: Engine, result: AnswerResult, user: str | None, channel: str | None,
                  thread_ts: str | None = None, spool: AuditSpool | None = None, redact_emails: bool = True,
                  escalated_to: str | None = None) -> str:
    """Persist an answer with its passages, secrets redacted; returns the audit id (also set on `result`)."""
    numbers = {c.chunk_id: c.n for c in result.citations}
    result.audit_id = new_audit_id()
    data = {
        "id": result.audit_id, "created_at": utcnow(), "user_id": user, "channel_id": channel,
        "thread_ts": thread_ts, "question": redact(result.question, redact_emails),
        "answer": redact(result.answer, redact_emails), "route": result.route,
        "route_reason": result.route_reason, "model": result.model, "adapter_version": result.adapter_version,
        "workspace_id": result.workspace, "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "retrieve_ms": result.latency_ms.get("retrieve", 0.0), "generate_ms": result.latency_ms.get("generate", 0.0),
        "total_ms": result.latency_ms.get("total", 0.0), "error": redact(result.error, redact_emails),
        "answer_threshold": (result.thresholds or {}).get("answer"),
        "abstain_threshold": (result.thresholds or {}).get("abstain"),
        "threshold_source": (result.thresholds or {}).get("source"),
        "passages": [{"rank": p.rank, "score": p.score, "dense_score": p.dense_score,
                      "relevance": result.relevance_of(i), "chunk_id": p.chunk_id,
                      "source": p.source, "title": p.title, "url": p.url, "cited": p.chunk_id in numbers,
                      "citation": numbers.get(p.chunk_id), "text": redact(p.text, redact_emails)}
                     for i, p in enumerate(result.passages)],
        "sentences": [{"position": i, "text": redact(sentence.text, redact_emails),
                       "citations": ",".join(map(str, sentence.citations)), "support": sentence.support}
                      for i, sentence in enumerate(result.sentences)],
    }
    if escalated_to:
        data["escalation"] = {"requested_by": "router", "contact": escalated_to, "channel_id": channel,
                              "reason": result.route_reason}
    _store(engine, {"kind": "answer", "data": data}, spool)
    return result.audit_id


# Rows are read inside a session and used after it closes: load what reviewers look at up front.
WITH_DETAILS = (selectinload(Answer.passages), selectinload(Answer.sentences), selectinload(Answer.feedback))


def recent_answers(engine: Engine, limit: int = 20, route: str | None = None) -> list[Answer]:
    query = select(Answer).options(*WITH_DETAILS).order_by(Answer.created_at.desc()).limit(limit)
    if route:
        query = query.where(Answer.route == route)
    with session_scope(engine) as session:
        return list(session.scalars(query))


def get_answer(engine: Engine, audit_id: str) -> Answer:
    with session_scope(engine) as session:
        row = session.scalars(select(Answer).options(*WITH_DETAILS).where(Answer.id == audit_id)).first()
    if row is None:
        raise NotFoundError(f"No answer with audit id {audit_id!r}. See `citebot audit list`.")
    return row


def record_feedback(engine: Engine, audit_id: str, user: str | None, verdict: str,
                    reason: str | None = None, spool: AuditSpool | None = None) -> None:
    """Attach a verdict to an answer; an unknown audit id is a NotFoundError, not a silent drop."""
    try:
        with session_scope(engine) as session:
            known = session.get(Answer, audit_id) is not None
    except UNAVAILABLE:
        known = True  # cannot check now; the spooled row is checked against the answer on replay
    if not known:
        raise NotFoundError(f"No answer with audit id {audit_id!r}.")
    _store(engine, {"kind": "feedback", "data": {"answer_id": audit_id, "user_id": user, "verdict": verdict,
                                                 "reason": reason, "created_at": utcnow()}}, spool)


def record_failure(engine: Engine, question: str, error: str, user: str | None, channel: str | None,
                   thread_ts: str | None, spool: AuditSpool | None = None) -> str:
    """An answer that crashed still gets an audit row (and id) so the apology can point at it."""
    result = AnswerResult(question=question[:10000], answer="", route="error",
                          route_reason="exception while answering", model="none", error=error)
    return record_answer(engine, result, user, channel, thread_ts, spool)


def record_escalation(engine: Engine, audit_id: str, user: str, contact: str, channel: str | None,
                      spool: AuditSpool | None = None) -> None:
    """Someone asked for a person under an answer."""
    _store(engine, {"kind": "escalation", "data": {
        "answer_id": audit_id, "requested_by": user, "contact": contact, "channel_id": channel,
        "reason": "asked for a person", "created_at": utcnow()}}, spool)


def record_index_run(engine: Engine, summary, triggered_by: str, spool: AuditSpool | None = None) -> None:
    """One indexing run of one source, with what changed and what was skipped (and why)."""
    errors = "\n".join(f"{s.path}: {s.reason}" for s in summary.skipped) or None
    _store(engine, {"kind": "index_run", "data": {
        "created_at": utcnow(), "triggered_by": triggered_by, "source": summary.source, "added": summary.added,
        "updated": summary.updated, "unchanged": summary.unchanged, "deleted": summary.deleted,
        "skipped": len(summary.skipped), "chunks_embedded": summary.chunks_embedded,
        "seconds": round(summary.seconds, 3), "complete": summary.complete, "errors": errors}}, spool)
