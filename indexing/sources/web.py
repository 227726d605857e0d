"""Web pages from a list of URLs (HTML, plain text, Markdown or PDF, by Content-Type).

A page that fails to load (HTTP error, timeout, wrong type, too big) is skipped with the reason and its
previously indexed version is kept; a page removed from the list is deleted from the index.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.parse import urlparse

from core.errors import CitebotError
from indexing.documents import MAX_FILE_BYTES, SourceDocument, UnreadableFile, parse_bytes
from indexing.sources.base import Harvest, ProgressFn, Source

CONTENT_KINDS = {"text/html": "html", "application/xhtml+xml": "html", "text/plain": "text",
                 "text/markdown": "markdown", "application/pdf": "pdf"}
TIMEOUT_S = 20


def _last_modified(header: str | None) -> str | None:
    """The page's Last-Modified header as ISO 8601 UTC, when the server sends a valid one."""
    try:
        return parsedate_to_datetime(header).astimezone(timezone.utc).isoformat() if header else None
    except (TypeError, ValueError):
        return None


class WebSource(Source):
    def __init__(self, name: str, urls: Sequence[str], timeout: float = TIMEOUT_S):
        bad = [u for u in urls if urlparse(u).scheme not in ("http", "https") or not urlparse(u).hostname]
        if bad:
            raise CitebotError(f"Source {name!r}: not http(s) URLs: {', '.join(bad)}")
        self.name, self.urls, self.timeout = name, list(urls), timeout

    def fetch(self, url: str) -> SourceDocument:
        request = urllib.request.Request(url, headers={"User-Agent": "citebot-indexer"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                content_type = response.headers.get_content_type()
                kind = CONTENT_KINDS.get(content_type)
                if kind is None:
                    raise UnreadableFile(f"unsupported content type {content_type}")
                raw = response.read(MAX_FILE_BYTES + 1)
                modified = _last_modified(response.headers.get("Last-Modified"))
                final_url = response.geturl()
        except urllib.error.HTTPError as exc:
            raise UnreadableFile(f"HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise UnreadableFile(f"cannot fetch: {getattr(exc, 'reason', exc)}") from None
        if len(raw) > MAX_FILE_BYTES:
            raise UnreadableFile(f"too large (> {MAX_FILE_BYTES // 1024} KiB)")
        host_path = urlparse(final_url)
        fallback = (host_path.path.rstrip("/").rsplit("/", 1)[-1] or host_path.hostname or url).replace("-", " ")
        title, sections = parse_bytes(raw, kind, fallback.capitalize())
        if not sections:
            raise UnreadableFile("no text content")
        return SourceDocument(doc_id=url, source_id=self.name, title=title, path=url, url=final_url,
                              sections=sections, updated_at=modified or datetime.now(timezone.utc).isoformat())

    def collect(self, harvest: Harvest, progress: ProgressFn) -> None:
        for done, url in enumerate(self.urls, 1):
            try:
                harvest.add(self.fetch(url))
            except UnreadableFile as exc:
                harvest.skip(url, str(exc), doc_id=url)
            progress("fetching", done, len(self.urls))

    def describe(self) -> str:
        return f"{self.name}: {len(self.urls)} web page(s)"
