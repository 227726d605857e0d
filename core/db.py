"""Database access: engines from URLs and sessions (schema upgrades live in `migrations.schema`).

The audit log must work on SQLite (the laptop default) and PostgreSQL (production) with the same
code; URL problems are turned into messages that say how to fix the URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from core.errors import CitebotError

_URL_HELP = "Use e.g. sqlite:////path/audit.db or postgresql+psycopg://user@host:5432/dbname."


def normalize_url(url: str) -> str:
    """Validate a database URL and pick our installed driver for bare `postgresql://` URLs."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:  # ValueError: e.g. a non-numeric port
        raise CitebotError(f"CITEBOT_DATABASE_URL is not a valid database URL ({exc}). {_URL_HELP}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if not parsed.drivername.startswith(("sqlite", "postgresql")):
        raise CitebotError(f"Unsupported database '{parsed.drivername}' in CITEBOT_DATABASE_URL. {_URL_HELP}")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the bot write while a reviewer reads; foreign keys make cascades real.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One pooled engine per URL for the whole process."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite") and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(url, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise CitebotError(f"Cannot use CITEBOT_DATABASE_URL: {exc}. {_URL_HELP}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = sessionmaker(engine, expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def unreachable(exc: OperationalError) -> CitebotError:
    reason = " ".join(str(exc.orig).split())  # drivers add hint lines; one line reads better
    return CitebotError(f"Cannot reach the audit database: {reason}. Check CITEBOT_DATABASE_URL.")


def table_names(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())
