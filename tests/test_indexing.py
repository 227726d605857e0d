"""Incremental indexing against a real on-disk Chroma collection."""

import pytest

from core.errors import CitebotError
from indexing.pipeline import index_paths
from indexing.retrieval import HybridRetriever
from indexing.store import manifest, open_collection


def test_add_unchanged_edit_delete_cycle(settings, corpus):
    first = index_paths([corpus], settings)
    assert (first.added, first.updated, first.unchanged, first.deleted) == (3, 0, 0, 0)
    assert first.chunks_embedded == first.chunks_total > 0

    again = index_paths([corpus], settings)
    assert (again.added, again.updated, again.unchanged, again.deleted) == (0, 0, 3, 0)
    assert again.chunks_embedded == 0

    (corpus / "coffee.md").write_text("# Coffee machine\n\nThe machine now takes oat milk pods only.\n")
    (corpus / "printers.html").unlink()
    changed = index_paths([corpus], settings)
    assert (changed.added, changed.updated, changed.unchanged, changed.deleted) == (0, 1, 1, 1)
    docs = manifest(open_collection(settings))
    assert str(corpus / "printers.html") not in docs
    hits = HybridRetriever(settings).search("Which pods does the coffee machine take?")
    assert hits[0].doc_id == str(corpus / "coffee.md") and "oat milk" in hits[0].text
    assert all("descaled" not in h.text for h in hits), "the old version of an edited page must be gone"


def test_every_chunk_carries_citation_metadata(settings, corpus):
    index_paths([corpus], settings)
    got = open_collection(settings).get(include=["metadatas"])
    for meta in got["metadatas"]:
        for key in ("doc_id", "source_id", "title", "path", "heading", "content_hash", "updated_at", "access"):
            assert meta.get(key), f"chunk metadata lacks {key}: {meta}"


def test_unreadable_file_is_skipped_and_its_indexed_version_kept(settings, corpus):
    index_paths([corpus], settings)
    (corpus / "coffee.md").write_bytes(b"\x00\x00garbage")
    summary = index_paths([corpus], settings)
    assert [s.reason for s in summary.skipped] == ["binary file (contains NUL bytes)"]
    assert summary.deleted == 0
    assert str(corpus / "coffee.md") in manifest(open_collection(settings))


def test_missing_path_fails_before_touching_the_index(settings, corpus, tmp_path):
    first = index_paths([corpus], settings)
    with pytest.raises(CitebotError, match="does not exist"):
        index_paths([corpus, tmp_path / "nope"], settings)
    assert open_collection(settings).count() == first.chunks_total


def test_indexing_one_file_of_an_indexed_folder_does_not_duplicate_it(settings, corpus):
    total = index_paths([corpus], settings).chunks_total
    single = index_paths([corpus / "coffee.md"], settings)
    assert (single.unchanged, single.added, single.chunks_total) == (1, 0, total)


def test_retrieval_scores_separate_relevant_from_unrelated(settings, corpus):
    index_paths([corpus], settings)
    retriever = HybridRetriever(settings)
    relevant = retriever.search("Where is the colour printer?")
    unrelated = retriever.search("What is the capital of Australia?")
    assert relevant[0].title == "Printers"
    assert relevant[0].dense_score > unrelated[0].dense_score + 0.2


def test_scores_do_not_depend_on_where_the_files_live(tmp_path, corpus, copy_of):
    from core.settings import Settings

    elsewhere = copy_of(corpus, "a-much-longer-folder-name-somewhere-else")
    scores = []
    for folder, home in ((corpus, tmp_path / "h1"), (elsewhere, tmp_path / "h2")):
        settings = Settings(home=home)
        index_paths([folder], settings)
        scores.append(HybridRetriever(settings).search("Who descales the espresso machine?")[0].dense_score)
    assert abs(scores[0] - scores[1]) < 1e-3


def test_a_document_a_killed_run_wrote_in_part_is_completed_next_run(settings, corpus):
    """Embedding runs in batches: a worker killed between two batches leaves some of a page's chunks."""
    (corpus / "long.md").write_text("# Long page\n\n" + "\n\n".join(
        f"## Part {i}\n\n" + f"Paragraph {i} talks about topic number {i}. " * 60 for i in range(6)))
    first = index_paths([corpus], settings)
    collection = open_collection(settings)
    long_chunks = manifest(collection)[str(corpus / "long.md")].chunk_ids
    assert len(long_chunks) > 2
    collection.delete(ids=long_chunks[1:])  # what a run killed after the first batch leaves behind
    resumed = index_paths([corpus], settings)
    assert (resumed.updated, resumed.unchanged) == (1, 3)
    assert resumed.chunks_total == first.chunks_total
    assert sorted(manifest(collection)[str(corpus / "long.md")].chunk_ids) == sorted(long_chunks)


def test_an_index_built_with_another_embedding_model_is_refused_until_rebuilt(settings, corpus):
    index_paths([corpus], settings)
    mpnet = settings.model_copy(update={"embed_model": "mpnet"})
    with pytest.raises(CitebotError, match="minilm embedding model.*citebot index --rebuild"):
        index_paths([corpus], mpnet)  # refused before anything is read or embedded
    with pytest.raises(CitebotError, match="CITEBOT_EMBED_MODEL=mpnet"):
        HybridRetriever(mpnet).search("Where can I park my bike?")
    assert HybridRetriever(settings).search("Where can I park my bike?"), "the index itself is untouched"


def test_a_running_retriever_follows_a_rebuilt_index_at_once(settings, corpus, tmp_path):
    from indexing.store import drop_collection, replace_collection

    index_paths([corpus], settings)
    retriever = HybridRetriever(settings)
    assert retriever.search("Where can I park my bike?")
    (corpus / "parking.md").write_text("# Parking\n\nBikes now go in the courtyard racks by the canteen.\n")
    rebuild = settings.model_copy(update={"collection": "citebot-rebuild"})
    drop_collection(rebuild)
    index_paths([corpus], rebuild)
    replace_collection(settings, "citebot-rebuild")
    hits = retriever.search("Where can I park my bike?")  # its handle points at the deleted collection
    assert "courtyard" in hits[0].text and all("basement" not in h.text for h in hits)


def test_bm25_is_saved_beside_the_index_and_loaded_not_rebuilt(settings, corpus, monkeypatch):
    from indexing import retrieval
    from indexing.lexical import STATE_FILE
    from indexing.store import bm25_folder

    index_paths([corpus], settings)
    assert (bm25_folder(settings) / STATE_FILE).exists(), "indexing saves the BM25 index"

    def no_rebuild(collection):
        raise AssertionError("a current saved BM25 index must be loaded, not rebuilt")

    monkeypatch.setattr(retrieval, "build_bm25", no_rebuild)
    hits = HybridRetriever(settings).search("Parkly app", mode="bm25")
    assert hits and hits[0].doc_id == str(corpus / "parking.md")


def test_a_stale_saved_bm25_index_is_rebuilt_and_saved_again(settings, corpus):
    import json

    from indexing.lexical import STATE_FILE
    from indexing.retrieval import index_state
    from indexing.store import bm25_folder

    index_paths([corpus], settings)
    state = bm25_folder(settings) / STATE_FILE
    state.write_text(json.dumps({"version": 1, "count": 1}))  # as if another process changed the index
    hits = HybridRetriever(settings).search("Gutenberg colour printer", mode="bm25")
    assert hits[0].doc_id == str(corpus / "printers.html")
    assert json.loads(state.read_text()) == index_state(open_collection(settings))


def test_a_chunk_deleted_under_a_running_retriever_is_never_returned(settings, corpus):
    index_paths([corpus], settings)
    retriever = HybridRetriever(settings)
    assert retriever.search("Parkly app", mode="bm25")[0].doc_id == str(corpus / "parking.md")
    collection = open_collection(settings)
    parking = [cid for cid, doc in manifest(collection).items() if doc.path.endswith("parking.md")]
    collection.delete(ids=manifest(collection)[parking[0]].chunk_ids)  # within the 2 s before it rechecks
    assert all(h.doc_id != str(corpus / "parking.md") for h in retriever.search("Parkly app", mode="bm25"))


def test_the_chunk_defining_an_option_the_question_names_is_retrieved(tmp_path):
    """Neither BM25 (one-letter tokens dropped, case ignored) nor the embedder finds `-E` by its name."""
    from core.settings import Settings

    settings = Settings(home=tmp_path / "home", chunk_chars=400, top_k=3)
    docs = tmp_path / "docs"
    docs.mkdir()
    options = "".join(f"<dt>-{o}</dt><dd><p>{text} for the buildtool build of the documentation.</p></dd>"
                      for o, text in [("a", "Write all output files"), ("b", "Choose the builder"),
                                      ("d", "Cache the doctrees elsewhere"), ("E", "Never use a saved environment"),
                                      ("j", "Run parallel processes"), ("q", "Print nothing"),
                                      ("v", "Print more"), ("W", "Turn warnings into errors")])
    (docs / "buildtool.html").write_text(f"<main><h1>buildtool</h1><h2>Options</h2><dl>{options}</dl></main>")
    for n in range(4):
        (docs / f"guide{n}.md").write_text(f"# Buildtool guide {n}\n\nThe buildtool option list of the buildtool "
                                           f"program: every buildtool option changes how buildtool builds, part {n}.\n")
    index_paths([docs], settings)
    passages = HybridRetriever(settings).search("what does the -E option of buildtool do?")
    assert len(passages) == 3 and "**-E**\n\nNever use a saved environment" in passages[-1].body
