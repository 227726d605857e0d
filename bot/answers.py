"""Listeners for questions: @-mentions, direct messages and follow-ups in threads the bot is in.

Bolt acks each event at once; the answer runs in a lazy listener. Within a second the asker sees the
bot at work: a streamed reply opened with a progress task (`bot.streaming`, CITEBOT_STREAM_ANSWERS), into
which the answer then streams; where Slack refuses a stream, a progress message edited in place into the
answer. A crash inside answering still ends with a reply (a short apology with the audit id) and an
audit row holding the error.
"""

from __future__ import annotations

import logging

from audit.log import record_failure
from audit.queries import answered_in_thread
from audit.spool import UNAVAILABLE
from bot.blocks import PROGRESS_TEXT, answer_message, help_message, notice
from bot.conversation import needs_context, question_text, thread_context
from bot.services import Services
from bot.streaming import AnswerStream
from core.errors import CitebotError
from core.slack_web import paged

log = logging.getLogger("citebot.slack")
IGNORED_SUBTYPES = {"message_changed", "message_deleted", "channel_join", "channel_leave", "thread_broadcast",
                    "message_replied"}


def _answered_here(services: Services, channel: str, thread_ts: str) -> bool:
    """Whether the bot already answered in this thread (any replica: the audit log is shared)."""
    if (channel, thread_ts) in services.threads:
        return True
    try:
        return answered_in_thread(services.answerer.engine, channel, thread_ts)
    except UNAVAILABLE:  # audit database down: this replica's own memory is all we have
        return False


def _thread_until(client, channel: str, thread_ts: str, ts: str) -> list[dict]:
    """The thread's messages up to `ts`, every page of them (oldest first), however long the thread."""
    messages = []
    for message in paged(client.conversations_replies, "messages", channel=channel, ts=thread_ts, limit=200):
        messages.append(message)
        if float(message.get("ts", 0)) >= float(ts):
            break
    return messages


def answer_in_thread(services: Services, client, *, channel: str, user: str, text: str, ts: str,
                     thread_ts: str | None, auto: bool = False, bot_user_id: str | None = None,
                     workspace: str | None = None, surface=None) -> None:
    """Answer one message; `auto` is an unprompted answer to a question posted in an auto-answer channel.
    `surface` (an assistant thread, `bot.assistant`) shows a status instead of a progress message, and
    its `stream` delivers the answer."""
    thread = thread_ts or ts
    config = services.channels.for_channel(channel)
    ephemeral = config.reply == "ephemeral" and surface is None
    question = question_text(text)
    if not question:
        client.chat_postMessage(channel=channel, thread_ts=thread, **help_message(services.is_admin(user)))
        return
    stream = surface.stream if surface is not None else None
    if surface is not None:
        surface.working(question)
    elif not (ephemeral or auto) and services.settings.stream_answers:
        stream = AnswerStream(client, channel=channel, thread_ts=thread, user=user, workspace=workspace)
        stream = stream if stream.open() else None
    placeholder = None if ephemeral or auto or stream else client.chat_postMessage(channel=channel, thread_ts=thread,
                                                                                    text=PROGRESS_TEXT)
    result = None
    context, unhappy = None, False
    if thread_ts and thread_ts != ts:
        earlier, unhappy = thread_context(_thread_until(client, channel, thread_ts, ts), ts, bot_user_id)
        context = earlier if needs_context(question) else None
    contact = config.escalate_to or services.settings.escalation_contact
    try:
        with services.answer_slots:
            result = services.answerer.ask(question, user=user, channel=channel, thread_ts=thread, context=context,
                                           unhappy=unhappy, allowed=services.allowed(client, user, channel),
                                           contact=contact, workspace=workspace,
                                           on_text=stream.partial if stream is not None else None)
        if auto and (result.route != "rag" or (config.require_citations and not result.citations)):
            return  # nobody asked us: speak up only with a cited answer (still in the audit log)
        message = answer_message(result)
    except CitebotError as exc:  # a question we refuse (too long): say why, like the CLI does
        if auto:
            return
        message = notice(str(exc))
    except Exception as exc:  # noqa: BLE001 - the user must hear back; the audit log keeps the error
        log.exception("answering failed")
        audit_id = record_failure(services.answerer.engine, question, f"{type(exc).__name__}: {exc}", user,
                                  channel, thread, services.answerer.spool)
        message = notice(f"Sorry, something went wrong while answering. The failure is logged with audit "
                         f"id {audit_id}; {contact} can look into it.")
    services.remember_thread(channel, thread)
    if stream is not None:
        stream.finish(result, message)
    elif ephemeral:
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread, **message)
    elif placeholder is None:
        client.chat_postMessage(channel=channel, thread_ts=thread, **message)
    else:
        client.chat_update(channel=channel, ts=placeholder["ts"], **message)


def register(app, services: Services) -> None:
    def ack_event(ack):
        ack()

    def on_mention(event, client, context):
        answer_in_thread(services, client, channel=event["channel"], user=event.get("user", ""),
                         text=event.get("text", ""), ts=event["ts"], thread_ts=event.get("thread_ts"),
                         bot_user_id=context.bot_user_id, workspace=context.team_id)

    def on_message(event, client, context):
        bot_user_id = context.bot_user_id  # per workspace: multi-workspace installs have one bot user each
        channel = event["channel"]
        from_bot = bool(event.get("bot_id")) or event.get("subtype") == "bot_message"
        if from_bot and not services.channels.for_channel(channel).answer_bots:
            return  # other bots only where a channel asks for it
        if event.get("subtype") in IGNORED_SUBTYPES or not event.get("user"):
            return  # edits and deletions never trigger an answer
        if event.get("user") == bot_user_id or event.get("bot_id") == context.bot_id:
            return  # never ourselves
        text, user, ts = event.get("text", ""), event["user"], event["ts"]
        mentioned = bool(bot_user_id) and f"<@{bot_user_id}>" in text
        reply = dict(channel=channel, user=user, text=text, ts=ts, bot_user_id=bot_user_id,
                     workspace=context.team_id)
        if event.get("channel_type") == "im":
            answer_in_thread(services, client, thread_ts=event.get("thread_ts"), **reply)
        elif event.get("thread_ts") and not mentioned and _answered_here(services, channel, event["thread_ts"]):
            answer_in_thread(services, client, thread_ts=event["thread_ts"], **reply)
        elif (not event.get("thread_ts") and not mentioned and text.rstrip().endswith("?")
              and services.channels.for_channel(channel).auto_answer):
            answer_in_thread(services, client, thread_ts=None, auto=True, **reply)

    app.event("app_mention")(ack=ack_event, lazy=[on_mention])
    app.event("message")(ack=ack_event, lazy=[on_message])
