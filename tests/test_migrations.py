"""Alembic migrations up and down on SQLite and the real PostgreSQL, and agreement with the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from core.db import current_revision, downgrade, get_engine, head_revision, table_names, upgrade
from core.errors import CitebotError
from core.models import ALL_METADATA


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
