"""The one prompt the escalation model is trained with and served with.

Training and serving must render a thread identically, or the adapter learns a format the bot never
shows it; both sides call `escalation_messages`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

SYSTEM_PROMPT = ("You are the support assistant of an engineering team. The team's docs do not answer this "
                 "thread. Reply the way the team does: loop in the group that owns the problem and ask for "
                 "the details they need. Do not answer the question and do not state facts.")

REPLY_TOKENS = 60  # two or three sentences; keeps a CPU reply to a few seconds (serving and evaluation)
SCRUBBED_PERSON = "@teammate"  # what the dataset writes for a person's mention
_HANDLE = re.compile(r"(?<![\w.])@[a-z][a-z0-9_-]+")
_LOOP_IN = re.compile(r"\b(loop(ing|ed)? in|ping(ing)?|escalat\w+|hand(ing)? (it )?over|pull(ing)? in|"
                      r"tagging|cc)\b", re.I)
_ASK = re.compile(r"\b(can|could|would) you\b|\bplease (add|share|send|drop|paste)\b|\bit would help\b|\?", re.I)


def render_thread(turns: list[tuple[str, str]]) -> str:
    """[(speaker, text)] → "asker: …" lines; speakers are roles, never names."""
    return "\n".join(f"{speaker}: {text}" for speaker, text in turns)


def escalation_messages(thread_text: str, groups: Sequence[str] = ()) -> list[dict[str, str]]:
    """`groups`: whom the team looped in on the most similar resolved thread (tuning.groups), as a hint."""
    system = SYSTEM_PROMPT + (f" On the most similar resolved thread the team looped in {', '.join(groups)}."
                              if groups else "")
    return [{"role": "system", "content": system}, {"role": "user", "content": thread_text}]


def handles(text: str) -> set[str]:
    """Group or person handles a reply mentions (@db-team)."""
    return set(_HANDLE.findall(text.lower())) - {SCRUBBED_PERSON}


def escalates(text: str) -> bool:
    """Does the reply hand the problem to someone (mentions a group or says it loops someone in)?"""
    return bool(handles(text) or _LOOP_IN.search(text))


def asks_for_details(text: str) -> bool:
    return bool(_ASK.search(text))
