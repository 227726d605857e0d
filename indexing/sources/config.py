"""Sources configured in a TOML file (CITEBOT_CONFIG, default ./citebot.toml).

    [[sources]]
    name = "handbook"
    type = "files"              # files | slack | slack_export | web
    paths = ["docs/handbook"]
    url_template = "https://git.example.com/handbook/blob/main/{relpath}"

    [[sources]]
    name = "support"
    type = "slack"
    channels = ["C0123456789"]  # the bot must be a member; token from SLACK_BOT_TOKEN

Errors name the file, the source and the key to fix, because this file is edited by hand.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from core.errors import CitebotError
from core.settings import SlackSettings
from indexing.sources.base import Source

SOURCE_TYPES = ("files", "slack", "slack_export", "web")


def _build(entry: dict, settings: SlackSettings, where: str) -> Source:
    from indexing.sources.files import FileSource
    from indexing.sources.slack_api import SlackApiSource
    from indexing.sources.slack_export import SlackExportSource
    from indexing.sources.web import WebSource

    name, kind = entry["name"], entry.get("type")
    try:
        if kind == "files":
            base = Path(where).parent
            paths = [p if Path(p).expanduser().is_absolute() else base / p for p in entry["paths"]]
            return FileSource(name, paths, entry.get("url_template"))
        if kind == "slack":
            return SlackApiSource(name, entry["channels"], settings.slack_bot_token, settings.slack_api_url)
        if kind == "slack_export":
            path = Path(entry["path"]).expanduser()
            return SlackExportSource(name, path if path.is_absolute() else Path(where).parent / path,
                                     entry.get("workspace_url"))
        if kind == "web":
            return WebSource(name, entry["urls"])
    except KeyError as exc:
        raise CitebotError(f"{where}: source {name!r} (type {kind}) needs the key {exc.args[0]!r}.") from None
    raise CitebotError(f"{where}: source {name!r} has type {kind!r}; use one of {', '.join(SOURCE_TYPES)}.")


def load_sources(path: Path | None, slack: SlackSettings) -> list[Source]:
    """The sources configured in the TOML file at `path` (`StorageSettings.config_path`), in file order;
    an empty list when there is none. Slack sources read with the bot token of `slack`."""
    if path is None:
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CitebotError(f"Cannot read the config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CitebotError(f"{path} is not valid TOML: {exc}") from None
    entries = data.get("sources", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CitebotError(f"{path}: `sources` must be a list of [[sources]] tables.")
    names = [e.get("name") for e in entries]
    if not all(isinstance(n, str) and n for n in names):
        raise CitebotError(f"{path}: every [[sources]] entry needs a `name`.")
    if len(set(names)) != len(names):
        raise CitebotError(f"{path}: source names must be unique, got {names}.")
    return [_build(entry, slack, str(path)) for entry in entries]


def find_source(path: Path | None, slack: SlackSettings, name: str) -> Source:
    sources = load_sources(path, slack)
    for source in sources:
        if source.name == name:
            return source
    known = ", ".join(s.name for s in sources) or "none (create citebot.toml or set CITEBOT_CONFIG)"
    raise CitebotError(f"No source named {name!r}. Configured sources: {known}.")
