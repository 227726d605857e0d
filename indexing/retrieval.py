"""Hybrid retrieval: dense (Chroma, cosine) and lexical (stemmed BM25 via bm25s), fused by score.

Fusion is a convex combination `w·cosine + (1-w)·bm25/max_bm25`, not reciprocal rank fusion: on the
Debian FAQ benchmark plain RRF loses to dense alone (0.665 vs 0.699 nDCG@10) because it throws away
how much better the first hit is than the tenth; the score combination keeps it (see README,
"Retrieval quality"). Neither part depends on how many candidates were fetched, so the benchmark
(deep lists) and the bot (top CITEBOT_TOP_K) rank the same way.

A question that names an option or setting as written (`-E`, `html_logo`) also gets the chunk that
defines it (`_definitions`), in the last place if it did not rank higher: reference questions ask by name.

Each passage keeps its dense cosine similarity next to the fused score: the fused score ranks, the
similarity (with the default MiniLM embedder) is what the router compares with its thresholds to decide
"nothing relevant found".

`HybridRetriever` is a LlamaIndex `BaseRetriever`: `retrieve()` gives scored nodes to anything built
on LlamaIndex (node postprocessors such as a reranker, query engines); `search()` gives the same hits
as `Passage` records, which the router, composer, tracer and audit log read.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from core.settings import IndexSettings
from core.vectors import cosine
from indexing.blocks import code_names, escape_inline, parse_blocks
from indexing.chunking import chunk_body
from indexing.lexical import Bm25Index
from indexing.store import bm25_folder, check_embed_model, get_collection, open_client, stored_routing, update_metadata

log = logging.getLogger("citebot.retrieval")
CANDIDATES = 30
DEFINITION_CANDIDATES = 20  # chunks read per name the question names, looking for the one defining it
_VERSION_KEY = "citebot_version"
VERSION_RECHECK_SECONDS = 2.0  # an edit made by another process is searchable (BM25 too) within this
_PASSAGE_FIELDS = ("doc_id", "title", "heading", "source", "url", "dense_score", "bm25_score", "rank", "access",
                   "channel_id", "source_id", "updated_at", "anchor", "term_anchors", "section_anchor")


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
    updated_at: str | None = None  # when the document last changed (file mtime, last thread reply, Last-Modified)
    anchor: str = ""  # the fragment of `url` (the chunk's section or definition), "" for none
    term_anchors: dict[str, list[str]] = field(default_factory=dict)  # its definition terms' ids (`Chunk`)
    section_anchor: str = ""  # its section's id, where the chunk holds the end of a definition list (`Chunk`)

    def link(self, anchor: str, text: str = "") -> str | None:
        """The passage's page deep-linked to `anchor` (a definition term's id, from `term_anchors`) instead of
        the chunk's own, and to the words `text` names (a URL text directive's encoded value,
        `answering.links`); unchanged where the page has no link or its address already has another fragment."""
        if not self.url or not (anchor or text):
            return self.url
        page = self.url.removesuffix(f"#{self.anchor}") if self.anchor else self.url
        if "#" in page:
            return self.url
        return f"{page}#{anchor or self.anchor}" + (f":~:text={text}" if text else "")

    @property
    def body(self) -> str:
        """The text without the heading-path line that chunking prepends."""
        return chunk_body(self.text)

    def to_node(self) -> NodeWithScore:
        """The passage as LlamaIndex sees it: a text node scored by the fused score."""
        metadata = {name: getattr(self, name) for name in _PASSAGE_FIELDS}
        return NodeWithScore(node=TextNode(id_=self.chunk_id, text=self.text, metadata=metadata), score=self.score)

    @classmethod
    def from_node(cls, hit: NodeWithScore, rank: int) -> Passage:
        """Back from a node, after postprocessors may have reordered, rescored or dropped hits; the
        dense similarity the router compares stays what retrieval measured."""
        m = hit.node.metadata
        return cls(chunk_id=hit.node.node_id, doc_id=m.get("doc_id", ""), title=m.get("title", ""),
                   heading=m.get("heading", ""), source=m.get("source", ""), url=m.get("url"),
                   text=hit.node.get_content(), score=round(hit.score or 0.0, 6),
                   dense_score=m.get("dense_score", 0.0), bm25_score=m.get("bm25_score", 0.0), rank=rank,
                   access=m.get("access", "public"), channel_id=m.get("channel_id"), source_id=m.get("source_id", ""),
                   updated_at=m.get("updated_at"), anchor=m.get("anchor", ""), term_anchors=m.get("term_anchors") or {},
                   section_anchor=m.get("section_anchor", ""))


def mark_index_changed(collection) -> None:
    """Record a new index version so every process rebuilds its BM25 index on next query."""
    update_metadata(collection, {_VERSION_KEY: time.time_ns()})


def index_state(collection) -> dict:
    """What a BM25 index must have been built from to be current: the version marker and the size."""
    return {"version": (collection.metadata or {}).get(_VERSION_KEY), "count": collection.count()}


def build_bm25(collection) -> Bm25Index:
    got = collection.get(include=["documents"])
    return Bm25Index.build(got["ids"], got["documents"])


def save_bm25(settings: IndexSettings, collection) -> None:
    """Build and save the BM25 index beside an embedded index (done after every change, so a cold
    `citebot ask` loads it instead of reading and tokenizing every chunk)."""
    if not settings.chroma_url:
        build_bm25(collection).save(bm25_folder(settings), index_state(collection))


class HybridRetriever(BaseRetriever):
    """Retrieves from the configured collection; cheap to keep around in a long-running bot."""

    def __init__(self, settings: IndexSettings):
        super().__init__()
        self.settings = settings
        self._client = None
        self._collection = None
        self._bm25: Bm25Index | None = None
        self._bm25_state: dict | None = None
        self._checked_at = 0.0
        self._state_at = float("-inf")  # when the BM25 index was last checked against the collection

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

    def _fresh_collection(self, collection):
        """The collection as stored now: another process (a worker, `citebot index`) may have changed the
        index since this handle was opened. Re-read at most every VERSION_RECHECK_SECONDS."""
        if time.monotonic() - self._checked_at >= VERSION_RECHECK_SECONDS:
            self._collection = collection = self._named_collection() or collection
            self._checked_at = time.monotonic()
        return collection

    def _bm25_index(self, collection) -> Bm25Index:
        """The BM25 index of what is stored now. Whether that changed (version marker, chunk count) is asked
        at most every VERSION_RECHECK_SECONDS, like the collection itself: Chroma's count holds the GIL for
        milliseconds, which every answer paid and a busy bot's acks waited behind."""
        collection = self._fresh_collection(collection)  # build from what is stored now, not an old handle
        if self._bm25 is not None and time.monotonic() - self._state_at < VERSION_RECHECK_SECONDS:
            return self._bm25
        state = index_state(collection)
        self._state_at = time.monotonic()
        if self._bm25 is None or state != self._bm25_state:
            folder = None if self.settings.chroma_url else bm25_folder(self.settings)  # none with a server
            saved = folder and Bm25Index.load(folder, state)
            self._bm25 = saved or build_bm25(collection)
            if folder and not saved:
                try:
                    self._bm25.save(folder, state)
                except OSError as exc:  # a read-only home: answer from memory, rebuild next process
                    log.warning("could not save the BM25 index in %s: %s", folder, exc)
            self._bm25_state = state
        return self._bm25

    def document_text(self, doc_id: str) -> str:
        """One document's indexed Markdown (its chunks' bodies): what a link's quoted words must occur in
        once for a browser to land on them (`answering.links`)."""
        collection = self._get_collection()
        if collection is None:
            return ""
        got = self._fresh_collection(collection).get(where={"doc_id": doc_id}, include=["documents"])
        return "\n\n".join(chunk_body(text) for text in got["documents"])

    def routing(self) -> dict | None:
        """The thresholds the index derived for itself (`indexing.calibration`), as stored now."""
        collection = self._get_collection()
        return stored_routing(self._fresh_collection(collection).metadata) if collection is not None else None

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        return [p.to_node() for p in self.search(query_bundle.query_str)]

    def search(self, query: str, k: int | None = None, mode: str = "hybrid",
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
            for cid, score in self._bm25_index(collection).search(query, n):
                found.setdefault(cid, {"text": None, "meta": None, "dense": None, "bm25": 0.0})["bm25"] = score
        self._fill_lexical_only(collection, query_vector, found)
        defining = _definitions(collection, query, query_vector, found) if mode == "hybrid" else set()
        top_bm25 = max((c["bm25"] for c in found.values()), default=0.0) or 1.0
        weight = {"hybrid": self.settings.dense_weight, "dense": 1.0, "bm25": 0.0}[mode]
        for c in found.values():
            c["fused"] = weight * c["dense"] + (1.0 - weight) * c["bm25"] / top_bm25
        ranked = sorted(found.items(), key=lambda item: item[1]["fused"], reverse=True)
        top = ranked[:k]
        if defining and not defining & {cid for cid, _ in top}:  # the definition takes the last place
            top = top[:k - 1] + [next(item for item in ranked if item[0] in defining)]
        return [self._passage(cid, c, rank) for rank, (cid, c) in enumerate(top, 1)]

    @staticmethod
    def _fill_lexical_only(collection, query_vector: list[float], candidates: dict[str, dict]) -> None:
        """BM25-only candidates get their text, metadata and real cosine similarity (so thresholds see
        one scale); a chunk deleted since the BM25 index was built is dropped."""
        missing = [cid for cid, c in candidates.items() if c["dense"] is None]
        if not missing:
            return
        got = collection.get(ids=missing, include=["documents", "metadatas", "embeddings"])
        for cid, doc, meta, vector in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"]):
            candidates[cid].update(text=doc, meta=meta, dense=cosine(query_vector, vector))
        for cid in missing:
            if candidates[cid]["dense"] is None:
                del candidates[cid]

    @staticmethod
    def _passage(cid: str, c: dict, rank: int) -> Passage:
        meta = c["meta"]
        return Passage(chunk_id=cid, doc_id=meta.get("doc_id", cid), title=meta.get("title", ""),
                       heading=meta.get("heading", ""), source=meta.get("path", ""), url=meta.get("url"),
                       text=c["text"], score=round(c["fused"], 6), dense_score=round(c["dense"] or 0.0, 4),
                       bm25_score=round(c["bm25"], 4), rank=rank, access=meta.get("access", "public"),
                       channel_id=meta.get("channel_id"), source_id=meta.get("source_id", ""),
                       updated_at=meta.get("updated_at"), anchor=meta.get("anchor", ""),
                       term_anchors=json.loads(meta.get("term_anchors") or "{}"),
                       section_anchor=meta.get("section_anchor", ""))


def _definitions(collection, query: str, query_vector: list[float], candidates: dict[str, dict]) -> set[str]:
    """The chunks that define what the question names as written ("what does -E do?": the chunk whose
    term is `**-E**`), added to the candidates. Neither half finds them reliably: BM25 drops one-letter
    tokens and ignores case, and a dense vector barely notices `-E` in a question about sphinx-build. A
    term opens its paragraph, so a chunk holding "**" + the name is read and its terms checked."""
    defining: set[str] = set()
    for name in code_names(query):
        got = collection.get(where_document={"$contains": f"**{escape_inline(name)}"}, limit=DEFINITION_CANDIDATES,
                             include=["documents", "metadatas", "embeddings"])
        for cid, doc, meta, vector in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"]):
            if any(name in block.names() for block in parse_blocks(chunk_body(doc))):
                defining.add(cid)
                candidates.setdefault(cid, {"text": doc, "meta": meta, "dense": cosine(query_vector, vector),
                                            "bm25": 0.0})
    return defining
