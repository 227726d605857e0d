"""LoRA fine-tuning of the small model on escalation examples: a plain, resumable training loop.

A plain loop rather than transformers' Trainer because we need three things it makes awkward on a
laptop: a `--max-minutes` budget that shapes the run so it still gives a usable adapter, a resume that reproduces
the uninterrupted run (data order and RNG state are in the checkpoint), and a progress callback the
CLI turns into a bar with loss and ETA. Loss is computed on the reply tokens only: the model learns
how the team answers, not how askers ask.
"""

from __future__ import annotations

import inspect
import json
import math
import random
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from core.errors import CitebotError
from tuning.dataset import Example

TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj"]
BUDGET_SHARE = 0.85  # of --max-minutes planned for training steps; the rest absorbs timing noise and saving
BUDGET_MAX_TOKENS = 224  # contexts under a budget: the end of the thread and the whole reply
MIN_SHARED = 16  # a shorter common prefix does not pay for a pass of its own
CHECKS = 4  # behaviour checks spread over a budgeted run, besides the one before the first step
CHECKPOINT = "checkpoint"
ProgressFn = Callable[[int, int, float, float], None]  # (step, total steps, loss, eta seconds)


@dataclass
class Check:
    """The adapter's behaviour at one step of training, judged by a `Checker`."""

    step: int
    passed: bool  # no behaviour check regressed from the base model's
    score: float  # what ranks passing checkpoints (the tone metric)
    detail: dict = field(default_factory=dict)


Checker = Callable[[object, object, int], Check]  # (model, tokenizer, step) -> Check; step 0 is the base model


@dataclass
class TrainConfig:
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    lr: float = 1e-3
    epochs: int = 2
    batch_size: int = 4
    grad_accum: int = 2
    max_tokens: int = 320
    seed: int = 42
    max_minutes: float | None = None
    checkpoint_every: int = 10  # optimizer steps
    base_model: str = ""  # CITEBOT_TUNE_BASE_MODEL: a local model folder; empty: the bundled model
    dtype: str = "auto"  # CITEBOT_TUNE_DTYPE


@dataclass
class TrainResult:
    steps: int
    total_steps: int
    examples: int
    tokens: int
    seconds: float
    tokens_per_s: float
    losses: list[float] = field(default_factory=list)
    stopped_by_budget: bool = False
    resumed_from: int = 0
    device: str = "cpu"
    plan: dict = field(default_factory=dict)  # how a --max-minutes budget shaped the run (empty: no budget)
    checks: list[dict] = field(default_factory=list)  # behaviour checks during the run (with a checker)
    selected_step: int | None = None  # the checked step whose weights were kept, when not the last one


def encode(example: Example, tokenizer, max_tokens: int) -> tuple[list[int], list[int]]:
    """(input ids, labels) with the base model's chat template; labels are -100 outside the reply."""
    messages = example.messages()
    prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=True)
    full = tokenizer.apply_chat_template(messages, tokenize=True)
    if hasattr(prompt, "input_ids"):  # newer transformers return a BatchEncoding
        prompt, full = prompt["input_ids"], full["input_ids"]
    if full[: len(prompt)] != prompt:
        raise CitebotError("The chat template renders the prompt differently inside the full conversation; "
                           "cannot tell the reply tokens apart.")
    labels = [-100] * len(prompt) + full[len(prompt):]
    return full[-max_tokens:], labels[-max_tokens:]  # cut from the left: the reply is at the end


def collate(batch: list[tuple[list[int], list[int]]], pad_id: int):
    import torch

    width = max(len(ids) for ids, _ in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, (seq, lab) in enumerate(batch):
        ids[row, : len(seq)] = torch.tensor(seq)
        labels[row, : len(lab)] = torch.tensor(lab)
        mask[row, : len(seq)] = 1
    return ids, mask, labels


def _order(n: int, epoch: int, seed: int) -> list[int]:
    order = list(range(n))
    random.Random(seed * 1000 + epoch).shuffle(order)
    return order


def _batches(n: int, cfg: TrainConfig) -> list[list[int]]:
    """Every micro-batch of every epoch, in order: the position in this list is the resume point."""
    out = []
    for epoch in range(cfg.epochs):
        order = _order(n, epoch, cfg.seed)
        out += [order[i: i + cfg.batch_size] for i in range(0, n, cfg.batch_size)]
    return out


def shared_prefix(batch: list[tuple[list[int], list[int]]]) -> int:
    """How many leading tokens every sequence of a micro-batch has in common, counting only prompt tokens
    whose next token is a prompt token too, so that no state the loss reads is among them: the chat
    template's header and the system prompt, 70 of the ~160 tokens of an example. 0 when too few to be worth
    a pass of their own."""
    if len(batch) < 2:
        return 0
    first_reply = min(next((i for i, label in enumerate(labels) if label != -100), len(labels)) for _, labels in batch)
    common = 0
    for column in zip(*(ids for ids, _ in batch)):
        if len(set(column)) > 1:
            break
        common += 1
    common = min(common, first_reply - 1)
    return common if common >= MIN_SHARED else 0


def reply_loss(model, ids, mask, labels, shared: int = 0):
    """Mean cross-entropy over the reply tokens (labels not -100), as the model's own loss computes it, but
    with the vocabulary projection applied to those positions alone: over every position of the prompt it
    is about a fifth of a small model's work, spent on logits the loss ignores.

    `shared` (from `shared_prefix`): the first tokens, the same in every row, go through the model once and
    their keys and values are repeated for the rows; the loss is the same (a test checks it) for about a
    quarter less work per micro-batch of 4, as the system prompt is ~40% of an example."""
    import torch

    causal = model.get_base_model() if hasattr(model, "get_base_model") else model  # under the LoRA wrapper
    decoder = causal.get_decoder()
    if shared:
        from transformers import DynamicCache

        cache = DynamicCache()
        passed = {_cache_argument(decoder): cache}
        decoder(input_ids=ids[:1, :shared], use_cache=True, **passed)
        cache.batch_repeat_interleave(ids.shape[0])
        hidden = decoder(input_ids=ids[:, shared:], attention_mask=mask, use_cache=True,
                         **passed).last_hidden_state[:, :-1]
    else:
        hidden = decoder(input_ids=ids, attention_mask=mask).last_hidden_state[:, :-1]
    targets = labels[:, shared + 1:]
    keep = targets != -100
    logits = causal.get_output_embeddings()(hidden[keep]).float()
    return torch.nn.functional.cross_entropy(logits, targets[keep])


def _cache_argument(decoder) -> str:
    """transformers 5 renamed the decoder's `past_key_values` argument `cache`; GPU boxes may have either."""
    return "cache" if "cache" in inspect.signature(decoder.forward).parameters else "past_key_values"


def micro_batch_loss(model, batch: list[tuple[list[int], list[int]]], pad_id: int, device: str):
    """(reply loss, tokens) of one micro-batch: padded, moved to the device, its shared prefix taken once."""
    ids, mask, labels = (t.to(device) for t in collate(batch, pad_id))
    return reply_loss(model, ids, mask, labels, shared_prefix(batch)), int(mask.sum())


def _seconds_per_token(model, encoded: list[tuple[list[int], list[int]]], cfg: TrainConfig, pad_id: int,
                       device: str) -> float:
    """Time forward and backward passes on two micro-batches (gradients discarded): this machine's speed."""
    sample = [encoded[i] for i in _order(len(encoded), -1, cfg.seed)[: 2 * cfg.batch_size]]
    started, tokens = time.perf_counter(), 0
    for i in range(0, len(sample), cfg.batch_size):
        loss, count = micro_batch_loss(model, sample[i: i + cfg.batch_size], pad_id, device)
        loss.backward()
        tokens += count
    model.zero_grad(set_to_none=True)
    return (time.perf_counter() - started) / max(1, tokens)


def budget_plan(lengths: list[int], cfg: TrainConfig, seconds_per_token: float) -> dict:
    """Epochs and examples that fit the budget, so the learning-rate schedule runs to its end instead of
    being cut at full rate. Epochs go first, then examples (a fixed shuffle's prefix), never below one
    epoch over a quarter of the data. A plan that fits is not enough by itself: on 2 cores, 8 minutes
    give an adapter that still invents group handles (README, "Numbers")."""
    affordable = cfg.max_minutes * 60 * BUDGET_SHARE / seconds_per_token  # tokens we can push through
    per_epoch = sum(lengths)
    epochs = max(1, min(cfg.epochs, int(affordable // max(1, per_epoch))))
    examples = len(lengths)
    if per_epoch > affordable:  # not even one epoch: the examples of one epoch that fit
        keep = _order(len(lengths), -1, cfg.seed)
        total, examples = 0, 0
        for i in keep:
            if total + lengths[i] > affordable:
                break
            total, examples = total + lengths[i], examples + 1
        examples = max(examples, math.ceil(len(lengths) / 4), 1)
    return {"epochs": epochs, "examples": examples, "max_tokens": cfg.max_tokens,
            "seconds_per_token": round(seconds_per_token, 5), "planned_tokens": min(per_epoch * epochs, int(affordable)),
            "budget_s": round(cfg.max_minutes * 60, 1)}


def add_lora(model, cfg: TrainConfig):
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(r=cfg.rank, lora_alpha=cfg.alpha, lora_dropout=cfg.dropout,
                        target_modules=TARGET_MODULES, task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def _save_checkpoint(model, optimizer, scheduler, step: int, losses: list[float], tokens: int,
                     folder: Path, dataset_hash: str, plan: dict) -> None:
    import torch

    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    torch.save({"step": step, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "losses": losses, "tokens": tokens, "dataset_hash": dataset_hash, "plan": plan,
                "torch_rng": torch.get_rng_state()}, tmp / "state.pt")
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)  # a crash while saving leaves the previous checkpoint intact


def adapter_bytes(folder: Path) -> int:
    """Size of the adapter weights in `folder`."""
    return sum(f.stat().st_size for f in folder.glob("adapter_model.*"))


def _check(checker: Checker, model, tokenizer, step: int) -> Check:
    import torch

    model.eval()
    with torch.no_grad():
        result = checker(model, tokenizer, step)
    model.train()
    return result


def train_adapter(train: list[Example], out_dir: Path, cache_dir: Path, cfg: TrainConfig, dataset_hash: str,
                  progress: ProgressFn | None = None, resume: bool = True,
                  checker: Checker | None = None) -> TrainResult:
    """Train a LoRA adapter into `out_dir`; resumes from `out_dir/checkpoint` when one is there.

    With a `checker`, the base model is checked first and the adapter CHECKS times along the way (the
    budget plan leaves time for them): the weights kept are those of the best checked step whose
    behaviour did not regress, and training stops early once a check regresses after one that passed.
    A short run learns the team's wording before it learns which group handles exist, and keeps
    inventing handles until much later; a loss curve does not show that, the checks do."""
    import torch
    from peft import get_peft_model_state_dict, set_peft_model_state_dict
    from safetensors.torch import load_file

    from tuning.base_model import default_device, fresh_base_model

    if not train:
        raise CitebotError("No training examples: nothing to train on.")
    device = default_device()
    torch.manual_seed(cfg.seed)
    base, tokenizer = fresh_base_model(cache_dir, device, cfg.base_model, cfg.dtype)
    model = add_lora(base, cfg)
    checkpoint = out_dir / CHECKPOINT
    state = torch.load(checkpoint / "state.pt", weights_only=False) if resume and (checkpoint / "state.pt").exists() \
        else None
    if state is not None and state["dataset_hash"] != dataset_hash:
        raise CitebotError(f"The checkpoint in {checkpoint} was made from another dataset; delete it "
                           "or train without resuming (--no-resume).")
    checks: list[Check] = []
    if checker is not None:
        check_started = time.perf_counter()
        with model.disable_adapter():
            checks.append(_check(checker, model, tokenizer, 0))
        check_seconds = time.perf_counter() - check_started
    plan: dict = (state or {}).get("plan") or {}
    if cfg.max_minutes and not plan:  # shape the run to the budget: shorter contexts, then fewer epochs/examples
        cfg = replace(cfg, max_tokens=min(cfg.max_tokens, BUDGET_MAX_TOKENS))
        encoded = [encode(e, tokenizer, cfg.max_tokens) for e in train]
        reserved = CHECKS * check_seconds / 60 if checker is not None else 0.0  # minutes the checks will take
        plan = budget_plan([len(ids) for ids, _ in encoded],
                           replace(cfg, max_minutes=max(cfg.max_minutes / 4, cfg.max_minutes - reserved)),
                           _seconds_per_token(model, encoded, cfg, tokenizer.eos_token_id, device))
        plan["budget_s"] = round(cfg.max_minutes * 60, 1)
    if plan:
        cfg = replace(cfg, epochs=plan["epochs"], max_tokens=plan["max_tokens"])
        train = [train[i] for i in sorted(_order(len(train), -1, cfg.seed)[: plan["examples"]])]
    encoded = [encode(e, tokenizer, cfg.max_tokens) for e in train]
    batches = _batches(len(encoded), cfg)
    total_steps = math.ceil(len(batches) / cfg.grad_accum)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr, weight_decay=0.0)
    warmup = max(1, total_steps // 10)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (total_steps - s) / max(1, total_steps - warmup))))
    step, losses, tokens, resumed_from = 0, [], 0, 0
    if state is not None:
        set_peft_model_state_dict(model, load_file(checkpoint / "adapter_model.safetensors"))
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        step, losses, tokens, resumed_from = state["step"], state["losses"], state["tokens"], state["step"]
    model.train()
    tokens_at_start = tokens
    started = time.perf_counter()
    budget = cfg.max_minutes * 60 if cfg.max_minutes else None
    stopped = False
    check_at = {max(1, round(total_steps * k / CHECKS)) for k in range(1, CHECKS + 1)} if checker else set()
    best: Check | None = None
    best_weights: dict | None = None
    while step < total_steps:
        running = 0.0
        for micro in batches[step * cfg.grad_accum: (step + 1) * cfg.grad_accum]:
            loss, count = micro_batch_loss(model, [encoded[i] for i in micro], tokenizer.eos_token_id, device)
            loss = loss / cfg.grad_accum
            loss.backward()
            running += loss.item()
            tokens += count
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        step += 1
        losses.append(round(running, 4))
        elapsed = time.perf_counter() - started
        if progress:
            progress(step, total_steps, running, elapsed / (step - resumed_from) * (total_steps - step))
        if step in check_at:
            checks.append(_check(checker, model, tokenizer, step))
            if checks[-1].passed and (best is None or checks[-1].score > best.score):
                best = checks[-1]
                best_weights = {k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()}
            elif best is not None and not checks[-1].passed:
                break  # behaviour regressed after a checkpoint that passed: stop, keep that one
        if step % cfg.checkpoint_every == 0 and step < total_steps:
            _save_checkpoint(model, optimizer, scheduler, step, losses, tokens, checkpoint, dataset_hash, plan)
        if budget is not None and elapsed > budget and step < total_steps:
            stopped = True
            break
    seconds = time.perf_counter() - started
    selected = best.step if best is not None and best is not checks[-1] else None
    if selected is not None:
        set_peft_model_state_dict(model, best_weights)
    model.save_pretrained(out_dir)
    shutil.rmtree(checkpoint, ignore_errors=True)
    result = TrainResult(steps=step, total_steps=total_steps, examples=len(train), tokens=tokens, seconds=round(seconds, 1),
                         tokens_per_s=round((tokens - tokens_at_start) / seconds, 1) if seconds else 0.0, losses=losses,
                         stopped_by_budget=stopped, resumed_from=resumed_from, device=device, plan=plan,
                         checks=[asdict(c) for c in checks], selected_step=selected)
    (out_dir / "training.json").write_text(json.dumps({"config": asdict(cfg), "result": asdict(result)}, indent=2))
    return result
