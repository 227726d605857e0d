"""Escalation-style replies for questions retrieval cannot answer.

The honest part ("I couldn't find this") and the mention of who to ask come from code; the small
model only writes the friendly middle (later in the team's own tone, via the LoRA adapter). Its
sentences pass a fact guard: anything with numbers, links, addresses or content words that are not in
the question or in the vocabulary of asking for help is dropped, because a 135M model will happily
invent a Wi-Fi password.
"""

from __future__ import annotations

import re

from bot.answering.llm import Generator, GenerationError
from bot.answering.sentences import split_sentences
from bot.answering.tracing import content_words

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

SYSTEM_PROMPT = ("You are the support assistant of an engineering team. The team's documentation has no "
                 "answer to the user's question. Write one or two short, friendly sentences that ask the "
                 "user for details that would help a teammate. Do not answer the question. Do not state facts.")


def guard(sentence: str, question: str) -> bool:
    """True if the sentence states nothing beyond the question and generic help-seeking words."""
    if _FACTY.search(sentence):
        return False
    unknown = content_words(sentence) - content_words(question) - HELP_VOCABULARY
    return len(unknown) <= MAX_UNKNOWN_WORDS


def escalation_reply(question: str, contact: str, reason: str, generator: Generator | None) -> str:
    """A reply that says we could not answer, loops in `contact`, and asks for useful details."""
    opening = ("This needs a person, so I won't guess." if reason.startswith("question ")
               else "I couldn't find this in the indexed docs, so I won't guess.")
    middle = ""
    if generator is not None:
        try:
            text = generator.complete([{"role": "system", "content": SYSTEM_PROMPT},
                                       {"role": "user", "content": question}], max_tokens=60)
        except GenerationError:
            text = ""
        kept = [s for s in split_sentences(text) if guard(s, question)][:2]
        middle = " ".join(kept)
    if not middle:
        middle = "Could you add any details that would help, such as what you tried or the error you saw?"
    return f"{opening} I'm looping in {contact}. {middle}"
