"""How an answer reads, judged the same way for every corpus: key facts, fragments, code kept.

Definitions (README, "Evaluation"):
- *key facts present*: every gold key fact, or one of its listed alternatives, occurs in the answer
  after lower-casing and collapsing whitespace and punctuation;
- *fragmentary*: the answer starts with a lower-case function word or conjunction ("and", "which",
  "the" …), or has a sentence ending in ":" that no list or code block follows;
- *code kept*: for each code block of a cited passage that the answer quotes (a line of it of two or more
  words, or two of its lines in a row, appear in the answer, whitespace collapsed, outside the blocks the
  answer quotes whole), the whole block appears in the answer verbatim, whitespace-normalised line by
  line: a block flattened into one line, or quoted in part, is not kept. A code block inside a list item
  (step 2's command) is a code block like any other, on both sides.
"""

from __future__ import annotations

import re

from answering.result import AnswerResult
from core.sentences import normalise, split_sentences, strip_citations
from indexing.blocks import parse_blocks

FUNCTION_WORDS = set("""a an the and or but nor so yet for because although though while whereas which who whom
whose that this these those it its they them their there then than thus hence also as at by from in into
of on onto to with without if unless until when where whether after before since""".split())
_MARKUP = re.compile(r"^[\s>*_`#\-+\d.)\[\]]+")
_WORD = re.compile(r"\S*\w\S*")  # `.. testcode::` is one word: the directive a definition's term names too


def facts_present(answer: str, facts: list[list[str]]) -> bool:
    text = normalise(answer)
    return all(any(normalise(alt) in text for alt in alternatives) for alternatives in facts)


def fragmentary(answer: str) -> bool:
    blocks = [b for b in parse_blocks(answer) if b.kind != "heading"]
    if not blocks:
        return False
    if blocks[0].kind in ("paragraph", "quote"):
        first = _MARKUP.sub("", blocks[0].text).split(" ", 1)[0]
        if first and first[0].islower() and first.strip(",;:") in FUNCTION_WORDS:
            return True
    for i, block in enumerate(blocks):
        if block.kind not in ("paragraph", "quote"):
            continue
        sentences = split_sentences(block.text)
        for k, sentence in enumerate(sentences):
            if strip_citations(sentence)[0].rstrip().endswith(":"):
                followed = (k == len(sentences) - 1 and i + 1 < len(blocks)
                            and blocks[i + 1].kind in ("list", "code", "table"))
                if not followed:
                    return True
    return False


def _code_lines(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.splitlines() if line.strip())


def _code_blocks(markdown: str) -> list[str]:
    """The code blocks of Markdown, those inside list items too, each as `_code_lines`."""
    found = []
    for block in parse_blocks(markdown):
        if block.kind == "code":
            found.append(_code_lines(block.text))
        elif block.kind == "list":
            found.extend(code for item in block.items for code in _code_blocks(item))
    return found


def code_pairs(result: AnswerResult) -> list[bool]:
    """One verdict per quoted code block of a cited passage: is it in the answer whole and verbatim?

    A block is kept when the answer's code blocks hold it. One that is not is *quoted* (and so not kept)
    when a line of it of two or more words, or two of its lines in a row, are left in the answer after the
    kept blocks are taken out: flattened into a paragraph or quoted in part. A line such as `nav:` that a
    kept block of the same page also holds is not a quote of this one, and neither is a one-word line
    (`docs`, `mkdocs.yml`, `steps:`) that prose names in passing."""
    if result.route != "rag":
        return []
    quoted = "\n".join(_code_blocks(result.answer))
    by_chunk = {p.chunk_id: p for p in result.passages}
    blocks = [code for citation in result.citations if citation.chunk_id in by_chunk
              for code in _code_blocks(by_chunk[citation.chunk_id].body)]
    blocks = list(dict.fromkeys(b for b in blocks if b))
    kept = [code for code in blocks if code in quoted]
    rest = result.answer
    for line in (line for code in kept for line in code.splitlines()):
        rest = rest.replace(line.strip(), " ", 1)
    flat = " ".join(rest.split())
    verdicts = []
    for code in blocks:
        lines = [" ".join(line.split()) for line in code.splitlines() if line.strip()]
        evidence = [line for line in lines if len(line) >= 4 and len(_WORD.findall(line)) >= 2]
        evidence += [f"{first} {second}" for first, second in zip(lines, lines[1:])]
        if code in kept:
            verdicts.append(True)
        elif any(piece in flat for piece in evidence):
            verdicts.append(False)
    return verdicts


def unit_checks(result: AnswerResult, key_facts: list[list[str]] | None) -> dict:
    """The per-question fields `evaluate_answers` aggregates."""
    answered = result.route == "rag"
    return {"key_facts_present": None if not key_facts else answered and facts_present(result.answer, key_facts),
            "fragmentary": answered and fragmentary(result.answer),
            "code_kept": code_pairs(result), "thresholds": result.thresholds}
