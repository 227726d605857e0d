"""Incremental indexing keyed on content hashes.

Unchanged documents are not re-embedded, changed ones are replaced (new chunks are written before the
old ones are removed, so a crash mid-run leaves the previous version searchable), and documents that
disappeared from a source are deleted. Documents that cannot be read are reported and their previously
indexed version is kept; a source that could not be listed in full deletes nothing. Bad input never
loses what was already indexed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.settings import IndexSettings
from indexing.calibration import calibrate_index
from indexing.chunking import Chunk, chunk_document
from indexing.documents import Skipped, SourceDocument
from indexing.retrieval import mark_index_changed, save_bm25
from indexing.sources.base import Harvest, ProgressFn, Source
from indexing.sources.files import FileSource
from indexing.store import check_chunker, manifest, open_collection, save_routing, stored_routing

EMBED_BATCH = 64


@dataclass
class IndexSummary:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    duplicates: int = 0
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    complete: bool = True  # False: the source could not be listed in full, so nothing was deleted
    source: str = ""
    skipped: list[Skipped] = field(default_factory=list)
    routing: dict | None = None  # the thresholds the index derived for itself (indexing.calibration)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data


def _metadata(doc: SourceDocument, chunk: Chunk, chunk_count: int) -> dict:
    # Chroma metadata must be flat scalars; None values are dropped. `chunk_count` lets the next run see
    # a document that a killed run wrote only in part.
    meta = {
        "source_id": doc.source_id, "title": doc.title, "path": doc.path,
        "url": section_url(doc.url, chunk.anchor), "heading": chunk.heading, "anchor": chunk.anchor or None, "content_hash": doc.content_hash,
        "updated_at": doc.updated_at, "access": doc.access, "channel_id": doc.channel_id,
        "chunk_count": chunk_count,
        "term_anchors": json.dumps(chunk.term_anchors) if chunk.term_anchors else None,
        "section_anchor": chunk.section_anchor or None,
    }
    return {k: v for k, v in meta.items() if v is not None}


def section_url(url: str | None, anchor: str) -> str | None:
    """The page's link, deep-linked to the section where the page has an anchor for it."""
    if not url or not anchor or "#" in url:
        return url
    return f"{url}#{anchor}"


def _write_chunks(collection, docs: list[SourceDocument], settings: IndexSettings, progress: ProgressFn) -> int:
    """Chunk, embed (LlamaIndex ingestion pipeline) and upsert the given documents into Chroma."""
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
    from llama_index.vector_stores.chroma import ChromaVectorStore

    from indexing.embedder import get_embedder, prepare

    nodes = []
    for done, doc in enumerate(docs, 1):
        progress("chunking", done, len(docs))
        chunks = chunk_document(doc, settings.chunk_chars)
        for chunk in chunks:
            # The SOURCE relationship makes LlamaIndex store our document id as the chunk's doc_id.
            # Metadata (paths, hashes, dates) stays out of the embedded text: LlamaIndex would otherwise
            # prepend it, and scores would depend on where a file lives. The heading path is in the text.
            metadata = _metadata(doc, chunk, len(chunks))
            nodes.append(TextNode(id_=chunk.chunk_id, text=chunk.text, metadata=metadata,
                                  excluded_embed_metadata_keys=list(metadata),
                                  excluded_llm_metadata_keys=list(metadata),
                                  relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=doc.doc_id)}))
    if not nodes:
        return 0
    prepare(settings)  # torch-free query encoders, exported while indexing (once per model)
    pipeline = IngestionPipeline(transformations=[get_embedder(settings)],
                                 vector_store=ChromaVectorStore(chroma_collection=collection))
    for start in range(0, len(nodes), EMBED_BATCH):
        pipeline.run(nodes=nodes[start:start + EMBED_BATCH])
        progress("embedding", min(start + EMBED_BATCH, len(nodes)), len(nodes))
    return len(nodes)


def index_paths(paths: Sequence[Path], settings: IndexSettings, progress: ProgressFn | None = None) -> IndexSummary:
    """Index files and folders given on the command line; each root scopes deletion of vanished files."""
    return index_source(FileSource.adhoc(paths), settings, progress)


def index_source(source: Source, settings: IndexSettings, progress: ProgressFn | None = None) -> IndexSummary:
    """Bring the index in line with one source: embed new and changed documents, delete vanished ones."""
    progress = progress or (lambda *_: None)
    started = time.perf_counter()
    collection = open_collection(settings)  # first: a wrong embedding model fails before any work
    check_chunker(collection, settings)
    harvest = Harvest()
    source.collect(harvest, progress)
    known = manifest(collection)
    summary = IndexSummary(source=source.name, skipped=harvest.skipped, duplicates=harvest.duplicates,
                           complete=harvest.complete)

    changed: list[SourceDocument] = []
    stale_chunks: list[str] = []
    for doc_id, doc in harvest.documents.items():
        before = known.get(doc_id)
        if before is None:
            summary.added += 1
            changed.append(doc)
        elif before.content_hash != doc.content_hash:
            summary.updated += 1
            changed.append(doc)
            stale_chunks.extend(before.chunk_ids)
        elif not before.complete:  # a killed run wrote part of it: write it again (same chunk ids)
            summary.updated += 1
            changed.append(doc)
        else:
            summary.unchanged += 1
    if harvest.complete:
        for doc_id, before in known.items():
            vanished = doc_id not in harvest.documents and doc_id not in harvest.kept_ids
            if vanished and source.owns(before):
                summary.deleted += 1
                stale_chunks.extend(before.chunk_ids)

    # New chunks go in before stale ones go out: an interrupted run leaves the old version searchable.
    summary.chunks_embedded = _write_chunks(collection, changed, settings, progress)
    for start in range(0, len(stale_chunks), 500):
        collection.delete(ids=stale_chunks[start:start + 500])
    if changed or stale_chunks:
        mark_index_changed(collection)
        save_bm25(settings, collection)
        progress("calibrating", 0, 0)
        routing = calibrate_index(settings, collection)
        save_routing(collection, routing and routing.as_dict())
    summary.routing = stored_routing(collection.metadata)
    summary.chunks_total = collection.count()
    summary.seconds = time.perf_counter() - started
    return summary
