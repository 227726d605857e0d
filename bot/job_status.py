"""The Slack side of a job's progress: the status message of `/reindex` or `/citebot tune run`, edited."""

from __future__ import annotations

import logging
import time

from core.settings import SlackSettings
from core.slack_web import web_client
from jobs.notify import NotifierFactory

log = logging.getLogger("citebot.jobs")


class SlackStatus:
    """Edits the job's status message in Slack, at most once a second; a job from the CLI has none."""

    def __init__(self, settings: SlackSettings, database_url: str, channel: str | None, ts: str | None,
                 workspace: str | None):
        """`database_url`: where a multi-workspace install keeps each workspace's bot token."""
        self.settings, self.database_url = settings, database_url
        self.channel, self.ts, self.workspace = channel, ts, workspace
        self._client = None
        self._last = 0.0

    def _web_client(self):
        if self._client is None:
            self._client = web_client(self.settings.slack_bot_token, self.settings.slack_api_url)
            if not self.settings.slack_bot_token and self.settings.slack_client_id and self.workspace:
                from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore

                from core.db import get_engine

                store = SQLAlchemyInstallationStore(client_id=self.settings.slack_client_id,
                                                    engine=get_engine(self.database_url))
                bot = store.find_bot(enterprise_id=None, team_id=self.workspace)
                self._client.token = bot.bot_token if bot else None
        return self._client

    def post(self, text: str, final: bool = False) -> None:
        if not (self.channel and self.ts) or (not final and time.monotonic() - self._last < 1.0):
            return
        self._last = time.monotonic()
        try:
            self._web_client().chat_update(channel=self.channel, ts=self.ts, text=text)
        except Exception as exc:  # noqa: BLE001 - a lost progress edit must not fail the job
            log.warning("could not update the Slack status of a job: %s", exc)


def slack_status(settings: SlackSettings, database_url: str) -> NotifierFactory:
    """Notifiers that edit the message each job was asked from (none for a job from the CLI)."""
    return lambda job: SlackStatus(settings, database_url, job.channel_id, job.message_ts, job.workspace_id)
