"""HTML pages as blocks: the main content only, walked as a DOM (lxml), headings with their anchors.

Generated documentation (Sphinx, MkDocs, DocBook, Javadoc-like sites) wraps a page's text in
navigation, sidebars, tables of contents, footers, header-link marks ("¶") and "edit this page" links.
Indexed, those become passages that match every question; in a heading path they read as noise. So:
pick the page's main element (`role="main"`, `<main>`, `<article>`, Sphinx's `div.body`, else
`<body>`), drop boilerplate by tag, ARIA role, class and id, drop link lists (a block whose text is
mostly links: a table of contents) and paragraphs that only point elsewhere in the site, and walk what
is left into blocks in document order.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from indexing.blocks import Block, escape_inline, escape_paragraph, longest_run

if TYPE_CHECKING:
    import lxml.html

_DROP_TAGS = {"script", "style", "noscript", "nav", "aside", "form", "button", "template", "svg", "iframe",
              "select", "input", "textarea", "footer", "object", "canvas", "map"}
_DROP_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "dialog"}
_DROP_NAMES = re.compile(
    r"(?:^|[\s_-])(?:headerlink|sphinxsidebar\w*|related|toc|toctree-wrapper|contents|breadcrumbs?|docnav|"
    r"navheader|navfooter|navbar|bs-sidebar|md-sidebar|md-header|md-footer|md-nav|skip-link|edit-?page|"
    r"indexterm|footnote-reference|viewcode-link|modal|wy-nav-side|rst-footer-buttons|footer|banner|toc-collapse|searchbox|admonition-todo)"
    r"(?:$|[\s_-])", re.IGNORECASE)
_EDIT_LINK = re.compile(r"^\s*(edit (this page|on github|on gitlab)|view (page )?source|show source|"
                        r"improve this (page|doc))\s*$", re.IGNORECASE)
_MAIN = ('//*[@role="main"]', "//main", "//article", '//*[@itemprop="articleBody"]',
         '//div[contains(concat(" ", normalize-space(@class), " "), " body ")]', '//div[@id="content"]')
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCK_TAGS = {"p", "div", "section", "article", "main", "header", "ul", "ol", "dl", "dt", "dd", "pre", "table",
               "blockquote", "figure", "figcaption", "details", "summary", "li", "hr", "center", "address",
               *_HEADINGS}
_INLINE_CODE = {"code", "tt", "kbd", "samp"}
_ANCHORED = {"section", "dt", "dd", "a", "span", *_HEADINGS}  # their ids name content
LINK_DENSITY = 0.8  # a list whose text is at least this share links, with MIN_LINKS links, is navigation
MIN_LINKS = 3


class NotHTML(ValueError):
    """The bytes are not a page lxml can read."""


def html_blocks(text: str) -> tuple[str, list[Block]]:
    """(page title, blocks of the main content)."""
    root = _document(text)
    title = " ".join((root.findtext(".//title") or "").split())
    main = next((found[0] for xpath in _MAIN if (found := root.xpath(xpath)) and _text_len(found[0])), None)
    main = main if main is not None else (root.find("body") if root.find("body") is not None else root)
    return title, _blocks_of(main)


def fragment_blocks(text: str) -> list[Block]:
    """The blocks of a piece of HTML inside a Markdown page, as its reader sees them: a comment is nothing,
    `<p align="center"><img …></p>` is nothing, `<details><summary>Rollback</summary>` is its words."""
    try:
        body = _document(f"<html><body>{text}</body></html>").find("body")
    except NotHTML:
        return []  # nothing lxml can read is anything a reader sees
    return [] if body is None else _blocks_of(body)


def _document(text: str) -> lxml.html.HtmlElement:
    """The page's element tree, or NotHTML."""
    import lxml.html
    from lxml.etree import ParserError

    try:  # as bytes: lxml refuses str input that carries an XML encoding declaration (XHTML, DocBook)
        return lxml.html.document_fromstring(text.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (ParserError, ValueError) as exc:
        raise NotHTML(str(exc)) from None


def _blocks_of(el) -> list[Block]:
    """The blocks of an element's content, boilerplate removed; a definition list's end is marked only where
    text of its section follows it (not before a heading, the next list's term or the end)."""
    _clean(el)
    collector = _Collector()
    collector.walk(el)
    collector.flush()
    blocks = collector.blocks
    return [b for b, after in zip(blocks, blocks[1:] + [None]) if b.kind != "end" or (
        after is not None and after.kind not in ("heading", "end") and not after.is_term())]


def _text_len(el) -> int:
    return len("".join(el.itertext()).strip())


def _clean(main) -> None:
    """Remove boilerplate under the main element, then link lists (tables of contents)."""
    doomed = []
    for el in main.iter():
        if not isinstance(el.tag, str):
            continue
        names = el.get("class", "") if _is_content_anchor(el) else f"{el.get('class', '')} {el.get('id', '')}"
        if (el.tag in _DROP_TAGS or el.get("role") in _DROP_ROLES or _DROP_NAMES.search(names)
                or (el.tag == "a" and _EDIT_LINK.match(el.text_content() or ""))):
            doomed.append(el)
    doomed += [el for el in main.iter("p") if _is_pointer(el)]
    for el in doomed + [el for el in main.iter("ul", "ol", "div", "table", "dl") if _is_link_list(el)]:
        if el.getparent() is not None:
            el.drop_tree()  # keeps the text that follows the element (lxml stores it as its tail)


def _is_content_anchor(el) -> bool:
    """An element whose id a generator made from content, not from the page's layout: a section, heading
    or definition term ("Table of contents" gets `id="table-of-contents"`, the setting `toc` gets `toc`),
    which must not be read as a table-of-contents box."""
    if el.tag in _ANCHORED:
        return True
    return any(child.tag in _HEADINGS for child in el[:2] if isinstance(child.tag, str))


def _is_link_list(el) -> bool:
    links = el.findall(".//a")
    if len(links) < MIN_LINKS:
        return False
    total = len(" ".join("".join(el.itertext()).split()))
    linked = sum(len(" ".join(a.text_content().split())) for a in links)
    return total > 0 and linked / total >= LINK_DENSITY


def _is_pointer(paragraph) -> bool:
    """A paragraph that is only links within the site ("See also: Logging API"): it says where to read,
    not what is there, and quoted it answers nothing. A link to another site may be what was asked for."""
    links = paragraph.findall(".//a")
    linked = "".join("".join(a.text_content().split()) for a in links)
    return (bool(links) and linked == "".join(paragraph.text_content().split())
            and not any((a.get("href") or "").startswith(("http:", "https:", "mailto:", "//")) for a in links))


def _inline(el, top: bool = True) -> str:
    """An element's inline text as Markdown: code as backticks, links as their text, other text escaped
    (a signature's `*args` is text, not emphasis), spaces collapsed."""
    parts = [escape_inline(el.text or "")]
    for child in el:
        if isinstance(child.tag, str):
            if child.tag in _INLINE_CODE:
                parts.append(_Code(child.text_content()))
            elif child.tag == "br":
                parts.append(" ")
            else:
                parts.append(_inline(child, top=False))
        parts.append(escape_inline(child.tail or ""))
    text = _join(parts)
    return " ".join(text.replace("\u00b6", "").split()) if top else text


class _Code(str):
    """The text of an inline code element, among the Markdown pieces of a paragraph."""


def _join(pieces: list[str]) -> str:
    """Markdown pieces as one text, each run of adjacent code elements as one code span: Sphinx writes a
    signature's `BaseCommand.` and `help` as two, which side by side would read as a "``" delimiter."""
    out: list[str] = []
    code: list[str] = []

    def close_code() -> None:
        if text := " ".join("".join(code).split()):
            fence = "`" * (longest_run(text, "`") + 1)
            pad = " " if text.startswith("`") or text.endswith("`") else ""
            out.append(f"{fence}{pad}{text}{pad}{fence}")
        code.clear()

    for piece in pieces:
        if isinstance(piece, _Code):
            code.append(piece)
        elif piece:
            close_code()
            out.append(piece)
    close_code()
    return "".join(out)


def _anchor(heading) -> str:
    """The id a link can jump to for a heading or a definition term (Sphinx's `<dt id="confval-html_logo">`):
    its own, an anchor inside it (DocBook's `<dt><span class="term"><a id=…>`), or a heading's section's."""
    if heading.get("id"):
        return heading.get("id")
    for inner in heading.iter("a"):
        if inner.get("id") or inner.get("name"):
            return inner.get("id") or inner.get("name")
    el = heading.getparent()
    for _ in range(4):
        if el is None:
            break
        if el.get("id") and el.tag in ("section", "div", "article"):
            first = next(iter(el.iter(*_HEADINGS)), None)
            return el.get("id") if first is heading else ""
        el = el.getparent()
    return ""


def _language(pre) -> str:
    """`language-python` on the code element, or Sphinx's `highlight-python` wrapper."""
    for el in [*pre.iter("code"), pre, *pre.iterancestors()][:6]:
        for name in el.get("class", "").split():
            for prefix in ("language-", "lang-", "highlight-"):
                if name.startswith(prefix) and name[len(prefix):] not in ("default", "none", "text"):
                    return name[len(prefix):]
    return ""


def _has_blocks(el) -> bool:
    return any(isinstance(c.tag, str) and c.tag in _BLOCK_TAGS for c in el.iterdescendants())


class _Collector:
    """Walks the DOM in document order; inline text between blocks becomes a paragraph."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self._buffer: list[str] = []
        self._lists = 0  # definition lists open around the element walked

    def flush(self, introduces: bool = False) -> None:
        """The buffered inline text as a paragraph; `introduces` ends it with a colon (a code block's
        caption), so that it is kept, chunked and quoted with the code it names and never alone."""
        text = " ".join(_join(self._buffer).replace("\u00b6", "").split())
        self._buffer.clear()
        if text:
            colon = ":" if introduces and not text.endswith(":") else ""
            self.blocks.append(Block("paragraph", escape_paragraph(text) + colon))

    def walk(self, el) -> None:
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _HEADINGS:
            self.flush()
            text = " ".join(el.text_content().replace("\u00b6", "").split())  # plain: a heading path is a label
            if text:
                self.blocks.append(Block("heading", text, level=_HEADINGS[tag], anchor=_anchor(el)))
        elif tag == "pre":
            self.flush()
            code = el.text_content().strip("\n")
            if code.strip():
                self.blocks.append(Block("code", code, language=_language(el)))
        elif tag in ("ul", "ol"):
            self.flush()
            items = [_item(li) for li in el if isinstance(li.tag, str) and li.tag == "li"]
            if any(items):
                self.blocks.append(Block("list", items=[i for i in items if i], ordered=tag == "ol"))
        elif tag == "table":
            self.flush()
            rows = [[_inline(cell) for cell in tr if isinstance(cell.tag, str) and cell.tag in ("td", "th")]
                    for tr in el.iter("tr")]
            rows = [r for r in rows if any(r)]
            if rows:
                self.blocks.append(Block("table", rows=rows))
        elif tag == "blockquote" and not _has_blocks(el):
            self.flush()
            if text := _inline(el):
                self.blocks.append(Block("quote", text))
        elif tag == "dt":
            self.flush()
            if text := _inline(el):
                self.blocks.append(Block("paragraph", escape_paragraph(f"**{text}**"), anchor=_anchor(el)))
        elif tag in _BLOCK_TAGS and not _has_blocks(el):
            self.flush()
            self._buffer.append(_inline(el, top=False))
            self.flush(introduces=_is_code_caption(el))
        elif tag in _BLOCK_TAGS or tag in ("body", "html"):
            self.flush()
            self._buffer.append(escape_inline(el.text or ""))
            self._lists += tag == "dl"
            for child in el:
                self.walk(child)
                self._buffer.append(escape_inline(child.tail or ""))
            self._lists -= tag == "dl"
            self.flush()
            if tag == "dl" and not self._lists:  # a list nested in a definition ends inside it: that goes on
                self.blocks.append(Block("end"))
        elif tag in _INLINE_CODE:
            self._buffer.append(_Code(el.text_content()))
        elif tag:  # inline element inside a block that also holds blocks
            self._buffer.append(_inline(el, top=False))


def _is_code_caption(el) -> bool:
    """A caption right before the code it names (Sphinx's `code-block-caption` "docs/source/index.rst", a
    `figcaption` above a `pre`): alone it is a file name, not an answer."""
    following = el.getnext()
    return ("caption" in el.get("class", "") or el.tag == "figcaption") and following is not None and (
        following.tag == "pre" or next(following.iter("pre"), None) is not None)


def _item(li) -> str:
    """One list item as Markdown: its text, then nested lists and code blocks as blocks of their own."""
    collector = _Collector()
    collector._buffer.append(escape_inline(li.text or ""))
    for child in li:
        collector.walk(child)
        collector._buffer.append(escape_inline(child.tail or ""))
    collector.flush()
    return "\n\n".join(b.markdown() for b in collector.blocks if b.kind not in ("heading", "end"))
