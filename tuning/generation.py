"""Greedy decoding with the small model, whole or streamed: one implementation for the bot, the
escalation server and the evaluation, so what is evaluated is what is served."""

from __future__ import annotations

import threading
from collections.abc import Iterator

REPETITION_PENALTY = 1.1


def _inputs(model, tokenizer, messages: list[dict[str, str]]):
    device = next(model.parameters()).device
    return tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                         return_dict=True).to(device)


def generate_text(model, tokenizer, messages: list[dict[str, str]], max_new_tokens: int = 90) -> str:
    import torch

    inputs = _inputs(model, tokenizer, messages)
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                                repetition_penalty=REPETITION_PENALTY, pad_token_id=tokenizer.eos_token_id)
    return tokenizer.decode(output[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip()


def stream_text(model, tokenizer, messages: list[dict[str, str]], max_new_tokens: int = 90,
                usage: dict[str, int] | None = None) -> Iterator[str]:
    """Text pieces as they are decoded (generation runs in a worker thread); token counts into `usage`."""
    from transformers import TextIteratorStreamer

    inputs = _inputs(model, tokenizer, messages)
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    kwargs = dict(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                  repetition_penalty=REPETITION_PENALTY, streamer=streamer, pad_token_id=tokenizer.eos_token_id)
    worker = threading.Thread(target=model.generate, kwargs=kwargs, daemon=True)
    worker.start()
    pieces = []
    for piece in streamer:
        pieces.append(piece)
        yield piece
    worker.join()
    if usage is not None:
        completion = tokenizer("".join(pieces), add_special_tokens=False)["input_ids"]
        usage.update(prompt=int(inputs["input_ids"].shape[1]), completion=len(completion))
