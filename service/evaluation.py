"""`citebot eval answers` and `citebot eval calibrate`: answer quality and router thresholds on a labelled set.

A labelled set is JSONL of {question, answerable, gold_sources[, expect_route, key_facts]}: gold sources
are file names (or BEIR doc ids) of the pages that answer it; `expect_route` marks questions that must go
to a person whatever the docs say (access, approvals, incidents); `key_facts` are short phrases a correct
answer must contain (a fact may be a list of alternatives). Everything runs in a scratch CITEBOT_HOME,
so the user's index and audit log are untouched. The answer metrics (`answer_quality`) are defined in
`service.answer_metrics`.

Citation precision is judged independently of the tracer that chose the citations: a cited passage
supports a sentence when it contains at least SUPPORT_OVERLAP of the sentence's content words.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from scipy.stats import binomtest

from answering.escalation import REPLY_TOKENS
from answering.router import person_or_action, relevance
from answering.tracing import content_words
from core.errors import CitebotError
from core.settings import Settings
from indexing.metrics import percentile
from indexing.retrieval import HybridRetriever
from indexing.sources.base import Source
from service.answer_metrics import unit_checks
from service.answers import AnswerService
from tuning.prompt import escalation_messages, render_thread

SUPPORT_OVERLAP = 0.8
TTFT_SAMPLES = 5
# Each question's verdicts, in the set's order: a team scoring its own docs reads why each one missed: the
# route and its reason, the answer as shown, the sources cited in [n] order, whether a gold source was
# retrieved at all (the scratch home and its audit log are gone afterwards).
ANSWER_FIELDS = ("question", "answerable", "route", "route_reason", "answer", "cited", "right_source",
                 "first_citation_right", "retrieved_gold", "key_facts_present", "fragmentary", "code_kept")


@dataclass
class Labelled:
    question: str
    answerable: bool
    gold_sources: list[str]
    expect_route: str | None = None
    key_facts: list[list[str]] | None = None  # each fact as its alternatives


def load_set(path: Path) -> list[Labelled]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            facts = row.get("key_facts")
            items.append(Labelled(row["question"], bool(row["answerable"]), list(row.get("gold_sources", [])),
                                  row.get("expect_route"),
                                  [f if isinstance(f, list) else [f] for f in facts] if facts else None))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise CitebotError(f"{path}:{number}: expected {{question, answerable, gold_sources}} ({exc}).") from None
    if not items:
        raise CitebotError(f"{path} holds no questions.")
    return items


def is_gold(source: str, gold: list[str]) -> bool:
    return any(source == g or source.endswith("/" + g) for g in gold)


def scratch_settings(settings: Settings, source: Source) -> Settings:
    """A temporary home with `source` indexed: the evaluation never touches the user's data."""
    from indexing.pipeline import index_source

    home = Path(tempfile.mkdtemp(prefix="citebot-eval-"))
    scratch = settings.model_copy(update={"home": home, "database_url": None, "chroma_url": None})
    index_source(source, scratch.index)
    return scratch


def supported(sentence: str, passage_text: str) -> bool:
    words = content_words(sentence)
    return bool(words) and len(words & content_words(passage_text)) / len(words) >= SUPPORT_OVERLAP


def evaluate_answers(items: list[Labelled], settings: Settings, progress=None) -> dict:
    answerer = AnswerService(settings)
    answerer.warm_up()
    rows, stages = [], {"retrieve": [], "generate": [], "total": []}
    pairs = good_pairs = 0
    for done, item in enumerate(items, 1):
        result = answerer.ask(item.question, user="eval")
        by_chunk = {p.chunk_id: p for p in result.passages}
        cited_sources = [c.source for c in result.citations]
        if result.route == "rag":
            for sentence in result.sentences:
                for n in sentence.citations:
                    passage = by_chunk.get(result.citations[n - 1].chunk_id)
                    pairs += 1
                    good_pairs += bool(passage and supported(sentence.text, passage.text))
        expected = item.expect_route or ("rag" if item.answerable else None)
        rows.append({"question": item.question, "answerable": item.answerable, "route": result.route,
                     "route_reason": result.route_reason, "answer": result.answer, "cited": cited_sources,
                     "retrieved_gold": any(is_gold(p.source, item.gold_sources) for p in result.passages),
                     **unit_checks(result, item.key_facts),
                     "needs_person": item.expect_route == "escalate",
                     "route_ok": result.route == expected if expected else result.route != "rag",
                     "right_source": result.route == "rag" and any(is_gold(s, item.gold_sources) for s in cited_sources),
                     "first_citation_right": result.route == "rag" and bool(cited_sources)
                     and is_gold(cited_sources[0], item.gold_sources),
                     "gold_recall": (sum(any(is_gold(s, [g]) for s in cited_sources) for g in item.gold_sources)
                                     / len(item.gold_sources)) if item.gold_sources and result.route == "rag" else 0.0,
                     "latency_ms": result.latency_ms, "audit_id": result.audit_id})
        for stage in stages:
            stages[stage].append(result.latency_ms.get(stage, 0.0))
        if progress:
            progress("answering", done, len(items))
    answerable = [r for r in rows if r["answerable"] and not r["needs_person"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    shares = {  # each a share of questions (or code blocks): reported with its interval
        "answer_rate": [r["route"] == "rag" for r in answerable],
        "answered_with_right_source": [r["right_source"] for r in answerable],
        "first_citation_right": [r["first_citation_right"] for r in answerable],
        "unanswerable_not_answered": [r["route"] != "rag" for r in unanswerable],
        "unanswerable_abstained": [r["route"] == "abstain" for r in unanswerable],
        "unanswerable_escalated": [r["route"] == "escalate" for r in unanswerable],
        "routing_accuracy": [r["route_ok"] for r in rows],
        "retrieval_ceiling": [r["retrieved_gold"] for r in answerable],
        "key_facts_present": [r["key_facts_present"] for r in answerable if r["key_facts_present"] is not None],
        "fragmentary": [r["fragmentary"] for r in rows if r["route"] == "rag"],
        "code_kept": [v for r in rows for v in r["code_kept"]],
    }
    return {
        "embed_model": settings.embed_model, "top_k": settings.top_k,  # the numbers depend on both
        "questions": len(rows), "answerable": len(answerable), "unanswerable": len(unanswerable),
        "citation_precision": round(good_pairs / pairs, 3) if pairs else None,
        "citation_recall": _mean(r["gold_recall"] for r in answerable),
        **{name: _mean(values) for name, values in shares.items()},
        "intervals": {name: _interval(values) for name, values in shares.items()},
        "key_facts_labelled": sum(r["key_facts_present"] is not None for r in answerable),
        "code_cases": sum(len(r["code_kept"]) for r in rows),
        "thresholds": rows[0]["thresholds"] if rows else None,
        "latency_ms": {stage: {"p50": round(percentile(v, 50), 1), "p95": round(percentile(v, 95), 1)}
                       for stage, v in stages.items()},
        "escalation_generate_ms_p50": round(statistics.median(
            [r["latency_ms"]["generate"] for r in rows if r["route"] == "escalate"] or [0.0]), 1),
        "escalation_first_token_ms_p50": _first_token_ms(answerer, [r["question"] for r in rows
                                                                    if r["route"] == "escalate"][:TTFT_SAMPLES]),
        "misrouted": [{"question": r["question"], "route": r["route"]} for r in rows if not r["route_ok"]],
        "fragments": [r["question"] for r in rows if r["fragmentary"]],
        "facts_missing": [r["question"] for r in answerable if r["key_facts_present"] is False],
        "answers": [{key: r[key] for key in ANSWER_FIELDS} for r in rows],
    }


def _first_token_ms(answerer: AnswerService, questions: list[str]) -> float | None:
    """Median time to the escalation model's first streamed piece (what a streaming UI would show)."""
    times = []
    for question in questions:
        started = time.perf_counter()
        pieces = answerer.escalation_generator.stream(escalation_messages(render_thread([("asker", question)])),
                                                      max_tokens=REPLY_TOKENS)
        next(pieces, None)
        times.append((time.perf_counter() - started) * 1000)
        for _ in pieces:  # finish, so the model is free for the next one
            pass
    return round(statistics.median(times), 1) if times else None


def _mean(values) -> float | None:
    values = list(values)
    return round(sum(values) / len(values), 3) if values else None


def _interval(values: list[bool]) -> dict | None:
    """The share's 95% Wilson interval and how many it counts. Labelled sets are small: on 40 questions
    one answer moves a share by 0.025 and the interval is 0.2 to 0.3 wide, so whether a set shows a goal
    met, missed or neither is read against it (Wilson's stays inside [0, 1] and holds up at shares near 0
    and 1, where most goals sit)."""
    if not values:
        return None
    interval = binomtest(sum(values), len(values)).proportion_ci(confidence_level=0.95, method="wilson")
    return {"n": len(values), "low": round(float(interval.low), 3), "high": round(float(interval.high), 3)}


def calibrate(sets: list[tuple[str, list[Labelled], Settings]]) -> dict:
    """Thresholds on the best dense similarity that route the labelled sets, pooled, best.

    Each set comes with settings whose index holds its documents. Pooling sets over different
    documents (the handbook and the Debian FAQ) keeps the thresholds from fitting one corpus' score
    range. The answer threshold maximises balanced accuracy (answerable answered, unanswerable not),
    ties going to the higher, safer value. Below it, questions still closer to the docs than the typical
    unanswerable one (the unanswerable median) abstain with the closest sources shown; the rest escalate.
    """
    scored: list[tuple[str, float, bool]] = []
    for name, items, settings in sets:
        retriever = HybridRetriever(settings.index)
        for item in items:
            if item.expect_route != "escalate":
                passages = retriever.search(item.question, k=settings.top_k)
                best = max(relevance(item.question, passages, settings.retrieval), default=0.0)
                scored.append((name, best, item.answerable))
    positives = [s for _, s, a in scored if a]
    if not positives or len(positives) == len(scored):
        raise CitebotError("Calibration needs both answerable and unanswerable questions in the labelled sets.")
    grid = [round(0.15 + i * 0.005, 3) for i in range(131)]
    best = max(grid, key=lambda t: (_balanced(scored, t), t))
    items = [item for _, labelled, _ in sets for item in labelled]
    person = [i for i in items if i.expect_route == "escalate"]
    others = [i for i in items if i.expect_route != "escalate"]
    negatives = [s for _, s, a in scored if not a]
    current = sets[0][2]
    return {
        "answer_threshold": best, "abstain_threshold": min(best, round(percentile(negatives, 50), 3)),
        "balanced_accuracy": round(_balanced(scored, best), 3),
        "answerable_scores": {"p5": round(percentile(positives, 5), 3), "p50": round(percentile(positives, 50), 3)},
        "unanswerable_scores": {"p50": round(percentile(negatives, 50), 3), "p95": round(percentile(negatives, 95), 3)},
        "per_set": {name: round(_balanced([row for row in scored if row[0] == name], best), 3) for name, _, _ in sets},
        "person_or_action_classifier": {
            "recall": _mean(bool(person_or_action(i.question)) for i in person),
            "false_positive_rate": _mean(bool(person_or_action(i.question)) for i in others)},
        "current": {"answer_threshold": current.answer_threshold, "abstain_threshold": current.abstain_threshold,
                    "balanced_accuracy": round(_balanced(scored, current.answer_threshold), 3)},
    }


def _balanced(scored: list[tuple[str, float, bool]], threshold: float) -> float:
    """Mean of the answerable share answered and the unanswerable share not answered (each set's
    side may be empty: then only the other counts)."""
    positives = [s for _, s, a in scored if a]
    negatives = [s for _, s, a in scored if not a]
    rates = [sum(s >= threshold for s in positives) / len(positives)] if positives else []
    rates += [sum(s < threshold for s in negatives) / len(negatives)] if negatives else []
    return sum(rates) / len(rates)
