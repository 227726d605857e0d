"""How faithfully definition lists come through the HTML parser: each `<dt>` of a manual's main content
should become one term block that a Markdown reader shows as the dt's own text.

    python -m benchmarks.html_terms /tmp/sphinx [/tmp/django …] [--json]

A term that is not recognised is quoted without what it defines; one whose text is read as Markdown
(`f(*args, **kwargs)` as emphasis, `template<T>` as a tag) shows something else than the page. No label
is needed, so any Sphinx- or DocBook-built manual can be checked (`python -m benchmarks.debian_docs`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import lxml.html
from markdown_it import MarkdownIt

from indexing.html_blocks import NotHTML, html_blocks


def shown(markdown: str) -> str:
    """What a Markdown reader shows of a paragraph: the rendered HTML's text, whitespace collapsed."""
    html = lxml.html.fragment_fromstring(MarkdownIt("commonmark").render(markdown), create_parent="div")
    return " ".join(html.text_content().split())


def _dt_texts(page: str) -> list[str]:
    """The dt texts of a page as a reader sees them, without header-link marks and "[source]" links."""
    root = lxml.html.document_fromstring(page.encode("utf-8"))
    for mark in root.xpath('//*[contains(@class, "headerlink") or contains(@class, "viewcode-link")]'):
        mark.drop_tree()
    return [" ".join(dt.text_content().split()) for dt in root.iter("dt")]


def check(folder: Path) -> dict:
    """The folder's `<dt>` count, how many came through as terms reading as the page, and how many bold-led
    paragraphs the parser made are terms (`Block.is_term`)."""
    dts = kept = recognised = 0
    for path in sorted(folder.rglob("*.html")):
        page = path.read_text(encoding="utf-8", errors="replace")
        try:
            _, blocks = html_blocks(page)
        except NotHTML:
            continue
        terms = [b for b in blocks if b.kind == "paragraph" and b.text.startswith("**")]
        recognised += sum(b.is_term() for b in terms)
        texts = {shown(b.text) for b in terms if b.is_term()}
        for text in filter(None, _dt_texts(page)):
            dts += 1
            kept += text in texts
    return {"folder": str(folder), "dt": dts, "kept_as_terms": kept, "share": round(kept / dts, 3) if dts else None,
            "bold_paragraphs_recognised": recognised}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path, help="folders of HTML pages")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    results = [check(folder) for folder in args.folders]
    if args.json:
        print(json.dumps(results, indent=1))
        return
    for r in results:
        print(f"{r['folder']}: {r['kept_as_terms']} of {r['dt']} <dt> kept as terms that read as the page ({r['share']})")


if __name__ == "__main__":
    main()
