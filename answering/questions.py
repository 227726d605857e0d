"""What a question asks: its parts, and the topic words of it that no retrieved passage mentions.

A similarity threshold cannot tell "how do I deploy the docs?" from "did the nightly docs deploy succeed
last night?": both sit close to a deployment page. What tells them apart is that the second asks about
things no retrieved passage mentions ("nightly", "succeed", "night"). A question (or a part of one) with
MAX_UNMENTIONED or more such words is about something the docs are near but do not cover.
"""

from __future__ import annotations

import re

from answering.tracing import content_words
from indexing.retrieval import Passage

MAX_UNMENTIONED = 2
# Words that carry no topic: contractions, greetings and fillers, and verbs any question may use.
_NO_TOPIC = set("""what's whats i'm it's we'd we're don't doesn't isn't can't won't i've you're there's that's
let's sorry newbie please thanks thank hey hi hello anyone someone somebody anybody idea guys folks quick
question need needs want wants like know tell show find work works try tried get gets getting got give
gives make makes made happen happens happened use using used way thing things best good really actually
right now okay ok possible supposed""".split())

_PART_SPLIT = re.compile(r"\?\s+|;\s*|,?\s+(?:and|also|plus)\s+(?=(?:what|how|who|where|when|why|which|can|do|does|"
                         r"is|are|should|must)\b)", re.IGNORECASE)


def question_parts(question: str) -> list[str]:
    """Sub-questions of a compound question ("where is X, and what do I do when Y?")."""
    parts = [p.strip(" ?,") for p in _PART_SPLIT.split(question)]
    parts = [p for p in parts if len(content_words(p)) >= 2]
    return parts if len(parts) > 1 else []


def unmentioned(question: str, passages: list[Passage]) -> list[str]:
    """The question's topic words that no retrieved passage mentions (a shared 5-letter stem counts)."""
    text = " ".join(p.text.lower() for p in passages)
    words = sorted(w for w in content_words(question) if w not in _NO_TOPIC and len(w) > 2)
    return [w for w in words if w[:5] not in text]
