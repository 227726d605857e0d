"""`citebot ask QUESTION` (one answer with citations) and `citebot ask --batch FILE` (many, as JSON lines),
each answer logged to the audit database."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import typer

from cli.output import err_console, print_answer, print_json
from core.errors import CitebotError


def ask(
    question: str = typer.Argument(None, help="The question, in quotes (or --batch FILE)."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as one JSON object (see README)."),
    batch: str = typer.Option(None, "--batch", metavar="FILE",
                              help="Answer every line of FILE (`-`: standard input) as a question; one JSON "
                                   "object per line out, in order. A bad line gets an object with `error`."),
    user: str = typer.Option(None, "--user", help="Who asks (a Slack user id); stored in the audit log."),
    channel: str = typer.Option(None, "--channel", help="Where it was asked (a Slack channel id)."),
) -> None:
    """Answer a question from the index, with numbered citations and an audit id.

    Route `rag` answers from retrieved passages; `abstain` and `escalate` say honestly that the docs do
    not answer and hand over to a person (CITEBOT_ESCALATION_CONTACT). Nothing is made up. With
    `--batch` the models load once for all the questions.
    """
    from answering.pipeline import validate_question
    from audit.serialize import answer_json
    from core.settings import get_settings
    from service.answers import AnswerService

    if (question is None) == (batch is None):
        raise CitebotError("Give one question, or --batch FILE with one question per line (`-` for stdin).")
    settings = get_settings()
    if batch is not None:
        lines = _lines(batch)  # opened before any model loads: a wrong path fails at once
        _answer_lines(AnswerService(settings), lines, user, channel)
        return
    validate_question(question, settings.answering)  # fail fast, before loading any model
    result = AnswerService(settings).ask(question, user=user, channel=channel)
    if as_json:
        print_json(answer_json(result))
    else:
        print_answer(result)


def _lines(source: str) -> Iterator[str]:
    """The lines of FILE, or of standard input for `-`, read as they come (a pipe is answered as it fills)."""
    if source == "-":
        return (line.rstrip("\n") for line in sys.stdin)
    path = Path(source)
    try:
        handle = path.open(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise CitebotError(f"Cannot read the questions in {path}: {exc.strerror}.") from None

    def read() -> Iterator[str]:
        with handle:
            yield from (line.rstrip("\n") for line in handle)

    return read()


def _answer_lines(service, lines: Iterator[str], user: str | None, channel: str | None) -> None:
    """One JSON object per non-blank line, with its line number; errors never stop the batch."""
    from audit.log import record_failure
    from audit.serialize import answer_json

    answered = failed = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = answer_json(service.ask(line, user=user, channel=channel))
            answered += 1
        except CitebotError as exc:  # a question we refuse (too long): say why and go on
            record, failed = {"question": line[:200], "error": str(exc)}, failed + 1
        except Exception as exc:  # noqa: BLE001 - one broken answer must not lose the rest of the batch
            error = f"{type(exc).__name__}: {exc}"
            audit_id = record_failure(service.engine, line, error, user, channel, None, service.spool)
            record, failed = {"question": line[:200], "error": error, "audit_id": audit_id}, failed + 1
        print_json({"line": number, **record})
        sys.stdout.flush()
    err_console.print(f"{answered} answered, {failed} failed", highlight=False)
