"""Extractive answers: the sentences of the retrieved passages that best answer the question.

This is the default with the small local model, which cannot be trusted to restate facts (it
happily turns "no deploys on Fridays" into "yes, you can deploy on Friday"). Quoting the team's own
sentences keeps every statement true to its source; citations are exact by construction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from answering.injection import instruction_like
from answering.tracing import SEMANTIC_WEIGHT, content_words, lexical_overlap
from core.sentences import plain, split_sentences
from core.vectors import similarities
from indexing.embedder import embed_texts
from indexing.retrieval import Passage

MAX_SENTENCES = 4
RELATIVE_FLOOR = 0.8  # keep sentences ranking at least this share of the best one
PART_FLOOR = 0.35  # a sub-question's best sentence must match it at least this well to be added
# A sentence ranks by how well it matches the question plus this share of how well its passage does
# (retrieval's dense similarity): a sentence that happens to echo the question's words in a passage about
# something else loses to the passage that is about the question. On the Debian FAQ help-channel set
# this lifted answers citing the right source from 0.735 to 0.776 (MiniLM) and 0.755 to 0.816 (mpnet),
# handbook set unchanged at 0.917; 0.4 and 1.2 did no better, 2 and more did worse.
PASSAGE_WEIGHT = 0.8
_PART_SPLIT = re.compile(r"\?\s+|;\s*|,?\s+(?:and|also|plus)\s+(?=(?:what|how|who|where|when|why|which|can|do|does|"
                         r"is|are|should|must)\b)", re.IGNORECASE)


def question_parts(question: str) -> list[str]:
    """Sub-questions of a compound question ("where is X, and what do I do when Y?")."""
    parts = [p.strip(" ?,") for p in _PART_SPLIT.split(question)]
    parts = [p for p in parts if len(content_words(p)) >= 2]
    return parts if len(parts) > 1 else []


@dataclass
class Extract:
    sentence: str
    passage_index: int  # 0-based into the passages given
    score: float


def extract_answer(question: str, passages: list[Passage], scores: list[float], floor: float) -> list[Extract]:
    """Best-matching sentences, in the order they appear in the (ranked) passages; passages whose
    relevance (the router's `scores`) is below `floor` are not quoted."""
    candidates: list[tuple[int, int, str]] = []
    for j, passage in enumerate(passages):
        if scores[j] < floor:
            continue
        for k, sentence in enumerate(split_sentences(passage.body)):
            if len(sentence) >= 12 and not instruction_like(sentence):
                candidates.append((j, k, sentence))
    if not candidates:
        return []
    queries = [question] + question_parts(question)
    vectors = embed_texts(queries + [c[2] for c in candidates])
    sims = similarities(vectors[: len(queries)], vectors[len(queries):])

    def ranked(q: int) -> list[tuple[float, float, int, int, str]]:
        """(rank score, match score, passage, sentence, text), best first."""
        scored = []
        for i, c in enumerate(candidates):
            match = SEMANTIC_WEIGHT * float(sims[q, i]) + (1 - SEMANTIC_WEIGHT) * lexical_overlap(queries[q], c[2])
            scored.append((match + PASSAGE_WEIGHT * passages[c[0]].dense_score, match, c[0], c[1], c[2]))
        return sorted(scored, reverse=True)

    whole = ranked(0)
    # Each sub-question's best sentence first, so a compound question is answered in full.
    chosen = [best for q in range(1, len(queries)) if (best := ranked(q)[0])[1] >= PART_FLOOR]
    chosen += [s for s in whole if s[0] >= whole[0][0] * RELATIVE_FLOOR]
    unique: dict[tuple[int, int], tuple[float, float, int, int, str]] = {}
    for s in chosen:
        unique.setdefault((s[2], s[3]), s)  # first occurrence wins: sub-question picks come first
    chosen = list(unique.values())[:MAX_SENTENCES]
    chosen.sort(key=lambda s: (s[2], s[3]))
    return [Extract(sentence=plain(s[4]), passage_index=s[2], score=round(s[1], 4)) for s in chosen]
