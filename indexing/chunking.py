"""Structure-aware chunking: whole blocks packed under their heading path.

Every chunk starts with the page title and heading path ("Deploying to production > Deploy windows"),
so the embedder and BM25 match questions that use the heading's words and a citation can say which
section it came from. Chunks are packed from whole blocks: a list, a code block or a table is split
only when it alone exceeds the chunk size, and then at item, line or row boundaries (a code piece is
fenced again with its language); a paragraph that introduces what follows ("add the command:") stays
in the chunk of what it introduces, a definition's term (`**-j N**`) with its description, and a version
note ("Changed in version 3.5: …") with what it annotates. A chunk links to the nearest anchor at or
before its start: its section's heading, or the definition term it starts in or with (Sphinx's
`<dt id="confval-html_logo">`), and keeps its terms' anchors so an answer can link to the one it quotes. A
chunk that starts inside such a definition (its example, its parameter list) ends its heading path with
the term: that is what its text is about, and the composer labels a quote from it with it. Where the
definition list ends (an "end" block, `END_MARK`), what follows is its section's again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.sentences import split_sentences
from indexing.blocks import END_MARK, Block, pack, parse_blocks, term_title, unmarked
from indexing.documents import SourceDocument

# Bumped whenever chunk boundaries or chunk text change (3: text from HTML, plain text and PDF escapes
# Markdown's inline markup; a term stays with its definition, a version note with what it annotates;
# 4: a code block's caption introduces its code; 5: a chunk links to the nearest definition term at or
# before its start, keeps its terms' anchors, and one that starts inside a definition ends its heading path
# with the term; 6: HTML written in a Markdown page is read as HTML, so comments and centred logos are not
# text, and the end of a definition list is marked, so what follows it is not taken for its last
# definition): an index chunked by another version is rebuilt, never mixed.
CHUNKER_VERSION = 6


@dataclass
class Chunk:
    chunk_id: str
    doc_id: str
    heading: str
    text: str  # what is embedded and searched: "Title > Heading\nbody"
    body: str  # the section's blocks as Markdown, for quoting
    anchor: str = ""  # the nearest anchor at or before the chunk's start in its page, for a deep link
    term_anchors: dict[str, list[str]] = field(default_factory=dict)  # its definition terms' ids (`Section`)
    section_anchor: str = ""  # its section's heading id: where what follows a definition list links


def _pieces(block: Block, limit: int) -> list[str]:
    """A block as Markdown pieces of at most ~limit characters, cut only between items, lines or rows."""
    whole = block.markdown()
    if len(whole) <= limit:
        return [whole]
    if block.kind == "list":
        parts = [Block("list", items=[item], ordered=block.ordered) for item in block.items]
        return pack([p.markdown() for p in parts], limit, joiner="\n")
    if block.kind == "code":
        lines = block.text.splitlines()
        groups = pack(lines, limit - len(block.language) - 8, joiner="\n")
        return [Block("code", group, language=block.language).markdown() for group in groups]
    if block.kind == "table":  # every piece repeats the header rows, and fits with them
        header = block.rows[:1]
        head = "\n".join(Block("table", rows=header + [[]]).markdown().splitlines()[:2])
        rows = pack([Block("table", rows=header + [row]).markdown().split("\n", 2)[2] for row in block.rows[1:]],
                     limit - len(head) - 1, joiner="\n")
        return [f"{head}\n{group}" for group in rows]
    return pack(split_sentences(whole) or [whole], limit, joiner=" ")


def split_blocks(markdown: str, limit: int) -> list[str]:
    """A section's Markdown as chunk bodies of whole blocks."""
    blocks = parse_blocks(markdown)
    units: list[str] = []
    glue = False  # the previous unit introduces or names this one: keep them in one piece
    for block in blocks:
        for piece in _pieces(block, limit):
            if ((glue or block.is_version_note() or block.kind == "end") and units
                    and len(units[-1]) + len(piece) + 2 <= limit * 1.5):
                units[-1] = f"{units[-1]}\n\n{piece}"
            else:
                units.append(piece)
            glue = False
        glue = block.introduces() or block.is_term()
    return pack(units, limit, joiner="\n\n")


def chunk_body(text: str, marks: bool = False) -> str:
    """A chunk's stored text without the heading-path line `chunk_document` puts first, as a reader sees it;
    with `marks`, with the ends of its definition lists, for the composer to label and link by."""
    body = text.split("\n", 1)[-1]
    return body if marks else unmarked(body)


def chunk_document(doc: SourceDocument, chunk_chars: int) -> list[Chunk]:
    """Chunks of one document; ids embed the content hash so a changed document gets new ids."""
    chunks: list[Chunk] = []
    for section in doc.sections:
        path = " > ".join(p for p in (doc.title, section.heading) if p)
        # A heading-path that repeats the title ("VPN > VPN > Setup") reads badly in citations.
        if section.heading.startswith(doc.title + " > ") or section.heading == doc.title:
            path = section.heading
        anchor, definition = section.anchor, ""  # the nearest anchor so far, and its term if it is one
        used = dict.fromkeys(section.term_anchors, 0)  # occurrences of each term in earlier chunks
        for body in split_blocks(section.text, chunk_chars):
            terms = {}
            for term, targets in section.term_anchors.items():
                if count := body.count(term):
                    terms[term], used[term] = targets[used[term]:used[term] + count], used[term] + count
            first = min(terms, key=body.index, default="")
            opens = bool(first) and body.startswith(first) and bool(terms[first][0])
            # a chunk that starts inside a definition is about it: its term ends the heading path
            heading = f"{path} > {term_title(definition)}" if definition and not opens else path
            index = len(chunks)
            chunks.append(Chunk(
                chunk_id=f"{doc.doc_id}::{doc.content_hash[:12]}::{index}",
                doc_id=doc.doc_id,
                heading=heading,
                text=f"{heading}\n{body}",
                body=body,
                anchor=terms[first][0] if opens else anchor,
                term_anchors=terms,
                section_anchor=section.anchor if END_MARK in body else "",
            ))
            last = max(terms, key=body.rindex, default="")
            if body.rfind(END_MARK) > (body.rindex(last) if last else -1):  # the definitions ended: the section's
                anchor, definition = section.anchor, ""
            elif last and terms[last][-1]:
                anchor, definition = terms[last][-1], last
    return chunks
