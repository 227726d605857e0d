"""Resolved support threads from wherever the team has them: the audit log, a Slack export, the Web API.

Every source yields the same `Thread` (Slack message dicts as Slack sent them), so the dataset builder
never cares where a thread came from. A thread counts as resolved when the bot stored it (✅ reaction
or the "Mark resolved" shortcut) or, in exports and history, when one of its messages carries the
resolved reaction. Unreadable export files are reported and skipped; the rest is still used.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from core.db import session_scope
from core.models import ResolvedThread
from indexing.sources.slack_export import channel_messages, export_channels
from indexing.sources.slack_threads import group_threads


@dataclass
class Thread:
    key: str  # "<channel id>:<thread ts>": the unit of dedupe and of the train/held-out split
    channel: str
    messages: list[dict]

    @property
    def last_ts(self) -> float:
        return max((float(m["ts"]) for m in self.messages if "ts" in m), default=0.0)


@dataclass
class ThreadLoad:
    threads: list[Thread] = field(default_factory=list)
    unresolved: int = 0  # threads seen but never marked resolved
    problems: list[str] = field(default_factory=list)  # "<file>: <why>" for inputs we had to skip
    names: dict[str, str] = field(default_factory=dict)  # user id -> real name, for scrubbing

    def extend(self, other: ThreadLoad) -> None:
        self.threads += other.threads
        self.unresolved += other.unresolved
        self.problems += other.problems
        self.names.update(other.names)


def is_resolved(messages: Iterable[dict], reaction: str) -> bool:
    return any(r.get("name") == reaction for m in messages for r in m.get("reactions") or [])


def from_export(folder: Path | str, reaction: str) -> ThreadLoad:
    """Resolved threads of a Slack export folder (channels.json/groups.json, one JSON file per day)."""
    root = Path(folder).expanduser()
    load = ThreadLoad()

    def problem(path: str, why: str) -> None:
        load.problems.append(f"{path}: {why}; skipped")

    try:
        channels = export_channels(root)
    except ValueError as exc:
        problem(str(root), f"unreadable channel list ({exc})")
        return load
    try:
        users = json.loads((root / "users.json").read_text(encoding="utf-8")) if (root / "users.json").exists() else []
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem(str(root / "users.json"), f"unreadable user list ({type(exc).__name__}: {exc})")
        users = []
    load.names = {u["id"]: u.get("real_name") or u.get("name", "") for u in users if isinstance(u, dict) and "id" in u}
    for record, _private in channels:
        name, channel_id = record.get("name", ""), record.get("id", "")
        for thread_ts, thread in group_threads(channel_messages(root, record, problem)).items():
            if is_resolved(thread, reaction):
                load.threads.append(Thread(f"{channel_id}:{thread_ts}", name, thread))
            else:
                load.unresolved += 1
    return load


def from_audit(engine: Engine) -> ThreadLoad:
    """Threads people marked resolved in Slack, as the bot stored them in `resolved_threads`."""
    load = ThreadLoad()
    with session_scope(engine) as session:
        for row in session.scalars(select(ResolvedThread).order_by(ResolvedThread.id)):
            try:
                messages = json.loads(row.messages_json)
            except json.JSONDecodeError:
                load.problems.append(f"resolved_threads row {row.id}: unreadable messages; skipped")
                continue
            load.threads.append(Thread(f"{row.channel_id}:{row.thread_ts}", row.channel_id, messages))
    return load


def from_slack_api(client, channels: list[str], reaction: str, oldest: datetime | None = None) -> ThreadLoad:
    """Resolved threads of `channels` through conversations.history + conversations.replies.

    Pagination and 429 Retry-After are handled by the caller's client (slack_sdk's retry handler);
    a channel that still fails is reported and skipped.
    """
    from slack_sdk.errors import SlackApiError

    from core.slack_web import paged

    load = ThreadLoad()
    params = {"oldest": f"{oldest.timestamp():.6f}"} if oldest else {}
    for channel in channels:
        try:
            history = list(paged(client.conversations_history, "messages", channel=channel, limit=200, **params))
            for root in history:
                if not root.get("reply_count"):
                    continue
                replies = list(paged(client.conversations_replies, "messages", channel=channel, ts=root["ts"],
                                     limit=200))
                if is_resolved(replies, reaction):
                    load.threads.append(Thread(f"{channel}:{root['ts']}", channel, replies))
                else:
                    load.unresolved += 1
        except SlackApiError as exc:
            load.problems.append(f"channel {channel}: {exc.response.get('error', exc)}; skipped")
    return load


def save_resolved_thread(engine, channel: str, thread_ts: str, permalink: str, marked_by: str, private: bool,
                         messages: list[dict]) -> None:
    """Keep a thread someone marked resolved in Slack (once per thread; marking again refreshes it)."""
    with session_scope(engine) as session:
        row = session.scalar(select(ResolvedThread).where(ResolvedThread.channel_id == channel,
                                                          ResolvedThread.thread_ts == thread_ts))
        if row is None:
            row = ResolvedThread(channel_id=channel, thread_ts=thread_ts)
            session.add(row)
        row.permalink, row.marked_by, row.private = permalink, marked_by, private
        row.messages_json = json.dumps(messages)
