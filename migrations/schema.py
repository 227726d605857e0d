"""Alembic upgrades of the audit database: what `citebot db`, the audit writer and the tests call.

It lives beside the revisions it runs, so `core.db` (engines and sessions) knows nothing of them.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from core.db import get_engine, unreachable

SCRIPTS = Path(__file__).parent
# The newest revision in versions/ (a test checks it against Alembic's own reading). Knowing it here
# lets every process check the schema with one SELECT instead of loading Alembic and every revision.
HEAD = "0012"


def _alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`; raises CitebotError if the database cannot be reached."""
    from alembic import command

    try:
        with engine.begin() as connection:
            cfg = _alembic_config(engine)
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, revision)
    except OperationalError as exc:
        raise unreachable(exc) from None


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    with engine.begin() as connection:
        cfg = _alembic_config(engine)
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(SCRIPTS)).get_current_head()


def _stored_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except ProgrammingError:  # PostgreSQL: no such table yet
        return None
    except OperationalError as exc:
        if "no such table" in str(exc):  # SQLite: no such table yet
            return None
        raise unreachable(exc) from None


def ensure_schema(engine: Engine) -> None:
    """Upgrade on first use so `ask`/`serve` work without a separate `db upgrade` step."""
    if _stored_revision(engine) != HEAD:
        upgrade(engine)


def migrated_engine(url: str) -> Engine:
    """The engine for `url` with its schema brought up to date: what every command reading the log needs."""
    engine = get_engine(url)
    ensure_schema(engine)
    return engine
