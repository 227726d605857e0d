"""Where a citation's link lands: on the words it quotes, where the page lets a browser find them.

A link to a section's or definition's anchor lands above the quote, sometimes hundreds of words above (a
740-word definition, a tutorial section without sub-headings). A URL text fragment
(`page.html#anchor:~:text=…`, which Chromium, Safari and Firefox follow) scrolls to the quoted words and
highlights them; where they are not found, the browser goes to the anchor as before.

A browser goes to the *first* occurrence of those words in the page, so a link names them only where
they occur once in the indexed document: the shortest run of MIN_WORDS to MAX_WORDS opening words of the
quote that does ("As these files are not meant to be built" opens a dozen settings of one Sphinx page).
The quote's first paragraph or list item is what is named: a bold label or a definition's term above it
is where the anchor lands already, and code is laid out in the page with whitespace a quote cannot match.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import lxml.html

from indexing.blocks import markdown_html, parse_blocks

MIN_WORDS = 5
MAX_WORDS = 10
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")  # [text](target) and images: their text
_MARKS = re.compile(r"[*`\\]")  # emphasis, code and escape marks


def shown_words(markdown: str) -> list[str]:
    """The words a browser shows for this Markdown: markup, escapes and link targets dropped."""
    html = markdown_html(markdown).strip()
    return lxml.html.fromstring(f"<div>{html}</div>").text_content().split() if html else []


def opening_words(unit: str) -> list[str]:
    """The shown words of a quoted unit's first paragraph or list item (none for code, tables, quotes)."""
    for block in parse_blocks(unit):
        if block.is_term():
            continue
        if block.kind == "paragraph":
            return shown_words(block.text)
        if block.kind == "list" and block.items:
            return shown_words(block.items[0].split("\n\n", 1)[0])
        return []
    return []


def page_text(markdown: str) -> str:
    """A document's indexed Markdown as the lower-case words a browser shows, for `text_directive` to count
    runs of words in: link targets and the marks of emphasis, code and escapes dropped. Not rendered by
    the Markdown parser: that takes ~0.2 s for a 90 KB reference page, which every answer citing it would
    wait for; a mark left over (`_emphasis_`) only makes a run unfound, and the link falls back to its
    anchor."""
    text = _MARKS.sub("", _LINK.sub(r"\1", markdown))
    return f" {' '.join(text.lower().split())} "


def text_directive(unit: str, page: str) -> str:
    """The encoded `text=` value naming the unit's opening words, or "" when no run of them occurs exactly
    once in `page` (`page_text` of the document). Matching is as a browser's: case and runs of white space
    do not count, a match starts and ends at word boundaries."""
    words = opening_words(unit)
    if len(words) < MIN_WORDS:
        return ""
    for n in range(MIN_WORDS, min(MAX_WORDS, len(words)) + 1):
        phrase = " ".join(words[:n])
        if page.count(f" {_MARKS.sub('', phrase.lower())} ") == 1:  # a shown `*` is dropped there too
            return quote(phrase, safe="").replace("-", "%2D")  # "-" and "," delimit the directive's parts
    return ""
