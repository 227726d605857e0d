"""The lexical half of hybrid retrieval: stemmed BM25 (bm25s) over every chunk, kept on disk.

Building BM25 needs every chunk's text, which a cold `citebot ask` should not read and tokenize again.
So the index is saved beside the embedded Chroma index (CITEBOT_HOME/bm25) with the index version it
was built from, and loaded memory-mapped while that version is current. With a Chroma server the
index lives elsewhere, so each process builds it once in memory and rebuilds when the version marker
moves (another process reindexed). Saving is atomic (a new folder renamed into place): a reader sees
the old index, the new one, or none, never half of one.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

BM25_K1, BM25_B = 1.5, 0.9  # tuned on the benchmark (defaults 1.2/0.75 give 0.507 vs 0.514 with stemming)
STATE_FILE = "citebot_state.json"


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


class Bm25Index:
    """BM25 over every chunk, English stop words removed and words stemmed ("backups" finds "backup").

    `ids[i]` is the chunk id of document i; texts and metadata stay in Chroma (fetched for the few hits
    the dense half did not return), so a loaded index holds only the term statistics."""

    def __init__(self, ids: list[str], retriever):
        self.ids, self.retriever = ids, retriever
        self.stemmer = _stemmer()

    @classmethod
    def build(cls, ids: list[str], documents: list[str]) -> Bm25Index:
        import bm25s

        retriever = bm25s.BM25(k1=BM25_K1, b=BM25_B)
        index = cls(ids, retriever)
        if ids:
            retriever.index(index._tokenize(documents), show_progress=False)
        return index

    def _tokenize(self, texts: list[str]):
        import bm25s

        return bm25s.tokenize(texts, stopwords="en", stemmer=self.stemmer, show_progress=False)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) of the best `k` chunks with a positive score."""
        tokens = self._tokenize([query])
        if not tokens.vocab or not self.ids:
            return []
        docs, scores = self.retriever.retrieve(tokens, k=min(k, len(self.ids)), show_progress=False)
        return [(self.ids[int(i)], float(s)) for i, s in zip(docs[0], scores[0]) if s > 0]

    def save(self, folder: Path, state: dict) -> None:
        """Write the index for `state` (the collection's version and size) into `folder`, atomically."""
        if not self.ids:
            return
        folder.parent.mkdir(parents=True, exist_ok=True)
        partial = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
        shutil.rmtree(partial, ignore_errors=True)
        self.retriever.save(str(partial), show_progress=False)
        (partial / "ids.json").write_text(json.dumps(self.ids), encoding="utf-8")
        (partial / STATE_FILE).write_text(json.dumps(state), encoding="utf-8")
        old = folder.with_name(f"{folder.name}.old-{os.getpid()}")
        try:
            folder.rename(old)
        except FileNotFoundError:  # first save, or another process is swapping its copy in right now
            pass
        try:
            partial.rename(folder)
        except OSError:  # another process saved the same index at the same moment: keep its copy
            shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, state: dict) -> Bm25Index | None:
        """The index saved in `folder` if it was built for `state`; None if missing, stale or unreadable."""
        import bm25s

        try:
            if json.loads((folder / STATE_FILE).read_text(encoding="utf-8")) != state:
                return None
            ids = json.loads((folder / "ids.json").read_text(encoding="utf-8"))
            retriever = bm25s.BM25.load(str(folder), mmap=True, show_progress=False)
        except (OSError, ValueError):  # none yet, replaced while we read it, or damaged: build instead
            return None
        return cls(ids, retriever)
