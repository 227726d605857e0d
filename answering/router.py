"""The router: answer from retrieval (`rag`), `abstain` honestly, or `escalate` to a person.

Retrieval strength is the best MiniLM cosine similarity of the question and a retrieved passage.
Thresholds come from CITEBOT_ANSWER_THRESHOLD / CITEBOT_ABSTAIN_THRESHOLD when those are set, else from
the index itself (`indexing.calibration`: derived from its own text after every reindex), else the
shipped defaults (an index built before calibration). Requests for a
person or an action (access, approvals, a live incident) escalate whatever retrieval found: no
document can grant access or fix an outage.

A question whose topic words the retrieved passages do not mention (`answering.questions`) abstains,
naming those words, instead of quoting the nearby page the similarity found; one just under the answer
threshold whose rare topic words the passages all mention is answered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from answering.questions import MIN_COVERED, question_parts, topic_covered, topic_gap
from core.settings import AnsweringSettings, RetrievalSettings
from indexing.calibration import relevance
from indexing.retrieval import Passage

_PERSON_OR_ACTION = [
    (re.compile(r"\b(talk|speak|chat) (to|with) (a |an )?(human|person|someone|somebody|engineer|admin)\b", re.I),
     "asks for a person"),
    (re.compile(r"\b(can|could|would|will) (you|someone|somebody|anyone) (please )?"
                r"(give|grant|approve|reset|restart|unlock|add|remove|revoke|fix|enable|disable)\b", re.I),
     "asks for an action"),
    (re.compile(r"\b(give|grant) me\b.*\baccess\b|\bneed (admin |write |prod(uction)? )?access\b", re.I),
     "asks for access"),
    (re.compile(r"\b(is|are|seems|looks|went) (down|on fire|not responding)\b|\boutage\b", re.I),
     "reports a live incident"),
]


@dataclass
class Thresholds:
    answer: float
    abstain: float
    source: str  # "settings" (CITEBOT_*_THRESHOLD), "index" (calibrated on its own text) or "default"

    def as_dict(self) -> dict:
        return {"answer": self.answer, "abstain": self.abstain, "source": self.source}


def thresholds(settings: AnsweringSettings, routing: dict | None) -> Thresholds:
    """Explicit settings win, each on its own; then the index's own calibration; then the defaults."""
    explicit = {"answer_threshold", "abstain_threshold"} & settings.model_fields_set
    if routing is None and not explicit:
        return Thresholds(settings.answer_threshold, settings.abstain_threshold, "default")
    routing = routing or {}
    answer = (settings.answer_threshold if "answer_threshold" in explicit or "answer_threshold" not in routing
              else routing["answer_threshold"])
    abstain = (settings.abstain_threshold if "abstain_threshold" in explicit or "abstain_threshold" not in routing
               else routing["abstain_threshold"])
    return Thresholds(answer, min(abstain, answer), "settings" if explicit else "index")


@dataclass
class RouteDecision:
    route: str  # "rag" | "abstain" | "escalate"
    reason: str
    scores: list[float]  # relevance of each passage, as in `relevance`
    thresholds: Thresholds | None = None
    unmentioned_parts: list[str] = field(default_factory=list)  # parts whose topic words no passage mentions

    @property
    def best_score(self) -> float:
        return max(self.scores, default=0.0)


def person_or_action(question: str) -> str | None:
    """Why the question needs a person ("asks for access"), or None."""
    return next((why for pattern, why in _PERSON_OR_ACTION if pattern.search(question)), None)


def decide_route(question: str, passages: list[Passage], retrieval: RetrievalSettings, settings: AnsweringSettings,
                 query: str | None = None, routing: dict | None = None) -> RouteDecision:
    """`query` is what was searched (the question with its thread context), when it differs; `routing`
    is the index's own calibration (`HybridRetriever.routing()`)."""
    scores = relevance(query or question, passages, retrieval)
    best = max(scores, default=0.0)
    limits = thresholds(settings, routing)
    tag = f" ({limits.source} thresholds)"
    if why := person_or_action(question):
        return RouteDecision("escalate", f"question {why}", scores, limits)
    if not passages:
        return RouteDecision("escalate", "nothing is indexed that could answer this", scores, limits)
    if best < limits.abstain:
        return RouteDecision("escalate", f"best retrieval score {best:.3f} < {limits.abstain:.3f}{tag}", scores, limits)
    if best < limits.answer:
        covered = topic_covered(question, passages)
        if covered < MIN_COVERED:
            return RouteDecision("abstain", f"best retrieval score {best:.3f} < {limits.answer:.3f}{tag}", scores,
                                 limits)
        return RouteDecision("rag", f"best retrieval score {best:.3f} < {limits.answer:.3f}{tag}, but the sources "
                                    f"mention every topic word of the question (weight {covered:.1f})", scores, limits)
    parts = question_parts(question)
    missing = {part: topic_gap(part, passages) for part in parts or [question]}
    uncovered = [part for part, words in missing.items() if words]
    if len(uncovered) == len(missing):  # a compound question: every part uncovered
        return RouteDecision("abstain", f"best retrieval score {best:.3f} >= {limits.answer:.3f}{tag}, but no source "
                                        f"mentions {', '.join(repr(w) for w in next(iter(missing.values())))}",
                             scores, limits)
    return RouteDecision("rag", f"best retrieval score {best:.3f} >= {limits.answer:.3f}{tag}", scores, limits,
                         uncovered if parts else [])
