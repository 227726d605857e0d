"""The HTTP server each stand-in (Slack, OpenAI) runs on: threaded, on a free port (of 127.0.0.1 unless
told otherwise), served from a daemon thread, so a test opens one per fixture and never clashes on a port."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalServer:
    def __init__(self, handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1"):
        self.server = ThreadingHTTPServer((host, 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
