"""The threaded WSGI server both web entry points run on: the Slack app and the audit review page."""

from __future__ import annotations

from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    request_queue_size = 256  # the default backlog of 5 resets connections when Slack sends a burst


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args) -> None:  # the apps log what matters
        pass


def threaded_server(wsgi, host: str, port: int):
    """A threaded HTTP server for a WSGI app (not yet serving); `server.serve_forever()` runs it."""
    return make_server(host, port, wsgi, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler)
