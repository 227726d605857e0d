"""Slack messages → documents: one thread is one document, cited by the thread's permalink.

Shared by the Web API source and the export-folder source, so a thread reads the same whichever way
it was imported (and so has the same content hash).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from datetime import datetime, timezone

from indexing.documents import Section, SourceDocument

# Joins, leaves, topic changes and the like carry no knowledge.
NOISE_SUBTYPES = {"channel_join", "channel_leave", "channel_topic", "channel_purpose", "channel_name",
                  "group_join", "group_leave", "pinned_item", "bot_add", "bot_remove"}
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<(https?://[^>|]+)>")
_CHANNEL = re.compile(r"<#(C\w+)\|([^>]*)>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)>")
_SUBTEAM = re.compile(r"<!subteam\^(\w+)(?:\|([^>]+))?>")


def slack_text(text: str) -> str:
    """Slack mrkdwn → plain text that reads well in an answer and embeds well."""
    text = _LINK.sub(r"\2 (\1)", text)
    text = _BARE_LINK.sub(r"\1", text)
    text = _CHANNEL.sub(lambda m: "#" + (m.group(2) or m.group(1)), text)
    text = _SPECIAL.sub(r"@\1", text)
    text = _SUBTEAM.sub(lambda m: m.group(2) or "@" + m.group(1), text)
    return html.unescape(text).strip()


def is_knowledge(message: dict) -> bool:
    """Human messages with text; bot posts (including our own answers) are not a source of truth."""
    if message.get("subtype") in NOISE_SUBTYPES or message.get("subtype") == "bot_message":
        return False
    return bool(message.get("text", "").strip()) and not message.get("bot_id")


def ts_to_iso(ts: str) -> str:
    return datetime.fromtimestamp(float(ts), tz=timezone.utc).isoformat()


def thread_document(*, source_id: str, channel_id: str, channel_name: str, private: bool,
                    messages: Iterable[dict], permalink: str | None) -> SourceDocument | None:
    """The thread as one "<@U1>: text" paragraph per message (code fences and lists in a message stay
    blocks), or None when no human said anything in it."""
    kept = sorted((m for m in messages if is_knowledge(m)), key=lambda m: float(m["ts"]))
    if not kept:
        return None
    root = kept[0]
    thread_ts = root.get("thread_ts") or root["ts"]
    first_line = slack_text(root["text"]).splitlines()[0]
    title = f"#{channel_name}: {first_line[:80]}{'…' if len(first_line) > 80 else ''}"
    lines = [f"<@{m.get('user', 'unknown')}>: {slack_text(m['text'])}" for m in kept]
    return SourceDocument(
        doc_id=f"slack:{channel_id}:{thread_ts}", source_id=source_id, title=title,
        path=f"slack://{channel_id}/{thread_ts}", url=permalink,
        sections=[Section("", "\n\n".join(lines))], updated_at=ts_to_iso(kept[-1]["ts"]),
        access="private" if private else "public", channel_id=channel_id,
    )


def group_threads(messages: Iterable[dict]) -> dict[str, list[dict]]:
    """Messages of a channel grouped by thread (a message that started no thread is its own thread)."""
    threads: dict[str, list[dict]] = {}
    for message in messages:
        if "ts" not in message:
            continue
        threads.setdefault(message.get("thread_ts") or message["ts"], []).append(message)
    return threads
