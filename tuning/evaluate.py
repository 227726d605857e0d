"""Base vs tuned on the same held-out threads: loss, and the behaviour we actually care about.

Loss alone would promote an adapter that sounds like the team but invents a VPN server name. So each
held-out thread also gets a generated reply, checked for: escalating when the team's reference reply
escalated (and to the same group), asking for details, staying within length and format rules, and
stating nothing that is not in the thread (numbers, links, addresses, unknown @handles). Tone is how
close the generated reply reads to the team's actual reply: their MiniLM cosine similarity (the same
ONNX sentence model the answers use), averaged; fine-tuning is for behaviour, and this is the number that
says whether the replies now sound like the team.
"""

from __future__ import annotations

import math
import re
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from typing import Protocol

from core.sentences import split_sentences
from core.vectors import cosine
from tuning.dataset import Example
from tuning.generation import generate_text
from tuning.prompt import REPLY_TOKENS, asks_for_details, escalates, escalation_messages, handles
from tuning.train import Check, collate, encode

MAX_REPLY_CHARS = 500
MAX_REPLY_SENTENCES = 5
_FACT = re.compile(r"https?://\S+|\b[\w.+-]+@[\w-]+\.[\w.]+\b|\d+(?:[.:,]\d+)*")
_BAD_FORMAT = re.compile(r"^\s*(#|[-*] |\d+\. )|```|^(asker|teammate|assistant|user):", re.M | re.I)
PROMOTION_TOLERANCE = 0.05  # behaviour rates may wobble this much on a small held-out set


@dataclass
class Behaviour:
    samples: int
    escalation_agreement: float  # escalates iff the reference did
    group_agreement: float  # among references that named a group: the reply names the same one
    asks_details: float
    format_ok: float
    no_invented_facts: float
    mean_chars: float
    tone: float = 0.0  # mean MiniLM cosine of the generated reply and the team's actual reply


@dataclass
class Evaluation:
    loss: float
    perplexity: float
    behaviour: Behaviour

    def to_json(self) -> dict:
        return {"loss": round(self.loss, 4), "perplexity": round(self.perplexity, 2),
                "behaviour": asdict(self.behaviour)}


def invented_facts(reply: str, thread: str, known_handles: set[str]) -> list[str]:
    """Numbers, links, e-mail addresses and @handles in the reply that the thread never mentioned."""
    found = [m for m in _FACT.findall(reply) if m.lower() not in thread.lower()]
    found += [h for h in handles(reply) if h not in known_handles and h not in thread.lower()]
    return found


def format_ok(reply: str) -> bool:
    sentences = split_sentences(reply)
    return (0 < len(reply) <= MAX_REPLY_CHARS and len(sentences) <= MAX_REPLY_SENTENCES
            and not _BAD_FORMAT.search(reply))


def behaviour(examples: list[Example], replies: list[str], known_handles: set[str]) -> Behaviour:
    n = len(examples)
    if not n:
        return Behaviour(0, 0, 0, 0, 0, 0, 0)
    named = [(e, r) for e, r in zip(examples, replies) if e.handles]
    return Behaviour(
        samples=n,
        escalation_agreement=round(sum(escalates(r) == e.escalates for e, r in zip(examples, replies)) / n, 3),
        group_agreement=round(sum(bool(set(e.handles) & handles(r)) for e, r in named) / len(named), 3) if named else 0.0,
        asks_details=round(sum(asks_for_details(r) for r in replies) / n, 3),
        format_ok=round(sum(format_ok(r) for r in replies) / n, 3),
        no_invented_facts=round(sum(not invented_facts(r, e.prompt, known_handles)
                                    for e, r in zip(examples, replies)) / n, 3),
        mean_chars=round(sum(len(r) for r in replies) / n, 1),
        tone=tone_similarity([e.reply for e in examples], replies),
    )


def tone_similarity(references: list[str], replies: list[str]) -> float:
    """Mean cosine similarity of each generated reply and the team's reply to the same thread."""
    from indexing.embedder import embed_texts

    if not references:
        return 0.0
    vectors = embed_texts(references + replies)
    pairs = [cosine(team, ours) for team, ours in zip(vectors[:len(references)], vectors[len(references):])]
    return round(sum(pairs) / len(pairs), 3)


def wording_diversity(replies: list[str]) -> dict:
    """How varied a set of replies is worded: distinct word bigrams per reply, and distinct / all bigrams
    (distinct-2). Templated replies repeat their bigrams, so both are low for generated threads."""
    grams = [tuple(pair) for reply in replies for words in [re.findall(r"[a-z0-9@'-]+", reply.lower())]
             for pair in zip(words, words[1:])]
    return {"replies": len(replies), "distinct_bigrams_per_reply": round(len(set(grams)) / max(1, len(replies)), 2),
            "distinct_2": round(len(set(grams)) / max(1, len(grams)), 3)}


def heldout_loss(model, tokenizer, examples: list[Example], max_tokens: int, batch_size: int = 8) -> float:
    """Mean negative log-likelihood per reply token."""
    import torch

    device = next(model.parameters()).device
    total, count = 0.0, 0
    encoded = [encode(e, tokenizer, max_tokens) for e in examples]
    with torch.no_grad():
        for i in range(0, len(encoded), batch_size):
            ids, mask, labels = (t.to(device) for t in collate(encoded[i: i + batch_size], tokenizer.eos_token_id))
            logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
            target = labels[:, 1:]
            nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1),
                                                    ignore_index=-100, reduction="sum")
            total += float(nll)
            count += int((target != -100).sum())
    return total / max(1, count)


class Completer(Protocol):
    """What writes a reply: the answering package's Generator interface (local model or a provider's)."""

    name: str

    def complete(self, messages: list[dict[str, str]], max_tokens: int = 90) -> str: ...


class _LocalModel:
    """A loaded model (with or without its adapter enabled) as a Completer, decoding as the bot does."""

    def __init__(self, model, tokenizer):
        self.name, self.model, self.tokenizer = "local", model, tokenizer

    def complete(self, messages: list[dict[str, str]], max_tokens: int = 90) -> str:
        return generate_text(self.model, self.tokenizer, messages, max_tokens)


def replies_of(completer: Completer, examples: list[Example]) -> list[str]:
    """The reply `completer` writes to each held-out thread, prompted exactly as when serving."""
    return [completer.complete(escalation_messages(e.prompt, e.hint), max_tokens=REPLY_TOKENS).strip() for e in examples]


def evaluate(model, tokenizer, examples: list[Example], known_handles: set[str], max_tokens: int,
             samples: int, adapter: bool = True) -> tuple[Evaluation, list[str]]:
    """Loss on all held-out examples and behaviour on the first `samples`; `adapter=False` = the base model."""
    context = nullcontext() if adapter or not hasattr(model, "disable_adapter") else model.disable_adapter()
    model.eval()
    with context:
        loss = heldout_loss(model, tokenizer, examples, max_tokens)
        picked = examples[:samples]
        replies = replies_of(_LocalModel(model, tokenizer), picked)
    return Evaluation(loss, math.exp(loss), behaviour(picked, replies, known_handles)), replies


def _regression(new: Behaviour, old: Behaviour) -> str | None:
    for name in ("escalation_agreement", "group_agreement", "format_ok", "no_invented_facts", "tone"):
        if getattr(new, name) < getattr(old, name) - PROMOTION_TOLERANCE:
            return f"{name} regressed ({getattr(new, name):.2f} < {getattr(old, name):.2f})"
    return None


def promotion_decision(candidate: Evaluation, incumbent: Evaluation) -> tuple[bool, str]:
    """Promote only if held-out loss improves and no behaviour check (tone included) regresses beyond noise."""
    if candidate.loss >= incumbent.loss:
        return False, f"held-out loss did not improve ({candidate.loss:.3f} >= {incumbent.loss:.3f})"
    regressed = _regression(candidate.behaviour, incumbent.behaviour)
    if regressed:
        return False, regressed
    return True, f"held-out loss {incumbent.loss:.3f} -> {candidate.loss:.3f}, no behaviour check regressed"


def behaviour_decision(candidate: Behaviour, incumbent: Behaviour) -> tuple[bool, str]:
    """For a provider model, which reports no held-out loss: promote only if the replies sound more like the
    team (tone up) and no behaviour check regresses beyond noise."""
    if candidate.tone <= incumbent.tone:
        return False, f"tone did not improve ({candidate.tone:.3f} <= {incumbent.tone:.3f})"
    regressed = _regression(candidate, incumbent)
    if regressed:
        return False, regressed
    return True, f"tone {incumbent.tone:.3f} -> {candidate.tone:.3f}, no behaviour check regressed"


CHECK_SAMPLES = 8  # threads per behaviour check during training (~30 s of generation on 2 cores)


def behaviour_checker(examples: list[Example], known_handles: set[str], samples: int = CHECK_SAMPLES):
    """A `tuning.train.Checker` on the first `samples` examples: step 0 (the base model) sets the bar; a
    later step passes when no behaviour check regressed from it beyond noise, and scores by tone."""
    picked, base = examples[:samples], []

    def check(model, tokenizer, step: int) -> Check:
        found = behaviour(picked, replies_of(_LocalModel(model, tokenizer), picked), known_handles)
        if not base:
            base.append(found)
        regressed = _regression(found, base[0]) if step else "base model"
        return Check(step, regressed is None, found.tone, {**asdict(found), "regressed": regressed})

    return check
