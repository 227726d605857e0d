"""Documents as blocks: heading, paragraph, list, code, table, quote; Markdown is the one interchange form.

Every parser (Markdown, HTML, PDF, Slack threads) produces blocks; a section's text is those blocks
rendered as Markdown, chunks are packed from whole blocks, and the extractive composer parses a chunk
back into the same blocks to quote whole units (the numbered list, the code block verbatim). One
parser for that round trip, markdown-it-py (CommonMark with tables, setext headings included), so what
the chunker cut and what the composer quotes can never disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

# "end" marks where a definition list ended; "html" is a Markdown page's HTML, only from `parse_blocks(…,
# raw_html=True)`, before `indexing.documents` reads it as HTML.
KINDS = ("heading", "paragraph", "list", "code", "table", "quote", "end", "html")
# Where a definition list ends (an "end" block): in Markdown there is no such thing, so the HTML reader marks
# it with an empty comment, which no reader sees and which holds no word to embed or search. What follows it
# stands under its section again, not under the list's last term.
END_MARK = "<!---->"
_VERSION_NOTE = re.compile(r"(New|Changed|Added|Deprecated|Removed) (in|since) version\b")  # Sphinx's labels
_NAME_SPLIT = re.compile(r"[\s(),=\[\]?!;:'\"<>]+")
_CODE_NAME = re.compile(r"-{1,2}[A-Za-z0-9][\w-]*|[A-Za-z_][\w-]*[_.][\w.-]*[A-Za-z0-9_]|_\w+")
_TERM = re.compile(r"\*\*(?:`[^`\n]+`|\\.|[^*\\\n])+\*\*")  # with escaped stars (`\*args`) or code spans inside


@dataclass
class Block:
    kind: str  # one of KINDS
    text: str = ""  # Markdown of a paragraph, quote or heading; a code block's code verbatim
    level: int = 0  # heading level 1-6
    items: list[str] = field(default_factory=list)  # list items, Markdown (nested lists indented)
    ordered: bool = False
    language: str = ""  # a code block's language, when the source names it
    rows: list[list[str]] = field(default_factory=list)  # table rows, the first is the header
    anchor: str = ""  # a heading's or a definition term's id in its page (for deep links)

    def markdown(self) -> str:
        """The block as Markdown that `parse_blocks` reads back as the same block."""
        if self.kind == "heading":
            return f"{'#' * max(1, min(self.level, 6))} {self.text}"
        if self.kind == "code":
            fence = "`" * max(3, longest_run(self.text, "`") + 1)
            return f"{fence}{self.language}\n{self.text.rstrip(chr(10))}\n{fence}"
        if self.kind == "list":
            lines = []
            for n, item in enumerate(self.items, 1):
                marker = f"{n}. " if self.ordered else "- "
                first, *rest = item.splitlines() or [""]
                lines.append(marker + first)
                lines.extend(" " * len(marker) + line if line.strip() else "" for line in rest)
            return "\n".join(lines)
        if self.kind == "table":
            width = max(len(r) for r in self.rows)
            cells = [[_cell(c) for c in row] + [""] * (width - len(row)) for row in self.rows]
            head, body = cells[0], cells[1:]
            return "\n".join(["| " + " | ".join(head) + " |", "|" + "---|" * width]
                             + ["| " + " | ".join(row) + " |" for row in body])
        if self.kind == "quote":
            return "\n".join("> " + line for line in self.text.splitlines())
        if self.kind == "end":
            return END_MARK
        return self.text

    def introduces(self) -> bool:
        """A paragraph that announces what follows ("run the following command:"): it belongs with it."""
        return self.kind == "paragraph" and self.text.rstrip().endswith(":")

    def is_term(self) -> bool:
        """A paragraph that is all bold: a definition list's term (HTML `<dt>`: an option, a setting, a
        function) or a bold line standing for a heading. What follows it says what it is."""
        return self.kind == "paragraph" and bool(_TERM.fullmatch(self.text.strip()))

    def names(self) -> frozenset[str]:
        """What a term names (`-j` for `**-j N**`), for a question that names it; nothing for other blocks."""
        return code_names(self.text) if self.is_term() else frozenset()

    def is_version_note(self) -> bool:
        """"Changed in version 3.5: takes a priority", as Sphinx labels it: when what precedes it changed,
        not what it is; it belongs with the description it annotates."""
        return self.kind == "paragraph" and bool(_VERSION_NOTE.match(self.text))


def code_names(text: str) -> frozenset[str]:
    """The option and identifier names in a text, as written: `-E`, `--strict`, `html_logo`,
    `sphinx.ext.napoleon` and its dotted tails (`ext.napoleon`, `napoleon` only when it looks like code).
    Plain words are not names: a term "Options" names nothing a question could point at."""
    names = set()
    for token in _NAME_SPLIT.split(text.replace("\\", "").replace("`", "").replace("**", "")):
        token = token.rstrip(".")
        parts = token.split(".")
        if "_" in token or all(len(part) > 1 for part in parts):  # "e.g." is no name
            names.update(tail for tail in (".".join(parts[n:]) for n in range(len(parts)))
                         if _CODE_NAME.fullmatch(tail))
    return frozenset(names)


def longest_run(text: str, char: str) -> int:
    """The longest run of `char` in the text: a fence or code span must be one longer."""
    return max((len(m) for m in re.findall(re.escape(char) + "+", text)), default=0)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


_LEADING_MARKER = re.compile(r"^(\s*)([#>+*-]|\d+[.)])(\s)")


# Inline markup in text that is not Markdown: every `*`, backslash, backtick and `<` (which could open a
# tag or an autolink, with what follows it in the next piece of text), an `_` that could open or close
# emphasis (intraword ones, as in html_logo, cannot).
_INLINE_MARKUP = re.compile(r"[\\*`<]|(?<![^\W_])_|_(?![^\W_])")


def escape_inline(text: str) -> str:
    """Plain text as Markdown that reads back as the same text: `f(*args, **kwargs)` from a signature or
    `template<typename T>` from a page must not turn into emphasis or a hidden HTML tag."""
    return _INLINE_MARKUP.sub(lambda m: "\\" + m.group(0), text)


def escape_paragraph(text: str) -> str:
    """Text from a non-Markdown source as a paragraph: a leading "1." or "#" must not become a list or
    a heading when the Markdown is read back."""
    return "\n".join(_LEADING_MARKER.sub(lambda m: m.group(1) + "\\" + m.group(2) + m.group(3), line)
                     for line in text.splitlines())


@lru_cache(maxsize=1)
def _parser():
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable("table")


def unmarked(markdown: str) -> str:
    """The text as a reader sees it, without definition-list ends (END_MARK): what is embedded, shown, given
    to a model and compared with a page."""
    if END_MARK not in markdown:
        return markdown
    return "\n\n".join(part for part in markdown.split("\n\n") if part.strip() != END_MARK)


def markdown_html(markdown: str) -> str:
    """The Markdown as HTML, rendered by the same parser that reads its blocks."""
    return _parser().render(markdown)


def parse_blocks(markdown: str, raw_html: bool = False) -> list[Block]:
    """The top-level blocks of a Markdown text; lists, tables and quotes keep their source lines. An HTML
    block is a paragraph of its source, or with `raw_html` a block of kind "html" for the caller to read as
    HTML (a source document's `<!-- comment -->` or `<p align="center">`, which a reader never sees as such)."""
    lines = markdown.splitlines()
    tokens = _parser().parse(markdown)
    blocks: list[Block] = []
    for i, token in enumerate(tokens):
        if token.level != 0 or token.map is None:
            continue
        start, end = token.map
        source = "\n".join(lines[start:end]).strip("\n")
        if token.type == "heading_open":
            text = tokens[i + 1].content.strip()
            blocks.append(Block("heading", text, level=int(token.tag[1]), anchor=slug(text)))
        elif token.type == "paragraph_open":
            blocks.append(Block("paragraph", " ".join(line.strip() for line in source.splitlines())))
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            blocks.append(Block("list", items=_items(tokens, i, lines), ordered=token.type == "ordered_list_open"))
        elif token.type in ("fence", "code_block"):
            blocks.append(Block("code", token.content.rstrip("\n"), language=(token.info or "").split(" ")[0]))
        elif token.type == "table_open":
            blocks.append(Block("table", rows=_rows(tokens, i)))
        elif token.type == "blockquote_open":
            blocks.append(Block("quote", "\n".join(re.sub(r"^\s*> ?", "", line) for line in source.splitlines())))
        elif token.type == "html_block" and source.strip() == END_MARK:
            blocks.append(Block("end"))
        elif token.type == "html_block" and source.strip():
            blocks.append(Block("html" if raw_html else "paragraph", source.strip()))
    return blocks


def _items(tokens, start: int, lines: list[str]) -> list[str]:
    """Each item of the list opened at tokens[start], as Markdown without its marker."""
    level = tokens[start].level + 1
    items = []
    for token in tokens[start + 1:]:
        if token.level < level:
            break
        if token.type == "list_item_open" and token.level == level and token.map:
            first, last = token.map
            body = lines[first:last]
            marker = re.match(r"^\s*(?:[-*+]|\d+[.)])\s?", body[0]) if body else None
            indent = len(marker.group(0)) if marker else 0
            text = [body[0][indent:]] + [line[indent:] if line[:indent].strip() == "" else line.strip()
                                         for line in body[1:]]
            items.append(_unwrap(text))
    return items


_STRUCTURE = re.compile(r"^\s*(?:[-*+]\s|\d+[.)]\s|```|~~~|>|\||#)")


def _unwrap(lines: list[str]) -> str:
    """Soft-wrapped lines of an item joined into one (Markdown reads them as one line anyway); nested
    lists, code fences and blank lines stay as they are."""
    out: list[str] = []
    fenced = False
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            out.append(line)
        elif (not fenced and out and out[-1].strip() and line.strip() and not _STRUCTURE.match(line)
              and not _STRUCTURE.match(out[-1]) and not out[-1].startswith(" ")):
            out[-1] = f"{out[-1]} {line.strip()}"
        else:
            out.append(line)
    return "\n".join(out).strip("\n")


def _rows(tokens, start: int) -> list[list[str]]:
    rows: list[list[str]] = []
    for token in tokens[start + 1:]:
        if token.type == "table_close":
            break
        if token.type == "tr_open":
            rows.append([])
        elif token.type == "inline" and rows:
            rows[-1].append(token.content)
    return rows


def slug(heading: str) -> str:
    """The anchor GitHub, GitLab and MkDocs give a Markdown heading: lower case, punctuation dropped,
    spaces as hyphens ("Setting up the VPN" → "setting-up-the-vpn")."""
    text = re.sub(r"[`*_\[\]()]", "", heading.lower())
    text = re.sub(r"[^\w\- ]", "", text, flags=re.UNICODE)
    return re.sub(r" ", "-", text.strip())


_ESCAPED_OR_FENCE = re.compile(r"\\(.)|`+")


def term_title(term: str) -> str:
    """A definition term (`**Sphinx.add\\_css\\_file(filename)**`) as the plain text a heading path holds."""
    inner = term.strip().removeprefix("**").removesuffix("**")
    return _ESCAPED_OR_FENCE.sub(lambda m: m.group(1) or "", inner).strip()


def render(blocks: list[Block]) -> str:
    """Blocks as one Markdown text, separated by blank lines."""
    return "\n\n".join(b.markdown() for b in blocks)


def pack(units: list[str], limit: int, joiner: str) -> list[str]:
    """Consecutive units joined while they fit in `limit` (a unit longer than that stands alone): the one
    packer of chunk bodies, quoted sentence runs and Slack pieces."""
    pieces: list[str] = []
    current = ""
    for unit in units:
        if current and len(current) + len(joiner) + len(unit) > limit:
            pieces.append(current)
            current = unit
        else:
            current = f"{current}{joiner}{unit}" if current else unit
    if current:
        pieces.append(current)
    return pieces
