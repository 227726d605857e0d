"""Vector math on embeddings (numpy): every embedder here returns unit-length vectors, so a dot
product is the cosine similarity. One place, so router, tracer, composer, retriever and the review
page's question clustering compute similarity the same way."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def as_matrix(vectors: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Rows of float64 (embedders give float32; sums in float64 keep thresholds reproducible)."""
    return np.asarray(vectors, dtype=np.float64).reshape(len(vectors), -1)


def similarities(rows: Sequence[Sequence[float]] | np.ndarray,
                 columns: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """sims[i, j]: cosine similarity of rows[i] and columns[j]."""
    if len(rows) == 0 or len(columns) == 0:
        return np.zeros((len(rows), len(columns)))
    return as_matrix(rows) @ as_matrix(columns).T


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    return float(np.dot(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)))
