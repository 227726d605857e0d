"""Escalation-style replies for questions retrieval cannot answer.

The honest part ("I couldn't find this") comes from code; the rest is written by the escalation
model: the small model with the promoted LoRA adapter, which learned from the team's resolved threads
whom they loop in and what they ask for. Its sentences pass a fact guard: anything with numbers,
links, addresses, an @handle the team never used, or words outside the question, the help vocabulary
and the team's own reply vocabulary (from the adapter) is dropped, because a 135M model will happily
invent a Wi-Fi password. The configured contact is always looped in, next to any group the model named.
"""

from __future__ import annotations

import re

from answering.llm import GenerationError, Generator, Usage
from answering.tracing import content_words
from core.sentences import split_sentences
from tuning.groups import nearest_groups
from tuning.prompt import REPLY_TOKENS, escalation_messages, handles, render_thread

HELP_VOCABULARY = content_words("""
help helping helpful happy glad thanks thank sorry apologize apologies inconvenience question questions
details detail information info share sharing context tried trying error errors message messages
screenshot screenshots link links loop looping looped in team teammate colleague colleagues someone
person people right know let sure look looking into get back soon quickly asap follow up reach out
contact ping pinging assist support answer answers find found docs documentation handbook hand over
understand problem issue issues request requests meanwhile while wait waiting available able best
""")
MAX_UNKNOWN_WORDS = 1
_FACTY = re.compile(r"\d|https?://|www\.|@\w+\.\w+|\bpassword\b", re.I)


def guard(sentence: str, question: str, vocabulary: set[str] = frozenset(),
          allowed_handles: set[str] = frozenset()) -> bool:
    """True if the sentence states nothing beyond the question, generic help words and the team's words."""
    if _FACTY.search(sentence) or handles(sentence) - allowed_handles:
        return False
    unknown = content_words(sentence) - content_words(question) - HELP_VOCABULARY - vocabulary
    return len(unknown) <= MAX_UNKNOWN_WORDS


def escalation_reply(question: str, contact: str, reason: str, generator: Generator | None,
                     context: str | None = None, usage: Usage | None = None) -> str:
    """A reply that says we could not answer, loops someone in, and asks for useful details."""
    opening = ("This needs a person, so I won't guess." if reason.startswith("question ")
               else "I couldn't find this in the indexed docs, so I won't guess.")
    meta = getattr(generator, "meta", {}) or {}
    vocabulary = set(meta.get("vocabulary", []))
    allowed = set(meta.get("groups", [])) | {contact.lower()}
    thread = render_thread([("asker", text) for text in (context, question) if text])
    middle = ""
    if generator is not None:
        hint = nearest_groups([thread], [None], meta.get("group_references", []))[0]
        try:
            text = generator.complete(escalation_messages(thread, hint), max_tokens=REPLY_TOKENS, usage=usage)
        except GenerationError:
            text = ""
        complete = [s for s in split_sentences(text) if s.rstrip().endswith((".", "?", "!"))]  # not cut off
        kept = [s for s in complete if guard(s, question, vocabulary, allowed)][:4]
        middle = " ".join(kept)
    if not middle:
        middle = "Could you add any details that would help, such as what you tried or the error you saw?"
    if contact.lower() not in handles(middle):  # the configured contact is always told, whoever the model named
        middle = f"I'm looping in {contact}. {middle}"
    return f"{opening} {middle}"
