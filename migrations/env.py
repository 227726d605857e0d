"""Alembic environment: runs against the connection migrations.schema hands over, or CITEBOT_DATABASE_URL."""

from alembic import context

from core.slack_tables import ALL_METADATA

config = context.config
target_metadata = ALL_METADATA


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from core.db import get_engine
        from core.settings import get_settings

        with get_engine(get_settings().resolved_database_url).begin() as connection:
            _run(connection)
    else:
        _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
