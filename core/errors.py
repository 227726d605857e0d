"""User-facing errors.

A `CitebotError` carries a message written for the person at the terminal or in Slack: what went
wrong and what to do. The CLI prints it as one line and exits non-zero, never with a traceback.
"""


class CitebotError(Exception):
    """An error whose message is safe and useful to show to the user as is."""

    exit_code = 2


class NotFoundError(CitebotError):
    """Something the user named (an audit id, a path) does not exist."""

    exit_code = 3
