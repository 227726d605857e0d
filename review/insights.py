"""What the review page computes beyond listing: daily trends and knowledge gaps.

Trends are aggregated in SQL (one row per day), so the charts stay fast on a large log. Knowledge
gaps are the questions the docs did not answer (abstained or escalated) or answered badly (negative
feedback), grouped by meaning with the same embedder as retrieval: a group of five similar questions
is one missing page, not five incidents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, case, func, select

from audit.queries import NEGATIVE
from core.db import session_scope
from core.models import Answer, Feedback
from core.vectors import cosine

GAP_SIMILARITY = 0.6
MAX_GAP_QUESTIONS = 500


@dataclass
class Day:
    day: str
    answers: int
    abstain_rate: float
    escalate_rate: float
    negative_rate: float


def daily(engine: Engine, since: datetime | None = None) -> list[Day]:
    negative = select(Feedback.answer_id).where(Feedback.verdict.in_(NEGATIVE)).distinct().subquery()
    day = func.date(Answer.created_at)
    query = (select(day, func.count(Answer.id), func.sum(case((Answer.route == "abstain", 1), else_=0)),
                    func.sum(case((Answer.route == "escalate", 1), else_=0)), func.count(negative.c.answer_id))
             .outerjoin(negative, negative.c.answer_id == Answer.id).group_by(day).order_by(day))
    if since:
        query = query.where(Answer.created_at >= since)
    with session_scope(engine) as session:
        rows = session.execute(query).all()
    return [Day(str(d), n, round(a / n, 3), round(e / n, 3), round(neg / n, 3)) for d, n, a, e, neg in rows]


@dataclass
class Gap:
    questions: list[tuple[str, str, str]] = field(default_factory=list)  # (audit id, question, why)

    @property
    def title(self) -> str:
        return self.questions[0][1]


def knowledge_gaps(engine: Engine, since: datetime | None = None) -> list[Gap]:
    """Unanswered or badly answered questions, grouped by similarity, biggest group first."""
    from indexing.embedder import embed_texts

    negative = select(Feedback.answer_id).where(Feedback.verdict.in_(NEGATIVE))
    query = (select(Answer.id, Answer.question, Answer.route, Answer.id.in_(negative))
             .where(Answer.route.in_(("abstain", "escalate")) | Answer.id.in_(negative))
             .order_by(Answer.created_at.desc()).limit(MAX_GAP_QUESTIONS))
    if since:
        query = query.where(Answer.created_at >= since)
    with session_scope(engine) as session:
        rows = session.execute(query).all()
    if not rows:
        return []
    vectors = embed_texts([question for _, question, _, _ in rows])
    gaps: list[tuple[list[float], Gap]] = []
    for (audit_id, question, route, disliked), vector in zip(rows, vectors):
        why = "negative feedback" if disliked else route
        best = max(gaps, key=lambda g: cosine(g[0], vector), default=None)
        if best is not None and cosine(best[0], vector) >= GAP_SIMILARITY:
            best[1].questions.append((audit_id, question, why))
        else:
            gaps.append((vector, Gap([(audit_id, question, why)])))
    return sorted((g for _, g in gaps), key=lambda g: len(g.questions), reverse=True)

