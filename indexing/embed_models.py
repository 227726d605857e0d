"""Which embedding model is which: stock names, and the folders `citebot tune embedder` writes.

An index records the key of the model that embedded it, so vectors of two models are never mixed;
this module only reads names and manifests, so the index store can check it without loading a model.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.settings import STOCK_EMBED_MODELS

MANIFEST = "citebot_adapted.json"


def read_manifest(model: str) -> dict | None:
    """The manifest `adapt_embedder` wrote into an adapted model's folder; None for any other model."""
    path = Path(model) / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def base_of(model: str) -> str:
    """The stock model an embedding model derives from: adapting an adapted model starts again from its
    base, so re-adapting after the docs changed never compounds earlier training."""
    manifest = read_manifest(model)
    return manifest["base"] if manifest else model


def model_key(model: str) -> str:
    """What an index records as its embedding model: the name of a stock model, or the weights
    fingerprint of an adapted one (two adaptations never share a key, so their vectors never mix)."""
    manifest = None if model in STOCK_EMBED_MODELS else read_manifest(model)
    return "adapted:" + manifest["fingerprint"] if manifest else model
