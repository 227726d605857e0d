"""`citebot eval retrieval`: the real indexing pipeline and retriever measured on a BEIR folder.

The corpus is indexed into a throw-away home through the same pipeline as user documents (chunking,
LlamaIndex ingestion, Chroma), re-indexed unchanged to time the incremental path, then every query is
run three ways (BM25 alone, dense alone, hybrid) so the baselines and the hybrid come from one run.
Optionally the embedder is then adapted to the corpus and dense and hybrid are scored again.
Chunk hits are turned into document rankings by first appearance (a document ranks by its best chunk).
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from core.errors import CitebotError
from core.settings import IndexSettings
from indexing.adaptation import AdaptParams
from indexing.documents import SourceDocument, text_sections
from indexing.metrics import evaluate_run, percentile
from indexing.sources.base import Harvest, ProgressFn, Source

MODES = ("bm25", "dense", "hybrid")
DEPTH = 100  # documents per query for Recall@100


@dataclass
class BeirData:
    name: str
    corpus: dict[str, tuple[str, str]]  # doc id → (title, text)
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def _jsonl(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise CitebotError(f"{path}:{number} is not JSON ({exc.msg}).") from None
    return rows


def load_beir(folder: Path, split: str = "test") -> BeirData:
    """Read corpus.jsonl, queries.jsonl and qrels/<split>.tsv; errors say which file is wrong."""
    needed = [folder / "corpus.jsonl", folder / "queries.jsonl", folder / "qrels" / f"{split}.tsv"]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        raise CitebotError(f"{folder} is not a BEIR folder: missing {', '.join(missing)}.")
    corpus = {str(r["_id"]): (r.get("title") or "", r.get("text") or "") for r in _jsonl(needed[0])}
    queries = {str(r["_id"]): r["text"] for r in _jsonl(needed[1])}
    qrels: dict[str, dict[str, int]] = {}
    for number, line in enumerate(needed[2].read_text(encoding="utf-8").splitlines(), 1):
        parts = line.split("\t")
        if number == 1 and not parts[-1].strip().lstrip("-").isdigit():
            continue  # header row
        if len(parts) < 3:
            raise CitebotError(f"{needed[2]}:{number}: expected query-id, corpus-id, score.")
        qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    qrels = {q: rel for q, rel in qrels.items() if q in queries}
    if not corpus or not qrels:
        raise CitebotError(f"{folder}: no documents or no judged queries found.")
    return BeirData(folder.name, corpus, queries, qrels)


class BeirSource(Source):
    """A BEIR corpus as a source: one document per record, its title as the page title."""

    def __init__(self, data: BeirData):
        self.name = f"beir:{data.name}"
        self.data = data

    def collect(self, harvest: Harvest, progress: ProgressFn) -> None:
        total = len(self.data.corpus)
        for done, (doc_id, (title, text)) in enumerate(self.data.corpus.items(), 1):
            if text.strip():
                # add directly: BEIR corpora may hold identical texts under two ids, and both are judged
                harvest.documents[doc_id] = SourceDocument(
                    doc_id=doc_id, source_id=self.name, title=title, path=f"beir://{doc_id}", url=None,
                    sections=text_sections(text), updated_at="1970-01-01T00:00:00+00:00")
            progress("reading", done, total)


def _doc_ranking(passages) -> list[str]:
    seen: dict[str, None] = {}
    for p in passages:
        seen.setdefault(p.doc_id, None)
    return list(seen)


def _score(retriever, data: BeirData, judged: list[str], modes: tuple[str, ...], progress: ProgressFn) -> dict:
    chunks_depth = max(DEPTH * 3, 300)
    results: dict[str, dict] = {}
    for mode in modes:
        run = {}
        for done, qid in enumerate(judged, 1):
            run[qid] = _doc_ranking(retriever.search(data.queries[qid], k=chunks_depth, mode=mode,
                                                       candidates=chunks_depth))[:DEPTH]
            progress(f"queries ({mode})", done, len(judged))
        results[mode] = evaluate_run(run, {q: data.qrels[q] for q in judged})
    return results


def _adapted_run(source: BeirSource, bench: IndexSettings, data: BeirData, judged: list[str], adapt: AdaptParams,
                 progress: ProgressFn) -> dict:
    """Adapt the embedder to the indexed chunks (no query or judgement is used), index again with it, and
    score the modes that use embeddings."""
    from indexing.adaptation import adapt_embedder, indexed_chunks
    from indexing.pipeline import index_source
    from indexing.retrieval import HybridRetriever

    report = adapt_embedder(indexed_chunks(bench), bench, bench.home / "adapted", adapt, progress)
    adapted = bench.model_copy(update={"embed_model": report.out, "collection": "beir-adapted"})
    indexed = index_source(source, adapted, progress)
    return {"adapt": report.as_dict(), "index_seconds": round(indexed.seconds, 2),
            "metrics": _score(HybridRetriever(adapted), data, judged, ("dense", "hybrid"), progress)}


def evaluate_retrieval(folder: Path, settings: IndexSettings, progress: ProgressFn | None = None,
                       max_queries: int | None = None, adapt: AdaptParams | None = None) -> dict:
    """Index the corpus in a fresh home with `settings`' retrieval knobs, then score every mode; with
    `adapt`, also with the embedder adapted to the corpus (`citebot tune embedder`)."""
    from indexing.pipeline import index_source
    from indexing.retrieval import HybridRetriever

    progress = progress or (lambda *_: None)
    data = load_beir(folder)
    judged = sorted(data.qrels)[:max_queries] if max_queries else sorted(data.qrels)
    with tempfile.TemporaryDirectory(prefix="citebot-beir-") as home:
        bench = settings.model_copy(update={"home": Path(home), "chroma_url": None, "collection": "beir"})
        source = BeirSource(data)
        full = index_source(source, bench, progress)
        again = index_source(source, bench)
        retriever = HybridRetriever(bench)
        results = _score(retriever, data, judged, MODES, progress)
        latencies = []
        for qid in judged:  # the bot's own call: top_k passages, default candidate depth
            started = time.perf_counter()
            retriever.search(data.queries[qid])
            latencies.append((time.perf_counter() - started) * 1000)
        adapted = _adapted_run(source, bench, data, judged, adapt, progress) if adapt else None
    embed_seconds = max(full.seconds, 1e-9)
    return {
        "dataset": data.name, "documents": len(data.corpus), "queries": len(judged),
        "embed_model": settings.embed_model, "chunk_chars": settings.chunk_chars,
        "dense_weight": settings.dense_weight,
        "chunks": full.chunks_total,
        "index_seconds": round(full.seconds, 2),
        "reindex_unchanged_seconds": round(again.seconds, 3),
        "reindex_unchanged_pct": round(100 * again.seconds / embed_seconds, 2),
        "docs_per_second": round(len(data.corpus) / embed_seconds, 1),
        "chunks_per_second": round(full.chunks_embedded / embed_seconds, 1),
        "query_ms_p50": round(statistics.median(latencies), 1),
        "query_ms_p95": round(percentile(latencies, 95), 1),
        "metrics": results,
        "adapted": adapted,
    }
