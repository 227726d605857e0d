"""The `citebot` command line: one entry point, one sub-module per command group.

Heavy libraries (torch, chromadb, transformers) are imported inside commands so `--help` is instant.
Errors meant for users (`CitebotError`) print as one line and exit non-zero, never as a traceback.
"""

from __future__ import annotations

import sys

import typer

from cli import ask_cmd, audit_cmd, db_cmd, demo_cmd, eval_cmd, index_cmd, jobs_cmd, serve_cmd, tune_cmd
from core.errors import CitebotError

app = typer.Typer(
    name="citebot",
    help="Answer questions from your team's docs and Slack threads, with citations and an audit log.\n\n"
         "Data lives in CITEBOT_HOME (default ./.citebot). Start with `citebot demo`.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("index")(index_cmd.index)
app.command("sources")(index_cmd.sources)
app.command("ask")(ask_cmd.ask)
app.command("demo")(demo_cmd.demo)
app.command("serve")(serve_cmd.serve)
app.command("worker")(jobs_cmd.worker)
app.add_typer(db_cmd.app, name="db")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(eval_cmd.app, name="eval")
app.add_typer(tune_cmd.app, name="tune")
app.add_typer(jobs_cmd.app, name="jobs")


def _settings_error(exc) -> str:
    """A pydantic error on the environment as the variables a user sets: CITEBOT_LLM, not `llm`."""
    from core.settings import Settings

    problems = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else ""
        alias = Settings.model_fields[field].validation_alias if field in Settings.model_fields else None
        name = alias.choices[0] if alias is not None else f"CITEBOT_{field.upper()}"
        problems.append(f"{name}={error.get('input')!r}: {error['msg'].removeprefix('Value error, ')}")
    return "bad setting: " + "; ".join(problems)


def main() -> None:
    from pydantic import ValidationError

    try:
        app()
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        sys.stderr.write(f"citebot: error: {_settings_error(exc)}\n")
        sys.exit(2)
    except CitebotError as exc:
        sys.stderr.write(f"citebot: error: {exc}\n")
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("citebot: interrupted; what was already indexed or logged is kept.\n")
        sys.exit(130)
