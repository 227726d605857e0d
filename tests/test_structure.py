"""Documents parsed into structure: main content only, heading paths with anchors, whole blocks in chunks.

The HTML fixtures are real pages from Debian documentation packages built by three generators:
Sphinx (sphinx-doc), DocBook (debian-handbook) and MkDocs (mkdocs-doc).
"""

from pathlib import Path

import pytest

from benchmarks.html_terms import shown
from core.errors import CitebotError
from indexing.blocks import Block, parse_blocks, render
from indexing.chunking import chunk_document, split_blocks
from indexing.documents import UnreadableFile, load_file, parse_markdown
from indexing.pipeline import index_paths
from indexing.store import CHUNKER_KEY, manifest, open_collection

HTML = Path(__file__).parent / "fixtures" / "html"
NAVIGATION = ("Quick search", "Site navigation", "Edit on GitHub", "Download the ebook", "Previous", "Next",
              "Table of Contents", "Navigation", "Permalink", "¶")


@pytest.mark.parametrize("page, title, heading, anchor, code, language", [
    ("sphinx-quickstart.html", "Getting Started — Sphinx documentation",
     "Getting Started > Running the build", "running-the-build", "$ sphinx-build -b html sourcedir builddir",
     "console"),
    ("docbook-apt-get.html", "6.2. aptitude, apt-get, and apt Commands",
     "6.2. aptitude, apt-get, and apt Commands > 6.2.1. Initialization", "sect.apt-update", None, None),
    ("mkdocs-deploying.html", "Deploying Your Docs - MkDocs",
     "Deploying your docs > GitHub Pages > Project Pages", "project-pages", "mkdocs gh-deploy", "sh"),
])
def test_generated_html_keeps_main_content_with_heading_paths_anchors_and_code(page, title, heading, anchor, code,
                                                                              language):
    doc = load_file(HTML / page, "docs")
    assert doc.title == title
    section = next(s for s in doc.sections if s.heading == heading)
    assert section.anchor == anchor
    everything = "\n".join(f"{s.heading}\n{s.text}" for s in doc.sections)
    for noise in NAVIGATION:
        assert noise not in everything.replace("Next, ", ""), f"navigation text {noise!r} was indexed"
    if code:
        blocks = [b for s in doc.sections for b in parse_blocks(s.text) if b.kind == "code"]
        assert any(b.text == code and b.language == language for b in blocks), "code is kept verbatim as a block"


def test_docbook_code_keeps_its_lines():
    doc = load_file(HTML / "docbook-apt-get.html", "docs")
    codes = [b.text for s in doc.sections for b in parse_blocks(s.text) if b.kind == "code"]
    assert any(c.startswith("Package: *\n") and "\nPin: " in c for c in codes), "a multi-line example stays multi-line"


def test_a_table_of_contents_page_is_not_indexed_as_a_passage():
    doc = load_file(HTML / "sphinx-usage-index.html", "docs")
    text = " ".join(s.text for s in doc.sections)
    assert "This guide serves to demonstrate" in text
    assert "Installing Sphinx" not in text and "Build your first project" not in text


def test_markdown_setext_headings_lists_and_fences_become_blocks():
    title, sections = parse_markdown("""Deploys
=======

How we ship.

Promoting a release
-------------------

1. Check staging.
2. Click "Promote".

```bash
argo promote --app web
```
""", "fallback")
    assert title == "Deploys"
    promoting = sections[-1]
    assert promoting.heading == "Deploys > Promoting a release" and promoting.anchor == "promoting-a-release"
    kinds = [b.kind for b in parse_blocks(promoting.text)]
    assert kinds == ["list", "code"]


def test_html_written_in_markdown_is_read_as_a_reader_sees_it_not_indexed_as_markup():
    """A README's comments and centred logo are invisible on the rendered page: they must be neither
    quoted nor taken for the text before the page's title; a `<details>` block keeps its words."""
    title, sections = parse_markdown("""<!-- markdownlint-disable MD033 -->
# Deploy tool

<p align="center"><img src="logo.png" alt=""></p>

<!-- TODO: update after the Q3 migration -->

Run `deploy --prod` to ship a release.

1. Build it first:

   <!-- eslint-disable no-console -->

   ```js
   console.log(build())
   ```

<details>
<summary>Rolling back</summary>

Run `deploy --rollback` within ten minutes.

</details>
""", "fallback")
    assert title == "Deploy tool" and [s.heading for s in sections] == ["Deploy tool"]
    text = sections[0].text
    assert "<" not in text and "TODO" not in text and "markdownlint" not in text and "eslint" not in text
    blocks = parse_blocks(text)
    assert [b.kind for b in blocks] == ["paragraph", "list", "paragraph", "paragraph"]
    assert [b.text for b in blocks if b.kind == "paragraph"] == [
        "Run `deploy --prod` to ship a release.", "Rolling back", "Run `deploy --rollback` within ten minutes."]
    assert blocks[1].items == ["Build it first:\n\n```js\nconsole.log(build())\n```"]


def test_blocks_survive_the_markdown_round_trip():
    blocks = [Block("paragraph", "Run this:"), Block("code", "a = 1\n\nb = 2", language="python"),
              Block("list", items=["first\n\n   - nested", "second"], ordered=True),
              Block("table", rows=[["name", "value"], ["a|b", "1"]]), Block("quote", "quoted")]
    again = parse_blocks(render(blocks))
    assert [b.kind for b in again] == ["paragraph", "code", "list", "table", "quote"]
    assert again[1].text == "a = 1\n\nb = 2" and again[1].language == "python"
    assert len(again[2].items) == 2 and again[3].rows[1] == ["a|b", "1"]


SIGNATURE_PAGE = """<div role="main"><h1>API</h1><dl><dt id="f">f(<em>*args</em>, <em>**kwargs</em>)<a class="reference
internal" href="_modules/api.html#f"><span class="viewcode-link"><span class="pre">[source]</span></span></a></dt>
<dd><p>Wraps <code>g(*args)</code>; unlike __init__ it takes template&lt;typename T&gt; and **bold** words.</p></dd>
</dl></div>"""


def test_text_from_html_and_plain_text_reads_back_as_itself_not_as_markup():
    from indexing.documents import parse_html, text_sections

    _, sections = parse_html(SIGNATURE_PAGE, "API")
    term, description = parse_blocks(sections[0].text)
    assert term.is_term(), "a signature with *args is still its definition's term"
    assert shown(term.text) == "f(*args, **kwargs)", "the [source] link is dropped"
    assert shown(description.text) == "Wraps g(*args); unlike __init__ it takes template<typename T> and **bold** words."
    plain = text_sections("Delete *.tmp and *.bak files; keep __pycache__ and <b>this</b>.")[0].text
    assert shown(plain) == "Delete *.tmp and *.bak files; keep __pycache__ and <b>this</b>."


def test_sections_and_terms_named_like_page_furniture_are_kept_and_a_signature_is_one_code_span():
    from indexing.documents import parse_html

    _, sections = parse_html(
        '<main><div id="toc"><p>Jump to a section</p></div><section id="table-of-contents"><h1>Table of contents'
        '</h1><p>The toctree directive links pages.</p><dl><dt id="toc"><code class="sig-prename">Page.</code>'
        '<code class="sig-name">toc</code></dt><dd><p>The rendered table of contents.</p></dd></dl></section></main>',
        "Directives")
    text = "\n".join(s.text for s in sections)
    assert "Jump to a section" not in text, "a layout box with a table-of-contents id is still dropped"
    assert "The toctree directive links pages." in text and "The rendered table of contents." in text
    assert "**`Page.toc`**" in text, "adjacent code elements are one code span, not a broken `` delimiter"


def test_a_code_blocks_caption_introduces_its_code_and_is_never_quoted_alone():
    from answering.extractive import passage_units
    from indexing.documents import parse_html
    from indexing.retrieval import Passage

    _, sections = parse_html(
        '<main><h1>API docs</h1><p>Link the generated page from the index.</p><div class="literal-block-wrapper">'
        '<div class="code-block-caption"><span class="caption-text">docs/source/index.rst</span>'
        '<a class="headerlink" href="#id1">\u00b6</a></div><div class="highlight-rst"><pre>.. toctree::\n\n   api'
        '</pre></div></div><div class="caption"><p>Not above code</p></div></main>', "API docs")
    body = sections[0].text
    assert "docs/source/index.rst:\n\n```rst\n.. toctree::" in body
    assert body.endswith("\n\nNot above code"), "a caption with no code after it stays as written"
    passage = Passage("c", "d", "API docs", "API docs", "api.html", None, body, 1.0, 0.5, 0.0)
    units = [u.markdown for u in passage_units(passage, 0)]
    assert not any(u.startswith("docs/source/index.rst") and "toctree" not in u for u in units)
    assert any(u.startswith("docs/source/index.rst:\n\n```rst") for u in units), "quoted with its code"


def test_a_paragraph_that_only_points_elsewhere_in_the_site_is_not_indexed():
    from indexing.documents import parse_html

    _, sections = parse_html(
        '<main><h1>Logging</h1><div class="admonition seealso"><p class="admonition-title">See also</p>'
        '<p><a href="api.html#logging">Logging API</a></p></div><p>Logs go to <a href="out.html">stderr</a>.</p>'
        '<p><a href="https://pypi.org/project/logfmt">logfmt on PyPI</a></p></main>', "Logging")
    text = sections[0].text
    assert "Logging API" not in text
    assert "Logs go to stderr." in text and "logfmt on PyPI" in text, "text with a link, or a link off the site, stays"


def test_chunks_keep_lists_whole_and_an_introduction_with_what_it_introduces():
    steps = "\n".join(f"{n}. Step {n} does one small thing." for n in range(1, 9))
    text = f"{'Background sentence. ' * 12}\n\nTo install, run these steps:\n\n{steps}\n\nAfterwards, log in."
    pieces = split_blocks(text, 300)
    with_list = next(p for p in pieces if "1. Step 1" in p)
    assert "To install, run these steps:" in with_list and "8. Step 8" in with_list
    options = "\n\n".join(f"**-{o}**\n\n{'Does one thing well. ' * 6}" for o in "abcdefgh")
    pieces = split_blocks(options, 300)
    assert len(pieces) > 1 and all(p.startswith("**-") for p in pieces), "a term starts the piece of its description"
    described = "Does one thing well. " * 12
    assert split_blocks(f"{described}\n\nChanged in version 2.0: does it faster.", 260) == [
        f"{described.strip()}\n\nChanged in version 2.0: does it faster."], "a version note stays with its text"


def test_an_oversized_code_block_is_split_at_lines_and_fenced_again():
    code = "\n".join(f"echo line {n}" for n in range(200))
    pieces = split_blocks(f"```sh\n{code}\n```", 400)
    assert len(pieces) > 1
    for piece in pieces:
        (block,) = parse_blocks(piece)
        assert block.kind == "code" and block.language == "sh"
        assert all(line.startswith("echo line ") for line in block.text.splitlines()), "never cut mid-line"


def test_markdown_citations_deep_link_to_the_section(settings, tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "vpn.md").write_text("# VPN\n\nIntro.\n\n## Setting up the VPN\n\n1. Install.\n2. Sign in.\n")
    from indexing.pipeline import index_source
    from indexing.sources.files import FileSource

    index_source(FileSource("docs", [tmp_path / "docs"], "https://git.example.com/{relpath}"), settings)
    metas = open_collection(settings).get(include=["metadatas"])["metadatas"]
    assert {m["url"] for m in metas} == {"https://git.example.com/vpn.md#vpn",
                                         "https://git.example.com/vpn.md#setting-up-the-vpn"}


def test_chunks_carry_the_anchor_of_their_section():
    doc = load_file(HTML / "mkdocs-deploying.html", "docs")
    chunks = chunk_document(doc, 2500)
    assert {c.anchor for c in chunks} >= {"github-pages", "read-the-docs", "404-pages"}


@pytest.mark.parametrize("name, content, reason", [
    ("nav.html", "<html><body><nav><a href=a>A</a><a href=b>B</a></nav><ul><li><a href=c>C</a></li>"
                 "<li><a href=d>D</a></li><li><a href=e>E</a></li></ul></body></html>", "no main content"),
    ("binary.html", "\x00\x01\x02PNG", "binary file"),
    ("empty.md", "   \n", "empty file"),
])
def test_bad_pages_are_skipped_with_a_reason_and_nothing_indexed_is_lost(settings, corpus, name, content, reason):
    first = index_paths([corpus], settings)
    (corpus / name).write_text(content)
    again = index_paths([corpus], settings)
    assert [s.reason for s in again.skipped if s.path.endswith(name)][0].startswith(reason)
    assert again.chunks_total == first.chunks_total


def test_broken_html_without_headings_is_still_read():
    from indexing.documents import parse_html

    title, sections = parse_html("<p>Unclosed <b>bold <div>Toner is in cupboard C3.<p>Call facilities", "Fallback")
    assert title == "Fallback" and "Toner is in cupboard C3." in sections[0].text


def test_an_index_chunked_by_an_older_citebot_is_refused_not_mixed(settings, corpus):
    index_paths([corpus], settings)
    collection = open_collection(settings)
    metadata = {k: v for k, v in collection.metadata.items() if not k.startswith("hnsw:") and k != CHUNKER_KEY}
    collection.modify(metadata=metadata)  # what an index built before chunker 2 looks like
    (corpus / "coffee.md").write_text("# Coffee\n\nOat milk only.\n")
    with pytest.raises(CitebotError, match="citebot index --rebuild"):
        index_paths([corpus], settings)
    with pytest.raises(UnreadableFile):
        load_file(corpus / "missing.md", "x")


def test_a_code_only_page_is_indexed_as_its_code(settings, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    script = "#!/bin/sh\nset -e\nrsync -a build/ deploy@docs:/srv/site/\n"
    (docs / "deploy.html").write_text(f"<html><head><title>deploy.sh</title></head><body><pre>{script}</pre></body></html>")
    summary = index_paths([docs], settings)
    assert summary.chunks_total == 1 and not summary.skipped
    (text,) = open_collection(settings).get(include=["documents"])["documents"]
    (block,) = [b for b in parse_blocks(text.split("\n", 1)[1]) if b.kind == "code"]
    assert block.text.splitlines() == script.strip().splitlines(), "the code is kept line by line"


def test_a_huge_table_is_split_at_rows_and_every_piece_keeps_the_header():
    rows = "".join(f"| host-{n:04d} | 10.0.{n // 250}.{n % 250} | rack {n % 40} |\n" for n in range(2000))
    pieces = split_blocks(f"| Host | Address | Rack |\n|---|---|---|\n{rows}", 1500)
    assert len(pieces) > 20 and all(len(p) <= 1500 for p in pieces)
    seen = []
    for piece in pieces:
        (table,) = parse_blocks(piece)
        assert table.kind == "table" and table.rows[0] == ["Host", "Address", "Rack"]
        seen += [row[0] for row in table.rows[1:]]
    assert seen == [f"host-{n:04d}" for n in range(2000)], "every row once, in order, none cut"


def _sphinx_build(root: Path) -> Path:
    """A Sphinx HTML build as `sphinx-build` lays it out: a real page, the copy of its source, viewcode's
    module pages, the generated index and search pages (marked as a build by `searchindex.js` later)."""
    (root / "usage").mkdir(parents=True)
    (root / "usage" / "quickstart.html").write_text((HTML / "sphinx-quickstart.html").read_text())
    (root / "_sources" / "usage").mkdir(parents=True)
    (root / "_sources" / "usage" / "quickstart.rst.txt").write_text(
        "Getting Started\n===============\n\nRunning the build\n-----------------\n\n"
        "Now that you have added some files and content, let's make a first build of the docs::\n\n"
        "   $ sphinx-build -b html sourcedir builddir\n")
    (root / "_modules").mkdir()
    (root / "_modules" / "application.html").write_text(
        "<html><body><h1>Source code for sphinx.application</h1><pre>def build(self): ...</pre></body></html>")
    for page in ("genindex.html", "search.html"):
        (root / page).write_text(f"<html><body><h1>{page}</h1><p>Symbols | A | B | build() (Sphinx method)</p>"
                                 "</body></html>")
    return root


def test_a_sphinx_builds_source_copies_and_generated_pages_are_skipped_and_leave_the_index(settings, tmp_path):
    build = _sphinx_build(tmp_path / "html")
    before = index_paths([build], settings)  # not yet recognisable as a Sphinx build: everything is read
    assert before.added == 5 and not before.skipped
    (build / "searchindex.js").write_text("Search.setIndex({})")
    summary = index_paths([build], settings)
    assert sorted((Path(s.path).name, s.reason) for s in summary.skipped) == [
        ("_modules", "module source highlighted by sphinx.ext.viewcode: 1 file not indexed"),
        ("_sources", "Sphinx copies of the pages' sources: 1 file not indexed"),
        ("html", "Sphinx's generated index and search pages (genindex, search, module index): 2 files not indexed")]
    assert summary.deleted == 4, "artefacts indexed before are removed, not kept"
    assert set(manifest(open_collection(settings))) == {str(build / "usage" / "quickstart.html")}


def test_folders_named_like_sphinx_artefacts_outside_a_build_are_indexed_but_a_404_page_is_not(settings, tmp_path):
    notes = tmp_path / "notes"
    (notes / "_sources").mkdir(parents=True)
    (notes / "_sources" / "vendors.md").write_text("# Vendors\n\nPrinter toner comes from Acme.\n")
    (notes / "search.html").write_text("<html><body><h1>Search</h1><p>How to search the wiki well.</p></body></html>")
    (notes / "404.html").write_text("<html><body><h1>404</h1><p>Page not found</p></body></html>")
    summary = index_paths([notes], settings)
    assert summary.added == 2
    assert [(s.path, s.reason) for s in summary.skipped] == [
        (str((notes / "404.html").resolve()), "a site's page-not-found page: 1 file not indexed")]
