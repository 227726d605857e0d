"""The router: answer from retrieval (`rag`), `abstain` honestly, or `escalate` to a person.

Retrieval strength is the best dense cosine similarity among the retrieved passages; thresholds come
from settings (CITEBOT_ANSWER_THRESHOLD / CITEBOT_ABSTAIN_THRESHOLD). Requests for a person or an
action (access, approvals, a live incident) escalate whatever retrieval found: no document can grant
access or fix an outage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.settings import Settings
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
    best_score: float


def person_or_action(question: str) -> str | None:
    """Why the question needs a person ("asks for access"), or None."""
    return next((why for pattern, why in _PERSON_OR_ACTION if pattern.search(question)), None)


def decide_route(question: str, passages: list[Passage], settings: Settings) -> RouteDecision:
    best = max((p.dense_score for p in passages), default=0.0)
    if why := person_or_action(question):
        return RouteDecision("escalate", f"question {why}", best)
    if not passages:
        return RouteDecision("escalate", "nothing is indexed that could answer this", best)
    if best < settings.abstain_threshold:
        return RouteDecision("escalate", f"best retrieval score {best:.2f} < {settings.abstain_threshold:.2f}", best)
    if best < settings.answer_threshold:
        return RouteDecision("abstain", f"best retrieval score {best:.2f} < {settings.answer_threshold:.2f}", best)
    return RouteDecision("rag", f"best retrieval score {best:.2f} >= {settings.answer_threshold:.2f}", best)
