"""Heading-aware chunking: every chunk starts with the page title and its heading path.

Keeping "Deploying to production > Deploy windows" in the chunk text lets both the embedder and BM25
match questions that use the heading's words, and lets a citation say which section it came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexing.documents import SourceDocument

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass
class Chunk:
    chunk_id: str
    doc_id: str
    heading: str
    text: str  # what is embedded and searched: "Title > Heading\nbody"
    body: str  # the section text alone, for quoting


def _split_long(text: str, limit: int) -> list[str]:
    """Pack paragraphs (then sentences) into pieces of at most ~limit characters."""
    pieces: list[str] = []
    current = ""
    units = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    expanded: list[str] = []
    for unit in units:
        expanded.extend(_SENTENCE_END.split(unit) if len(unit) > limit else [unit])
    for unit in expanded:
        if current and len(current) + len(unit) + 2 > limit:
            pieces.append(current)
            current = unit
        else:
            current = f"{current}\n\n{unit}" if current else unit
    if current:
        pieces.append(current)
    return pieces


def chunk_document(doc: SourceDocument, chunk_chars: int) -> list[Chunk]:
    """Chunks of one document; ids embed the content hash so a changed document gets new ids."""
    chunks: list[Chunk] = []
    for section in doc.sections:
        path = " > ".join(p for p in (doc.title, section.heading) if p)
        # A heading-path that repeats the title ("VPN > VPN > Setup") reads badly in citations.
        if section.heading.startswith(doc.title + " > ") or section.heading == doc.title:
            path = section.heading
        for body in _split_long(section.text, chunk_chars):
            index = len(chunks)
            chunks.append(Chunk(
                chunk_id=f"{doc.doc_id}::{doc.content_hash[:12]}::{index}",
                doc_id=doc.doc_id,
                heading=path,
                text=f"{path}\n{body}",
                body=body,
            ))
    return chunks
