import pytest

from indexing.chunking import chunk_document
from indexing.documents import UnreadableFile, load_file, parse_html, parse_markdown


def test_markdown_sections_keep_their_heading_path():
    title, sections = parse_markdown("# VPN\nintro\n## Setup\nstep one\n### Linux\napt\n## Help\nask", "x")
    assert title == "VPN"
    assert [(s.heading, s.text) for s in sections] == [
        ("VPN", "intro"), ("VPN > Setup", "step one"), ("VPN > Setup > Linux", "apt"), ("VPN > Help", "ask")]


def test_markdown_headings_inside_code_fences_are_text():
    _, sections = parse_markdown("# T\n```\n# not a heading\n```\n", "x")
    assert len(sections) == 1 and "# not a heading" in sections[0].text


def test_html_title_headings_and_text_without_scripts():
    html = "<html><head><title>Page</title><script>var x=1;</script></head><body><h1>Top</h1><p>Hello <b>there</b>.</p>" \
           "<h2>Sub</h2><ul><li>one</li><li>two</li></ul></body></html>"
    title, sections = parse_html(html, "fallback")
    assert title == "Page"
    assert [(s.heading, s.text) for s in sections] == [("Top", "Hello there."), ("Top > Sub", "- one\n- two")]


def test_chunks_carry_title_and_heading_in_their_text(tmp_path):
    path = tmp_path / "deploys.md"
    path.write_text("# Deploys\n## Windows\nNo deploys on Fridays.\n")
    doc = load_file(path, source_id="s")
    chunks = chunk_document(doc, 1200)
    assert chunks[0].text == "Deploys > Windows\nNo deploys on Fridays."
    assert chunks[0].chunk_id.startswith(str(path.resolve()))


def test_long_sections_are_split_below_the_limit(tmp_path):
    path = tmp_path / "long.md"
    path.write_text("# Long\n" + "\n\n".join(f"Paragraph {i} " + "word " * 60 for i in range(20)))
    chunks = chunk_document(load_file(path, source_id="s"), 1000)
    assert len(chunks) > 3
    assert all(len(c.body) <= 1000 for c in chunks)


@pytest.mark.parametrize("name, content, reason", [
    ("blob.md", b"\x00\x01\x02binary", "binary"),
    ("empty.md", b"  \n", "empty"),
    ("latin1.txt", "caf\xe9".encode("latin-1"), "UTF-8"),
    ("image.png", b"\x89PNG", "unsupported"),
])
def test_unreadable_files_are_refused_with_a_reason(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=reason):
        load_file(path, source_id="s")
