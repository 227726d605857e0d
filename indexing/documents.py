"""Reading files into documents with a title and heading-delimited sections.

Only text formats are read here (Markdown, plain text, HTML). A file that cannot be read is not an
error for the whole run: it becomes a `Skipped` entry with a reason the summary shows.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

SUPPORTED_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".html": "html", ".htm": "html"}
MAX_FILE_BYTES = 5 * 1024 * 1024


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
    access: str = "public"
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


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableFile(f"too large ({size // 1024} KiB > {MAX_FILE_BYTES // 1024} KiB)")
        raw = path.read_bytes()
    except PermissionError:
        raise UnreadableFile("permission denied") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot read: {exc.strerror or exc}") from None
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
            self._newline()
            self._heading_level = self.HEADINGS[tag]
        elif tag in self.BLOCKS:
            self._newline()

    def handle_endtag(self, tag):
        if tag in ("script", "style", "noscript"):
            self._skip = max(0, self._skip - 1)
        elif tag == "title":
            self._in_title = False
        elif tag in self.HEADINGS and self._heading_level:
            text = " ".join("".join(self._current).split())
            self._current = []
            if text:
                self.lines.append("#" * self._heading_level + " " + text)
            self._heading_level = 0
        elif tag in self.BLOCKS:
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
    parser.close()
    parser._newline()
    title, sections = parse_markdown("\n\n".join(parser.lines), fallback_title)
    page_title = " ".join(parser.title.split())
    return (page_title or title), sections


def load_file(path: Path, source_id: str, url: str | None = None) -> SourceDocument:
    """Read one supported file; raises UnreadableFile with the reason to show."""
    kind = SUPPORTED_SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise UnreadableFile(f"unsupported file type '{path.suffix or path.name}'")
    text = _read_text(path)
    fallback = path.stem.replace("-", " ").replace("_", " ").strip().capitalize()
    if kind == "markdown":
        title, sections = parse_markdown(text, fallback)
    elif kind == "html":
        title, sections = parse_html(text, fallback)
    else:
        title, sections = fallback, [Section("", text.strip())]
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
