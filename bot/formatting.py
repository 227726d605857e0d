"""The one Markdown → Slack mrkdwn formatter: answers are Markdown everywhere, Slack gets them through here.

Headings become bold lines, `**bold**` becomes `*bold*`, lists keep their numbers (bullets become •),
code blocks stay fenced (Slack shows no language tag, so it is dropped) and tables become aligned
code blocks. Text from documents is never posted live: `&`, `<` and `>` are escaped everywhere, so
`<!channel>` or `<@U123>` in a page stays text, and Markdown links keep only their text, so
`[docs](https://evil.example)` cannot dress up a link; the only links citebot posts are the citation
links built from source metadata. Long answers are split into pieces that fit a section block,
between blocks, then between lines, a code block re-fenced on each side of a cut, never mid-line.
"""

from __future__ import annotations

import re

from indexing.blocks import Block, pack, parse_blocks

SECTION_LIMIT = 3000
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_BOLD = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_ITALIC = re.compile(r"(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|<>])")
_CODE_SPAN = re.compile(r"(?<!\\)(`+)(.+?)\1")  # an escaped backtick opens none
_HIDDEN = re.compile("\x00([0-9]+)\x00")  # an escaped character's stand-in while the markup patterns run


def link_text(text: str) -> str:
    """Markdown links and images as their text alone, nested ones too (`[![logo](a.png)](b)` → `logo`):
    innermost first, until none is left."""
    while (unlinked := _LINK.sub(lambda m: m.group(1), text)) != text:
        text = unlinked
    return text


def escape(text: str) -> str:
    """Slack mrkdwn control characters; anything else is shown as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def stream_units(markdown: str) -> list[str]:
    """The text as Markdown blocks for a streamed message (Slack renders it as Markdown), one per block so
    a list or a code block arrives whole. Outside code, links keep only their text; `&`, `<` and `>` are
    escaped everywhere, so nothing indexed becomes a live mention or a link."""
    return [escape(b.markdown() if b.kind == "code" else link_text(b.markdown()))
            for b in parse_blocks(markdown)]


def prompt_text(text: str) -> str:
    """Text that a person's Slack client sends as their own message (a suggested prompt): no link, no
    mention, no markup at all."""
    return " ".join(re.sub(r"[<>\[\]()@!*_`|]", " ", link_text(text)).split())


def inline(text: str) -> str:
    """Markdown inline markup as mrkdwn; code spans are left as they are (but escaped)."""
    pieces = []
    last = 0
    for match in _CODE_SPAN.finditer(text):
        pieces.append(_inline_text(text[last:match.start()]))
        pieces.append("`" + escape(match.group(2).replace("`", "'")) + "`")
        last = match.end()
    pieces.append(_inline_text(text[last:]))
    return "".join(pieces)


def _inline_text(text: str) -> str:
    """Links as their text, emphasis as mrkdwn; an escaped character (`\\*args` from a signature) is
    text, hidden from the emphasis patterns and shown as itself."""
    literals: list[str] = []

    def hide(match: re.Match) -> str:
        literals.append(match.group(1))
        return f"\x00{len(literals) - 1}\x00"

    text = _ESCAPED.sub(hide, link_text(text.replace("\x00", "")))  # no NUL is text: every stand-in is one
    text = _ITALIC.sub(lambda m: f"_{m.group(1)}_", text)
    text = _BOLD.sub(lambda m: f"*{m.group(2)}*", text)
    return _HIDDEN.sub(lambda m: escape(literals[int(m.group(1))]), escape(text))


def _code(text: str) -> str:
    return "```\n" + escape(text.replace("```", "'''")) + "\n```"


def block_mrkdwn(block: Block) -> str:
    if block.kind == "heading":
        return f"*{inline(block.text)}*"
    if block.kind == "code":
        return _code(block.text)
    if block.kind == "list":
        lines = []
        for n, item in enumerate(block.items, 1):
            marker = f"{n}. " if block.ordered else "• "
            first, *rest = item.splitlines() or [""]
            lines.append(marker + inline(first))
            lines.extend(("    " + inline(line.strip())) if line.strip() else "" for line in rest)
        return "\n".join(lines)
    if block.kind == "table":
        width = max(len(r) for r in block.rows)
        rows = [[" ".join(c.split()) for c in row] + [""] * (width - len(row)) for row in block.rows]
        sizes = [max(len(row[i]) for row in rows) for i in range(width)]
        return _code("\n".join(" | ".join(cell.ljust(sizes[i]) for i, cell in enumerate(row)).rstrip()
                               for row in rows))
    if block.kind == "quote":
        return "\n".join("> " + inline(line) for line in block.text.splitlines())
    return inline(block.text)


def to_mrkdwn(markdown: str) -> str:
    """The whole text as one mrkdwn string."""
    return "\n\n".join(block_mrkdwn(b) for b in parse_blocks(markdown))


def mrkdwn_pieces(markdown: str, limit: int = SECTION_LIMIT) -> list[str]:
    """The text as mrkdwn pieces of at most `limit` characters, cut between blocks or lines."""
    return pack([part for block in parse_blocks(markdown) for part in _fit(block, limit)], limit, "\n\n")


def _fit(block: Block, limit: int) -> list[str]:
    """One block as parts that each fit; a code block is fenced again in every part."""
    text = block_mrkdwn(block)
    if len(text) <= limit:
        return [text]
    fenced = text.startswith("```")
    lines = text.splitlines()[1:-1] if fenced else text.splitlines()
    room = limit - (8 if fenced else 0)
    # a line longer than a whole block is the only place a line is cut
    cut = [line[i:i + room] for line in lines for i in range(0, max(len(line), 1), room)]
    parts = pack(cut, room, "\n")
    return [f"```\n{p}\n```" for p in parts] if fenced else parts


def fallback_text(markdown: str, limit: int, truncated: str) -> str:
    """The notification text of a message: the answer as (escaped) mrkdwn; when too long, cut at a line
    and followed by `truncated`."""
    text = to_mrkdwn(markdown)
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit)
    return text[:cut if cut > limit // 2 else limit].rstrip() + truncated
