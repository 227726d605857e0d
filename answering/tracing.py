"""Sentence-level citation tracing: which retrieved passage supports each sentence of an answer.

Support = the best cosine similarity between the sentence and any sentence of the passage, blended
with the share of the sentence's content words found in the passage. The model's own `[n]` is kept
only if passage n supports the sentence; the best supporting passage is added when the model forgot
it; a sentence nothing supports is marked unsupported and never shown as cited fact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.sentences import split_sentences, strip_citations
from core.vectors import similarities
from indexing.embedder import embed_texts
from indexing.retrieval import Passage

_WORD = re.compile(r"[a-z0-9][a-z0-9_\-']+")
_STOP = set("""a an the and or but if of to in on at by for with from as is are was were be been being it its
this that these those you your we our they their i me my he she his her them do does did not no can could
would should will shall may might must have has had about into over than then so such what which who whom
how when where why there here also just only very more most any all each""".split())
SEMANTIC_WEIGHT = 0.7


@dataclass
class TracedSentence:
    text: str
    citations: list[int] = field(default_factory=list)  # 1-based passage numbers
    support: float = 0.0
    supported: bool = False
    kind: str = "sentence"  # or the quoted unit's kind: paragraph, list, code, table, quote
    anchor: str = ""  # a quoted unit's place in its page (`Extract.anchor`)


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def lexical_overlap(sentence: str, passage: str) -> float:
    words = content_words(sentence)
    return len(words & content_words(passage)) / len(words) if words else 0.0


def support_matrix(sentences: list[str], passages: list[Passage]) -> list[list[float]]:
    """support[i][j]: how well passage j supports sentence i, in [0, 1]."""
    passage_sentences = [split_sentences(p.body) or [p.body] for p in passages]
    flat = [s for group in passage_sentences for s in group]
    sims = similarities(embed_texts(sentences), embed_texts(flat, cache=True))
    matrix: list[list[float]] = []
    for i, sentence in enumerate(sentences):
        row, offset = [], 0
        for passage, group in zip(passages, passage_sentences):
            semantic = float(sims[i, offset:offset + len(group)].max())
            offset += len(group)
            row.append(SEMANTIC_WEIGHT * semantic + (1 - SEMANTIC_WEIGHT) * lexical_overlap(sentence, passage.text))
        matrix.append(row)
    return matrix


def trace(answer: str, passages: list[Passage], threshold: float) -> list[TracedSentence]:
    """Trace every sentence of `answer` to the passages that support it."""
    raw = split_sentences(answer)
    if not raw or not passages:
        return [TracedSentence(text=strip_citations(s)[0]) for s in raw]
    cleaned = [strip_citations(s) for s in raw]
    matrix = support_matrix([text for text, _ in cleaned], passages)
    traced = []
    for (text, claimed), row in zip(cleaned, matrix):
        kept = [n for n in dict.fromkeys(claimed) if 1 <= n <= len(passages) and row[n - 1] >= threshold]
        best = max(range(len(passages)), key=lambda j: row[j])
        if not kept and row[best] >= threshold:
            kept = [best + 1]
        support = max((row[n - 1] for n in kept), default=row[best])
        traced.append(TracedSentence(text=text, citations=kept, support=round(support, 4), supported=bool(kept)))
    return traced
