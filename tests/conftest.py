"""Fixtures build real objects: real Chroma on disk, real SQLite and PostgreSQL, the real models."""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path

import pytest

from core.settings import Settings

SHARED = Path(__file__).resolve().parents[2] / "shared"
# The Slack emulator validates every Web API call against Slack's published spec, kept beside the repo.
os.environ.setdefault("CITEBOT_SLACK_SPEC",
                      str(SHARED / "slack-api-specs" / "web-api" / "slack_web_openapi_v2_without_examples.json"))
# The OpenAI stand-in validates every request against OpenAI's published spec, kept there too.
os.environ.setdefault("CITEBOT_OPENAI_SPEC", str(SHARED / "openai-api-specs" / "openapi.yaml"))
PG_ADMIN_URL = os.environ.get("CITEBOT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CITEBOT_BIN = str(Path(sys.executable).parent / "citebot")

TINY_CORPUS = {
    "parking.md": """# Parking

## Bicycle parking

Bicycles go in the basement garage, level -1. The garage door code is changed every month and
posted in #office.

## Car parking

There are six car spaces, reserved through the Parkly app one day ahead.
""",
    "coffee.md": """# Coffee machine

The espresso machine on the third floor is descaled every Tuesday by the office team.
If it shows error E7, empty the drip tray and restart it.
""",
    "printers.html": """<html><head><title>Printers</title></head><body>
<h1>Printers</h1><p>The only colour printer is named Gutenberg and stands next to the kitchen.</p>
<h2>Toner</h2><p>Spare toner cartridges are in the cupboard labelled C3.</p>
</body></html>""",
}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings(home=home)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in TINY_CORPUS.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def cli_env(home: Path) -> dict[str, str]:
    """Environment for running the real `citebot` executable against a private home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "SLACK_", "OPENAI_"))}
    env["CITEBOT_HOME"] = str(home)
    return env


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database on the local server, dropped afterwards."""
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"citebot_test_{secrets.token_hex(4)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # the suite must test PostgreSQL: make the reason visible
        pytest.fail(f"PostgreSQL at {PG_ADMIN_URL} is needed for this test: {exc}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    yield url
    from core.db import get_engine

    get_engine.cache_clear()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def copy_of(tmp_path: Path):
    def _copy(src: Path, name: str) -> Path:
        dest = tmp_path / name
        shutil.copytree(src, dest)
        return dest
    return _copy


ADMIN, USER, OUTSIDER = "UADMIN", "UALICE", "UBOB"


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    """The real Bolt app over HTTP against the Slack emulator (a public and a private channel, two sources)."""
    from bot.app import build_app
    from bot.server import serve_http_in_thread
    from emulator.slack import SlackEmulator
    from indexing.pipeline import index_source
    from indexing.sources.config import find_source
    from indexing.sources.slack_api import SlackApiSource
    from service.answers import AnswerService

    root = tmp_path_factory.mktemp("slackbot")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in TINY_CORPUS.items():
        (corpus / name).write_text(text)
    with SlackEmulator() as slack:
        slack.add_channel("C0GENERAL", "general")
        slack.add_channel("G0FINANCE", "finance", is_private=True)
        slack.members["G0FINANCE"] = [USER]
        slack.add_thread("G0FINANCE", "1700000000.000100", USER, "What is the corporate card limit for travel?",
                         replies=[("1700000060.000100", ADMIN, "The corporate card limit for travel is 4000 euros "
                                   "per trip, approved by finance.")])
        settings = Settings(home=root / "home", slack_bot_token="xoxb-test", slack_signing_secret="s3cret",
                            slack_api_url=slack.api_url, slack_admins=ADMIN, escalation_channel="C0GENERAL",
                            config=root / "citebot.toml",
                            # The progress-message path (workspaces without streaming); tests/test_slack_streaming.py
                            # turns streaming on, as it is by default.
                            stream_answers=False)
        (root / "citebot.toml").write_text(f'''[[sources]]
name = "office"
type = "files"
paths = ["{corpus}"]

[channels.C0BOTS]
answer_bots = true

[channels.C0AUTO]
auto_answer = true
reply = "ephemeral"
sources = ["office"]
escalate_to = "@facilities"
require_citations = true
''')
        index_source(find_source(settings.config_path, settings.slack, "office"), settings)
        index_source(SlackApiSource("slack", ["G0FINANCE"], "xoxb-test", slack.api_url), settings)
        app = build_app(settings, AnswerService(settings))
        server = serve_http_in_thread(app)
        url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
        yield slack, url, app, settings
        server.shutdown()
        assert slack.violations == [], "every Web API call must follow Slack's OpenAPI spec"
