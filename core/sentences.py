"""Sentence splitting shared by citation tracing and the extractive composer, and the one text
normaliser (lower case, no punctuation) that compares phrases with answers."""

from __future__ import annotations

import re

_CITATION = re.compile(r"\s*\[(\d+)\]")
# Split after ., ! or ? (optionally followed by citation markers) when a capital, digit or quote follows.
_BOUNDARY = re.compile(r"(?<=[.!?])((?:\s*\[\d+\])*)\s+(?=[\"'(\[A-Z0-9`*])")
_ABBREV = re.compile(r"\b(e\.g|i\.e|etc|vs|approx|Dr|Mr|Ms|No)\.$", re.IGNORECASE)


_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+\.)\s+")


def _blocks(text: str) -> list[str]:
    """Paragraphs and list items, with soft-wrapped lines joined back together."""
    blocks: list[str] = []
    current: list[str] = []
    for line in text.splitlines():
        if not line.strip() or _LIST_ITEM.match(line):
            if current:
                blocks.append(" ".join(current))
            current = [_LIST_ITEM.sub("", line).strip()] if line.strip() else []
        else:
            current.append(line.strip())
    if current:
        blocks.append(" ".join(current))
    return blocks


def split_sentences(text: str) -> list[str]:
    """Sentences of paragraphs and list items, citation markers kept with their sentence."""
    sentences: list[str] = []
    for block in _blocks(text):
        if not block:
            continue
        pieces = _BOUNDARY.split(block)
        current = ""
        # split() with one group yields [text, markers, text, markers, ...]
        for i in range(0, len(pieces), 2):
            current += pieces[i] + (pieces[i + 1] if i + 1 < len(pieces) else "")
            if i + 2 >= len(pieces) or not _ABBREV.search(pieces[i].rstrip()):
                sentences.append(current.strip())
                current = ""
            else:
                current += " "
    return [s for s in sentences if s]


def strip_citations(sentence: str) -> tuple[str, list[int]]:
    """('text without markers', [cited numbers]) for a sentence like 'Deploys stop Friday [2].'"""
    numbers = [int(n) for n in _CITATION.findall(sentence)]
    return _CITATION.sub("", sentence).strip(), numbers


def normalise(text: str) -> str:
    """Lower case, punctuation as spaces, whitespace collapsed."""
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())
