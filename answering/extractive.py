"""Extractive answers: the whole units of the retrieved passages that best answer the question.

This is the default with the small local model, which cannot be trusted to restate facts (it
happily turns "no deploys on Fridays" into "yes, you can deploy on Friday"). Quoting the team's own
text keeps every statement true to its source; citations are exact by construction.

A unit is what a person would quote: a paragraph, a whole list, a code block verbatim, a table. A
paragraph that announces what follows ("add the command:") is quoted with it, a paragraph that goes on
from a code block ("where sourcedir is …") with the block, a definition with its term (`**-j N**`, then
"Distribute the build over N processes": the description alone does not name the option), a version
note ("Changed in version 3.5: …") with what it annotates, never alone, and a long paragraph as
complete sentences.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np

from answering.injection import instruction_like
from answering.questions import question_parts
from answering.tracing import SEMANTIC_WEIGHT, lexical_overlap
from core.sentences import normalise, split_sentences
from core.vectors import similarities
from indexing.blocks import Block, code_names, pack, parse_blocks, term_title
from indexing.chunking import chunk_body
from indexing.embedder import embed_texts
from indexing.retrieval import Passage


@dataclass(frozen=True)
class Composition:
    """The composer's constants, as one value: `benchmarks/unit_ranking.py` replays captured retrievals
    with other values of them, each corpus held out, and passes them here."""

    # Up to four units ranking at least 0.7 of the best one: chosen with each corpus held out, for both
    # embedders (`benchmarks/unit_ranking.py`; three units at 0.8 before).
    max_units: int = 4
    max_chars: int = 1500  # units after the best one are added while the answer stays under this
    # ... or, beside a best unit that leaves less room than this (a whole example file, a long list), while
    # they add at most this much: the sentence that says what the example is for is not crowded out.
    # Chosen with each corpus held out (`benchmarks/unit_ranking.py`, 0 / 300 / 500 / 800): with mpnet every
    # held-out set gets a room (300 or 800: the same right sources), the Debian FAQ's right source 0.776 →
    # 0.796 and Sphinx's 0.842 → 0.868; with MiniLM only Sphinx answers change (where it was found).
    min_room: int = 300
    max_paragraph: int = 600  # a longer paragraph is quoted as its best-matching run of whole sentences
    match_chars: int = 200  # of a text compared with the question (one encoder pass each)
    max_sentences: int = 6
    relative_floor: float = 0.7  # keep units ranking at least this share of the best one
    part_floor: float = 0.35  # a sub-question's best unit must match it at least this well to be added
    # A unit ranks by how well it matches the question plus this share of how well its passage does
    # (retrieval's dense similarity): a unit that happens to echo the question's words in a passage about
    # something else loses to the passage that is about the question. Chosen on the Debian FAQ set with
    # sentence units (0.4 and 1.2 did no better, 2 and more did worse).
    passage_weight: float = 0.8
    # "How do I …" asks for steps or a command: a list or code unit gets this much added to its match, so
    # the numbered steps beat the paragraph that says what the steps are for.
    howto_bonus: float = 0.1
    # The best-ranked unit is quoted first ([1], what a reader sees first), the others after it in the order
    # of their passages; False quotes all in passage order.
    best_first: bool = True


SHIPPED = Composition()

_HOWTO = re.compile(r"\bhow (do|can|should|would) (i|we|you)\b|\bhow to\b|\b(command|steps?)\b", re.IGNORECASE)
_STARTS_LOWER = re.compile(r"^[a-z]")
LABEL_MARK = "**"  # a unit's section label is a paragraph of its own in bold


@dataclass
class Unit:
    passage_index: int  # 0-based into the passages given
    position: int  # order in its passage
    kind: str  # paragraph, list, code, table, quote
    markdown: str  # what is quoted
    match_text: str  # what is compared with the question: the section heading and the unit's words
    sentences: list[str] = field(default_factory=list)  # a paragraph's sentences, compared one by one
    section: str = ""  # what the unit sits under: the definition (an anchored term) or else the heading
    names: frozenset[str] = frozenset()  # what a definition's term names (`-j`, `html_logo`): asked by name
    anchor: str = ""  # the id of the nearest definition term at or before it ("" for none: the passage's link)


@dataclass
class Extract:
    text: str  # the unit's Markdown
    passage_index: int
    score: float
    kind: str = "paragraph"
    anchor: str = ""  # where in the page it stands (`Unit.anchor`), "" for the passage's own link


@dataclass
class Extraction:
    extracts: list[Extract] = field(default_factory=list)
    uncovered: list[str] = field(default_factory=list)  # sub-questions no unit answers


def _paragraph_runs(text: str, limit: int) -> list[str]:
    """A long paragraph as runs of whole sentences of at most `limit` characters."""
    return [text] if len(text) <= limit else pack(split_sentences(text) or [text], limit, " ")


def passage_units(passage: Passage, index: int, composition: Composition = SHIPPED) -> list[Unit]:
    """The quotable units of one passage, in order."""
    section = " > ".join(passage.heading.split(" > ")[-2:])  # the section and its parent name the topic
    own = passage.heading.split(" > ")[-1].strip()
    groups: list[list[Block]] = []
    anchors: list[str] = []  # each group's: a reference page's section holds dozens of definitions
    sections: list[str] = []  # each group's: the definition it stands under, else the passage's heading
    anchor, term = "", own
    seen: dict[str, int] = {}  # occurrences of each term so far (two classes may define the same one)
    previous: list[Block] | None = None  # the group a block may join: none after a heading
    for block in parse_blocks(chunk_body(passage.text, marks=True)):
        if block.kind in ("heading", "end"):  # a new section, or its definitions ended: it stands under itself
            previous, anchor, term = None, passage.section_anchor if block.kind == "end" else "", own
            continue
        if block.is_term() and block.text in passage.term_anchors:
            seen[block.text] = seen.get(block.text, -1) + 1
            targets, n = passage.term_anchors[block.text], seen[block.text]
            anchor = (targets[n] if n < len(targets) else "") or anchor
            term = term_title(block.text)
        described = [b for b in previous or [] if not b.is_version_note()]
        introduced = previous is not None and ((previous[-1].introduces() and block.kind != "paragraph")
                                               or (len(described) == 1 and described[0].is_term()))
        continues = previous is not None and (block.is_version_note() or (
            block.kind == "paragraph" and _STARTS_LOWER.match(block.text) and previous[-1].kind in ("code", "list",
                                                                                                     "table")))
        if introduced or continues:
            previous.append(block)
        elif not block.is_version_note():  # one opening a section annotates what is not quoted
            previous = [block]
            groups.append(previous)
            anchors.append(anchor)
            sections.append(term)
    units: list[Unit] = []
    for group, anchor, label in zip(groups, anchors, sections):
        words = " ".join(b.text if b.kind != "list" else " ".join(b.items) for b in group)
        if len(group) == 1 and group[0].kind == "paragraph":
            sentences = [s for s in split_sentences(group[0].text) if len(s) >= 12][:composition.max_sentences]
            pieces = [(run, "paragraph", run) for run in _paragraph_runs(group[0].text, composition.max_paragraph)]
        else:
            kind = next((b.kind for b in group if b.kind != "paragraph"), "paragraph")
            sentences = []
            pieces = [("\n\n".join(b.markdown() for b in group), kind, words)]
        for markdown, kind, match in pieces:
            if kind == "paragraph" and markdown.rstrip().endswith(":"):
                continue  # announces a list or code this passage does not hold: never quoted on its own
            if not instruction_like(match):
                units.append(Unit(index, len(units), kind, markdown, f"{section}: {match}"[:1000], sentences, label,
                                  group[0].names(), anchor))
    return units


def _semantic(queries: list[str], units: list[Unit], match_chars: int):
    """similarity[q, i] of query q and unit i: a paragraph as its best sentence, a list, code block or table
    as its section name and text (which no sentence split fits). Every text is one encoder pass, so short
    texts keep an answer at the cost of the sentences it quotes from."""
    texts = [u.sentences or [u.match_text] if u.kind == "paragraph" else [u.match_text] for u in units]
    flat = similarities(embed_texts(queries), embed_texts([t[:match_chars] for group in texts for t in group],
                                                         cache=True))
    sims = np.empty((len(queries), len(units)))
    offset = 0
    for i, group in enumerate(texts):
        sims[:, i] = flat[:, offset:offset + len(group)].max(axis=1)
        offset += len(group)
    return sims


def extract_answer(question: str, passages: list[Passage], scores: list[float], floor: float,
                   unmentioned_parts: Collection[str] = (), composition: Composition = SHIPPED) -> Extraction:
    """Best-matching units: a definition of what the question names (`code_names`) first, then the best
    one, then the others in the order they appear in the (ranked) passages; passages whose relevance (the
    router's `scores`) is below `floor` are not quoted, nor a unit for a part of the question whose topic
    words the router found in no passage (`unmentioned_parts`)."""
    units = [u for j, p in enumerate(passages) if scores[j] >= floor for u in passage_units(p, j, composition)]
    units = [u for u in units if len(u.markdown) >= 12]
    if not units:
        return Extraction()
    parts = question_parts(question)
    queries = [question] + parts
    semantic = _semantic(queries, units, composition.match_chars)

    def ranked(q: int) -> list[tuple[float, float, int]]:
        """(rank score, match score, unit index), best first."""
        scored = []
        howto = bool(_HOWTO.search(queries[q]))
        for i, unit in enumerate(units):
            match = SEMANTIC_WEIGHT * float(semantic[q, i]) + (1 - SEMANTIC_WEIGHT) * lexical_overlap(queries[q],
                                                                                                     unit.match_text)
            match += composition.howto_bonus if howto and unit.kind in ("list", "code") else 0.0
            scored.append((match + composition.passage_weight * passages[unit.passage_index].dense_score, match, i))
        return sorted(scored, reverse=True)

    whole = ranked(0)
    chosen: dict[int, float] = {}
    named = code_names(question)
    # the definition of what the question names ("what does -E do?") is chosen and quoted first
    lead, match = next(((i, match) for _, match, i in whole if named & units[i].names), (None, 0.0))
    if lead is not None:
        chosen[lead] = match
    uncovered = []
    for q, part in enumerate(parts, 1):  # each sub-question's best unit first: a compound question in full
        # by its own match: retrieval's passage scores measure the whole question, not this part
        best = max(ranked(q), key=lambda s: s[1])
        if best[1] >= composition.part_floor and part not in unmentioned_parts:
            chosen.setdefault(best[2], best[1])
        else:
            uncovered.append(part)
    chosen.setdefault(whole[0][2], whole[0][1])
    budget = max(composition.max_chars, sum(len(units[c].markdown) for c in chosen) + composition.min_room)
    for rank, match, i in whole[1:]:
        size = sum(len(units[c].markdown) for c in chosen)
        if len(chosen) >= composition.max_units or rank < whole[0][0] * composition.relative_floor:
            break
        if i not in chosen and size + len(units[i].markdown) <= budget:
            chosen[i] = match
    top = whole[0][2] if composition.best_first else None
    order = sorted(chosen, key=lambda i: (i != lead, i != top, units[i].passage_index, units[i].position))
    extracts, shown = [], None
    for i in order:
        extracts.append(Extract(_labelled(units[i], shown), units[i].passage_index, round(chosen[i], 4), units[i].kind,
                                units[i].anchor))
        shown = units[i].section
    return Extraction(extracts, uncovered)


def _labelled(unit: Unit, previous_section: str | None) -> str:
    """The unit under a bold label naming its section when the words do not say it: in reference pages
    the heading is often the answer ("site_url", then "Set the canonical URL of the site."). A definition
    is labelled by its own term already."""
    section = unit.section.rstrip(":").strip()
    if (not section or section == previous_section or normalise(section) in normalise(unit.markdown)
            or Block("paragraph", unit.markdown.split("\n\n", 1)[0]).is_term()):
        return unit.markdown
    return f"{LABEL_MARK}{section}{LABEL_MARK}\n\n{unit.markdown}"
