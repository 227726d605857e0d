"""Reading files into documents with a title and heading-delimited sections.

Markdown, plain text, HTML and PDF. A file that cannot be read is not an error for the whole run: it
becomes a `Skipped` entry with a reason the summary shows.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

SUPPORTED_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".html": "html", ".htm": "html",
                      ".pdf": "pdf"}
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_PDF_BYTES = 25 * 1024 * 1024  # PDFs carry fonts and images; their text is a small part


@dataclass
class Section:
    heading: str  # "Page title > Section > Subsection"; empty for text before the first heading
    text: str


@dataclass
class SourceDocument:
    """One citable document: a file, later also a Slack thread or a web page."""

    doc_id: str
    source_id: str
    title: str
    path: str
    url: str | None
    sections: list[Section]
    updated_at: str
    access: str = "public"  # "public", or "private" for a private Slack channel's thread
    channel_id: str | None = None  # the Slack channel a thread comes from; who may see it is decided there
    content_hash: str = field(init=False)

    def __post_init__(self) -> None:
        body = "\n".join(f"{s.heading}\n{s.text}" for s in self.sections)
        self.content_hash = hashlib.sha256(f"{self.title}\n{body}".encode()).hexdigest()


@dataclass
class Skipped:
    path: str
    reason: str


class UnreadableFile(Exception):
    """A file we will not index; the message is the reason shown to the user."""


def _read_bytes(path: Path, limit: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > limit:
            raise UnreadableFile(f"too large ({size // 1024} KiB > {limit // 1024} KiB)")
        return path.read_bytes()
    except PermissionError:
        raise UnreadableFile("permission denied") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot read: {exc.strerror or exc}") from None


def decode_text(raw: bytes) -> str:
    """UTF-8 text or UnreadableFile: binary and empty content are reasons, not crashes."""
    if b"\x00" in raw[:8192]:
        raise UnreadableFile("binary file (contains NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableFile("not UTF-8 text") from None
    if not text.strip():
        raise UnreadableFile("empty file")
    return text


_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def parse_markdown(text: str, fallback_title: str) -> tuple[str, list[Section]]:
    """Split Markdown at ATX headings (outside code fences), keeping the heading path per section."""
    title = fallback_title
    stack: list[tuple[int, str]] = []
    sections: list[Section] = []
    buffer: list[str] = []
    in_fence = False

    def flush() -> None:
        body = "\n".join(buffer).strip()
        if body:
            sections.append(Section(" > ".join(h for _, h in stack), body))
        buffer.clear()

    for line in text.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else _MD_HEADING.match(line)
        if not match:
            buffer.append(line)
            continue
        flush()
        level, heading = len(match.group(1)), match.group(2).strip()
        if level == 1 and title == fallback_title and not sections:
            title = heading
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, heading))
    flush()
    return title, sections


class _HTMLSections(HTMLParser):
    """Collects <title>, headings and visible text of an HTML page, ignoring script/style."""

    HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
    BLOCKS = {"p", "li", "dt", "dd", "div", "br", "tr", "pre", "section", "article", "table"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.lines: list[str] = []
        self._current: list[str] = []
        self._skip = 0
        self._in_title = False
        self._heading_level = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "noscript"):
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag in self.HEADINGS:
            self._close_heading()
            self._newline()
            self._heading_level = self.HEADINGS[tag]
        elif tag in self.BLOCKS:
            self._close_heading()  # broken HTML: a block inside an unclosed heading ends the heading
            self._newline()

    def handle_endtag(self, tag):
        if tag in ("script", "style", "noscript"):
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif tag in self.HEADINGS:
            self._close_heading()
        elif tag in self.BLOCKS:
            self._newline()

    def _close_heading(self) -> None:
        if not self._heading_level:
            return
        text = " ".join("".join(self._current).split())
        self._current = []
        if text:
            self.lines.append("#" * self._heading_level + " " + text)
        self._heading_level = 0

    def finish(self) -> None:
        self.close()
        self._close_heading()
        self._newline()

    def handle_data(self, data):
        if self._skip:
            return
        if self._in_title:
            self.title += data
        else:
            self._current.append(data)

    def _newline(self) -> None:
        text = " ".join("".join(self._current).split())
        if text and not self._heading_level:
            self.lines.append(text)
            self._current = []


def parse_html(text: str, fallback_title: str) -> tuple[str, list[Section]]:
    """HTML → the same heading-path sections as Markdown (headings become `#` lines)."""
    parser = _HTMLSections()
    parser.feed(text)
    parser.finish()
    title, sections = parse_markdown("\n\n".join(parser.lines), fallback_title)
    page_title = " ".join(parser.title.split())
    return (page_title or title), sections


def parse_pdf(raw: bytes, fallback_title: str) -> tuple[str, list[Section]]:
    """One section per page ("page 3"), so a citation says where in the PDF to look."""
    import io
    import logging

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # broken files are reported once, as a skip
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            raise UnreadableFile("encrypted PDF")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        meta_title = (reader.metadata.title if reader.metadata else None) or ""
    except UnreadableFile:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise UnreadableFile(f"broken PDF ({type(exc).__name__}: {exc})") from None
    sections = [Section(f"page {n}", " ".join(text.split())) for n, text in enumerate(pages, 1) if text]
    return (" ".join(meta_title.split()) or fallback_title), sections


def parse_bytes(raw: bytes, kind: str, fallback_title: str) -> tuple[str, list[Section]]:
    """Title and sections of content of a known kind (markdown, text, html, pdf)."""
    if kind == "pdf":
        return parse_pdf(raw, fallback_title)
    text = decode_text(raw)
    if kind == "markdown":
        return parse_markdown(text, fallback_title)
    if kind == "html":
        return parse_html(text, fallback_title)
    return fallback_title, [Section("", text.strip())]


def load_file(path: Path, source_id: str, url: str | None = None) -> SourceDocument:
    """Read one supported file; raises UnreadableFile with the reason to show."""
    kind = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise UnreadableFile(f"unsupported file type '{path.suffix or path.name}'")
    raw = _read_bytes(path, MAX_PDF_BYTES if kind == "pdf" else MAX_FILE_BYTES)
    fallback = path.stem.replace("-", " ").replace("_", " ").strip().capitalize()
    title, sections = parse_bytes(raw, kind, fallback)
    if not sections:
        raise UnreadableFile("no text content")
    mtime = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc).isoformat()
    resolved = str(path.resolve())
    return SourceDocument(doc_id=resolved, source_id=source_id, title=title, path=resolved,
                          url=url, sections=sections, updated_at=mtime)


def iter_files(root: Path) -> list[Path]:
    """The supported files under a folder (sorted, hidden folders skipped), or the file itself."""
    if root.is_file():
        return [root]
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and p.suffix.lower() in SUPPORTED_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
