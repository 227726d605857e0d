"""Alembic migrations up and down on SQLite and the real PostgreSQL, and agreement with the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from core.db import get_engine, table_names
from core.errors import CitebotError
from core.slack_tables import ALL_METADATA
from migrations.schema import HEAD, current_revision, downgrade, ensure_schema, head_revision, upgrade


def _round_trip(url: str) -> None:
    engine = get_engine(url)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert {"answers", "retrieved_passages"} <= set(table_names(engine))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), ALL_METADATA)
    assert diff == [], f"models and migrations disagree: {diff}"
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert "answers" not in table_names(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()


def test_migrations_round_trip_on_sqlite(tmp_path):
    _round_trip(f"sqlite:///{tmp_path}/audit.db")


@pytest.mark.postgres
def test_migrations_round_trip_on_postgresql(pg_url):
    _round_trip(pg_url)


@pytest.mark.parametrize("url", ["not a url", "mysql+nodriver://x/y", "sqlite+nosuchdriver:///x.db",
                                 "postgresql://::not-a-port/db"])
def test_bad_database_urls_give_a_clear_error(url):
    with pytest.raises(CitebotError):
        get_engine(url)


def test_unreachable_postgresql_gives_a_clear_error():
    engine = get_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2")
    with pytest.raises(CitebotError, match="Cannot reach the audit database"):
        upgrade(engine)


def test_the_head_the_fast_schema_check_knows_is_alembics_newest_revision():
    assert HEAD == head_revision(), "a new migration must update migrations.schema.HEAD"


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_ensure_schema_creates_an_empty_database_and_leaves_a_current_one_alone(backend, tmp_path, request):
    url = f"sqlite:///{tmp_path}/audit.db" if backend == "sqlite" else request.getfixturevalue("pg_url")
    engine = get_engine(url)
    ensure_schema(engine)
    assert current_revision(engine) == HEAD and "answers" in table_names(engine)
    downgrade(engine, "0009")
    ensure_schema(engine)  # an older schema is upgraded
    assert current_revision(engine) == HEAD
    ensure_schema(engine)
    assert current_revision(engine) == HEAD


def test_ensure_schema_on_an_unreachable_database_is_a_clear_error():
    engine = get_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2")
    with pytest.raises(CitebotError, match="Cannot reach the audit database"):
        ensure_schema(engine)
