"""Building the Bolt app: one client, the middleware, and every listener module registered.

`build_app` is used by both entry points (HTTP and Socket Mode) and by the tests, which run the real
app against the local Slack emulator.
"""

from __future__ import annotations

import logging
import re

from bot import actions, answers, assistant, commands, home, resolved
from bot.access import ChannelAccess
from bot.channels import ChannelSettings
from bot.dedupe import event_key, make_deduper
from bot.job_status import slack_status
from bot.services import Services
from core.errors import CitebotError
from core.settings import Settings, SlackSettings
from core.slack_web import web_client
from jobs.runner import JobRunner
from ops.metrics import DUPLICATES
from ops.web import started_pool
from service.answers import AnswerService

log = logging.getLogger("citebot.slack")
LISTENER_THREADS = 64


BOT_SCOPES = ["app_mentions:read", "assistant:write", "channels:history", "channels:read", "chat:write", "commands",
              "groups:history", "groups:read", "im:history", "im:read", "reactions:read", "users:read"]


def _oauth_settings(settings: SlackSettings, engine):
    """Multi-workspace mode: installations and OAuth states live in the audit database (migration 0004)."""
    from slack_bolt.oauth.oauth_settings import OAuthSettings
    from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
    from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

    return OAuthSettings(
        client_id=settings.slack_client_id, client_secret=settings.slack_client_secret, scopes=BOT_SCOPES,
        installation_store=SQLAlchemyInstallationStore(client_id=settings.slack_client_id, engine=engine),
        state_store=SQLAlchemyOAuthStateStore(expiration_seconds=600, engine=engine),
        install_path="/slack/install", redirect_uri_path="/slack/oauth_redirect")


def build_app(settings: Settings, answerer: AnswerService | None = None, process_before_response: bool = False):
    """The Bolt app; signature verification stays on (Bolt checks the signature and 5-minute window)."""
    from slack_bolt import App, BoltResponse

    oauth = bool(settings.slack_client_id)
    if not settings.slack_signing_secret or not (settings.slack_bot_token or oauth):
        raise CitebotError("Set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN (one workspace) or SLACK_CLIENT_ID and "
                           "SLACK_CLIENT_SECRET (installable in many) from your Slack app's settings; see README "
                           "\"Slack app\".")
    answerer = answerer or AnswerService(settings)
    client = web_client(settings.slack_bot_token, settings.slack_api_url)
    # Lazy listeners wait for an answer slot; a roomy pool keeps the placeholder posts of queued
    # questions from waiting behind them (Bolt's default pool has cpu_count + 4 workers).
    app = App(signing_secret=settings.slack_signing_secret, client=client,
              process_before_response=process_before_response,
              oauth_settings=_oauth_settings(settings.slack, answerer.engine) if oauth else None,
              listener_executor=started_pool(LISTENER_THREADS, "citebot"))
    jobs = JobRunner(settings, answerer.engine, slack_status(settings.slack, settings.resolved_database_url))
    services = Services(settings=settings, answerer=answerer, access=ChannelAccess(),
                        deduper=make_deduper(settings.redis_url), jobs=jobs, channels=ChannelSettings(settings.storage))

    @app.middleware
    def drop_duplicates(body, next):  # noqa: A002 - Bolt passes `next` by that name
        """A retried event (same event_id) gets a 200 and is dropped: it was or is being answered."""
        key = event_key(body)
        if key is not None and not services.deduper.first_time(key):
            log.info("duplicate delivery of %s dropped", key, extra={"event_id": key})
            DUPLICATES.inc()
            return BoltResponse(status=200, body="")
        return next()

    covered = assistant.Coverage(services)  # what the index covers, read once for prompts and App Home
    assistant.register(app, services, covered)  # before the message listener: assistant threads are its own
    home.register(app, services, covered)
    answers.register(app, services)
    commands.register(app, services)
    actions.register(app, services)
    resolved.register(app, services)

    @app.event(re.compile(".*"))
    def ignore_other_events(ack):
        """Event types we do not handle still get a 200, so Slack does not retry them."""
        ack()
    app.citebot_services = services  # for tests and the health endpoint
    return app
