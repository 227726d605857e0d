"""A Slack export folder: channels.json / groups.json, then one folder per channel with a JSON file per day.

Threads can span days, so a channel's days are read together before threads are built. Permalinks are
rebuilt from the workspace URL (https://acme.slack.com/archives/C123/p1700000000123456), the form
Slack itself uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from core.errors import CitebotError
from indexing.sources.base import Harvest, ProgressFn, Source
from indexing.sources.slack_threads import group_threads, thread_document


def _load_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}") from None


def export_channels(root: Path) -> list[tuple[dict, bool]]:
    """(channel record, is private) from channels.json and groups.json of a Slack export folder.

    Shared by indexing and the tuning dataset. Raises ValueError when a channel list is unreadable.
    """
    listings = [(root / name, private) for name, private in (("channels.json", False), ("groups.json", True))
                if (root / name).exists()]
    if not listings:
        raise CitebotError(f"{root} is not a Slack export folder (no channels.json or groups.json). "
                           "Export it from Slack's admin page and unzip it, or give the right folder.")
    return [(record, private) for listing, private in listings for record in _load_json(listing)
            if isinstance(record, dict)]


def channel_messages(root: Path, record: dict, problem: Callable[[str, str], None]) -> list[dict]:
    """All messages of one exported channel: threads can span days, so its day files are read together.

    A day file that cannot be read is reported through `problem(path, reason)` and skipped.
    """
    folder = root / record.get("name", "")
    messages: list[dict] = []
    for day in sorted(folder.glob("*.json")) if record.get("name") and folder.is_dir() else []:
        try:
            day_messages = _load_json(day)
            if not isinstance(day_messages, list):
                raise ValueError("expected a list of messages")
            messages.extend(m for m in day_messages if isinstance(m, dict))
        except ValueError as exc:
            problem(str(day), f"unreadable export file ({exc})")
    return messages


class SlackExportSource(Source):
    def __init__(self, name: str, path: Path | str, workspace_url: str | None = None):
        self.name = name
        self.root = Path(path).expanduser().resolve()
        self.workspace_url = workspace_url.rstrip("/") if workspace_url else None

    def permalink(self, channel_id: str, ts: str) -> str | None:
        if not self.workspace_url:
            return None
        return f"{self.workspace_url}/archives/{channel_id}/p{ts.replace('.', '')}"

    def collect(self, harvest: Harvest, progress: ProgressFn) -> None:
        try:
            channels = export_channels(self.root)
        except CitebotError as exc:
            raise CitebotError(f"Source {self.name!r}: {exc}") from None
        except ValueError as exc:
            harvest.interrupted(str(self.root), f"unreadable channel list ({exc})")
            return
        for done, (record, private) in enumerate(channels, 1):
            name, channel_id = record.get("name", ""), record.get("id", "")
            messages = channel_messages(self.root, record,
                                        lambda path, why: harvest.interrupted(path, why + "; the rest is indexed"))
            for thread_ts, thread in group_threads(messages).items():
                doc = thread_document(source_id=self.name, channel_id=channel_id, channel_name=name,
                                      private=private, messages=thread,
                                      permalink=self.permalink(channel_id, thread_ts))
                if doc:
                    harvest.add(doc)
            progress("channels", done, len(channels))

    def describe(self) -> str:
        return f"{self.name}: Slack export in {self.root}"
