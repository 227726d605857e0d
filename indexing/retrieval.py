"""Hybrid retrieval: dense (Chroma, cosine) and lexical (stemmed BM25 via bm25s), fused by score.

Fusion is a convex combination `w·cosine + (1-w)·bm25/max_bm25`, not reciprocal rank fusion: on the
Debian FAQ benchmark plain RRF loses to dense alone (0.665 vs 0.699 nDCG@10) because it throws away
how much better the first hit is than the tenth; the score combination keeps it (see README,
"Retrieval quality"). Neither part depends on how many candidates were fetched, so the benchmark
(deep lists) and the bot (top CITEBOT_TOP_K) rank the same way.

Each passage keeps its dense cosine similarity next to the fused score: the fused score ranks, the
similarity (with the default MiniLM embedder) is what the router compares with its thresholds to decide
"nothing relevant found".
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from core.settings import Settings
from indexing.store import check_embed_model, get_collection, open_client

CANDIDATES = 30
BM25_K1, BM25_B = 1.5, 0.9  # tuned on the benchmark (defaults 1.2/0.75 give 0.507 vs 0.514 with stemming)
_VERSION_KEY = "citebot_version"
VERSION_RECHECK_SECONDS = 2.0  # an edit made by another process is searchable (BM25 too) within this


@dataclass
class Passage:
    chunk_id: str
    doc_id: str
    title: str
    heading: str
    source: str
    url: str | None
    text: str
    score: float
    dense_score: float
    bm25_score: float
    rank: int = 0
    access: str = "public"
    channel_id: str | None = None
    source_id: str = ""

    @property
    def body(self) -> str:
        """The text without the heading-path line that chunking prepends."""
        return self.text.split("\n", 1)[1] if "\n" in self.text else self.text


def mark_index_changed(collection) -> None:
    """Record a new index version so every process rebuilds its BM25 index on next query."""
    metadata = dict(collection.metadata or {})
    metadata[_VERSION_KEY] = time.time_ns()
    metadata.pop("hnsw:space", None)  # distance function is fixed at creation; Chroma refuses changes
    collection.modify(metadata=metadata)


class _Bm25Index:
    """BM25 over every chunk, English stop words removed and words stemmed ("backups" finds "backup")."""

    def __init__(self, ids: list[str], documents: list[str], metadatas: list[dict]):
        import bm25s
        import Stemmer

        self.ids, self.documents, self.metadatas = ids, documents, metadatas
        self.stemmer = Stemmer.Stemmer("english")
        self.retriever = bm25s.BM25(k1=BM25_K1, b=BM25_B)
        self.retriever.index(self._tokenize(documents), show_progress=False)

    def _tokenize(self, texts: list[str]):
        import bm25s

        return bm25s.tokenize(texts, stopwords="en", stemmer=self.stemmer, show_progress=False)

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        tokens = self._tokenize([query])
        if not tokens.vocab or not self.ids:
            return []
        docs, scores = self.retriever.retrieve(tokens, k=min(k, len(self.ids)), show_progress=False)
        return [(int(i), float(s)) for i, s in zip(docs[0], scores[0]) if s > 0]


class HybridRetriever:
    """Retrieves from the configured collection; cheap to keep around in a long-running bot."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._client = None
        self._collection = None
        self._bm25: _Bm25Index | None = None
        self._bm25_version = None
        self._checked_at = 0.0

    def _get_collection(self):
        if self._collection is None:
            self._client = self._client or open_client(self.settings, create=False)
            self._collection = self._client and self._named_collection()
            self._checked_at = time.monotonic()
        return self._collection

    def _named_collection(self):
        """What is stored under the configured name now (another process may have replaced it), or None."""
        found = get_collection(self._client, self.settings.collection)
        return found and check_embed_model(found, self.settings)

    def _fresh_metadata(self, collection) -> dict:
        """The collection's metadata as stored now: another process (a worker, `citebot index`) may have
        changed the index since this handle was opened. Re-read at most every VERSION_RECHECK_SECONDS."""
        if time.monotonic() - self._checked_at >= VERSION_RECHECK_SECONDS:
            self._collection = collection = self._named_collection() or collection
            self._checked_at = time.monotonic()
        return collection.metadata or {}

    def _bm25_index(self, collection) -> _Bm25Index:
        version = self._fresh_metadata(collection).get(_VERSION_KEY), collection.count()
        if self._bm25 is None or version != self._bm25_version:
            got = collection.get(include=["documents", "metadatas"])
            self._bm25 = _Bm25Index(got["ids"], got["documents"], got["metadatas"])
            self._bm25_version = version
        return self._bm25

    def retrieve(self, query: str, k: int | None = None, mode: str = "hybrid",
                 candidates: int = CANDIDATES) -> list[Passage]:
        """Top-k passages. `mode` dense or bm25 ranks by that part alone (for the benchmark's baselines)."""
        from indexing.embedder import get_embedder

        k = k or self.settings.top_k
        collection = self._get_collection()
        try:
            count = collection.count() if collection is not None else 0
        except Exception:  # noqa: BLE001 - `citebot index --rebuild` replaced it since: open the new one
            self._collection = None
            collection = self._get_collection()
            count = collection.count() if collection is not None else 0
        if count == 0:
            return []
        n = min(max(candidates, k), count)
        query_vector = get_embedder(self.settings).get_query_embedding(query)
        found: dict[str, dict] = {}
        if mode in ("hybrid", "dense"):
            dense = collection.query(query_embeddings=[query_vector], n_results=n,
                                     include=["documents", "metadatas", "distances"])
            for cid, doc, meta, dist in zip(dense["ids"][0], dense["documents"][0], dense["metadatas"][0],
                                            dense["distances"][0]):
                found[cid] = {"text": doc, "meta": meta, "dense": 1.0 - float(dist), "bm25": 0.0}
        if mode in ("hybrid", "bm25"):
            bm25 = self._bm25_index(collection)
            for i, score in bm25.search(query, n):
                entry = found.setdefault(bm25.ids[i], {"text": bm25.documents[i], "meta": bm25.metadatas[i],
                                                       "dense": None, "bm25": 0.0})
                entry["bm25"] = score
        self._fill_dense_scores(collection, query_vector, found)
        top_bm25 = max((c["bm25"] for c in found.values()), default=0.0) or 1.0
        weight = {"hybrid": self.settings.dense_weight, "dense": 1.0, "bm25": 0.0}[mode]
        for c in found.values():
            c["fused"] = weight * c["dense"] + (1.0 - weight) * c["bm25"] / top_bm25
        ranked = sorted(found.items(), key=lambda item: item[1]["fused"], reverse=True)[:k]
        return [self._passage(cid, c, rank) for rank, (cid, c) in enumerate(ranked, 1)]

    @staticmethod
    def _fill_dense_scores(collection, query_vector: list[float], candidates: dict[str, dict]) -> None:
        """BM25-only candidates get their real cosine similarity, so thresholds see one scale."""
        missing = [cid for cid, c in candidates.items() if c["dense"] is None]
        if not missing:
            return
        got = collection.get(ids=missing, include=["embeddings"])
        for cid, vector in zip(got["ids"], got["embeddings"]):
            candidates[cid]["dense"] = float(sum(a * b for a, b in zip(query_vector, vector)))

    @staticmethod
    def _passage(cid: str, c: dict, rank: int) -> Passage:
        meta = c["meta"]
        return Passage(chunk_id=cid, doc_id=meta.get("doc_id", cid), title=meta.get("title", ""),
                       heading=meta.get("heading", ""), source=meta.get("path", ""), url=meta.get("url"),
                       text=c["text"], score=round(c["fused"], 6), dense_score=round(c["dense"] or 0.0, 4),
                       bm25_score=round(c["bm25"], 4), rank=rank, access=meta.get("access", "public"),
                       channel_id=meta.get("channel_id"), source_id=meta.get("source_id", ""))
