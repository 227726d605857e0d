"""`citebot db ...`: schema migrations of the audit database."""

from __future__ import annotations

import typer

from cli.output import console, print_json

app = typer.Typer(help="Audit database schema (Alembic migrations).", no_args_is_help=True)


@app.command("upgrade")
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Migrate the audit database (CITEBOT_DATABASE_URL) to the latest schema."""
    from core.db import get_engine
    from core.settings import get_settings
    from migrations.schema import current_revision
    from migrations.schema import upgrade as run_upgrade

    engine = get_engine(get_settings().resolved_database_url)
    run_upgrade(engine, revision)
    console.print(f"Audit database at revision {current_revision(engine)} ({engine.url.render_as_string()})",
                  highlight=False)


@app.command("current")
def current(as_json: bool = typer.Option(False, "--json")) -> None:
    """Show the schema revision of the audit database and the latest one available."""
    from core.db import get_engine
    from core.settings import get_settings
    from migrations.schema import current_revision, head_revision

    engine = get_engine(get_settings().resolved_database_url)
    data = {"current": current_revision(engine), "head": head_revision()}
    if as_json:
        print_json(data)
    else:
        console.print(f"current: {data['current'] or 'empty database'} · head: {data['head']}", highlight=False)
