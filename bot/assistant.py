"""Slack's assistant threads (the AI-app split view and DMs), through Bolt's `Assistant`.

When a thread starts, the bot greets and suggests prompts drawn from what is indexed (what it can
answer). For each question it shows a status while it works, titles the thread by the first question,
and streams the answer with `chat_stream` (chat.startStream / appendStream / stopStream) one whole unit
at a time (a paragraph, a list, a code block), then closes the stream with the sources and the
feedback buttons, which work as everywhere else. A stream Slack refuses (rate-limited, or a workspace
without streaming) falls back to one ordinary message. Answering itself is the shared path
(`bot.answers.answer_in_thread`): thread follow-ups, the private-channel rule and the audit row are
the same as in channels.
"""

from __future__ import annotations

import logging
import threading
import time

from bot.answers import answer_in_thread
from bot.formatting import prompt_text
from bot.services import Services
from bot.streaming import AnswerStream
from indexing.store import coverage

log = logging.getLogger("citebot.slack")
GREETING = ("Hi! I answer from the team's docs and threads, with numbered sources. Ask me anything they "
            "cover; if they don't, I'll say so and loop in the right people.")
STATUS = "is looking through the docs…"
MAX_PROMPTS = 4  # Slack shows up to four suggested prompts
COVERAGE_SECONDS = 300.0  # how long what the index covers is reused between threads


class Coverage:
    """What the index covers (sources, a few titles each), re-read at most every COVERAGE_SECONDS."""

    def __init__(self, services: Services):
        self.services, self._value, self._read, self._lock = services, {}, float("-inf"), threading.Lock()

    def get(self) -> dict[str, dict]:
        with self._lock:
            if time.monotonic() - self._read > COVERAGE_SECONDS:
                try:
                    self._value = coverage(self.services.settings.index)
                except Exception:  # noqa: BLE001 - the index is being rebuilt: prompts are optional
                    log.warning("could not read what the index covers", exc_info=True)
                self._read = time.monotonic()
            return self._value


def suggested_prompts(covered: dict[str, dict]) -> list[dict[str, str]]:
    """One prompt per document title, taken round-robin over the sources so each source shows."""
    titles = [source["titles"] for source in covered.values()]
    picked: list[str] = []
    for depth in range(max((len(t) for t in titles), default=0)):
        picked += [t[depth] for t in titles if depth < len(t) and t[depth] not in picked]
    clean = [text for text in (prompt_text(title) for title in picked) if text]
    return [{"title": text[:75], "message": f"What do our docs say about {text}?"} for text in clean[:MAX_PROMPTS]]


class AssistantThread:
    """The `surface` answer_in_thread talks to: status and title before, the answer streamed after."""

    def __init__(self, set_status, set_title, titled: bool, stream: AnswerStream):
        self.set_status, self.set_title, self.titled, self.stream = set_status, set_title, titled, stream

    def working(self, question: str) -> None:
        self.set_status(STATUS)
        if not self.titled:
            self.set_title(question[:120])


def register(app, services: Services, covered: Coverage) -> None:
    from slack_bolt import Assistant

    assistant = Assistant()
    titled: dict[tuple[str, str], None] = {}  # threads already titled by their first question

    @assistant.thread_started
    def started(say, set_suggested_prompts):
        say(GREETING)
        prompts = suggested_prompts(covered.get())
        if prompts:
            set_suggested_prompts(prompts=prompts, title="Things I can answer")

    @assistant.user_message
    def message(payload, client, context, set_status, set_title):
        key = (payload["channel"], payload["thread_ts"])
        stream = AnswerStream(client, channel=payload["channel"], thread_ts=payload["thread_ts"],
                              user=payload.get("user", ""), workspace=context.team_id)
        surface = AssistantThread(set_status, set_title, key in titled, stream)
        titled[key] = None
        if len(titled) > 10000:
            del titled[next(iter(titled))]
        answer_in_thread(services, client, channel=payload["channel"], user=payload.get("user", ""),
                         text=payload.get("text", ""), ts=payload["ts"], thread_ts=payload["thread_ts"],
                         bot_user_id=context.bot_user_id, workspace=context.team_id, surface=surface)

    app.use(assistant)
