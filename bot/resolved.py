"""Resolved threads: a ✅ reaction (CITEBOT_RESOLVED_REACTION) or the "Mark resolved" message shortcut.

The whole thread is indexed at once as a knowledge source, cited by its permalink in later answers,
and stored in `resolved_threads`, which the tuning pipeline turns into training examples. Marking the
same thread again updates it (the thread may have grown) instead of duplicating it.
"""

from __future__ import annotations

import logging

from bot.services import Services
from core.slack_web import paged
from indexing.pipeline import index_source
from indexing.sources.base import DocumentsSource
from indexing.sources.slack_threads import thread_document
from tuning.threads import save_resolved_thread

log = logging.getLogger("citebot.slack")
RESOLVED_SOURCE = "slack-resolved"


def _thread(client, channel: str, ts: str) -> tuple[str, list[dict]]:
    """(thread_ts, messages) for any message of a thread, the root or a reply."""
    messages = list(paged(client.conversations_replies, "messages", channel=channel, ts=ts, limit=200))
    thread_ts = (messages[0].get("thread_ts") or messages[0]["ts"]) if messages else ts
    if thread_ts != ts:
        messages = list(paged(client.conversations_replies, "messages", channel=channel, ts=thread_ts, limit=200))
    return thread_ts, messages


def mark_resolved(services: Services, client, channel: str, ts: str, user: str) -> str | None:
    """Index and store the thread; returns its permalink (None when it holds no human message)."""
    thread_ts, messages = _thread(client, channel, ts)
    info = client.conversations_info(channel=channel)["channel"]
    private = bool(info.get("is_private"))
    permalink = client.chat_getPermalink(channel=channel, message_ts=thread_ts)["permalink"]
    doc = thread_document(source_id=RESOLVED_SOURCE, channel_id=channel, channel_name=info.get("name", channel),
                          private=private, messages=messages, permalink=permalink)
    if doc is None:
        return None
    index_source(DocumentsSource(RESOLVED_SOURCE, [doc]), services.settings.index)
    save_resolved_thread(services.answerer.engine, channel, thread_ts, permalink, user, private, messages)
    return permalink


def register(app, services: Services) -> None:
    def ack_only(ack):
        ack()

    def on_reaction(event, client):
        item = event.get("item") or {}
        if event.get("reaction") != services.settings.resolved_reaction or item.get("type") != "message":
            return
        permalink = mark_resolved(services, client, item["channel"], item["ts"], event.get("user", ""))
        if permalink:
            client.chat_postEphemeral(channel=item["channel"], user=event.get("user", ""), thread_ts=item["ts"],
                                      text=f"Saved as a resolved thread: I'll cite it ({permalink}).")

    def on_shortcut(body, client):
        channel, message = body["channel"]["id"], body["message"]
        user = body["user"]["id"]
        permalink = mark_resolved(services, client, channel, message["ts"], user)
        text = (f"Saved as a resolved thread: I'll cite it ({permalink})." if permalink
                else "That thread has no human messages to save.")
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=message.get("thread_ts") or message["ts"],
                                  text=text)

    app.event("reaction_added")(ack=ack_only, lazy=[on_reaction])
    app.shortcut("mark_resolved")(ack=ack_only, lazy=[on_shortcut])
