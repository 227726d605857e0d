"""Unsupervised domain adaptation of the embedder on the team's own chunks (inverse cloze task).

Off-the-shelf embedders were trained on web text; a team's docs have their own vocabulary (package
names, internal services, jargon). The inverse cloze task teaches the embedder that vocabulary without
a single labelled question: a sentence drawn from a chunk is a pseudo-question whose answer is that
chunk, and the other chunks of the batch are the wrong answers (in-batch negatives, the
MultipleNegativesRanking loss of sentence-transformers). Only indexed text is used, never benchmark
queries or judgements, so what the benchmark measures is what a team gets on its own corpus.

On the Debian FAQ benchmark one epoch lifts all-mpnet-base-v2 from 0.771 to 0.799 hybrid nDCG@10; for
MiniLM the gain is small (0.745 to 0.751), so adapting is an opt-in step (`citebot tune embedder`) whose
result is just another embedding model folder (`CITEBOT_EMBED_MODEL=/that/folder`).
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from core.errors import CitebotError
from core.sentences import split_sentences
from core.settings import IndexSettings
from indexing.embed_models import MANIFEST, base_of
from indexing.sources.base import ProgressFn

MIN_WORDS, MAX_WORDS = 6, 60
MIN_PAIRS = 8
MINI_BATCH = 8


@dataclass
class AdaptParams:
    epochs: int = 1
    learning_rate: float = 2e-5
    batch_size: int = 32
    seed: int = 42
    scale: float = 20.0  # similarity scale of the MultipleNegativesRanking loss (its library default)


@dataclass
class AdaptReport:
    base: str
    out: str
    fingerprint: str
    chunks: int
    pairs_per_epoch: int
    steps: int
    seconds: float
    first_loss: float
    last_loss: float
    params: AdaptParams

    def as_dict(self) -> dict:
        return asdict(self)


def pseudo_queries(text: str) -> list[str]:
    """Sentences of a chunk that can stand in for a question: whole sentences of 6 to 60 words (the
    heading line and list fragments are too short, tables and code too long)."""
    lines = text.splitlines()  # line by line: the heading-path line must not run into the first sentence
    return [s for line in lines for s in split_sentences(line) if MIN_WORDS <= len(s.split()) <= MAX_WORDS]


def ict_pairs(chunks: list[str], rng: random.Random) -> list[tuple[str, str]]:
    """One (sentence, its chunk) pair per chunk that has a usable sentence, in random order."""
    pairs = []
    for chunk in chunks:
        candidates = pseudo_queries(chunk)
        if candidates:
            pairs.append((rng.choice(candidates), chunk))
    rng.shuffle(pairs)
    return pairs


def indexed_chunks(settings: IndexSettings) -> list[str]:
    """The text of every chunk in the index, as it was embedded."""
    from indexing.store import open_collection

    collection = open_collection(settings, create=False)
    if collection is None or collection.count() == 0:
        raise CitebotError(f"Nothing is indexed in {settings.where()}: run `citebot index` first; the "
                           "embedder is adapted to the indexed chunks.")
    return [text for text in collection.get(include=["documents"])["documents"] if text]


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for weights in sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin")):
        with weights.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def adapt_embedder(chunks: list[str], settings: IndexSettings, out: Path, params: AdaptParams | None = None,
                   progress: ProgressFn | None = None) -> AdaptReport:
    """Fine-tune the base of CITEBOT_EMBED_MODEL on ICT pairs from `chunks` and save it to `out`.

    The folder appears only when training finished (written aside, then renamed): an interrupted run
    leaves no half-trained model that a later run would trust.
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import CachedMultipleNegativesRankingLoss
    from sentence_transformers.util import batch_to_device

    from indexing.embedder import _offline, model_dir

    params = params or AdaptParams()
    progress = progress or (lambda *_: None)
    rng = random.Random(params.seed)
    epochs_pairs = [ict_pairs(chunks, rng) for _ in range(params.epochs)]
    if len(epochs_pairs[0]) < MIN_PAIRS:
        raise CitebotError(f"Only {len(chunks)} chunks with too few whole sentences: adapting needs at least "
                           f"{MIN_PAIRS} chunks with sentences of {MIN_WORDS}+ words. Index more documents first.")
    out = Path(out)
    if out.exists():
        raise CitebotError(f"{out} already exists: choose another --out or remove it first.")
    base = base_of(settings.embed_model)
    _offline()
    torch.manual_seed(params.seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = SentenceTransformer(str(model_dir(base, settings.model_cache_dir)), device=device)
    # Cached: embeddings of the whole batch are computed without gradients first, then re-computed a
    # few at a time, so a batch of 32 long chunks peaks at ~8 GB (mpnet) instead of over 23 GB.
    loss_fn = CachedMultipleNegativesRankingLoss(model, scale=params.scale, mini_batch_size=MINI_BATCH)
    optimizer = torch.optim.AdamW(model.parameters(), lr=params.learning_rate)
    total = sum((len(p) + params.batch_size - 1) // params.batch_size for p in epochs_pairs)
    warmup = max(1, total // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup))))
    losses: list[float] = []
    started = time.perf_counter()
    model.train()
    for pairs in epochs_pairs:
        for start in range(0, len(pairs), params.batch_size):
            batch = pairs[start:start + params.batch_size]
            if len(batch) < 2:
                continue  # one pair has no in-batch negative to learn from
            features = [batch_to_device(model.preprocess([pair[side] for pair in batch]), device) for side in (0, 1)]
            loss = loss_fn(features, None)
            loss.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(loss.item())
            progress("adapting", len(losses), total)
    model.eval()
    aside = out.with_name(out.name + ".tmp")
    shutil.rmtree(aside, ignore_errors=True)
    model.save(str(aside))
    fingerprint = _fingerprint(aside)
    report = AdaptReport(base=base, out=str(out), fingerprint=fingerprint, chunks=len(chunks),
                         pairs_per_epoch=len(epochs_pairs[0]), steps=len(losses),
                         seconds=round(time.perf_counter() - started, 1), first_loss=round(losses[0], 4),
                         last_loss=round(losses[-1], 4), params=params)
    (aside / MANIFEST).write_text(json.dumps({**report.as_dict(), "created_at": datetime.now(timezone.utc)
                                              .isoformat(timespec="seconds")}, indent=2), encoding="utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    aside.rename(out)
    return report
