"""Tuning benchmark: training throughput and wall time, held-out loss, behaviour base vs tuned, adapter
size and hot-swap time.

    python -m benchmarks.tuning [--examples 500] [--epochs 2] [--samples 30] [--json]

Builds the dataset from the sample generator (more threads than the shipped 200, so there are
`--examples` training examples), trains with the configured LoRA settings on whatever device torch
sees, evaluates base vs tuned on the held-out threads, registers and promotes the adapter in a scratch
CITEBOT_HOME and times the bot's hot swap. `--random-weights` trains a randomly initialised model of
the same architecture (timing only: for GPU boxes the converted weights cannot travel to).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import asdict
from pathlib import Path


def build_examples(examples: int, out: Path):
    from benchmarks.sample_threads import generate, write_export
    from tuning.dataset import build_dataset
    from tuning.threads import from_export

    write_export(generate(int(examples * 1.45)), out / "export")
    data = build_dataset(from_export(out / "export", "white_check_mark"))
    data.train = data.train[:examples]
    data.stats.train = len(data.train)
    data.write(out / "data")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=None, help="default: CITEBOT_TUNE_EPOCHS")
    parser.add_argument("--samples", type=int, default=30, help="held-out threads to generate replies for")
    parser.add_argument("--data", type=Path, help="train from this dataset folder instead of building one")
    parser.add_argument("--random-weights", type=Path, help="a folder with the base model's config.json and "
                        "tokenizer: train from random weights (timing only)")
    parser.add_argument("--handwritten", action="store_true", help="also evaluate base vs tuned on the 44 "
                        "hand-written held-out threads (benchmarks.handwritten_threads) and compare the wording "
                        "diversity of both sets")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    import torch

    import tuning.base_model as base_model
    from tuning.train import TrainConfig, adapter_bytes, train_adapter

    home = Path(tempfile.mkdtemp(prefix="citebot-tune-bench-"))
    report: dict = {"device": "cuda:" + torch.cuda.get_device_name() if torch.cuda.is_available()
                    else f"cpu ({torch.get_num_threads()} threads)"}
    if args.random_weights:
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

        def random_model(_cache, device="cpu", base="", dtype="auto"):
            torch.manual_seed(0)
            model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(args.random_weights))
            model = model.to(device, dtype=base_model.torch_dtype(device, dtype))
            return model, AutoTokenizer.from_pretrained(args.random_weights)

        base_model.fresh_base_model = random_model
    if args.data:
        from tuning.dataset import read_examples

        train = read_examples(args.data / "train.jsonl")[: args.examples]
        data, dataset_hash = None, "bench"
    else:
        data = build_examples(args.examples, home)
        train, dataset_hash = data.train, data.stats.dataset_hash
        report["dataset"] = {k: v for k, v in asdict(data.stats).items() if k != "problems"}
    if data is None:  # GPU boxes: no database or settings libraries there, only the training loop
        settings, cfg = None, TrainConfig(epochs=args.epochs or TrainConfig.epochs)
    else:
        from core.settings import Settings
        from tuning.run import train_config

        settings = Settings(home=home, **({"tune_epochs": args.epochs} if args.epochs else {}),
                            tune_eval_samples=args.samples)
        cfg = train_config(settings)
    started = time.perf_counter()
    trained = train_adapter(train, home / "adapter", settings.model_cache_dir if settings else home, cfg, dataset_hash)
    report["training"] = {"examples": len(train), "epochs": cfg.epochs, "steps": trained.steps,
                          "tokens": trained.tokens, "tokens_per_s": trained.tokens_per_s,
                          "wall_s": round(time.perf_counter() - started, 1),
                          "per_epoch_s": round(trained.seconds / cfg.epochs, 1),
                          "first_loss": trained.losses[0], "last_loss": trained.losses[-1]}
    report["adapter_bytes"] = adapter_bytes(home / "adapter")
    if data is not None:
        report.update(_evaluate_and_swap(home, data, settings))
    if data is not None and args.handwritten:
        report["handwritten"] = _handwritten(home, data, settings)
    print(json.dumps(report, indent=None if args.json else 2))


def _evaluate_and_swap(home: Path, data, settings) -> dict:
    """Base vs tuned on held-out threads, then the hot swap as the bot does it."""
    from core.db import get_engine
    from migrations.schema import ensure_schema
    from tuning import registry
    from tuning.run import evaluate_adapter
    from tuning.serving import EscalationModel

    evaluated = evaluate_adapter(home / "adapter", data, settings.tuning, settings.model_cache_dir)
    results = {k: v.to_json() for k, v in evaluated.items()}
    base, tuned = results["base"]["loss"], results["tuned"]["loss"]
    engine = get_engine(settings.resolved_database_url)
    ensure_schema(engine)
    registry.start_run(engine, "bench", "bench", data.stats.dataset_hash, "bench", {}, 0, 0, 0.0)
    registry.finish_run(engine, "bench", status="kept", adapter_path=str(home / "adapter"))
    served = EscalationModel(engine, settings.tuning, settings.model_cache_dir, settings.adapter_poll_seconds)
    registry.promote(engine, "bench")
    served.refresh(force=True)
    return {"evaluation": results, "loss_reduction": round(1 - tuned / base, 3),
            "hot_swap_s": round(served.last_swap_seconds, 3), "served_version": served.version}


def _handwritten(home: Path, data, settings) -> dict:
    """Base vs tuned on threads the generator never produced (every one of them), and how varied the
    team's wording is in each set."""
    from benchmarks.handwritten_threads import threads
    from benchmarks.sample_threads import write_export
    from tuning.dataset import Dataset, add_hints, build_dataset
    from tuning.evaluate import wording_diversity
    from tuning.run import evaluate_adapter
    from tuning.threads import from_export

    write_export(threads(), home / "handwritten")
    held = build_dataset(from_export(home / "handwritten", "white_check_mark"), heldout_fraction=1.0).heldout
    add_hints(held, data.train)  # hints come from the training threads, as when serving
    every = settings.tuning.model_copy(update={"tune_eval_samples": len(held)})
    results = evaluate_adapter(home / "adapter", Dataset(data.train, held, data.stats), every, settings.model_cache_dir)
    return {"threads": len(held), "escalating_share": round(sum(e.escalates for e in held) / len(held), 3),
            "evaluation": {k: v.to_json() for k, v in results.items()},
            "diversity": {"generated": wording_diversity([e.reply for e in data.heldout]),
                          "handwritten": wording_diversity([e.reply for e in held])}}


if __name__ == "__main__":
    main()
