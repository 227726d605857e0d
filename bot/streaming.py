"""Answers streamed into one Slack message (chat.startStream / appendStream / stopStream).

In channels and DMs the stream opens before answering, holding one progress task ("Looking through
the docs"), so the asker sees the bot at work within a second, as the progress message used to show;
the answer then arrives in the same message with the task marked done, and the stop adds the sources
and the feedback buttons. Assistant threads show their own status instead and open the stream with the
first text. A generated answer arrives sentence by sentence while the model writes (each sentence only
once it is traced to a passage, so nothing unsupported is ever shown); a quoted one unit by unit (a
paragraph, a list, a code block).

Slack may refuse a stream (a workspace without it, a rate limit, a stream that expired while the
question waited its turn): a stream that never opened leaves the caller to post the progress message
and edit it as before; one that breaks after opening is replaced in place by the whole answer
(chat.update), or posted whole when even that fails. Nothing is lost and nothing is said twice.
"""

from __future__ import annotations

import logging

from answering.result import AnswerResult
from bot.blocks import stream_end_blocks
from bot.formatting import stream_units

log = logging.getLogger("citebot.slack")
TASK_ID = "answer"


class AnswerStream:
    """One streamed reply in a thread; `open()` starts it with the progress task, else the first unit does."""

    def __init__(self, client, *, channel: str, thread_ts: str, user: str, workspace: str | None):
        self.client, self.channel, self.thread_ts = client, channel, thread_ts
        self.stream = client.chat_stream(channel=channel, thread_ts=thread_ts, recipient_user_id=user,
                                          recipient_team_id=workspace, buffer_size=1)  # each unit goes out at once
        self.task = False  # whether the stream shows the progress task
        self.task_done = False
        self.shown: list[str] = []  # sentences of a generated answer streamed while it was written
        self.broken = False  # Slack broke the stream off during those: the whole answer replaces it

    def open(self) -> bool:
        """Start the stream now with the progress task; False when Slack refuses (post a progress message)."""
        from slack_sdk.errors import SlackApiError

        try:
            self.stream.append(chunks=[_task("in_progress")])
        except SlackApiError as exc:
            log.info("Slack refused a stream here (%s): progress message instead", exc.response.get("error"))
            return False
        self.task = True
        return True

    def partial(self, sentence: str) -> None:
        """One traced sentence of a generated answer (`Answerer.answer`'s `on_text`), shown while the model
        writes the next. Never raises into answering: a stream Slack breaks off here is replaced at the end."""
        if self.broken:
            return
        try:
            self._close_task()
            self.stream.append(markdown_text=" ".join(stream_units(sentence)) + " ")
            self.shown.append(sentence)
        except Exception as exc:  # noqa: BLE001 - Slack refusing or unreachable must not fail the answer
            log.warning("streaming a sentence failed (%s); the whole answer will replace it", exc)
            self.broken = True

    def finish(self, result: AnswerResult | None, message: dict) -> None:
        """What is left of the answer unit by unit, then sources and buttons; `message` (its blocks and
        text) replaces the stream when Slack broke it off or the answer is not what was streamed (the model
        failed midway and the answer was quoted instead), and is all there is when answering failed
        (`result` None)."""
        from slack_sdk.errors import SlackApiError

        shown = " ".join(self.shown)
        try:
            if result is None or self.broken or not result.answer.startswith(shown):
                if self.stream.ts and not self.broken:
                    self.stream.stop(chunks=[_task("error")] if self.task and not self.task_done else None)
                self._replace(message)
                return
            self._close_task()
            units = stream_units(result.answer[len(shown):])
            for i, unit in enumerate(units):
                self.stream.append(markdown_text=("\n\n" if shown and i == 0 else "") + unit + "\n\n")
            self.stream.stop(blocks=stream_end_blocks(result))
        except SlackApiError as exc:
            log.warning("streaming the answer failed (%s); posting it whole", exc.response.get("error"))
            self._replace(message)

    def _close_task(self) -> None:
        if self.task and not self.task_done:
            self.stream.append(chunks=[_task("complete")])
            self.task_done = True

    def _replace(self, message: dict) -> None:
        """`message` in the stream's place, or as a new reply when there is no stream or it cannot be edited."""
        from slack_sdk.errors import SlackApiError

        if self.stream.ts:
            try:
                self.client.chat_update(channel=self.channel, ts=self.stream.ts, **message)
                return
            except SlackApiError:
                log.warning("could not edit the broken stream; posting the answer as a new reply")
        self.client.chat_postMessage(channel=self.channel, thread_ts=self.thread_ts, **message)


def _task(status: str) -> dict:
    """The progress task chunk: in progress while answering, complete (or error) once done."""
    title = "Looking through the docs…" if status == "in_progress" else "Looked through the docs"
    return {"type": "task_update", "id": TASK_ID, "title": title, "status": status}
