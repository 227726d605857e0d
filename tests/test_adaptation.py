"""Adapting the embedder to the indexed chunks (inverse cloze task) and using the adapted model."""

import json
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.errors import CitebotError
from core.settings import Settings
from indexing.adaptation import AdaptParams, adapt_embedder, ict_pairs, indexed_chunks, pseudo_queries
from indexing.embed_models import MANIFEST
from indexing.embedder import get_embedder
from indexing.pipeline import index_paths
from indexing.retrieval import HybridRetriever
from indexing.store import EMBED_MODEL_KEY, open_collection
from tests.conftest import CITEBOT_BIN

TOPICS = {
    "vpn": "The office VPN uses WireGuard with one key per laptop. Lost keys are revoked by the network team.",
    "badges": "Visitor badges are printed at the front desk every morning. Return the badge to reception when you leave.",
    "payroll": "Salaries are paid on the twenty-fifth of each month. Expense claims filed after the tenth wait a month.",
    "printers": "The colour printer next to the kitchen is called Gutenberg. Spare toner sits in the cupboard labelled C3.",
    "kitchen": "The dishwasher runs automatically at six in the evening. Please empty it the next morning if you can.",
    "laptops": "New laptops are imaged with the standard developer profile. Disk encryption is switched on before delivery.",
    "holidays": "Holiday requests go through the HR portal two weeks ahead. Your manager approves them within three days.",
    "parking": "Bicycles are parked in the basement garage on level minus one. The door code changes every month.",
    "meetings": "Meeting rooms are booked through the shared calendar in advance. Unused bookings are released after fifteen minutes.",
    "backups": "Database backups run every night at two in the morning. Each backup is kept for thirty five days.",
    "oncall": "The on-call rotation changes every Monday at ten in the morning. Handover notes live in the incident channel.",
    "deploys": "Production deploys are frozen from Friday noon until Monday morning. Emergency fixes need the release manager.",
}


@pytest.fixture
def topics(tmp_path):
    folder = tmp_path / "topics"
    folder.mkdir()
    for name, text in TOPICS.items():
        (folder / f"{name}.md").write_text(f"# {name.title()}\n\n{text}\n")
    return folder


@pytest.fixture
def adapted(settings, topics, tmp_path):
    """A MiniLM adapted to the indexed topics: one step of 12 pairs, a few seconds on CPU."""
    index_paths([topics], settings)
    return adapt_embedder(indexed_chunks(settings), settings, tmp_path / "adapted", AdaptParams(learning_rate=1e-4))


def test_pseudo_queries_are_whole_sentences_of_six_to_sixty_words():
    text = "# Backups\n\nBackups run nightly.\nEach backup is kept for thirty five days. Word " + "word " * 70 + "."
    assert pseudo_queries(text) == ["Each backup is kept for thirty five days."]


def test_ict_pairs_one_sentence_per_chunk_from_that_chunk_and_reproducible():
    import random

    chunks = list(TOPICS.values()) + ["# Heading only"]
    pairs = ict_pairs(chunks, random.Random(7))
    assert len(pairs) == len(TOPICS), "a chunk without a whole sentence gives no pair"
    assert all(sentence in chunk for sentence, chunk in pairs)
    assert pairs == ict_pairs(chunks, random.Random(7))


def test_adapted_model_is_saved_with_its_manifest_and_embeds_differently(adapted, settings):
    folder = Path(adapted.out)
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["base"] == "minilm" and manifest["fingerprint"] == adapted.fingerprint
    assert adapted.pairs_per_epoch == len(TOPICS) and adapted.steps == 1
    text = "Where do I park my bicycle?"
    stock = get_embedder(settings).get_text_embedding(text)
    tuned = get_embedder(Settings(home=settings.home, embed_model=adapted.out)).get_text_embedding(text)
    assert sum(a * b for a, b in zip(stock, tuned)) < 0.9999, "training changed the weights"
    assert not folder.with_name(folder.name + ".tmp").exists(), "nothing left aside"


def test_an_index_built_with_the_adapted_model_is_keyed_by_its_fingerprint(adapted, settings, topics):
    tuned = Settings(home=settings.home, embed_model=adapted.out, collection="tuned")
    index_paths([topics], tuned)
    assert open_collection(tuned).metadata[EMBED_MODEL_KEY] == f"adapted:{adapted.fingerprint}"
    passages = HybridRetriever(tuned).search("where do bicycles go")
    assert passages[0].source.endswith("parking.md")
    with pytest.raises(CitebotError, match="rebuild.*adapted model's folder"):
        HybridRetriever(Settings(home=settings.home, collection="tuned")).search("bicycles")


def test_adapting_refuses_an_existing_folder_and_too_little_text(settings, tmp_path):
    taken = tmp_path / "taken"
    taken.mkdir()
    with pytest.raises(CitebotError, match="already exists"):
        adapt_embedder(list(TOPICS.values()), settings, taken)
    with pytest.raises(CitebotError, match="Index more documents"):
        adapt_embedder(list(TOPICS.values())[:3], settings, tmp_path / "new")
    with pytest.raises(CitebotError, match="citebot index"):
        indexed_chunks(settings)


def test_embed_model_must_be_a_known_name_or_a_model_folder(tmp_path):
    with pytest.raises(ValidationError, match="neither minilm, mpnet nor a sentence-transformers folder"):
        Settings(home=tmp_path, embed_model=str(tmp_path))


def test_tune_embedder_command_writes_a_model_and_says_how_to_use_it(cli_env, topics, tmp_path):
    subprocess.run([CITEBOT_BIN, "index", "-q", str(topics)], env=cli_env, check=True, capture_output=True)
    out = tmp_path / "mine"
    done = subprocess.run([CITEBOT_BIN, "tune", "embedder", "--out", str(out), "-q"], env=cli_env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"CITEBOT_EMBED_MODEL={out}" in done.stdout and (out / "modules.json").exists()
    again = subprocess.run([CITEBOT_BIN, "tune", "embedder", "--out", str(out), "--json"], env=cli_env,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode != 0 and "already exists" in again.stderr
