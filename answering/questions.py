"""What a question asks: its parts, and the topic words of it that no retrieved passage mentions.

A similarity threshold cannot tell "how do I deploy the docs?" from "did the nightly docs deploy succeed
last night?": both sit close to a deployment page. What tells them apart is that the second asks about
things no retrieved passage mentions ("nightly", "succeed", "night").

Not every unmentioned word says that: "after", "whole" or "people" are how anyone asks, "nginx" or
"lockfile" name a topic. A word weighs by how rare it is in general English (wordfreq's Zipf scale,
where 6 is "people" and 3 "nightly"): TOPIC_PIVOT minus its Zipf frequency, nothing for words at least
that common. And a word the passages say in other words ("bikes" where they say "bicycles", "stylesheet"
where they say "CSS": MiniLM similarity SYNONYM or more to a word of theirs) is mentioned. A question (or
a part of one) whose remaining words weigh MIN_SURPRISE or more is about something the docs are near but
do not cover. The two weights were chosen leaving one labelled corpus out at a time (README, "Numbers";
`benchmarks/loco_routing.py`): the handbook and Debian FAQ held out each got (6.0, 2.0) from the other
two sets; with MkDocs held out the other two prefer a weaker rule, which misses its team-specific
questions.
"""

from __future__ import annotations

import re
from functools import lru_cache

from answering.tracing import content_words
from core.vectors import similarities
from indexing.embedder import embed_texts
from indexing.retrieval import Passage

TOPIC_PIVOT = 6.0
MIN_SURPRISE = 2.0
# Fixed by reading three sets; checked held out later (0.6-0.8, benchmarks/loco_routing.py): no held-out score moved.
SYNONYM = 0.7
# A question under the answer threshold (above the escalation one) is answered when the passages mention
# all its topic words (those missing weigh at most MENTION_TOLERANCE) and those words weigh MIN_COVERED
# or more: chosen leaving one labelled corpus out (benchmarks/loco_routing.py).
MENTION_TOLERANCE = 0.5
MIN_COVERED = 6.0
MAX_VOCABULARY = 600  # passage words compared with the unmentioned ones (one short encoder pass each)
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


def topic_words(question: str) -> list[str]:
    """The question's words that may name a topic, sorted; numbers are values asked about ("a 600 EUR
    ticket"), not topics."""
    return sorted(w for w in content_words(question) if w not in _NO_TOPIC and len(w) > 2 and not w.isdigit())


def unmentioned(question: str, passages: list[Passage]) -> list[str]:
    """The question's topic words that no retrieved passage mentions (a shared 5-letter stem counts)."""
    text = " ".join(p.text.lower() for p in passages)
    return [w for w in topic_words(question) if w[:5] not in text]


@lru_cache(maxsize=4096)
def zipf(word: str) -> float:
    """The word's general-English Zipf frequency; the small list (~30k words, a few MB) is enough: a word
    missing from it is rare (0)."""
    from wordfreq import zipf_frequency  # ~0.15 s and ~20 MB on first use: only questions that need it

    return zipf_frequency(word, "en", wordlist="small")


def surprise(words: list[str], pivot: float = TOPIC_PIVOT) -> float:
    """How much these words name a topic: each weighs `pivot` minus its Zipf frequency, at least 0."""
    return sum(max(0.0, pivot - zipf(w)) for w in words)


def topic_gap(question: str, passages: list[Passage], pivot: float = TOPIC_PIVOT,
              min_surprise: float = MIN_SURPRISE, synonym: float = SYNONYM) -> list[str]:
    """The words naming what the question asks about that the passages do not cover, or [] when they
    cover it. The synonym check (an encoder pass over the passages' words, ~50-100 ms the first time they
    are met, then cached) runs only for a question whose unmentioned words would weigh enough without it."""
    words = unmentioned(question, passages)
    if surprise(words, pivot) < min_surprise:
        return []
    nearest = similarities(embed_texts(words, cache=True), embed_texts(_vocabulary(passages), cache=True)).max(axis=1)
    words = [w for w, near in zip(words, nearest) if near < synonym]
    return words if surprise(words, pivot) >= min_surprise else []


def topic_covered(question: str, passages: list[Passage], tolerance: float = MENTION_TOLERANCE) -> float:
    """How much topic the passages mention of a question whose every topic word they mention (the
    surprise of its mentioned words), or 0 when a word naming a topic is missing (its unmentioned words
    weigh over `tolerance`). A question just under the answer threshold whose rare words all stand in the
    passages ("which postgres version are we on in prod") is about what they say; its similarity is low
    only because its wording is not theirs."""
    missing = unmentioned(question, passages)
    if surprise(missing) > tolerance:
        return 0.0
    return surprise([w for w in topic_words(question) if w not in missing])


def _vocabulary(passages: list[Passage]) -> list[str]:
    """The passages' words, best-ranked passage first, at most MAX_VOCABULARY: the passages most likely to
    answer are the ones whose wording must be checked, whatever letter their words start with."""
    seen: dict[str, None] = {}
    for passage in passages:
        for word in sorted(content_words(passage.text)):
            if len(word) > 2 and not word.isdigit():
                seen.setdefault(word, None)
    return list(seen)[:MAX_VOCABULARY]
