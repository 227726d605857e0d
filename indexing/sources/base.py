"""The one interface every source implements, and the harvest it fills.

A source lists its documents into a `Harvest`. Anything it cannot read becomes a skip with a reason;
a document that was skipped keeps its previously indexed version. When a source could not list
everything (an API error in the middle of paging) it marks the harvest incomplete, and the pipeline
then deletes nothing for it: a document missing from a partial listing has not disappeared.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from indexing.documents import Skipped, SourceDocument

ProgressFn = Callable[[str, int, int], None]  # (stage, done, total); total 0 when unknown


@dataclass
class Harvest:
    documents: dict[str, SourceDocument] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    kept_ids: set[str] = field(default_factory=set)  # ids whose old version stays (read failed this time)
    duplicates: int = 0
    complete: bool = True
    _hashes: set[str] = field(default_factory=set, repr=False)

    def add(self, doc: SourceDocument) -> None:
        """Keep one copy of identical content: the same page under two names is one citation."""
        if doc.doc_id in self.documents:
            return
        if doc.content_hash in self._hashes:
            self.duplicates += 1
            self.skipped.append(Skipped(doc.path, "duplicate of a document already in this source"))
            return
        self.documents[doc.doc_id] = doc
        self._hashes.add(doc.content_hash)

    def skip(self, where: str, reason: str, doc_id: str | None = None) -> None:
        self.skipped.append(Skipped(where, reason))
        if doc_id:
            self.kept_ids.add(doc_id)

    def interrupted(self, where: str, reason: str) -> None:
        """The listing stopped early: report it and keep every previously indexed document."""
        self.skip(where, reason)
        self.complete = False


@dataclass
class Indexed:
    """What the index holds for one document (read back from chunk metadata)."""

    doc_id: str
    source_id: str
    path: str
    content_hash: str
    chunk_ids: list[str] = field(default_factory=list)
    chunk_count: int | None = None  # chunks the document was cut into when it was written

    @property
    def complete(self) -> bool:
        """False when a run was killed between two embedding batches of this document."""
        return self.chunk_count is None or len(self.chunk_ids) >= self.chunk_count


class Source(ABC):
    """A named place documents come from; `name` is stored as `source_id` on every chunk."""

    name: str

    @abstractmethod
    def collect(self, harvest: Harvest, progress: ProgressFn) -> None:
        """Read every document of the source into `harvest`, reporting (stage, done, total)."""

    def owns(self, indexed: Indexed) -> bool:
        """Whether an indexed document belongs to this source (and so is deleted when it vanishes)."""
        return indexed.source_id == self.name

    def describe(self) -> str:
        """One line for `citebot sources` and error messages."""
        return f"{self.name} ({type(self).__name__})"


class DocumentsSource(Source):
    """Documents handed over one at a time (a thread marked resolved): added or updated, never pruned."""

    def __init__(self, name: str, documents: list[SourceDocument]):
        self.name, self.documents = name, documents

    def collect(self, harvest: Harvest, progress: ProgressFn) -> None:
        for doc in self.documents:
            harvest.add(doc)

    def owns(self, indexed: Indexed) -> bool:
        return False  # other documents of this source were handed over earlier and stay
