"""Which part of a cited passage supports each sentence of an answer, for the answer page.

The audit log stores, per sentence, the numbers of the passages that support it (decided by the tracer
at answer time). Here we only point the reviewer at the passage sentences that carry the claim: those a
quoted unit holds, or for a generated sentence the one sharing most content words with it.
"""

from __future__ import annotations

from dataclasses import dataclass

from answering.tracing import lexical_overlap
from core.sentences import split_sentences


@dataclass
class PassageView:
    rank: int
    title: str
    source: str
    url: str | None
    score: float
    dense_score: float | None
    relevance: float | None  # the router's score, on the thresholds' scale
    cited: bool
    number: int | None  # its [n] in the answer, when cited
    heading: str  # the heading path the chunk sits under ("Parking > Bicycle parking")
    pieces: list[tuple[str, list[int]]]  # (text, positions of the answer sentences it supports)


def passage_views(row) -> list[PassageView]:
    supports: dict[int, list] = {}
    for sentence in row.sentences:
        for n in (int(x) for x in sentence.citations.split(",") if x):
            supports.setdefault(n, []).append(sentence)
    views = []
    for passage in sorted(row.passages, key=lambda p: p.rank):
        n = passage.citation
        heading, body = (passage.text or "").split("\n", 1) if "\n" in (passage.text or "") else ("", passage.text or "")
        pieces = [(text, []) for text in split_sentences(body)] or [(body, [])]
        for sentence in supports.get(n, []) if n else []:
            # a quoted unit (paragraph, list) holds several passage sentences: mark each of them
            quoted = " ".join(sentence.text.split())
            inside = [i for i, (text, _) in enumerate(pieces) if text and " ".join(text.split()) in quoted]
            for i in inside or [max(range(len(pieces)), key=lambda i: lexical_overlap(sentence.text, pieces[i][0]))]:
                pieces[i][1].append(sentence.position)
        views.append(PassageView(passage.rank, passage.title, passage.source, passage.url, passage.score,
                                 passage.dense_score, passage.relevance, passage.cited, n, heading, pieces))
    return views
