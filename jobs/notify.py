"""How a job tells people how far it got, without this package knowing who is listening.

The bot passes a factory that edits the Slack message a `/reindex` was asked from; the CLI and tests
run jobs silently (their progress is in the `jobs` row either way).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from core.models import Job


class Notifier(Protocol):
    def post(self, text: str, final: bool = False) -> None:
        """Show progress (may be rate-limited) or, with `final`, the outcome (always shown)."""


NotifierFactory = Callable[[Job], Notifier]


class _Silent:
    def post(self, text: str, final: bool = False) -> None:
        return None


def silent(job: Job) -> Notifier:
    return _Silent()
