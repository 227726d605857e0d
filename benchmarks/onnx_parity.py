"""The ONNX encoder against sentence-transformers, on the chunks citebot would index.

    python -m benchmarks.onnx_parity [--beir DIR] [--embed-model minilm|mpnet|FOLDER]

Chunks the bundled handbook (and a BEIR corpus, e.g. the Debian FAQ benchmark) with the real chunker,
embeds every chunk with both, and reports the lowest and mean cosine similarity per corpus and the
embedding time of each. The query path is accepted when the lowest cosine is at least 0.999.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from core.settings import Settings
from demo import HANDBOOK_DIR
from indexing.chunking import chunk_document
from indexing.documents import iter_files, load_file
from indexing.embedder import get_embedder, model_dir


def _handbook() -> list[str]:
    return [c.text for path in iter_files(HANDBOOK_DIR) for c in chunk_document(load_file(path, "handbook"), 2500)]


def _beir(folder: Path) -> list[str]:
    """The corpus's chunks exactly as `citebot eval retrieval` indexes them."""
    from indexing.evaluation import BeirSource, load_beir
    from indexing.sources.base import Harvest

    harvest = Harvest()
    BeirSource(load_beir(folder)).collect(harvest, lambda *_: None)
    return [c.text for doc in harvest.documents.values() for c in chunk_document(doc, 2500)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--beir", type=Path, help="A BEIR folder whose corpus is chunked and compared too.")
    parser.add_argument("--embed-model", default="minilm")
    args = parser.parse_args()
    from sentence_transformers import SentenceTransformer

    settings = Settings(embed_model=args.embed_model)
    ours = get_embedder(settings)
    reference = SentenceTransformer(str(model_dir(settings.embed_model, settings.model_cache_dir)), device="cpu")
    corpora = {"handbook": _handbook(), **({"beir": _beir(args.beir)} if args.beir else {})}
    report = {"embed_model": args.embed_model}
    for name, texts in corpora.items():
        started = time.perf_counter()
        onnx = np.array(ours.get_text_embedding_batch(texts))
        onnx_s = time.perf_counter() - started
        started = time.perf_counter()
        expected = reference.encode(texts, normalize_embeddings=True, batch_size=64)
        st_s = time.perf_counter() - started
        cosine = (onnx * expected).sum(axis=1)
        report[name] = {"chunks": len(texts), "min_cosine": round(float(cosine.min()), 6),
                        "mean_cosine": round(float(cosine.mean()), 6), "onnx_seconds": round(onnx_s, 1),
                        "sentence_transformers_seconds": round(st_s, 1)}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
