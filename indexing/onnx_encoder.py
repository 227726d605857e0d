"""Sentence embeddings without torch: an ONNX export of a sentence-transformers model, run by onnxruntime.

Every answer needs a few passes of a small encoder (the question, candidate sentences), yet importing
torch and sentence-transformers alone takes seconds and hundreds of MB. So each embedding model is
exported to ONNX once, with its mean pooling and L2 normalisation inside the graph (the model's own
Pooling and Normalize modules), and kept in the model cache; queries then need only onnxruntime and
the `tokenizers` library. The export needs torch: it runs at index time (`citebot index`), in the
Docker build, or on first use in a home indexed before ONNX existed.

Checked against sentence-transformers on the handbook and the Debian FAQ chunks: cosine >= 0.999
(tests/test_embedder.py, `python -m benchmarks.onnx_parity`).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np

from core.errors import CitebotError

ONNX_FILE = "model.onnx"
WEIGHTS_FILE = "model.onnx.data"
EXPORT_META = "citebot_onnx.json"
WORDS_FILE = "word_embeddings.f16"  # the word-embedding table, float16 rows, read with pread
WORD_ROWS = "word_rows"  # the graph input taking the looked-up rows
EXPORT_VERSION = 5  # bump when the exported graph changes, so old exports are made again
BATCH = 16
# Activation memory grows with batch x tokens² (attention), and onnxruntime's arena keeps what the biggest
# batch needed: a batch holds at most this many token pairs. Queries (the question, a hundred candidate
# sentences of an answer) take 16 sentences of 32 tokens or one 128-token text: a cold `ask` peaked 12 MB
# lower than with 16 x 128² and encoded as fast (226 handbook sentences: 395 vs 413 ms; halving it again
# cost 20% for 4 MB). Indexing embeds whole chunks in bulk, where batches of four 256-token chunks are
# faster (300 Debian FAQ documents: 7.5 s vs 8.2 s with the query bound) and the memory is a one-off job's.
PAIRS_PER_BATCH = 16 * 32 * 32
BULK_PAIRS = 16 * 128 * 128


def _weights(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))


def export_dir(source: Path, cache_dir: Path) -> Path:
    """Where the export of the model in `source` lives: keyed by its weight files (name, size, time), so
    an adapted model written again, or a new package version, gets a new export."""
    digest = hashlib.sha256(f"v{EXPORT_VERSION}".encode())
    for weights in _weights(source):
        stat = weights.stat()
        digest.update(f"{weights.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return cache_dir / "onnx" / f"{source.name}-{digest.hexdigest()[:12]}"


def _sentence_model(source: Path):
    """The model as sentence-transformers loads it; only mean pooling followed by normalisation is put in
    the graph (both shipped models, and every model `citebot tune embedder` derives from them)."""
    from sentence_transformers import SentenceTransformer

    try:
        model = SentenceTransformer(str(source), device="cpu")
    except Exception as exc:  # noqa: BLE001 - a damaged or foreign folder: say which, not a traceback
        raise CitebotError(f"Cannot load the embedding model in {source}: {exc}") from None
    modules = [type(m).__name__ for m in model]
    mode = getattr(model[1], "pooling_mode", None) if len(modules) > 1 else None
    if modules != ["Transformer", "Pooling", "Normalize"] or str(mode).removesuffix("_tokens") != "mean":
        raise CitebotError(f"{source} is not a mean-pooled, normalised sentence-transformers model "
                           f"(modules {modules}, pooling {mode}); citebot can only export such models to ONNX.")
    return model


def export(source: Path, target: Path) -> Path:
    """Export the model in `source` to `target` (atomically: a crash leaves no half export behind)."""
    import onnx
    import torch

    sentence_model = _sentence_model(source)
    model = sentence_model[0].auto_model.eval()
    takes_types = "token_type_ids" in inspect.signature(model.forward).parameters  # mpnet has none

    class Pooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            extra = {"token_type_ids": token_type_ids} if takes_types else {}
            hidden = self.model(input_ids=input_ids, attention_mask=attention_mask, **extra).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2, dim=1)

    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if takes_types else [])
    sample = tuple(torch.ones(2, 8, dtype=torch.long) for _ in names)
    axes = {name: {0: "batch", 1: "tokens"} for name in names} | {"embedding": {0: "batch"}}
    partial = target.with_name(f"{target.name}.tmp-{os.getpid()}")  # bots starting together export at once
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes it fixes; the graph is checked by tests
        torch.onnx.export(Pooled(), sample, str(partial / "inline.onnx"), input_names=names,
                          output_names=["embedding"], dynamic_axes=axes, opset_version=17, dynamo=False)
    # Weights in a file of their own: onnxruntime then reads them straight into place instead of holding
    # the whole model proto and the tensors at once (a cold `ask` peaks ~40 MB lower with MiniLM).
    graph = onnx.load(str(partial / "inline.onnx"))
    words = _word_table_outside(graph, partial)
    onnx.save_model(graph, str(partial / ONNX_FILE), save_as_external_data=True, location=WEIGHTS_FILE)
    (partial / "inline.onnx").unlink()
    (partial / WEIGHTS_FILE).chmod(0o644)  # onnx writes it owner-only; a shared model cache must read it
    shutil.copy2(source / "tokenizer.json", partial / "tokenizer.json")
    pad = sentence_model.tokenizer.pad_token_id
    (partial / EXPORT_META).write_text(json.dumps({
        "source": str(source), "version": EXPORT_VERSION, "inputs": names,
        "max_seq_length": int(sentence_model.max_seq_length), "pad_id": int(pad if pad is not None else 0),
        "words": words}),
        encoding="utf-8")
    if target.exists() and not (target / EXPORT_META).exists():
        shutil.rmtree(target, ignore_errors=True)  # a damaged export (made by hand, or half copied)
    try:
        partial.rename(target)
    except OSError:  # another process finished the same export first: keep its copy
        shutil.rmtree(partial, ignore_errors=True)
        if not (target / EXPORT_META).exists():
            raise
    return target


def _word_table_outside(model, folder: Path) -> dict:
    """Take the word-embedding table out of the graph into a float16 file the encoder reads row by row.

    The table is half the model's weights (MiniLM: 47 of 90 MB) but a query needs only the rows of its
    tokens. Mapped by onnxruntime, the kernel keeps whole page-cache folios around each row it touches:
    a cold `ask` held ~20 MB of float16 rows it never read (and twice that in float32). Read with
    `pread`, only the rows asked for enter the process. The graph takes the looked-up rows as the input
    `word_rows` and casts them to float32 where its Gather was, so the arithmetic is unchanged; float16
    rows lose nothing that shows (cosine to the float32 model >= 0.99999 on the handbook).
    """
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    lookup = next(n for n in graph.node if n.op_type == "Gather" and n.input[0].endswith("word_embeddings.weight"))
    table = next(t for t in graph.initializer if t.name == lookup.input[0])
    rows = numpy_helper.to_array(table).astype(np.float16)
    (folder / WORDS_FILE).write_bytes(np.ascontiguousarray(rows).tobytes())
    graph.initializer.remove(table)
    cast = helper.make_node("Cast", [WORD_ROWS], [lookup.output[0]], to=TensorProto.FLOAT, name="word_rows_float32")
    graph.node.insert(list(graph.node).index(lookup), cast)
    graph.node.remove(lookup)
    rows_input = helper.make_tensor_value_info(WORD_ROWS, TensorProto.FLOAT16, ["batch", "tokens", rows.shape[1]])
    graph.input.append(rows_input)
    return {"rows": int(rows.shape[0]), "dimension": int(rows.shape[1])}


def ensure_export(source: Path, cache_dir: Path) -> Path:
    """The export of `source`, made now if it does not exist yet (seconds; needs torch)."""
    target = export_dir(source, cache_dir)
    if not (target / EXPORT_META).exists():
        sys.stderr.write(f"citebot: exporting {source.name} to ONNX for torch-free queries (one time)...\n")
        export(source, target)
    return target


class OnnxEncoder:
    """Unit-length embeddings of texts, as the sentence-transformers model would give them."""

    def __init__(self, folder: Path):
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        # Pre-packed copies of the weights cost a cold `ask` ~10-30 MB for no measurable speed here.
        options.add_session_config_entry("session.disable_prepacking", "1")
        # Idle pool threads sleep instead of spinning: in a bot the spinning took the cores that acks of
        # Slack events needed (ack p99 of a burst of 50: 191-238 ms spinning, 105-176 ms not).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(folder / ONNX_FILE), options,
                                                    providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        meta = json.loads((folder / EXPORT_META).read_text(encoding="utf-8"))
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=meta["max_seq_length"])
        self.pad_id = meta["pad_id"]
        self.dimension = int(self.session.get_outputs()[0].shape[1] or 0) or None
        self.words = open(folder / WORDS_FILE, "rb")  # noqa: SIM115 - read for the encoder's whole life
        self.row_bytes = meta["words"]["dimension"] * 2

    def _word_rows(self, ids: np.ndarray) -> np.ndarray:
        """The float16 table rows of `ids` (any shape), each read once with pread (thread-safe)."""
        unique, where = np.unique(ids, return_inverse=True)
        fd, size = self.words.fileno(), self.row_bytes
        table = np.frombuffer(b"".join(os.pread(fd, size, int(i) * size) for i in unique), dtype=np.float16)
        return table.reshape(len(unique), -1)[where.reshape(ids.shape)]

    def encode(self, texts: list[str], batch_size: int = BATCH, pairs: int = PAIRS_PER_BATCH) -> np.ndarray:
        """(len(texts), dimension) float32 rows; batches of similar length, so padding stays small, and of
        at most `pairs` token pairs."""
        if not texts:
            return np.zeros((0, self.dimension or 0), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out: np.ndarray | None = None
        for rows in _batches([len(encodings[i].ids) for i in order], batch_size, pairs):
            batch = [encodings[order[i]] for i in rows]
            width = max(len(e.ids) for e in batch)
            arrays = {name: np.zeros((len(batch), width), dtype=np.int64) for name in self.inputs if name != WORD_ROWS}
            arrays["input_ids"].fill(self.pad_id)
            for row, enc in enumerate(batch):
                n = len(enc.ids)
                arrays["input_ids"][row, :n] = enc.ids
                arrays["attention_mask"][row, :n] = 1
                if "token_type_ids" in arrays:
                    arrays["token_type_ids"][row, :n] = enc.type_ids
            arrays[WORD_ROWS] = self._word_rows(arrays["input_ids"])
            vectors = self.session.run(None, arrays)[0]
            if out is None:
                out = np.empty((len(texts), vectors.shape[1]), dtype=np.float32)
            out[[order[i] for i in rows]] = vectors
        return out


def _batches(lengths: list[int], most: int, pairs: int) -> list[range]:
    """Consecutive ranges over texts sorted by length: at most `most` texts and `pairs` token pairs."""
    batches, start = [], 0
    while start < len(lengths):
        end = start + 1
        while end < len(lengths) and end - start < most and (end + 1 - start) * lengths[end] ** 2 <= pairs:
            end += 1
        batches.append(range(start, end))
        start = end
    return batches
