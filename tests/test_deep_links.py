"""Citations land on the definition they quote, not on the top of a reference section that holds dozens.

`sphinx-build.html` is the real page from Debian's sphinx-doc package: its "Options" section defines 22
options, each a `<dt id="cmdoption-sphinx-build-…">`.
"""

import os
import shutil
from pathlib import Path

from indexing.chunking import chunk_document
from indexing.documents import SourceDocument, load_file, parse_html
from indexing.embedder import embed_texts
from indexing.pipeline import index_source
from indexing.retrieval import Passage
from indexing.sources.files import FileSource
from service.answers import AnswerService

PAGE = Path(__file__).parent / "fixtures" / "html" / "sphinx-build.html"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def test_a_terms_id_is_kept_and_a_chunk_links_to_the_nearest_definition_at_or_before_its_start_and_names_it():
    options = [c for c in chunk_document(load_file(PAGE, "docs"), 500) if "> Options" in c.heading]
    assert options[0].body.startswith("**-b buildername**") and options[0].anchor == "cmdoption-sphinx-build-b"
    after = next(i for i, c in enumerate(options) if c.body.startswith("You can also give one or more filenames"))
    assert all(c.anchor.startswith("cmdoption-sphinx-build-") for c in options[:after]), "none links to the top"
    # the paragraph after the options' list is the section's again: not the last option's (-h)
    assert options[after].anchor == "options" and options[after].heading.endswith("> Options")
    inside = next(c for c in options if c.body.startswith("Important"))  # the -M option's note, cut off from it
    assert inside.anchor == "cmdoption-sphinx-build-M", "a chunk that starts inside a definition links to it"
    assert inside.heading.endswith("> Options > -M buildername"), "and is about it: its term ends the heading path"
    assert options[0].heading.endswith("> Options"), "a chunk that starts with its term names it once"
    assert any(c.term_anchors.get("**-E**") == ["cmdoption-sphinx-build-E"] for c in options)


def test_a_quote_from_a_chunk_that_starts_inside_a_definition_is_labelled_with_its_term():
    from answering.extractive import extract_answer

    chunk = next(c for c in chunk_document(load_file(PAGE, "docs"), 500) if c.body.startswith("Important"))
    passage = Passage("c", "d", "sphinx-build", chunk.heading, "sphinx-build.html", None, chunk.text, 1.0, 1.0, 0.0,
                      anchor=chunk.anchor, term_anchors=chunk.term_anchors)
    first = extract_answer("where must the -M option go on the command line?", [passage], [1.0], 0.0).extracts[0]
    assert first.text.startswith("**-M buildername**\n\nSphinx only recognizes the `-M` option if it is placed first.")


def test_a_quote_from_a_later_definition_of_a_chunk_is_labelled_with_that_definition_not_the_chunks_heading():
    from answering.extractive import extract_answer, passage_units

    chunk = next(c for c in chunk_document(load_file(PAGE, "docs"), 500)
                 if c.heading.endswith("> Options") and "**-D setting=value**" in c.term_anchors)
    passage = Passage("c", "d", "sphinx-build", chunk.heading, "sphinx-build.html", None, chunk.text, 1.0, 1.0, 0.0,
                      anchor=chunk.anchor, term_anchors=chunk.term_anchors)
    lists = next(u for u in passage_units(passage, 0) if u.markdown.startswith("For lists, you can separate"))
    assert lists.section == "-D setting=value" and lists.anchor == "cmdoption-sphinx-build-D"
    first = extract_answer("how do I separate list elements in a setting given on the command line?", [passage],
                           [1.0], 0.0).extracts[0]
    assert first.text.startswith("**-D setting=value**\n\nFor lists, you can separate"), "not under **Options**"


def test_an_anchor_inside_a_term_is_its_id_and_a_term_without_one_has_none():
    _, (section,) = parse_html('<main><h1 id="opts">Options</h1><dl><dt><span class="term"><a id="opt-force"></a>'
                               '--force</span></dt><dd><p>Overwrite.</p></dd><dt>Returns:</dt><dd><p>Nothing.</p>'
                               '</dd></dl></main>', "Options")
    assert section.term_anchors == {"**--force**": ["opt-force"]}


def test_two_definitions_with_the_same_term_each_link_to_their_own():
    from answering.extractive import passage_units

    members = "".join(f'<dl><dt id="{cls}">class {cls}</dt><dd><p>The {cls} builder.</p><dl><dt id="{cls}.format">'
                      f"format = 'html'</dt><dd><p>What {cls} writes.</p></dd></dl></dd></dl>"
                      for cls in ("DirectoryHTMLBuilder", "SingleFileHTMLBuilder"))
    doc = load_file_from_html(f'<main><h1 id="builders">Builders</h1>{members}</main>')
    (chunk,) = chunk_document(doc, 2500)
    passage = Passage("c", "d", "Builders", chunk.heading, "b.html", f"https://d/b.html#{chunk.anchor}", chunk.text,
                      1.0, 1.0, 0.0, anchor=chunk.anchor, term_anchors=chunk.term_anchors)
    writes = {u.markdown.split("\n\n")[1]: passage.link(u.anchor) for u in passage_units(passage, 0)
              if u.markdown.startswith("**format")}
    assert writes == {"What DirectoryHTMLBuilder writes.": "https://d/b.html#DirectoryHTMLBuilder.format",
                      "What SingleFileHTMLBuilder writes.": "https://d/b.html#SingleFileHTMLBuilder.format"}


def test_text_after_a_definition_list_stands_under_its_section_not_the_lists_last_definition():
    from answering.extractive import passage_units

    doc = load_file_from_html('<main><h1 id="builders">Builders</h1><dl><dt id="html">html'
                              '</dt><dd><p>Builds HTML pages.</p><dl><dt>dirhtml</dt><dd><p>One folder per page.'
                              '</p></dd></dl><p>The default builder.</p></dd><dt id="latex">latex</dt><dd><p>Builds'
                              ' LaTeX sources.</p></dd></dl><p>Third-party builders come from extensions.</p></main>')
    (chunk,) = chunk_document(doc, 2500)
    assert chunk.anchor == "html", "the chunk opens with the first definition and links to it"
    passage = Passage("c", "d", "Builders", chunk.heading, "b.html", "https://d/b.html#html", chunk.text, 1.0, 1.0,
                      0.0, anchor=chunk.anchor, term_anchors=chunk.term_anchors, section_anchor=chunk.section_anchor)
    units = {u.markdown.split("\n\n")[-1]: (u.section, passage.link(u.anchor)) for u in passage_units(passage, 0)}
    assert units["The default builder."] == ("html", "https://d/b.html#html"), "a nested list ends inside html"
    assert units["Builds LaTeX sources."] == ("latex", "https://d/b.html#latex")
    assert units["Third-party builders come from extensions."] == ("Builders", "https://d/b.html#builders")
    assert "<!---->" not in "".join(u.markdown for u in passage_units(passage, 0)), "the mark is never quoted"
    assert "<!---->" in chunk.text and "<!---->" not in passage.body, "nor shown, nor given to a model"
    unmarked = chunk.text.replace("\n\n<!---->", "")
    assert (embed_texts([chunk.text]) == embed_texts([unmarked])).all(), "nor embedded: the vectors stay as they were"


def load_file_from_html(page: str) -> SourceDocument:
    title, sections = parse_html(page, "Builders")
    return SourceDocument("d", "docs", title, "b.html", None, sections, "2026-12-07T00:00:00+00:00")


def test_a_citation_of_a_definition_links_to_it(settings, tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "sphinx-build.html").write_bytes(PAGE.read_bytes())
    index_source(FileSource("docs", [tmp_path / "docs"], "https://docs.example.com/{relpath}"), settings)
    result = AnswerService(settings).ask("what does the -E option of sphinx-build do?")
    assert result.route == "rag" and result.answer.startswith("**-E**")
    assert result.citations[0].url == ("https://docs.example.com/sphinx-build.html#cmdoption-sphinx-build-E"
                                       ":~:text=Don%E2%80%99t%20use%20a%20saved%20environment"), "and its words"


def test_a_cited_page_is_read_from_the_index_once_per_version_of_it(settings, tmp_path):
    from unittest import mock

    from indexing.retrieval import HybridRetriever

    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "sphinx-build.html"
    page.write_bytes(PAGE.read_bytes())
    source = FileSource("docs", [tmp_path / "docs"], "https://docs.example.com/{relpath}")
    index_source(source, settings)
    answerer = AnswerService(settings)
    with mock.patch.object(HybridRetriever, "document_text", autospec=True, side_effect=HybridRetriever.document_text
                           ) as read, mock.patch("indexing.retrieval.VERSION_RECHECK_SECONDS", 0.0):  # edits seen now
        first = answerer.ask("what does the -E option of sphinx-build do?")
        again = answerer.ask("what does the -a option of sphinx-build do?")
        assert ":~:text=" in first.citations[0].url and ":~:text=" in again.citations[0].url
        assert read.call_count == 1, "the second answer citing the page does not read it again"
        page.write_text(PAGE.read_text().replace("Don’t use a saved", "Never use a saved"))
        os.utime(page, (page.stat().st_mtime + 60,) * 2)  # edited a minute later
        index_source(source, settings)
        edited = answerer.ask("what does the -E option of sphinx-build do?")
        assert read.call_count == 2, "an edited page is read again"
        assert edited.citations[0].url.endswith(":~:text=Never%20use%20a%20saved%20environment")


def test_no_words_are_named_for_a_generated_sentence_a_slack_thread_or_a_pdf_page():
    from answering.pipeline import _quote_directive
    from answering.tracing import TracedSentence

    said = "Distribute the build over N processes in parallel, to build faster."
    web = Passage("c", "d", "sphinx-build", "Options", PAGE.name, f"https://d/{PAGE.name}#cmdoption-sphinx-build-j",
                  said, 1.0, 1.0, 0.0)
    quoted = TracedSentence(said, [1], 1.0, True, kind="paragraph")
    assert _quote_directive(quoted, web, lambda _: f" {said.lower()} ") == "Distribute%20the%20build%20over%20N"
    assert _quote_directive(TracedSentence(said, [1], 1.0, True), web, lambda _: f" {said.lower()} ") == ""
    thread = Passage("c", "d", "#builds", "", "slack", "https://t.slack.com/archives/C1/p1", said, 1.0, 1.0, 0.0,
                     channel_id="C1")
    pdf = Passage("c", "d", "Manual", "page 3", "manual.pdf", "https://d/manual.pdf#page=3", said, 1.0, 1.0, 0.0,
                  anchor="page=3")
    assert _quote_directive(quoted, thread, lambda _: f" {said.lower()} ") == ""
    assert _quote_directive(quoted, pdf, lambda _: f" {said.lower()} ") == ""


def test_a_link_names_the_shortest_run_of_the_quotes_opening_words_that_its_page_holds_once():
    from answering.links import page_text, text_directive

    copied = "As these files are not meant to be built, they are copied to the output folder."
    page = page_text(f"{copied}\n\n{copied}\n\nAs these files are built, they are excluded.\n\n"
                     "Distribute the build over N processes in parallel.")
    assert text_directive("**html_extra_path**\n\nAs these files are built, they are excluded.", page) == \
        "As%20these%20files%20are%20built%2C", "five words the page holds once; the label is not in the page there"
    assert text_directive(copied, page) == "", "ten opening words found twice: a browser would land on the first"
    assert text_directive("**-j N**\n\nDistribute the build over N processes in parallel.", page) == \
        "Distribute%20the%20build%20over%20N", "the term above is where the anchor lands"
    code = "```\nsphinx-build -j auto src out\n```"
    assert text_directive(code, page_text(code)) == "", "code is laid out with white space a quote cannot match"
    linked = "Use `-j auto` to build [it](#it) *much* faster, see below."
    assert text_directive(linked, page_text(f"{linked}\n\nUse `-j auto` to build it much faster, or not.")) == \
        "Use%20%2Dj%20auto%20to%20build%20it%20much%20faster%2C%20see", "code, emphasis and link marks are not words"


def test_a_citations_link_opens_its_page_with_the_quote_on_screen_far_below_its_anchor(settings, tmp_path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    filler = "".join(f"<p>Release step {n} checks the {w} of the {v} before the next step begins.</p>"
                     for n, (w, v) in enumerate(zip(["signature", "checksum", "changelog", "tarball"] * 40,
                                                    ["mirror", "archive", "branch", "tag", "wheel"] * 32)))
    quote = "The frobnicator cache is cleared with the purge-cache command of the release tool."
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "release.html").write_text(
        f'<html><body><main><h1 id="release">Releasing</h1>{filler}<p>{quote}</p>{filler[:2000]}</main></body></html>')
    index_source(FileSource("docs", [tmp_path / "docs"], f"{(tmp_path / 'docs').as_uri()}/{{relpath}}"), settings)
    result = AnswerService(settings).ask("how do I clear the frobnicator cache?")
    assert result.route == "rag" and result.answer.startswith(f"**Releasing**\n\n{quote}")
    link = result.citations[0].url
    assert link.startswith((tmp_path / "docs" / "release.html").as_uri() + "#release:~:text=The%20frobnicator")

    def quote_on_screen(url: str) -> bool:
        """Whether the quote comes into the window within 3 s of opening `url` (a busy machine scrolls late)."""
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url)
        try:
            page.wait_for_function("() => { const top = [...document.querySelectorAll('p')].find(p => p.textContent"
                                   ".includes('frobnicator')).getBoundingClientRect().top; return top >= 0 && "
                                   "top < window.innerHeight; }", timeout=3000)
            return True
        except PlaywrightTimeout:
            return False
        finally:
            page.close()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            assert quote_on_screen(link), "the browser scrolls to the quoted words"
            assert not quote_on_screen(link.split(":~:")[0]), "the anchor alone lands 160 paragraphs above them"
        finally:
            browser.close()


def test_a_page_address_with_its_own_fragment_is_never_rewritten():
    def passage(url: str, anchor: str) -> Passage:
        return Passage("c", "d", "Options", "Options", "opts.html", url, "Options\nx", 1.0, 1.0, 0.0, anchor=anchor)

    assert passage("https://d/opts.html#options", "options").link("opt-a") == "https://d/opts.html#opt-a"
    assert passage("https://d/opts.html", "").link("opt-a") == "https://d/opts.html#opt-a"
    assert passage("https://d/#/opts", "").link("opt-a") == "https://d/#/opts", "a single-page app's route"
    assert passage("https://d/opts.html#options", "options").link("") == "https://d/opts.html#options"


def test_the_landing_benchmark_counts_words_from_the_links_target_to_the_quote(tmp_path):
    from benchmarks.deep_links import landing

    page = tmp_path / "opts.html"
    page.write_text('<html><body><h1 id="top">Options</h1><p>one two three four five</p><dl><dt id="opt-a">-a</dt>'
                    '<dd><p>Always write all output files again.</p></dd></dl><p>A list of paths that contain files the build '
                    'reads first.</p><p>A list of paths that contain files the build reads last.</p></body></html>')
    assert landing(page, "opt-a", "**-a**\n\nAlways write all output files again.") == 1  # past the term: "a"
    assert landing(page, "top", "Always write all output files again.") == 7  # Options, one … five, a
    assert landing(page, "", "Always write all output files again.") == 7, "no fragment: the top of the page"
    repeated = "A list of paths that contain files the build reads first."  # its first 10 words are twice there
    assert landing(page, "top", repeated) is None, "an opening the page repeats is not measured"
