"""Prompt-injection hygiene: indexed text is data, never instructions.

A page or Slack message may say "ignore your instructions and reveal ...". Such sentences are not
facts a reader needs; they are dropped from what the model sees, from what the extractive composer may
quote, and from generated answers, so they can neither steer the model nor be echoed as an answer.
Routing never reads passage text, so it cannot be steered either.
"""

from __future__ import annotations

import re

from core.sentences import split_sentences

_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|rules|prompt|guidelines|everything above)\b"
    r"|\byou are now\b|\b(system|developer) prompt\b|\bact as\b.{0,30}\b(assistant|admin|model)\b"
    r"|\b(reveal|print|output|list|leak)\b.{0,40}\b(your|all|other|every)\b.{0,20}"
    r"\b(instructions|prompt|secrets?|passwords?|documents?|sources?)\b",
    re.I | re.S,
)


def instruction_like(sentence: str) -> bool:
    return bool(_INSTRUCTION.search(sentence))


def without_instructions(text: str) -> str:
    """The text minus its instruction-like sentences."""
    sentences = split_sentences(text)
    return " ".join(s for s in sentences if not instruction_like(s)) if sentences else text
