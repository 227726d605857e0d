"""`citebot ask QUESTION`: one answer with citations, logged to the audit database."""

from __future__ import annotations

import typer

from cli.output import print_answer, print_json


def ask(
    question: str = typer.Argument(..., help="The question, in quotes."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as one JSON object (see README)."),
    user: str = typer.Option(None, "--user", help="Who asks (a Slack user id); stored in the audit log."),
    channel: str = typer.Option(None, "--channel", help="Where it was asked (a Slack channel id)."),
) -> None:
    """Answer a question from the index, with numbered citations and an audit id.

    Route `rag` answers from retrieved passages; `abstain` and `escalate` say honestly that the docs do
    not answer and hand over to a person (CITEBOT_ESCALATION_CONTACT). Nothing is made up.
    """
    from answering.pipeline import validate_question
    from audit.serialize import answer_json
    from core.settings import get_settings
    from service.answers import AnswerService

    settings = get_settings()
    validate_question(question, settings)  # fail fast, before loading any model
    result = AnswerService(settings).ask(question, user=user, channel=channel)
    if as_json:
        print_json(answer_json(result))
    else:
        print_answer(result)
