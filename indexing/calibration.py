"""Routing thresholds each index derives from its own text: no labelled set of the same docs needed.

Similarity scales differ between corpora (short FAQ entries vs long handbook sections, jargon vs plain
words), so thresholds calibrated on one corpus refuse good questions on the next. After every change
the index calibrates itself on a sample:

- in-domain side: pseudo-questions built from a sample of its chunks (a sentence's leading content
  words, the way people type a question: the topic words without the grammar). The sample is the chunks
  whose ids hash lowest, and each chunk's sentence is drawn with its own id as the seed: an edit leaves
  the rest of the sample as it was. (A sample drawn with the chunk count as the seed was redrawn whole by
  any edit that changed the count: MkDocs' answer threshold moved 0.337 → 0.366 when its one-chunk 404
  page stopped being indexed; with this sample it stays 0.354.)
- off-domain side: the shipped questions in `data/off_domain_questions.txt`;
- both are retrieved like real questions and scored with `relevance` (the router's scale), and the
  answer threshold sits a share ANSWER_SHARE of the way from the off-domain upper tail to the in-domain
  lower tail; below the off-domain median a question escalates instead of abstaining.

The result is kept in the collection's metadata (shared by every process, with a Chroma server too),
shown by `index --json`, and used by the router unless CITEBOT_ANSWER_THRESHOLD / ABSTAIN are set.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import asdict, dataclass
from importlib import resources

from core.settings import IndexSettings, RetrievalSettings
from core.vectors import similarities
from indexing.chunking import chunk_body
from indexing.embedder import SENTENCE_MODEL, embed_texts
from indexing.metrics import percentile
from indexing.retrieval import HybridRetriever

SAMPLE_CHUNKS = 40
PSEUDO_WORDS = 6
NEGATIVE_QUANTILE = 95  # the off-domain upper tail
POSITIVE_QUANTILE = 20  # the in-domain lower tail
ANSWER_SHARE = 0.3
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.\-']{2,}")
_STOP = set("""the and for are but not you all any can had her was one our out has him his how its may new now
old see two way who did get let put say she too use that with have this will your from they know want been
good much some time very when come here just like long make many more only over such take than them well
were what which their there these those then into also each other about would could should must does while
where after before under most both same than because between through during without within upon""".split())


@dataclass
class Routing:
    answer_threshold: float
    abstain_threshold: float
    in_domain: dict  # pseudo-question relevance quantiles
    off_domain: dict
    sample: int  # pseudo-questions used
    method: str = "index-sample"

    def as_dict(self) -> dict:
        return asdict(self)


def relevance(query: str, passages, settings: RetrievalSettings) -> list[float]:
    """How well each passage matches the query, on the one scale the thresholds are calibrated on:
    MiniLM's cosine similarity. With the default embedder that is retrieval's own dense score. With
    mpnet, MiniLM embeds the query and passages again (~20 ms): mpnet ranks passages better but its
    similarities tell answerable from unanswerable questions apart less well (balanced accuracy 0.855
    vs 0.939 on the handbook set), and one scale then serves both."""
    if settings.embed_model == SENTENCE_MODEL or not passages:
        return [p.dense_score for p in passages]
    vectors = embed_texts([query] + [p.text for p in passages])
    return [round(float(s), 4) for s in similarities(vectors[:1], vectors[1:])[0]]


def off_domain_questions() -> list[str]:
    text = resources.files("indexing").joinpath("data/off_domain_questions.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def pseudo_question(text: str, rng: random.Random) -> str | None:
    """Topic words of one sentence of a chunk's body, or None for a chunk with too few words."""
    body = chunk_body(text)
    sentences = [s for s in re.split(r"(?<=[.!?:])\s+|\n+", body) if len(_content(s)) >= PSEUDO_WORDS]
    if not sentences:
        return None
    words = _content(rng.choice(sentences))
    return " ".join(words[:PSEUDO_WORDS]).lower()


def _content(sentence: str) -> list[str]:
    return [w.strip(".'") for w in _WORD.findall(sentence) if w.lower() not in _STOP]


def _stable_hash(chunk_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(chunk_id.encode("utf-8"), digest_size=8).digest(), "big")


def calibration_sample(ids: list[str], size: int = SAMPLE_CHUNKS) -> list[str]:
    """The `size` chunk ids that hash lowest: the same index gets the same sample, and a change to the
    index changes only the members it adds or removes (an edited document's chunks have new ids)."""
    return sorted(ids, key=_stable_hash)[:size]


def calibrate_index(settings: IndexSettings, collection) -> Routing | None:
    """The index's thresholds from a sample of its chunks; None when it holds too little to judge."""
    ids = collection.get(include=[])["ids"]
    if len(ids) < 5:
        return None
    got = collection.get(ids=calibration_sample(ids), include=["documents"])
    chunks = zip(got["ids"], got["documents"])  # in any order: each draws with its own seed, quantiles ignore order
    positives = [q for q in (pseudo_question(text, random.Random(_stable_hash(cid))) for cid, text in chunks) if q]
    if len(positives) < 5:
        return None
    retriever = HybridRetriever(settings)

    def best(question: str) -> float:
        passages = retriever.search(question, k=settings.top_k)
        return max(relevance(question, passages, settings), default=0.0)

    pos = [best(q) for q in positives]
    neg = [best(q) for q in off_domain_questions()]
    low, high = percentile(pos, POSITIVE_QUANTILE), percentile(neg, NEGATIVE_QUANTILE)
    answer = round(high + ANSWER_SHARE * max(low - high, 0.0), 3)
    abstain = round(min(answer, percentile(neg, 50)), 3)
    quantiles = (lambda v: {f"p{q}": round(percentile(v, q), 3) for q in (10, 20, 50, 90)})
    return Routing(answer, abstain, quantiles(pos), quantiles(neg), len(pos))
