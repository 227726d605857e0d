"""The web stack both HTTP entry points run on: Starlette apps served by uvicorn, with limits.

Why uvicorn (and not gunicorn's sync workers): the Slack endpoint must ack within 3 s while answers take
seconds of CPU; Bolt acks and hands the answer to its own thread pool, so a request is short, and what
hurts is many slow or idle clients. An event loop holds thousands of keep-alive connections without a
thread each (wsgiref needed a thread per connection), and scaling is by replicas behind the load balancer,
one process each, as the Kubernetes manifests run it. gunicorn would add a process manager on top of that
which the orchestrator already is.

Limits on every request: the body is read whole before the app sees it; larger than MAX_BODY_BYTES gets
413 (checked against Content-Length and again while reading), not arrived within BODY_TIMEOUT_S gets 408
(slow clients cannot hold a handler); a handler still running after HANDLER_TIMEOUT_S gets 504. Idle keep-alive connections
close after KEEP_ALIVE_S. On SIGTERM uvicorn stops accepting, lets in-flight requests finish for up to
GRACEFUL_S, then runs the app's shutdown hooks (the bot waits for answers in flight and flushes the
audit spool).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

MAX_BODY_BYTES = 1 << 20  # Slack's payloads are a few KB; the review page's login form is tiny
BODY_TIMEOUT_S = 10.0
HANDLER_TIMEOUT_S = 30.0
KEEP_ALIVE_S = 5
GRACEFUL_S = 30


def started_pool(size: int, name: str) -> ThreadPoolExecutor:
    """A thread pool whose threads are all started now, not on the first `size` requests of a burst.

    A thread started during a burst must get the GIL (held by an answer being written) before it runs,
    so each new one delayed an ack; Bolt's listeners hold their thread while a question waits for an
    answer slot, so without this every event of a burst started one (a burst of 50 mentions: dispatch
    3.5 ms each before, 0.8 ms after)."""
    pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=name)
    go = threading.Event()
    waiting = [pool.submit(go.wait) for _ in range(size)]  # none is idle yet, so each submit starts a thread
    go.set()
    for task in waiting:
        task.result()
    return pool


class _TooLarge(Exception):
    pass


class Limits:
    """ASGI middleware: body size, body arrival time and handler time (see the module docstring)."""

    def __init__(self, app, max_body: int = MAX_BODY_BYTES, body_timeout: float = BODY_TIMEOUT_S,
                 handler_timeout: float = HANDLER_TIMEOUT_S):
        self.app, self.max_body, self.body_timeout, self.handler_timeout = app, max_body, body_timeout, handler_timeout

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"0")
        if declared.isdigit() and int(declared) > self.max_body:
            await _plain(send, 413, "request body too large")
            return
        try:  # the whole body first (at most max_body bytes, within body_timeout), then the app
            body = await asyncio.wait_for(self._read_body(receive), self.body_timeout)
        except _TooLarge:
            await _plain(send, 413, "request body too large")
            return
        except asyncio.TimeoutError:
            await _plain(send, 408, "request body not received in time")
            return
        replayed = False

        async def buffered_receive():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body only a disconnect can come

        started = False

        async def tracking_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, buffered_receive, tracking_send), self.handler_timeout)
        except asyncio.TimeoutError:
            if not started:
                await _plain(send, 504, "the request took too long")

    async def _read_body(self, receive) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return b"".join(chunks)
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_body:
                raise _TooLarge()
            if not message.get("more_body", False):
                return b"".join(chunks)


async def _plain(send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def _server(app, sock: socket.socket, **limits):
    import uvicorn

    config = uvicorn.Config(Limits(app, **limits), timeout_keep_alive=KEEP_ALIVE_S, timeout_graceful_shutdown=GRACEFUL_S,
                            lifespan="on", log_level="warning", access_log=False, server_header=False)
    return uvicorn.Server(config)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def serve(app, host: str, port: int) -> None:
    """Serve until SIGTERM or Ctrl-C, then shut down gracefully (module docstring)."""
    sock = _bind(host, port)
    _server(app, sock).run(sockets=[sock])


@dataclass
class RunningServer:
    """A server on a background thread (tests, the emulator): `server_address`, `shutdown()`."""

    server_address: tuple
    _server: object
    _thread: threading.Thread

    def shutdown(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=GRACEFUL_S + 5)


def serve_in_thread(app, host: str = "127.0.0.1", port: int = 0, **limits) -> RunningServer:
    """Start serving on a daemon thread and return once it accepts connections; `limits` override the
    defaults (max_body, body_timeout, handler_timeout)."""
    sock = _bind(host, port)
    server = _server(app, sock, **limits)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        threading.Event().wait(0.01)
    return RunningServer(sock.getsockname(), server, thread)
