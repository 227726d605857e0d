"""Reading files into documents with a title and heading-delimited sections of Markdown blocks.

Markdown, plain text, HTML and PDF. A file that cannot be read is not an error for the whole run: it
becomes a `Skipped` entry with a reason the summary shows.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from indexing.blocks import Block, escape_inline, escape_paragraph, parse_blocks, render
from indexing.html_blocks import NotHTML, fragment_blocks, html_blocks

SUPPORTED_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".html": "html", ".htm": "html",
                      ".pdf": "pdf"}
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_PDF_BYTES = 25 * 1024 * 1024  # PDFs carry fonts and images; their text is a small part


@dataclass
class Section:
    heading: str  # "Page title > Section > Subsection"; empty for text before the first heading
    text: str  # Markdown (see indexing.blocks): paragraphs, lists, code blocks, tables
    anchor: str = ""  # where in the page the section starts ("setting-up-the-vpn", "page=3")
    # Definition terms of the section that a link can jump to, by their Markdown, each occurrence's id in
    # order (`**html_logo**` → ["confval-html_logo"]; "" for one without): in a reference page one section
    # holds dozens of settings or functions, and two classes may both define `**format = 'html'**`.
    term_anchors: dict[str, list[str]] = field(default_factory=dict)


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


def sections_from_blocks(blocks: list[Block], fallback_title: str) -> tuple[str, list[Section]]:
    """Group blocks under their heading path; a first level-1 heading before any text is the title."""
    title = fallback_title
    stack: list[Block] = []
    sections: list[Section] = []
    body: list[Block] = []

    def flush() -> None:
        if body:
            anchored = {b.text for b in body if b.anchor and b.is_term()}
            terms: dict[str, list[str]] = {}
            for block in body:
                if block.text in anchored and block.is_term():
                    terms.setdefault(block.text, []).append(block.anchor)
            sections.append(Section(" > ".join(h.text for h in stack), render(body),
                                    anchor=stack[-1].anchor if stack else "", term_anchors=terms))
        body.clear()

    for block in blocks:
        if block.kind != "heading":
            body.append(block)
            continue
        flush()
        if block.level == 1 and title == fallback_title and not sections:
            title = block.text
        while stack and stack[-1].level >= block.level:
            stack.pop()
        stack.append(block)
    flush()
    return title, sections


def parse_markdown(text: str, fallback_title: str) -> tuple[str, list[Section]]:
    """Markdown (ATX and setext headings, fences, lists, tables) into heading-path sections. HTML written
    in the page is read as HTML (`fragment_blocks`): a comment or a centred logo is never indexed, quoted
    or taken for the text before a page's title."""
    return sections_from_blocks(_html_read(parse_blocks(text, raw_html=True)), fallback_title)


def _html_read(blocks: list[Block]) -> list[Block]:
    """The blocks with their HTML blocks, and those inside list items (a comment above an item's example),
    read as HTML; an item without one keeps its Markdown as written."""
    read: list[Block] = []
    for block in blocks:
        if block.kind == "html":
            read.extend(fragment_blocks(block.text))
        elif block.kind == "list" and any("<" in item for item in block.items):
            read.append(replace(block, items=[_item_read(item) for item in block.items]))
        else:
            read.append(block)
    return read


def _item_read(item: str) -> str:
    inner = parse_blocks(item, raw_html=True)
    read = _html_read(inner)
    return item if read == inner else render([b for b in read if b.kind != "end"])  # an item ends no section


def parse_html(text: str, fallback_title: str) -> tuple[str, list[Section]]:
    """The page's main content (no navigation, tables of contents or footers) as sections."""
    try:
        page_title, blocks = html_blocks(text)
    except NotHTML as exc:
        raise UnreadableFile(f"not readable as HTML ({exc})") from None
    if not any(b.kind != "heading" for b in blocks):
        raise UnreadableFile("no main content (the page is only navigation or headings)")
    title, sections = sections_from_blocks(blocks, fallback_title)
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
    sections = [Section(f"page {n}", _pdf_paragraphs(text), anchor=f"page={n}")
                for n, text in enumerate(pages, 1) if text]
    return (" ".join(meta_title.split()) or fallback_title), sections


def _pdf_paragraphs(page: str) -> str:
    """A PDF page's lines as paragraphs: extracted text keeps line breaks but not paragraph marks, so a
    line ending a sentence ends a paragraph when the next line starts a new one."""
    paragraphs, current = [], []
    for line in (line.strip() for line in page.splitlines()):
        if not line:
            continue
        current.append(line)
        if line.endswith((".", ":", "!", "?")) and len(line) < 60:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(escape_paragraph(escape_inline(p)) for p in paragraphs)


def text_sections(text: str) -> list[Section]:
    """Plain text: paragraphs at blank lines, never read as Markdown (an indented line is not code, a `*`
    not emphasis)."""
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text) if p.strip()]
    return [Section("", "\n\n".join(escape_paragraph(escape_inline(p)) for p in paragraphs))]


def parse_bytes(raw: bytes, kind: str, fallback_title: str) -> tuple[str, list[Section]]:
    """Title and sections of content of a known kind (markdown, text, html, pdf)."""
    if kind == "pdf":
        return parse_pdf(raw, fallback_title)
    text = decode_text(raw)
    if kind == "markdown":
        return parse_markdown(text, fallback_title)
    if kind == "html":
        return parse_html(text, fallback_title)
    return fallback_title, text_sections(text)


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
