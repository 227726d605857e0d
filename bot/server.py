"""Entry points: HTTP (events, interactivity and slash commands at /slack/events, plus /healthz, /readyz
and /metrics) and
Socket Mode (no public URL; needs SLACK_APP_TOKEN). Both serve the same Bolt app.
"""

from __future__ import annotations

import json
import threading

from core.errors import CitebotError
from ops.wsgi_server import threaded_server


def wsgi_app(app):
    """Bolt's WSGI handler behind /healthz (alive), /readyz (dependencies reachable) and /metrics."""
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    from jobs.gauges import state_gauges
    from ops.health import readiness
    from ops.metrics import exposition, register_state

    bolt = SlackRequestHandler(app, path="/slack/events")
    services = app.citebot_services
    register_state(state_gauges(services.settings, services.answerer.engine))

    def reply(start_response, status: str, payload: dict) -> list[bytes]:
        body = json.dumps(payload).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    def handle(environ, start_response):
        path = environ.get("PATH_INFO")
        if path == "/healthz":
            return reply(start_response, "200 OK", {"ok": True})
        if path == "/readyz":
            ok, checks = readiness(services.settings, services.answerer.engine)
            return reply(start_response, "200 OK" if ok else "503 Service Unavailable", {"ok": ok, **checks})
        if path == "/metrics":
            body, content_type = exposition()
            start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
            return [body]
        try:
            return bolt(environ, start_response)
        except ValueError:  # a body Bolt cannot parse (broken JSON or form): the sender's fault, not ours
            return reply(start_response, "400 Bad Request", {"ok": False, "error": "malformed request body"})

    return handle


def make_http_server(app, host: str, port: int):
    """A threaded HTTP server (not yet serving); `server.serve_forever()` runs it."""
    return threaded_server(wsgi_app(app), host, port)


def serve_http_in_thread(app, host: str = "127.0.0.1", port: int = 0):
    server = make_http_server(app, host, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def connect_socket_mode(app, app_token: str | None):
    """Open the Socket Mode connection (apps.connections.open, then a WebSocket) and return the handler."""
    if not app_token or not app_token.startswith("xapp-"):
        raise CitebotError("Socket Mode needs SLACK_APP_TOKEN (an xapp- app-level token with connections:write); "
                           "or run `citebot serve --http --port 3000` behind a public URL.")
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    handler = SocketModeHandler(app, app_token)
    handler.connect()
    return handler


def serve_socket_mode(app, app_token: str | None) -> None:
    """Connect and block until interrupted (the connection re-opens itself when Slack rotates it)."""
    from threading import Event

    handler = connect_socket_mode(app, app_token)
    try:
        Event().wait()
    finally:
        handler.close()
