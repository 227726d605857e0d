"""`citebot serve`: run the Slack app over Socket Mode (default) or HTTP."""

from __future__ import annotations

import logging

import typer

from cli.output import err_console


def serve(
    http: bool = typer.Option(False, "--http", help="Serve HTTP at /slack/events (+ /healthz) instead of "
                                                   "Socket Mode."),
    host: str = typer.Option("0.0.0.0", "--host", help="HTTP interface to listen on."),
    port: int = typer.Option(3000, "--port", help="HTTP port."),
    emulator: bool = typer.Option(False, "--emulator", help="Try the bot without Slack: a local emulated "
                                                           "workspace; type questions in the terminal (Web API "
                                                           "calls are checked against Slack's spec when "
                                                           "CITEBOT_SLACK_SPEC names its file)."),
) -> None:
    """Run the Slack bot: answers mentions, DMs and thread follow-ups; /ask, /reindex, /citebot.

    Socket Mode needs SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET and SLACK_APP_TOKEN. HTTP mode needs the
    first two and a public URL pointing at /slack/events for events, interactivity and commands.
    With SLACK_CLIENT_ID/SLACK_CLIENT_SECRET instead of a bot token, HTTP mode also serves the
    multi-workspace install flow at /slack/install. `--emulator` needs no Slack settings at all.
    """
    from bot.app import build_app
    from bot.server import make_http_server, serve_socket_mode
    from core.settings import get_settings
    from ops.logs import configure_logging

    settings = get_settings()
    configure_logging(settings.log_format, logging.WARNING if emulator else logging.INFO)
    if emulator:
        from emulator.try_locally import run

        run(settings)
        return
    app = build_app(settings, process_before_response=settings.slack_process_before_response)
    app.citebot_services.answerer.warm_up()
    app.citebot_services.jobs.warm_up()
    if settings.retention_days:
        from audit.retention import RetentionJob

        RetentionJob(app.citebot_services.answerer.engine, settings.retention_days, settings.retention_mode).start()
    if http:
        err_console.print(f"citebot: serving Slack events on http://{host}:{port}/slack/events "
                          f"(health: /healthz; SIGTERM finishes answers in flight)", highlight=False)
        make_http_server(app, host, port)
    else:
        err_console.print("citebot: connecting to Slack over Socket Mode…", highlight=False)
        serve_socket_mode(app, settings.slack_app_token)
