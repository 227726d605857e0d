"""Review queries over the audit log: filtered listings, exports and summary statistics.

Filters are the ones reviewers ask for: since a date, one channel, one route, and answers with negative
feedback (a "not helpful" verdict or an escalation click).
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func, select

from audit.log import WITH_DETAILS
from core.db import session_scope
from core.models import Answer, Feedback, IndexRun
from indexing.metrics import percentile

NEGATIVE = ("not_helpful", "escalated")
EXPIRED = "[removed by retention policy]"


@dataclass
class Filters:
    since: datetime | None = None
    until: datetime | None = None
    channel: str | None = None
    route: str | None = None
    negative_feedback: bool = False
    text: str | None = None  # words in the question or the answer
    limit: int | None = None
    offset: int = 0


def _filtered(query, filters: Filters):
    if filters.since:
        query = query.where(Answer.created_at >= filters.since)
    if filters.until:
        query = query.where(Answer.created_at < filters.until)
    if filters.channel:
        query = query.where(Answer.channel_id == filters.channel)
    if filters.route:
        query = query.where(Answer.route == filters.route)
    if filters.negative_feedback:
        query = query.where(Answer.id.in_(select(Feedback.answer_id).where(Feedback.verdict.in_(NEGATIVE))))
    if filters.text:
        pattern = f"%{filters.text}%"
        query = query.where(Answer.question.ilike(pattern) | Answer.answer.ilike(pattern))
    return query


def find_answers(engine: Engine, filters: Filters) -> list[Answer]:
    query = _filtered(select(Answer).options(*WITH_DETAILS), filters).order_by(Answer.created_at.desc())
    if filters.limit:
        query = query.limit(filters.limit).offset(filters.offset)
    with session_scope(engine) as session:
        return list(session.scalars(query))


def answered_in_thread(engine: Engine, channel: str, thread_ts: str) -> bool:
    """Whether any replica answered in this Slack thread (the bot then follows the thread's replies)."""
    with session_scope(engine) as session:
        return session.scalar(select(Answer.id).where(Answer.channel_id == channel,
                                                      Answer.thread_ts == thread_ts).limit(1)) is not None


def recent_answers(engine: Engine, user: str, limit: int = 5) -> list[Answer]:
    """A person's latest questions, newest first (their App Home)."""
    with session_scope(engine) as session:
        rows = list(session.scalars(select(Answer).where(Answer.user_id == user)
                                    .order_by(Answer.created_at.desc()).limit(limit)))
        session.expunge_all()
        return rows


def last_index_runs(engine: Engine) -> dict[str, IndexRun]:
    """The newest index run of each source."""
    newest = select(IndexRun.source, func.max(IndexRun.id).label("id")).group_by(IndexRun.source).subquery()
    with session_scope(engine) as session:
        rows = list(session.scalars(select(IndexRun).join(newest, IndexRun.id == newest.c.id)))
        session.expunge_all()
        return {row.source: row for row in rows}


def count_answers(engine: Engine, filters: Filters) -> int:
    with session_scope(engine) as session:
        return session.scalar(_filtered(select(func.count(Answer.id)), filters))


def summary(rows: list[Answer]) -> dict:
    """Counts and rates a reviewer looks at first, plus answers per day."""
    total = len(rows)
    routes = Counter(r.route for r in rows)
    negative = sum(any(f.verdict in NEGATIVE for f in r.feedback) for r in rows)
    with_feedback = sum(bool(r.feedback) for r in rows)
    latencies = sorted(r.total_ms for r in rows)
    per_day = Counter(r.created_at.strftime("%Y-%m-%d") for r in rows)

    def rate(n: int, of: int) -> float:
        return round(n / of, 3) if of else 0.0

    return {
        "answers": total, "routes": dict(routes),
        "abstain_rate": rate(routes["abstain"], total), "escalate_rate": rate(routes["escalate"], total),
        "errors": routes["error"], "with_feedback": with_feedback,
        "negative_feedback_rate": rate(negative, with_feedback),
        "latency_ms_p50": round(statistics.median(latencies), 1) if latencies else 0.0,
        "latency_ms_p95": round(percentile(latencies, 95), 1),
        "per_day": dict(sorted(per_day.items())),
    }


def apply_retention(engine: Engine, older_than: datetime, mode: str) -> int:
    """Delete answers older than a date (with passages, sentences, feedback), or blank their text.

    `redact` keeps the rows (routes, scores, latencies, feedback counts still feed the statistics) and
    replaces question, answer and sentence text with a marker. Returns how many answers it touched.
    """
    with session_scope(engine) as session:
        rows = list(session.scalars(select(Answer).where(Answer.created_at < older_than)
                                    .options(*WITH_DETAILS)))
        for row in rows:
            if mode == "delete":
                session.delete(row)
            else:
                row.question, row.answer, row.error = EXPIRED, EXPIRED, None
                for sentence in row.sentences:
                    sentence.text = EXPIRED
                for passage in row.passages:  # may quote a private thread
                    passage.text = None
    return len(rows)


def user_answers(engine: Engine, user: str) -> list[Answer]:
    """Everything a person asked, and the answers they gave feedback on (a data-subject export)."""
    rated = select(Feedback.answer_id).where(Feedback.user_id == user)
    query = (select(Answer).options(*WITH_DETAILS).where((Answer.user_id == user) | Answer.id.in_(rated))
             .order_by(Answer.created_at))
    with session_scope(engine) as session:
        return list(session.scalars(query))


def delete_user(engine: Engine, user: str) -> tuple[int, int]:
    """Remove a person's questions (with everything attached) and their feedback on others' answers."""
    with session_scope(engine) as session:
        answers = list(session.scalars(select(Answer).where(Answer.user_id == user)))
        for row in answers:
            session.delete(row)
        feedback = list(session.scalars(select(Feedback).where(Feedback.user_id == user)))
        for row in feedback:
            session.delete(row)
    return len(answers), len(feedback)
