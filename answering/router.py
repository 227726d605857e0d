"""The router: answer from retrieval (`rag`), `abstain` honestly, or `escalate` to a person.

Retrieval strength is the best MiniLM cosine similarity of the question and a retrieved passage;
thresholds come from settings (CITEBOT_ANSWER_THRESHOLD / CITEBOT_ABSTAIN_THRESHOLD). Requests for a
person or an action (access, approvals, a live incident) escalate whatever retrieval found: no
document can grant access or fix an outage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.settings import RetrievalSettings, Settings
from core.vectors import similarities
from indexing.embedder import SENTENCE_MODEL, embed_texts
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
class RouteDecision:
    route: str  # "rag" | "abstain" | "escalate"
    reason: str
    scores: list[float]  # relevance of each passage, as in `relevance`

    @property
    def best_score(self) -> float:
        return max(self.scores, default=0.0)


def relevance(query: str, passages: list[Passage], settings: RetrievalSettings) -> list[float]:
    """How well each passage matches the query, on the one scale the thresholds are calibrated on:
    MiniLM's cosine similarity. With the default embedder that is retrieval's own dense score. With
    mpnet, MiniLM embeds the query and passages again (~20 ms): mpnet ranks passages better but its
    similarities tell answerable from unanswerable questions apart less well (balanced accuracy 0.855
    vs 0.939 on the handbook set), and one calibration then serves both."""
    if settings.embed_model == SENTENCE_MODEL or not passages:
        return [p.dense_score for p in passages]
    vectors = embed_texts([query] + [p.text for p in passages])
    return [round(float(s), 4) for s in similarities(vectors[:1], vectors[1:])[0]]


def person_or_action(question: str) -> str | None:
    """Why the question needs a person ("asks for access"), or None."""
    return next((why for pattern, why in _PERSON_OR_ACTION if pattern.search(question)), None)


def decide_route(question: str, passages: list[Passage], settings: Settings,
                 query: str | None = None) -> RouteDecision:
    """`query` is what was searched (the question with its thread context), when it differs."""
    scores = relevance(query or question, passages, settings.retrieval)
    best = max(scores, default=0.0)
    if why := person_or_action(question):
        return RouteDecision("escalate", f"question {why}", scores)
    if not passages:
        return RouteDecision("escalate", "nothing is indexed that could answer this", scores)
    if best < settings.abstain_threshold:
        return RouteDecision("escalate", f"best retrieval score {best:.3f} < {settings.abstain_threshold:.3f}", scores)
    if best < settings.answer_threshold:
        return RouteDecision("abstain", f"best retrieval score {best:.3f} < {settings.answer_threshold:.3f}", scores)
    return RouteDecision("rag", f"best retrieval score {best:.3f} >= {settings.answer_threshold:.3f}", scores)
