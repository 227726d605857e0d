"""Retention and per-person export/delete on the real audit database."""

import time
from datetime import datetime, timedelta, timezone

from audit.log import get_answer, record_feedback
from audit.queries import EXPIRED, apply_retention, delete_user, user_answers
from audit.retention import RetentionJob
from audit.serialize import best_score
from core.db import session_scope
from core.models import Answer, Feedback
from indexing.pipeline import index_paths
from service.answers import AnswerService


def _answered(settings, corpus):
    index_paths([corpus], settings)
    answerer = AnswerService(settings)
    old = answerer.ask("Where can I park my bike?", user="UOLD")
    new = answerer.ask("Where is the colour printer?", user="UNEW")
    record_feedback(answerer.engine, new.audit_id, "UOLD", "helpful")
    with session_scope(answerer.engine) as session:
        session.get(Answer, old.audit_id).created_at = datetime.now(timezone.utc) - timedelta(days=40)
    return answerer.engine, old.audit_id, new.audit_id


def test_retention_redacts_text_but_keeps_numbers_then_deletes(settings, corpus):
    engine, old, new = _answered(settings, corpus)
    cutoff = datetime.now(timezone.utc) - timedelta(days=30)
    assert apply_retention(engine, cutoff, "redact") == 1
    row = get_answer(engine, old)
    assert row.question == EXPIRED and row.answer == EXPIRED and row.route == "rag" and row.passages
    assert all(s.text == EXPIRED for s in row.sentences)
    assert get_answer(engine, new).question == "Where is the colour printer?"
    assert apply_retention(engine, cutoff, "delete") == 1
    with session_scope(engine) as session:
        assert session.get(Answer, old) is None and session.get(Answer, new) is not None


def test_person_export_and_delete(settings, corpus):
    engine, old, new = _answered(settings, corpus)
    assert [r.id for r in user_answers(engine, "UOLD")] == [old, new]  # asked one, rated the other
    assert delete_user(engine, "UOLD") == (1, 1)
    with session_scope(engine) as session:
        assert session.get(Answer, old) is None
        assert session.query(Feedback).count() == 0 and session.get(Answer, new) is not None


def test_the_running_bot_applies_retention_by_itself(settings, corpus):
    engine, old, new = _answered(settings, corpus)
    job = RetentionJob(engine, days=30, mode="redact", interval_s=3600).start()
    deadline = time.monotonic() + 20
    while get_answer(engine, old).question != EXPIRED and time.monotonic() < deadline:
        time.sleep(0.1)
    job.stop()
    row = get_answer(engine, old)
    assert row.question == EXPIRED and all(p.text is None for p in row.passages)
    assert get_answer(engine, new).question == "Where is the colour printer?"


def test_best_score_is_the_routers_relevance_and_falls_back_to_similarity_on_old_rows(settings, corpus):
    engine, old, _ = _answered(settings, corpus)
    with session_scope(engine) as session:  # as with mpnet: retrieval similarity and router score differ
        for passage in session.get(Answer, old).passages:
            passage.dense_score, passage.relevance = 0.9, passage.relevance / 2
        halves = [p.relevance for p in session.get(Answer, old).passages]
    assert best_score(get_answer(engine, old)) == max(halves) < 0.9
    with session_scope(engine) as session:  # a row written before relevance was recorded
        for passage in session.get(Answer, old).passages:
            passage.relevance = None
    assert best_score(get_answer(engine, old)) == 0.9
