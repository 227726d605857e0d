"""Whom the team looped in on the resolved thread most like this one: retrieved, then named to the model.

Which group owns a problem is a fact about the team, and facts come from retrieval: a 135M model tuned on a
few hundred threads remembers the mapping from the wording it was trained on and misses it when people
write differently. So the escalation prompt names the group(s) the team looped in on the most similar
resolved thread (MiniLM cosine over the rendered threads, never the same thread), in training, in
evaluation and when serving, and the tuned model learns to use that hint where the thread fits it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from core.vectors import similarities
from indexing.embedder import embed_texts


@lru_cache(maxsize=4)
def _vectors(texts: tuple[str, ...]) -> np.ndarray:
    """The references' vectors, kept per served model (a few hundred threads; embedded once, ~1 s)."""
    return embed_texts(list(texts))


Reference = tuple[str, str, Sequence[str]]  # (thread key, rendered thread, handles the team's reply named)


def nearest_groups(prompts: list[str], threads: list[str | None], references: Sequence[Reference]) -> list[list[str]]:
    """For each rendered thread, the handles of the most similar reference from another thread ([] when
    there is none); `threads[i]` is the thread prompt i comes from (None: a new one). `references` are the
    training threads whose reply named a group (`tuning.dataset.group_references`, kept with the model)."""
    if not prompts or not references:
        return [[] for _ in prompts]
    sims = similarities(embed_texts(prompts), _vectors(tuple(r[1] for r in references)))
    hints = []
    for row, thread in zip(sims, threads):
        best = next((references[j] for j in np.argsort(-row) if references[j][0] != thread), None)
        hints.append(sorted(best[2]) if best else [])
    return hints
