"""Per-channel behaviour from the config file's `[channels.<id>]` tables (`[channels.default]` for all).

    [channels.C0123456789]
    auto_answer = true          # also answer questions posted without a mention (lines ending in "?")
    reply = "ephemeral"         # or "public" (default): who sees the answer
    sources = ["handbook"]      # search only these sources (default: all)
    escalate_to = "@sre-oncall" # who escalations mention here
    require_citations = true    # auto-answers are posted only when they cite something
    answer_bots = true          # also answer other bots' messages (never our own)
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields

from core.errors import CitebotError
from core.settings import StorageSettings


@dataclass(frozen=True)
class ChannelConfig:
    auto_answer: bool = False
    reply: str = "public"
    sources: tuple[str, ...] = field(default_factory=tuple)
    escalate_to: str | None = None
    require_citations: bool = False
    answer_bots: bool = False

    def describe(self) -> str:
        return "\n".join(f"• {k}: {v if v not in (None, ()) else 'default'}" for k, v in asdict(self).items())


def load_channel_configs(settings: StorageSettings) -> dict[str, ChannelConfig]:
    path = settings.config_path
    if path is None:
        return {}
    try:
        tables = tomllib.loads(path.read_text(encoding="utf-8")).get("channels", {})
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CitebotError(f"Cannot read channel settings from {path}: {exc}") from None
    known = {f.name for f in fields(ChannelConfig)}
    configs = {}
    for channel, table in tables.items():
        unknown = set(table) - known
        if unknown:
            raise CitebotError(f"{path}: [channels.{channel}] has unknown keys {sorted(unknown)}; "
                               f"use {sorted(known)}.")
        if table.get("reply", "public") not in ("public", "ephemeral"):
            raise CitebotError(f"{path}: [channels.{channel}] reply must be \"public\" or \"ephemeral\".")
        configs[channel] = ChannelConfig(**{**table, "sources": tuple(table.get("sources", ()))})
    return configs


class ChannelSettings:
    def __init__(self, settings: StorageSettings):
        self.configs = load_channel_configs(settings)

    def for_channel(self, channel: str) -> ChannelConfig:
        return self.configs.get(channel) or self.configs.get("default") or ChannelConfig()
