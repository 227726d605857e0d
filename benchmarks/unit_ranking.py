"""Held-out check of the extractive composer's constants, on retrievals captured once.

    python -m benchmarks.unit_ranking --debian /tmp/debfaq --mkdocs /tmp/mkdocs [--sphinx /tmp/sphinx] [--json]

Each labelled set's documents are indexed in a scratch home and every question is answered once by the
real pipeline, keeping what reached the composer (the question, its passages, their relevance, the
floor). Each variant in VARIANTS (the composer's constants as a `Composition`, or another passage prior)
then re-runs only `answering.extractive.extract_answer` on those inputs and is scored on the answerable
questions by right source cited, key facts present, whether the first
citation ([1], what a reader sees first) is a gold source, and the answer's mean length (the JSON also holds
each question's three verdicts per variant, to see which questions a variant moves): a variant that
quotes more units cites more sources and holds more facts, and these two say what that costs. A
question the router did not answer counts as missed for every variant. Then each set is held out in turn:
the variant with the most right sources and key facts on the other sets (ties to the shipped one) is
applied to it, and that held-out score is the number to report. The embedder is the configured one
(CITEBOT_EMBED_MODEL), so run it once per embedder.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from unittest import mock

import answering.pipeline as pipeline
from answering.extractive import SHIPPED, Composition, extract_answer
from benchmarks.corpora import labelled_corpora, run_on_corpora
from core.settings import get_settings
from indexing.retrieval import Passage
from service.answer_metrics import facts_present
from service.answers import AnswerService
from service.evaluation import Labelled, is_gold, load_set, scratch_settings


@dataclass
class Variant:
    composition: Composition  # the composer's constants
    prior: Callable[[Passage], float] | None = None  # what stands in a passage's dense score, if not itself


VARIANTS = {
    "shipped": Variant(SHIPPED),
    "passage prior: hybrid score": Variant(SHIPPED, prior=lambda p: p.score),
    "passage weight 0.4": Variant(replace(SHIPPED, passage_weight=0.4)),
    "passage weight 1.2": Variant(replace(SHIPPED, passage_weight=1.2)),
    "match chars 150": Variant(replace(SHIPPED, match_chars=150)),
    "match chars 300": Variant(replace(SHIPPED, match_chars=300)),
    "how-to bonus 0": Variant(replace(SHIPPED, howto_bonus=0.0)),
    "how-to bonus 0.2": Variant(replace(SHIPPED, howto_bonus=0.2)),
    "3 units, floor 0.8 (before)": Variant(replace(SHIPPED, max_units=3, relative_floor=0.8)),
    "passage order": Variant(replace(SHIPPED, best_first=False)),
    "3 units, floor 0.8, passage order": Variant(replace(SHIPPED, max_units=3, relative_floor=0.8, best_first=False)),
    "5 units, floor 0.7": Variant(replace(SHIPPED, max_units=5, relative_floor=0.7)),
    "no room beside a long unit (before)": Variant(replace(SHIPPED, min_room=0)),
    "room 500 beside a long unit": Variant(replace(SHIPPED, min_room=500)),
    "room 800 beside a long unit": Variant(replace(SHIPPED, min_room=800)),
}


def capture(set_file: Path, source) -> list[tuple[Labelled, dict | None]]:
    """Each answerable question with the composer's inputs, or None where the router did not answer."""
    settings = scratch_settings(get_settings(), source)
    calls: list[dict] = []

    def spy(question, passages, scores, floor, unmentioned_parts=()):
        calls.append({"question": question, "passages": passages, "scores": scores, "floor": floor,
                      "unmentioned_parts": list(unmentioned_parts)})
        return extract_answer(question, passages, scores, floor, unmentioned_parts)

    captured = []
    try:
        service = AnswerService(settings)
        with mock.patch.object(pipeline, "extract_answer", spy):
            for item in load_set(set_file):
                if not item.answerable or item.expect_route == "escalate":
                    continue
                calls.clear()
                result = service.ask(item.question, user="benchmark")
                captured.append((item, calls[0] if result.route == "rag" and calls else None))
    finally:
        shutil.rmtree(settings.home, ignore_errors=True)
    return captured


def score(captured: list[tuple[Labelled, dict | None]], variant: Variant) -> dict:
    right = first_right = facts = labelled = answered = chars = 0
    verdicts = {}  # each question's (right source, first citation right, key facts), to compare variants
    for item, call in captured:
        labelled += bool(item.key_facts)
        verdicts[item.question] = (False, False, False)
        if call is None:
            continue
        passages = call["passages"]
        if variant.prior:
            passages = [replace(p, dense_score=variant.prior(p)) for p in passages]
        extracts = extract_answer(call["question"], passages, call["scores"], call["floor"],
                                  call["unmentioned_parts"], variant.composition).extracts
        if not extracts:
            continue
        gold = [is_gold(passages[e.passage_index].source, item.gold_sources) for e in extracts]
        text = "\n\n".join(e.text for e in extracts)
        right += any(gold)
        first_right += gold[0]  # units are quoted in passage order: the first is [1]
        has_facts = bool(item.key_facts) and facts_present(text, item.key_facts)
        facts += has_facts
        answered += 1
        chars += len(text)
        verdicts[item.question] = (any(gold), gold[0], has_facts)
    n = len(captured)
    return {"right_source": round(right / n, 3), "first_citation_right": round(first_right / n, 3),
            "key_facts": round(facts / labelled, 3) if labelled else None,
            "mean_chars": round(chars / answered) if answered else 0, "verdicts": verdicts}


def run(debian: Path, mkdocs: Path, sphinx: Path | None = None) -> dict:
    sets = {name: capture(*corpus) for name, corpus in labelled_corpora(debian, mkdocs, sphinx).items()}
    table = {name: {s: score(rows, variant) for s, rows in sets.items()} for name, variant in VARIANTS.items()}

    def gain(name: str, on: list[str]) -> float:
        return sum(table[name][s]["right_source"] + (table[name][s]["key_facts"] or 0.0) for s in on)

    held_out = {}
    for held in sets:
        others = [s for s in sets if s != held]
        chosen = max(VARIANTS, key=lambda name: (round(gain(name, others), 6), name == "shipped"))
        held_out[held] = {"chosen": chosen, **{k: v for k, v in table[chosen][held].items() if k != "verdicts"}}
    return {"embed_model": get_settings().embed_model, "variants": table, "held_out": held_out}


def main() -> None:
    result = run_on_corpora(__doc__.split("\n\n")[0], run)
    if result is None:
        return
    print("right source / first citation right / key facts / mean characters, answerable questions")
    for name, row in result["variants"].items():
        print(f"{name:28}", "  ".join(f"{s} {r['right_source']:.3f}/{r['first_citation_right']:.3f}/"
                                      f"{r['key_facts']:.3f}/{r['mean_chars']}" for s, r in row.items()))
    for held, row in result["held_out"].items():
        print(f"{held} held out: chosen {row['chosen']!r} on the others -> {json.dumps(row)}")


if __name__ == "__main__":
    main()
