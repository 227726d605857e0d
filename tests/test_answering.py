"""End-to-end answering on a tiny corpus with the real embedder, router, tracer and audit log."""

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from answering.escalation import guard
from answering.extractive import SHIPPED, extract_answer
from answering.router import decide_route
from answering.tracing import trace
from audit.serialize import answer_json
from core.db import get_engine
from core.models import Answer, Escalation, RetrievedPassage
from indexing.pipeline import index_paths
from indexing.retrieval import HybridRetriever, Passage
from service.answers import AnswerService


@pytest.fixture
def answerer(settings, corpus):
    index_paths([corpus], settings)
    return AnswerService(settings)


def test_answer_cites_the_page_that_holds_the_fact(answerer, corpus):
    result = answerer.ask("Where can I park my bike?", user="U1", channel="C1")
    assert result.route == "rag"
    assert result.citations[0].source == str(corpus / "parking.md")
    assert "basement garage" in result.answer
    assert all(s.citations for s in result.sentences)


def test_question_spanning_two_pages_cites_both(answerer, corpus):
    result = answerer.ask("Where are spare toner cartridges, and what do I do when the coffee machine shows error E7?")
    cited = {c.source for c in result.citations}
    assert {str(corpus / "printers.html"), str(corpus / "coffee.md")} <= cited


def test_unanswerable_question_is_not_answered_with_invented_facts(answerer, settings):
    result = answerer.ask("What is the salary band for a staff engineer?")
    assert result.route != "rag"
    assert result.citations == [] or result.route == "abstain"
    assert settings.escalation_contact in result.answer
    assert not any(ch.isdigit() for ch in result.answer), result.answer
    if result.route == "escalate":
        with answerer.engine.connect() as conn:
            row = conn.execute(select(Escalation.requested_by, Escalation.contact, Escalation.reason)
                               .where(Escalation.answer_id == result.audit_id)).one()
        assert row == ("router", settings.escalation_contact, result.route_reason)


def test_each_ask_writes_one_audit_row_with_its_passages(answerer, settings):
    result = answerer.ask("Who descales the espresso machine?", user="U7", channel="C9")
    engine = get_engine(settings.resolved_database_url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Answer)) == 1
        row = conn.execute(select(Answer).where(Answer.id == result.audit_id)).one()
        passages = conn.execute(select(RetrievedPassage).where(RetrievedPassage.answer_id == result.audit_id)
                                .order_by(RetrievedPassage.rank)).all()
    assert (row.user_id, row.channel_id, row.route, row.question) == ("U7", "C9", "rag", result.question), row.route_reason
    assert row.total_ms > 0 and row.model.startswith("extractive:")
    assert [p.rank for p in passages] == list(range(1, len(result.passages) + 1))
    assert {p.chunk_id for p in passages if p.cited} == {c.chunk_id for c in result.citations}
    relevance = [p.relevance for p in passages]
    assert relevance == result.relevance and f"{max(relevance):.3f}" in row.route_reason, "the score routing compared"


def test_requests_for_access_escalate_even_when_docs_match(settings, corpus):
    index_paths([corpus], settings)
    passages = HybridRetriever(settings).search("Can someone grant me access to the garage door code?")
    decision = decide_route("Can someone grant me access to the garage door code?", passages, settings.retrieval,
                            settings.answering)
    assert decision.route == "escalate" and "action" in decision.reason


def test_routing_scores_passages_with_minilm_whatever_model_retrieved_them(settings, corpus):
    index_paths([corpus], settings)
    question = "Where can I park my bike?"
    passages = HybridRetriever(settings).search(question)
    decision = decide_route(question, passages, settings.retrieval, settings.answering)
    assert decision.scores == [p.dense_score for p in passages]
    for p in passages:  # as if another model had retrieved them, on its own similarity scale
        p.dense_score = 0.99 if "toner" in p.text.lower() else 0.01
    other = settings.model_copy(update={"embed_model": "mpnet"})
    decision = decide_route(question, passages, other.retrieval, other.answering)
    bike = next(i for i, p in enumerate(passages) if "Bicycles" in p.text)
    assert decision.route == "rag" and max(decision.scores) == decision.scores[bike] >= settings.answer_threshold
    unrelated = decide_route("What is the airspeed of an unladen swallow?", passages, other.retrieval, other.answering)
    assert unrelated.route != "rag", "the other model's 0.99 must not make an unrelated question answerable"


def test_tracing_keeps_true_citations_fixes_wrong_ones_and_flags_unsupported(settings, corpus):
    index_paths([corpus], settings)
    passages = HybridRetriever(settings).search("colour printer toner")
    toner = next(i for i, p in enumerate(passages, 1) if "toner" in p.text.lower())
    wrong = next(i for i, p in enumerate(passages, 1) if i != toner)
    answer = (f"Spare toner cartridges are in the cupboard labelled C3 [{wrong}]. "
              f"The CEO drives a red sports car to work on Mondays [{toner}].")
    first, second = trace(answer, passages, settings.support_threshold)
    assert first.citations == [toner] and first.supported
    assert not second.supported and second.citations == []


def test_escalation_reply_never_ends_in_a_cut_off_sentence():
    from answering.escalation import escalation_reply

    class Rambling:
        name, meta = "fake", {}

        def complete(self, messages, max_tokens=60, usage=None):
            return "Could you share what you tried? In fact, it has been"

    reply = escalation_reply("What is the wifi password?", "@it", "best retrieval score 0.30 < 0.33", Rambling())
    assert reply.endswith("Could you share what you tried?") and "@it" in reply and "In fact" not in reply


def test_served_escalation_model_is_told_whom_the_team_looped_in_on_the_nearest_resolved_thread():
    """The served model's citebot.json keeps the training threads that named a group; the prompt names the
    group of the one nearest the question, and the model may then name it (the guard allows team groups)."""
    from answering.escalation import escalation_reply

    class Recording:
        name = "fake"
        meta = {"groups": ["@db-team", "@it-help"],
                "group_references": [["T1", "asker: the orders replica lags behind primary", ["@db-team"]],
                                     ["T2", "asker: my laptop will not join the office wifi", ["@it-help"]]]}
        seen: list = []

        def complete(self, messages, max_tokens=60, usage=None):
            self.seen.append(messages)
            return "Looping in @db-team. Could you share when the lag started?"

    model = Recording()
    reply = escalation_reply("Why is the orders replica so far behind?", "@oncall", "best retrieval score 0.2",
                             model)
    assert model.seen[0][0]["content"].endswith("the team looped in @db-team.")
    assert "@db-team" in reply and "@oncall" in reply


def test_escalation_guard_drops_invented_facts_and_keeps_requests_for_details():
    question = "What is the wifi password of the Munich office?"
    assert not guard("The wifi password of the Munich office is 1234567890.", question)
    assert not guard("You can find it on the intranet at https://wiki.example.com.", question)
    assert guard("Could you share a few more details so the team can help?", question)


def test_non_english_questions_get_the_same_contract(answerer):
    english = answer_json(answerer.ask("Where can I park my bike?"))
    for question in ("Wo kann ich mein Fahrrad abstellen?", "¿Dónde puedo aparcar mi bicicleta?"):
        result = answerer.ask(question)
        assert answer_json(result).keys() == english.keys()
        assert result.route in {"rag", "abstain", "escalate"} and result.audit_id
        assert all(s.citations for s in result.sentences), "whatever the language, no uncited sentence"


def _passage(n: int, body: str, dense: float) -> Passage:
    return Passage(chunk_id=f"c{n}", doc_id=f"d{n}", title=f"Page {n}", heading="", source=f"page{n}.md", url=None,
                   text=body, score=dense, dense_score=dense, bm25_score=0.0)


def test_extracts_quote_the_passage_about_the_question_not_only_one_that_echoes_its_words():
    question = "How often are the backup tapes rotated?"
    about = "A courier swaps the off-site tape set every Monday and brings last week's set back."
    echo = "Backup tapes are rotated by hand when the lab drive jams."
    relevant_first = extract_answer(question, [_passage(1, about, 0.62), _passage(2, echo, 0.30)], [0.5, 0.5],
                                    0.277).extracts
    echo_first = extract_answer(question, [_passage(1, about, 0.30), _passage(2, echo, 0.62)], [0.5, 0.5],
                                0.277).extracts
    assert 0 in {e.passage_index for e in relevant_first}, "the passage retrieval ranked as about it is quoted"
    assert {e.passage_index for e in echo_first} == {1}
    echo_support = {e.score for e in relevant_first + echo_first if e.passage_index == 1}
    assert len(echo_support) == 1 and echo_support.pop() <= 1.0, "support is the sentence's own match"


def test_the_best_matching_unit_is_quoted_first_even_from_a_lower_ranked_passage():
    question = "How often are the backup tapes rotated?"
    stored = "The backup tapes are stored in the fire safe of the server room."
    rotated = "A courier rotates the backup tapes every Monday."
    extracts = extract_answer(question, [_passage(1, f"Backups\n{stored}", 0.45), _passage(2, f"Tapes\n{rotated}", 0.42)],
                              [0.5, 0.5], 0.2).extracts
    assert [e.text for e in extracts] == [rotated, stored], "[1] is the answer; the rest follows in passage order"
    assert extracts[0].score > extracts[1].score


def test_a_best_unit_longer_than_the_budget_still_leaves_room_for_the_sentence_that_answers():
    question = "Is there an example of Google style docstrings?"
    example = "\n".join(f"def function_{n}(param1, param2):\n    \"\"\"Example Google style docstring {n}.\n\n"
                        f"    Args:\n        param1 (int): The first parameter.\n    \"\"\"" for n in range(20))
    page = f"Example Google Style Docstrings\n```python\n{example}\n```"
    explains = "Napoleon is an extension that enables Sphinx to parse Google style docstrings."
    passages = [_passage(1, page, 0.6), _passage(2, f"Napoleon\n{explains}", 0.4)]
    assert len(example) > SHIPPED.max_chars
    extracts = extract_answer(question, passages, [0.5, 0.5], 0.2).extracts
    assert extracts[0].kind == "code" and extracts[0].passage_index == 0, "the best unit is quoted whole"
    assert [e.text for e in extracts[1:]] == [explains], "and the short explanation beside it"
    alone = extract_answer(question, passages, [0.5, 0.5], 0.2, composition=replace(SHIPPED, min_room=0)).extracts
    assert len(alone) == 1, "without the room the example file would be the whole answer"


def test_only_rare_words_the_passages_do_not_say_even_in_other_words_make_a_question_uncovered():
    from answering.questions import topic_gap
    from indexing.retrieval import Passage

    docs = [Passage("c", "d", "Parking", "Parking", "parking.md", None,
                    "Parking\nBicycles go in the basement garage. Build the site with the build command.", 1, 1, 1)]
    assert topic_gap("what happens after the whole thing", docs) == [], "how anyone asks, not what they ask about"
    assert topic_gap("where do bikes go?", docs) == [], "the passage says it in other words"
    assert "nginx" in topic_gap("can I serve it from my nginx box?", docs)
    assert topic_gap("did the nightly deploy succeed?", docs) == ["deploy", "nightly", "succeed"]


def test_a_question_just_under_the_answer_threshold_is_answered_when_the_sources_mention_its_topic_words():
    from answering.questions import MIN_COVERED, topic_covered
    from core.settings import Settings

    text = "Databases\nProduction runs PostgreSQL version 15 on the primary; replicas lag at most a minute."
    docs = [Passage("c", "d", "Databases", "Databases", "databases.md", None, text, 1, 1, 1)]
    docs[0].dense_score = 0.35
    settings = Settings(answer_threshold=0.43, abstain_threshold=0.2)
    assert topic_covered("which postgres version are we on in prod", docs) >= MIN_COVERED
    rescued = decide_route("which postgres version are we on in prod", docs, settings.retrieval, settings.answering)
    assert rescued.route == "rag" and "every topic word" in rescued.reason
    assert topic_covered("which kafka version are we on in prod", docs) == 0.0, "kafka is not in the sources"
    other = decide_route("which kafka version are we on in prod", docs, settings.retrieval, settings.answering)
    assert other.route == "abstain"
    docs[0].dense_score = 0.1
    below = decide_route("which postgres version are we on in prod", docs, settings.retrieval, settings.answering)
    assert below.route == "escalate", "under the escalation threshold the words do not rescue it"
