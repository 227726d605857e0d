"""Citations land on the definition they quote, not on the top of a reference section that holds dozens.

`sphinx-build.html` is the real page from Debian's sphinx-doc package: its "Options" section defines 22
options, each a `<dt id="cmdoption-sphinx-build-…">`.
"""

from pathlib import Path

from indexing.chunking import chunk_document
from indexing.documents import SourceDocument, load_file, parse_html
from indexing.pipeline import index_source
from indexing.retrieval import Passage
from indexing.sources.files import FileSource
from service.answers import AnswerService

PAGE = Path(__file__).parent / "fixtures" / "html" / "sphinx-build.html"


def test_a_terms_id_is_kept_and_a_chunk_links_to_the_nearest_definition_at_or_before_its_start_and_names_it():
    options = [c for c in chunk_document(load_file(PAGE, "docs"), 500) if "> Options" in c.heading]
    assert options[0].body.startswith("**-b buildername**") and options[0].anchor == "cmdoption-sphinx-build-b"
    assert all(c.anchor.startswith("cmdoption-sphinx-build-") for c in options), "none links to the section top"
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


def load_file_from_html(page: str) -> SourceDocument:
    title, sections = parse_html(page, "Builders")
    return SourceDocument("d", "docs", title, "b.html", None, sections, "2026-12-07T00:00:00+00:00")


def test_a_citation_of_a_definition_links_to_it(settings, tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "sphinx-build.html").write_bytes(PAGE.read_bytes())
    index_source(FileSource("docs", [tmp_path / "docs"], "https://docs.example.com/{relpath}"), settings)
    result = AnswerService(settings).ask("what does the -E option of sphinx-build do?")
    assert result.route == "rag" and result.answer.startswith("**-E**")
    assert result.citations[0].url == "https://docs.example.com/sphinx-build.html#cmdoption-sphinx-build-E"


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
