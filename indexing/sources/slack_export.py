"""A Slack export folder: channels.json / groups.json, then one folder per channel with a JSON file per day.

Threads can span days, so a channel's days are read together before threads are built. Permalinks are
rebuilt from the workspace URL (https://acme.slack.com/archives/C123/p1700000000123456), the form
Slack itself uses.
"""

from __future__ import annotations

import json
from pathlib import Path

from core.errors import CitebotError
from indexing.sources.base import Harvest, ProgressFn, Source
from indexing.sources.slack_threads import group_threads, thread_document


def _load_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from None


class SlackExportSource(Source):
    def __init__(self, name: str, path: Path | str, workspace_url: str | None = None):
        self.name = name
        self.root = Path(path).expanduser().resolve()
        self.workspace_url = workspace_url.rstrip("/") if workspace_url else None

    def permalink(self, channel_id: str, ts: str) -> str | None:
        if not self.workspace_url:
            return None
        return f"{self.workspace_url}/archives/{channel_id}/p{ts.replace('.', '')}"

    def _channels(self) -> list[tuple[dict, bool]]:
        """(channel record, is private) from channels.json and groups.json."""
        if not (self.root / "channels.json").exists() and not (self.root / "groups.json").exists():
            raise CitebotError(f"Source {self.name!r}: {self.root} is not a Slack export folder "
                               "(no channels.json or groups.json).")
        found = []
        for listing, private in (("channels.json", False), ("groups.json", True)):
            if (self.root / listing).exists():
                found.extend((record, private) for record in _load_json(self.root / listing))
        return found

    def collect(self, harvest: Harvest, progress: ProgressFn) -> None:
        try:
            channels = self._channels()
        except ValueError as exc:
            harvest.interrupted(str(self.root), f"unreadable channel list ({exc})")
            return
        for done, (record, private) in enumerate(channels, 1):
            name, channel_id = record.get("name", ""), record.get("id", "")
            folder = self.root / name
            messages: list[dict] = []
            for day in sorted(folder.glob("*.json")) if folder.is_dir() else []:
                try:
                    day_messages = _load_json(day)
                    if not isinstance(day_messages, list):
                        raise ValueError("expected a list of messages")
                    messages.extend(m for m in day_messages if isinstance(m, dict))
                except ValueError as exc:
                    harvest.interrupted(str(day), f"unreadable export file ({exc}); the rest is indexed")
            for thread_ts, thread in group_threads(messages).items():
                doc = thread_document(source_id=self.name, channel_id=channel_id, channel_name=name,
                                      private=private, messages=thread,
                                      permalink=self.permalink(channel_id, thread_ts))
                if doc:
                    harvest.add(doc)
            progress("channels", done, len(channels))

    def describe(self) -> str:
        return f"{self.name}: Slack export in {self.root}"
