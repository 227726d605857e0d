"""Audit rows survive a database outage: spooled to disk, replayed exactly once (real PostgreSQL)."""

import pytest
from sqlalchemy import func, select, text

from audit.log import record_feedback
from core.db import get_engine, session_scope
from core.models import Answer, Feedback
from core.settings import Settings
from indexing.pipeline import index_paths
from service.answers import AnswerService

DOWN_URL = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2"


def _count(engine, model):
    with session_scope(engine) as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.postgres
def test_answers_while_postgres_is_down_are_spooled_then_replayed_exactly_once(tmp_path, corpus, pg_url):
    down = Settings(home=tmp_path / "home", database_url=DOWN_URL)
    index_paths([corpus], down)
    answerer = AnswerService(down)  # starts although the database is unreachable
    results = [answerer.ask(q, user="U1") for q in ("Where can I park my bike?", "What does error E7 mean?")]
    assert all(r.audit_id and r.route == "rag" for r in results)
    record_feedback(answerer.engine, results[0].audit_id, "U2", "helpful", spool=answerer.spool)
    assert answerer.spool.pending() == 3

    up = Settings(home=down.home, database_url=pg_url)
    back = AnswerService(up)
    later = back.ask("Where is the colour printer?", user="U1")  # the next write replays the spool first
    engine = get_engine(pg_url)
    assert _count(engine, Answer) == 3 and _count(engine, Feedback) == 1
    assert not back.spool.has_pending()
    with session_scope(engine) as session:
        first = session.get(Answer, results[0].audit_id)
        assert first.question == "Where can I park my bike?" and first.passages and first.feedback[0].verdict == "helpful"
        assert session.get(Answer, later.audit_id) is not None


@pytest.mark.postgres
def test_replay_interrupted_after_commit_does_not_duplicate(tmp_path, corpus, pg_url):
    down = Settings(home=tmp_path / "home", database_url=DOWN_URL)
    index_paths([corpus], down)
    AnswerService(down).ask("Where can I park my bike?")
    spool = AnswerService(down).spool
    spool.path.rename(spool.replaying)  # a replay that committed but died before removing its file
    engine = get_engine(pg_url)
    import json

    from audit.spool import write_record
    from migrations.schema import ensure_schema

    ensure_schema(engine)
    with session_scope(engine) as session:
        for line in spool.replaying.read_text().splitlines():
            write_record(session, json.loads(line))
    assert spool.replay(engine) == 0 and _count(engine, Answer) == 1


@pytest.mark.postgres
def test_killed_connection_mid_run_spools_instead_of_failing(tmp_path, corpus, pg_url):
    settings = Settings(home=tmp_path / "home", database_url=pg_url)
    index_paths([corpus], settings)
    answerer = AnswerService(settings)
    answerer.ask("Where can I park my bike?")
    admin = get_engine(pg_url.rsplit("/", 1)[0] + "/test")
    database = pg_url.rsplit("/", 1)[1]
    with admin.connect() as conn:  # kill every connection of the pool, as a failover would
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db"),
                     {"db": database})
        conn.commit()
    result = answerer.ask("What does error E7 mean?")  # must not raise, whatever the pool meets
    assert result.audit_id
    expected = 2
    if answerer.spool.has_pending():  # the dead connection was hit: the row waits in the spool...
        answerer.ask("Where is the colour printer?")  # ...and the next write brings it in
        expected = 3
    with session_scope(answerer.engine) as session:
        assert session.get(Answer, result.audit_id) is not None
    assert _count(answerer.engine, Answer) == expected and not answerer.spool.has_pending()
