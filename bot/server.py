"""Entry points: HTTP (events, interactivity and slash commands at /slack/events, plus /healthz, /readyz
and /metrics; Starlette on uvicorn, see `ops.web`) and Socket Mode (no public URL; needs SLACK_APP_TOKEN).
Both serve the same Bolt app.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from contextlib import asynccontextmanager

from core.errors import CitebotError
from ops.web import GRACEFUL_S, serve, serve_in_thread, started_pool

log = logging.getLogger("citebot.server")
DISPATCH_THREADS = 32  # Bolt dispatches (verify, ack, hand over) at once; each takes about a millisecond


def http_app(app):
    """The Bolt app behind Starlette: /slack/events (and the OAuth install pages when configured), plus
    /healthz (alive), /readyz (dependencies reachable) and /metrics. Bolt's dispatch is synchronous, so
    it runs in a pool of threads started up front (`started_pool`), never on the event loop; on shutdown,
    answers still being written get up to GRACEFUL_S to finish and the audit spool is flushed."""
    from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from jobs.gauges import state_gauges
    from ops.health import readiness
    from ops.metrics import exposition, register_state

    dispatchers = started_pool(DISPATCH_THREADS, "dispatch")
    services = app.citebot_services
    register_state(state_gauges(services.settings, services.answerer.engine))
    oauth = app.oauth_flow

    async def slack(request):
        body = await request.body()
        try:
            bolt_request = to_bolt_request(request, body)
            if oauth is not None and request.url.path == oauth.install_path:
                response = await run_in_threadpool(oauth.handle_installation, bolt_request)
            elif oauth is not None and request.url.path == oauth.redirect_uri_path:
                response = await run_in_threadpool(oauth.handle_callback, bolt_request)
            else:
                response = await asyncio.get_running_loop().run_in_executor(dispatchers, app.dispatch, bolt_request)
        except ValueError:  # a body Bolt cannot parse (broken JSON, form or UTF-8): the sender's fault
            return JSONResponse({"ok": False, "error": "malformed request body"}, 400)
        return to_starlette_response(response)

    def ready(_request):
        ok, checks = readiness(services.settings, services.answerer.engine)
        return JSONResponse({"ok": ok, **checks}, 200 if ok else 503)

    def metrics(_request):
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    routes = [Route("/healthz", lambda _: JSONResponse({"ok": True})), Route("/readyz", ready),
              Route("/metrics", metrics), Route("/slack/events", slack, methods=["POST"])]
    if oauth is not None:
        routes += [Route(oauth.install_path, slack), Route(oauth.redirect_uri_path, slack)]

    @asynccontextmanager
    async def lifespan(_starlette):
        yield
        await run_in_threadpool(finish_in_flight, app)
        dispatchers.shutdown(wait=False)

    return Starlette(routes=routes, lifespan=lifespan)


def finish_in_flight(app, timeout: float = GRACEFUL_S) -> None:
    """Let listeners still answering finish (up to `timeout`), then write any spooled audit rows."""
    executor = app.listener_runner.listener_executor
    waiter = threading.Thread(target=executor.shutdown, kwargs={"wait": True}, daemon=True)
    waiter.start()
    waiter.join(timeout)
    if waiter.is_alive():
        log.warning("stopping with answers still in flight after %.0f s", timeout)
    answerer = app.citebot_services.answerer
    if answerer.spool.has_pending():
        log.info("flushed %d spooled audit rows", answerer.spool.replay(answerer.engine))


def make_http_server(app, host: str, port: int) -> None:
    """Serve the Slack app over HTTP until SIGTERM (ops.web: uvicorn, limits, graceful shutdown)."""
    serve(http_app(app), host, port)


def serve_http_in_thread(app, host: str = "127.0.0.1", port: int = 0):
    return serve_in_thread(http_app(app), host, port)


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
