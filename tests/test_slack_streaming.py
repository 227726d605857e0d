"""Answers streamed in channels (CITEBOT_STREAM_ANSWERS, on by default) on the real Bolt app over HTTP,
driven by the emulator: the progress task first, the answer into the same message, and the fallbacks
when Slack refuses or breaks a stream."""

import time

import pytest
from slack_sdk.models.blocks import Block
from sqlalchemy import select

from bot.blocks import answer_message
from bot.streaming import AnswerStream
from core.db import session_scope
from core.models import Answer
from emulator.openai_api import OpenAIStandIn
from tests.conftest import USER
from tests.test_openai_backend import passage_number
from tests.test_slack_app import mention, wait_for


@pytest.fixture
def streaming(bot, monkeypatch):
    slack, url, app, settings = bot
    monkeypatch.setattr(app.citebot_services.settings, "stream_answers", True)
    return slack, url, app


def only_reply(slack, ts, done):
    """The one reply in the mention's thread once `done(reply)` holds; a second reply fails the test."""
    reply = wait_for(lambda: next((m for m in slack.replies_to("C0GENERAL", ts) if done(m)), None))
    assert len(slack.replies_to("C0GENERAL", ts)) == 1, "one reply: nothing posted twice"
    return reply


def test_a_mention_opens_a_stream_with_a_progress_task_then_streams_the_answer_into_it(streaming):
    slack, url, app = streaming
    sent = time.monotonic()
    _, ts = mention(slack, url, "Where can I park my bicycle?")
    opened = wait_for(lambda: slack.replies_to("C0GENERAL", ts))[0]
    assert opened["at"] - sent < 1.0 and opened["tasks"][0] == ("answer", "in_progress")
    reply = only_reply(slack, ts, lambda m: m.get("streamed") == "stopped")
    assert reply["tasks"] == [("answer", "in_progress"), ("answer", "complete")]
    assert "basement" in reply["text"] and "[1]" in reply["text"] and not reply.get("edits")
    blocks = [Block.parse(b) for b in reply["blocks"]]  # Block Kit as slack_sdk models it
    assert all(b is not None for b in blocks)
    sections = [b["text"]["text"] for b in reply["blocks"] if b["type"] == "section"]
    assert sections[0].startswith("*Sources*\n[1]") and "Bicycle parking" in sections[0]
    actions = next(b for b in reply["blocks"] if b["type"] == "actions")
    assert actions["elements"][0]["action_id"] == "feedback_helpful", "the buttons close the stream"
    with session_scope(app.citebot_services.answerer.engine) as session:
        assert session.scalars(select(Answer).where(Answer.question == "Where can I park my bicycle?")).first()
    assert slack.violations == []


def test_where_slack_refuses_a_stream_the_progress_message_is_edited_into_the_answer(streaming):
    slack, url, _ = streaming
    slack.fail("chat.startStream", error="not_allowed_token_type")
    _, ts = mention(slack, url, "Who descales the espresso machine?")
    reply = only_reply(slack, ts, lambda m: m.get("edits"))
    assert "Looking" in reply["first_text"] and not reply.get("streamed")
    assert "Tuesday" in reply["blocks"][0]["text"]["text"]


def test_a_stream_broken_after_opening_is_replaced_in_place_by_the_whole_answer(streaming):
    slack, url, _ = streaming
    slack.fail("chat.appendStream", error="message_not_in_streaming_state")  # e.g. expired while queued
    _, ts = mention(slack, url, "Who descales the espresso machine?")
    reply = only_reply(slack, ts, lambda m: m.get("edits"))
    assert reply["streamed"] == "open" and "Tuesday" in reply["blocks"][0]["text"]["text"]


def test_a_refused_question_closes_the_stream_and_says_why(streaming):
    slack, url, _ = streaming
    _, ts = mention(slack, url, "why " * 1200)  # over CITEBOT_MAX_QUESTION_CHARS (4,000)
    reply = only_reply(slack, ts, lambda m: m.get("edits"))
    assert reply["streamed"] == "stopped" and reply["tasks"][-1] == ("answer", "error")
    assert "characters long" in reply["blocks"][0]["text"]["text"]


def test_a_generated_answer_streams_into_the_reply_sentence_by_sentence(streaming, monkeypatch):
    slack, url, app = streaming

    def two_facts(messages: list[dict], model: str = "") -> str:
        n = passage_number(messages, "basement garage")
        return (f"Bicycles go in the basement garage on level -1 [{n}]. "
                f"The garage door code changes every month and is posted in #office [{n}].")

    answerer = app.citebot_services.answerer.answerer
    with OpenAIStandIn(two_facts) as fake:
        generative = answerer.settings.model_copy(update={
            "llm": "openai", "openai_api_key": "sk-test", "llm_model": "fake-gpt", "openai_base_url": fake.base_url,
            "answer_style": "generative"})
        monkeypatch.setattr(answerer, "settings", generative)
        monkeypatch.setattr(answerer, "_generator", None)
        _, ts = mention(slack, url, "Where can I park my bicycle?")
        reply = only_reply(slack, ts, lambda m: m.get("streamed") == "stopped")
        assert fake.problems == []
    first, second = reply["chunks"]  # one append per traced sentence, nothing else
    assert first.startswith("Bicycles go in the basement garage") and first.endswith("[1] ")
    assert second.startswith("The garage door code changes") and second.endswith("[1] ")
    assert reply["tasks"] == [("answer", "in_progress"), ("answer", "complete")]
    assert any(b["type"] == "actions" for b in reply["blocks"]), "sources and buttons close the stream"


def test_an_answer_other_than_the_streamed_sentences_replaces_them(bot):
    """The model wrote a sentence, then failed; the answer was quoted from the docs instead."""
    from slack_sdk import WebClient

    slack, _, app, _ = bot
    result = app.citebot_services.answerer.answerer.answer("Where can I park my bicycle?")
    stream = AnswerStream(WebClient(token="xoxb-test", base_url=slack.api_url), channel="C0GENERAL",
                          thread_ts="1800000009.000100", user=USER, workspace="T0EMULATE")
    assert stream.open()
    stream.partial("Bicycles are welcome anywhere [1].")
    stream.finish(result, answer_message(result))
    reply = only_reply(slack, "1800000009.000100", lambda m: m.get("edits"))
    assert "basement" in reply["blocks"][0]["text"]["text"] and "anywhere" not in reply["text"]
    assert reply["streamed"] == "stopped" and reply["tasks"][-1] == ("answer", "complete")
