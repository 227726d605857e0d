"""Turning Slack messages into questions: mention stripping, thread context, unhappy follow-ups."""

from __future__ import annotations

import re

_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_UNHAPPY = re.compile(r"\b(that'?s (wrong|not right|incorrect|outdated)|(is|was) wrong|not helpful|"
                      r"doesn'?t (work|help)|didn'?t (work|help)|useless|talk to (a|an) (human|person))\b", re.I)
FOLLOW_UP_WORDS = 12  # shorter thread replies lean on the earlier question ("what about staging?")
CONTEXT_CHARS = 1000  # ~250 tokens of the earlier question go into the retrieval query, no more


def question_text(text: str) -> str:
    """The message without @-mentions of the bot (or anyone), whitespace collapsed."""
    return " ".join(_MENTION.sub(" ", text or "").split())


def is_unhappy(text: str) -> bool:
    return bool(_UNHAPPY.search(text or ""))


def thread_context(messages: list[dict], current_ts: str, bot_user_id: str | None) -> tuple[str | None, bool]:
    """(earlier human question to add to retrieval, whether the user is unhappy with an earlier answer).

    Only human messages before the current one count; the bot's own answers are not context, because
    retrieval should look for what the person asked, not for what we already said. The earlier question
    is bounded by CONTEXT_CHARS (its end, where a long message usually asks).
    """
    earlier = [m for m in messages if float(m.get("ts", 0)) < float(current_ts)]
    humans = [question_text(m.get("text", "")) for m in earlier
              if not m.get("bot_id") and m.get("user") != bot_user_id and m.get("text")]
    bot_answered = any(m.get("bot_id") or m.get("user") == bot_user_id for m in earlier)
    current = next((m for m in messages if m.get("ts") == current_ts), {})
    unhappy = bot_answered and is_unhappy(current.get("text", ""))
    humans = [h for h in humans if h]
    return (humans[-1][-CONTEXT_CHARS:] if humans else None), unhappy


def needs_context(question: str) -> bool:
    return len(question.split()) <= FOLLOW_UP_WORDS
