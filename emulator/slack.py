"""A local Slack Web API over real HTTP that checks every call against Slack's published OpenAPI spec.

Used by the tests and benchmarks, and by `citebot serve --emulator` to try the bot without Slack.
Code under test talks to it through the real slack_sdk client (`SLACK_API_URL` / `base_url`), so
pagination, rate limits and error handling are exercised end to end. Every request is validated
against Slack's published Web API spec (CITEBOT_SLACK_SPEC, see `emulator.spec`): the method
must exist, be called with a verb the spec declares (or POST, which Slack accepts for every method and
slack_sdk always uses), and send only declared parameters, with every
required one present and each of the declared type. A call that breaks the spec is recorded in
`violations` and answered `invalid_arguments`, so a test fails both ways.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlparse

from emulator.local_server import LocalServer
from emulator.slack_ai import AiAppSurface
from emulator.spec import SpecValidator, spec_path


@dataclass
class Fault:
    """Answer the `on_call`-th call of `method` from now on (1-based; any call when None) with an error."""

    method: str
    status: int = 200
    error: str = "internal_error"
    retry_after: int | None = None
    on_call: int | None = None
    times: int = 1
    calls_before: int = 0


@dataclass
class Call:
    method: str
    verb: str
    params: dict
    token: str = ""


@dataclass
class Channel:
    id: str
    name: str
    is_private: bool = False
    messages: list[dict] = field(default_factory=list)  # top-level messages and replies, any order


class SlackEmulator(AiAppSurface):
    """`with SlackEmulator() as slack:` → `slack.api_url` for slack_sdk's `base_url`."""

    BOT_USER = "U0CITEBOT"

    def __init__(self, team_domain: str = "acme", spec: Path | None = None, signing_secret: str = "s3cret",
                 require_spec: bool = True, bind: str = "127.0.0.1", public_host: str = "127.0.0.1"):
        """`bind`/`public_host`: where it listens and the host name its URLs give the app (a bot in a
        container reaches this machine as `host.containers.internal`, so it listens on every interface)."""
        self.bind, self.public_host = bind, public_host
        self.validator = SpecValidator(spec or spec_path(), required=require_spec)
        self.team_domain = team_domain
        self.signing_secret = signing_secret
        self.members: dict[str, list[str]] = {}
        self.posted: list[dict] = []  # every chat.postMessage / postEphemeral, updated in place by chat.update
        self._ts = itertools.count(1)
        self._ws_server = None
        self._sockets: list = []
        self.socket_acks: dict[str, dict] = {}
        self.channels: dict[str, Channel] = {}
        self.calls: list[Call] = []
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server: LocalServer | None = None
        self._ai_init()

    # --- workspace content -------------------------------------------------------------------
    def add_channel(self, channel_id: str, name: str, is_private: bool = False) -> Channel:
        self.channels[channel_id] = Channel(channel_id, name, is_private)
        return self.channels[channel_id]

    def add_thread(self, channel_id: str, ts: str, user: str, text: str,
                   replies: list[tuple[str, str, str]] = (), **extra) -> None:
        """A message and its replies, given as (ts, user, text)."""
        channel = self.channels[channel_id]
        root = {"type": "message", "ts": ts, "user": user, "text": text, **extra}
        if replies:
            root.update(thread_ts=ts, reply_count=len(replies), latest_reply=replies[-1][0])
        channel.messages.append(root)
        for reply_ts, reply_user, reply_text in replies:
            channel.messages.append({"type": "message", "ts": reply_ts, "user": reply_user,
                                     "text": reply_text, "thread_ts": ts, "parent_user_id": user})

    def fail(self, method: str, **kwargs) -> None:
        with self._lock:
            self.faults.append(Fault(method, calls_before=self._counts.get(method, 0), **kwargs))

    def count(self, method: str) -> int:
        return sum(1 for c in self.calls if c.method == method)

    # --- HTTP plumbing ---------------------------------------------------------------------
    def __enter__(self) -> SlackEmulator:
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server naming)
                emulator._handle(self, "GET")

            def do_POST(self):  # noqa: N802
                emulator._handle(self, "POST")

            def log_message(self, *args):
                pass

        self._server = LocalServer(Handler, self.bind)
        return self

    def __exit__(self, *exc) -> None:
        self._server.stop()
        if self._ws_server is not None:
            self._ws_server.shutdown()

    @property
    def api_url(self) -> str:
        return f"http://{self.public_host}:{self._server.port}/api/"

    def _read_params(self, request: BaseHTTPRequestHandler) -> tuple[dict, bool]:
        parsed = urlparse(request.path)
        params = dict(parse_qsl(parsed.query, keep_blank_values=True))
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        content_type = request.headers.get("Content-Type", "")
        if body and "application/json" in content_type:
            params.update(json.loads(body))
            return params, True
        if body:
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        return params, False

    def _handle(self, request: BaseHTTPRequestHandler, verb: str) -> None:
        method = urlparse(request.path).path.removeprefix("/api/")
        params, json_body = self._read_params(request)
        auth = request.headers.get("Authorization", "")
        with self._lock:
            self.calls.append(Call(method, verb, params, auth.removeprefix("Bearer ")))
            self._counts[method] = self._counts.get(method, 0) + 1
            number = self._counts[method]
            token = auth.removeprefix("Bearer ") or params.get("token", "")
            problems = self.validator.problems(method, verb, params, bool(auth.startswith("Bearer ")), json_body)
            if method == "oauth.v2.access":  # app credentials go in HTTP Basic auth, no token
                if not problems and not auth.startswith("Basic "):
                    problems = [f"{method}: client credentials missing"]
            else:
                wanted = "xapp-" if method == "apps.connections.open" else "xox"
                if not problems and not str(token).startswith(wanted):
                    problems = [f"{method}: needs a {wanted} token"]
            self.violations.extend(problems)
            fault = self._take_fault(method, number)
        if problems:
            return self._send(request, 200, {"ok": False, "error": "invalid_arguments", "detail": problems})
        if fault:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            error = "ratelimited" if fault.status == 429 else fault.error
            return self._send(request, fault.status, {"ok": False, "error": error}, headers)
        handler = getattr(self, "api_" + method.replace(".", "_"), None)
        if handler is None:
            return self._send(request, 200, {"ok": False, "error": "unknown_method"})
        with self._lock:
            self._send(request, 200, handler(params))

    def _take_fault(self, method: str, number: int) -> Fault | None:
        for fault in self.faults:
            if fault.method == method and fault.times > 0 and fault.on_call in (None, number - fault.calls_before):
                fault.times -= 1
                return fault
        return None

    @staticmethod
    def _send(request, status: int, payload: dict, headers: dict | None = None) -> None:
        body = json.dumps(payload).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json; charset=utf-8")
        request.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            request.send_header(key, value)
        request.end_headers()
        request.wfile.write(body)

    # --- Web API methods ------------------------------------------------------------------------
    @staticmethod
    def _page(items: list, params: dict, key: str) -> dict:
        start = int(base64.b64decode(params["cursor"]).decode()) if params.get("cursor") else 0
        limit = int(params.get("limit") or 100)
        page = items[start:start + limit]
        more = start + limit < len(items)
        cursor = base64.b64encode(str(start + limit).encode()).decode() if more else ""
        return {"ok": True, key: page, "has_more": more, "response_metadata": {"next_cursor": cursor}}

    def _channel(self, params: dict) -> Channel | None:
        return self.channels.get(params.get("channel", ""))

    def api_oauth_v2_access(self, params: dict) -> dict:
        """Any code is good: it installs the app into workspace T0SECOND with its own bot token."""
        return {"ok": True, "access_token": "xoxb-second-workspace", "token_type": "bot", "scope": "chat:write",
                "bot_user_id": "U0SECONDBOT", "app_id": "A0CITEBOT", "team": {"id": "T0SECOND", "name": "Second"},
                "enterprise": None, "is_enterprise_install": False, "authed_user": {"id": "UINSTALLER"}}

    def api_auth_test(self, params: dict) -> dict:
        return {"ok": True, "url": f"https://{self.team_domain}.slack.com/", "team": self.team_domain,
                "user": "citebot", "team_id": "T0EMULATE", "user_id": self.BOT_USER, "bot_id": "B0CITEBOT"}

    def api_conversations_info(self, params: dict) -> dict:
        channel = self._channel(params)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return {"ok": True, "channel": {"id": channel.id, "name": channel.name, "is_private": channel.is_private,
                                        "is_channel": not channel.is_private, "is_member": True}}

    def api_conversations_history(self, params: dict) -> dict:
        channel = self._channel(params)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        top = [m for m in channel.messages if m.get("thread_ts", m["ts"]) == m["ts"]]
        return self._page(sorted(top, key=lambda m: float(m["ts"]), reverse=True), params, "messages")

    def api_conversations_replies(self, params: dict) -> dict:
        channel = self._channel(params)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        ts = params.get("ts")
        thread = [m for m in channel.messages if m["ts"] == ts or m.get("thread_ts") == ts]
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        return self._page(sorted(thread, key=lambda m: float(m["ts"])), params, "messages")

    def api_chat_getPermalink(self, params: dict) -> dict:  # noqa: N802 (Slack's method name)
        channel = self._channel(params)
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        ts = params["message_ts"].replace(".", "")
        return {"ok": True, "channel": channel.id,
                "permalink": f"https://{self.team_domain}.slack.com/archives/{channel.id}/p{ts}"}

    def api_conversations_members(self, params: dict) -> dict:
        if self._channel(params) is None:
            return {"ok": False, "error": "channel_not_found"}
        return self._page(self.members.get(params["channel"], []), params, "members")

    def _new_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    @staticmethod
    def _blocks(params: dict):
        blocks = params.get("blocks")
        return json.loads(blocks) if isinstance(blocks, str) else blocks

    def api_chat_postMessage(self, params: dict) -> dict:  # noqa: N802
        if not params.get("text") and not params.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = self._new_ts()
        message = {"type": "message", "ts": ts, "user": self.BOT_USER, "bot_id": "B0CITEBOT",
                   "text": params.get("text", ""), "blocks": self._blocks(params),
                   "channel": params["channel"], "thread_ts": params.get("thread_ts"), "kind": "message",
                   "at": time.monotonic()}
        self.posted.append(message)
        channel = self.channels.get(params["channel"])
        if channel is not None:
            channel.messages.append({k: v for k, v in message.items() if v is not None and k not in ("kind", "at")})
        return {"ok": True, "channel": params["channel"], "ts": ts,
                "message": {"type": "message", "text": message["text"], "ts": ts, "user": self.BOT_USER}}

    def api_chat_postEphemeral(self, params: dict) -> dict:  # noqa: N802
        self.posted.append({"kind": "ephemeral", "channel": params["channel"], "user": params["user"],
                            "text": params.get("text", ""), "blocks": self._blocks(params),
                            "thread_ts": params.get("thread_ts"), "at": time.monotonic()})
        return {"ok": True, "message_ts": self._new_ts()}

    def api_chat_update(self, params: dict) -> dict:  # noqa: N802
        for message in self.posted:
            if message.get("ts") == params["ts"] and message["channel"] == params["channel"]:
                message.setdefault("first_text", message["text"])  # what people saw before the edits
                message.update(text=params.get("text", ""), blocks=self._blocks(params), updated=time.monotonic())
                message["edits"] = message.get("edits", 0) + 1
                return {"ok": True, "channel": params["channel"], "ts": params["ts"], "text": message["text"],
                        "message": {"text": message["text"]}}
        return {"ok": False, "error": "message_not_found"}

    @staticmethod
    def answered(message: dict) -> bool:
        """Whether a reply holds its final text: a progress message edited, or a stream stopped or replaced."""
        return bool(message.get("edits")) or message.get("streamed") == "stopped"

    def replies_to(self, channel: str, thread_ts: str) -> list[dict]:
        return [m for m in self.posted if m.get("channel") == channel and m.get("thread_ts") == thread_ts]

    # --- requests to the app (signed like Slack signs them) -------------------------------------
    def _deliver(self, url: str, body: bytes, content_type: str, headers: dict | None = None,
                 sign: bool = True, timestamp: int | None = None) -> tuple[int, bytes]:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        request_headers = {"Content-Type": content_type, **(headers or {})}
        if sign:
            base = b"v0:" + stamp.encode() + b":" + body
            digest = hmac.new(self.signing_secret.encode(), base, hashlib.sha256).hexdigest()
            request_headers.update({"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": f"v0={digest}"})
        request = urllib.request.Request(url, data=body, headers=request_headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def send_event(self, url: str, event: dict, event_id: str | None = None, retry_num: int | None = None,
                   team: str = "T0EMULATE", **kwargs) -> tuple[int, bytes]:
        envelope = {"token": "legacy", "team_id": team, "api_app_id": "A0CITEBOT", "type": "event_callback",
                    "event": {"event_ts": event.get("ts", self._new_ts()), **event},
                    "event_id": event_id or f"Ev{next(self._ts):08d}", "event_time": int(time.time()),
                    "authorizations": [{"team_id": team, "user_id": self.BOT_USER, "is_bot": True}]}
        headers = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else {}
        return self._deliver(url, json.dumps(envelope).encode(), "application/json", headers, **kwargs)

    def send_command(self, url: str, command: str, text: str, user: str, channel: str, **kwargs):
        form = {"command": command, "text": text, "user_id": user, "channel_id": channel, "team_id": "T0EMULATE",
                "response_url": f"{self.api_url}response", "trigger_id": f"trig{next(self._ts)}"}
        return self._deliver(url, urlencode(form).encode(), "application/x-www-form-urlencoded", **kwargs)

    def send_action(self, url: str, action: dict, user: str, channel: str, message_ts: str,
                    thread_ts: str | None = None, **kwargs):
        payload = {"type": "block_actions", "team": {"id": "T0EMULATE"}, "user": {"id": user},
                   "api_app_id": "A0CITEBOT", "trigger_id": f"trig{next(self._ts)}",
                   "container": {"type": "message", "channel_id": channel, "message_ts": message_ts,
                                 "thread_ts": thread_ts}, "channel": {"id": channel}, "actions": [action]}
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self._deliver(url, body, "application/x-www-form-urlencoded", **kwargs)

    # --- Socket Mode: apps.connections.open hands out a WebSocket URL that this emulator serves ----------
    def api_apps_connections_open(self, params: dict) -> dict:
        if self._ws_server is None:
            from websockets.sync.server import serve

            self._ws_server = serve(self._socket_session, "127.0.0.1", 0)
            threading.Thread(target=self._ws_server.serve_forever, daemon=True).start()
        port = self._ws_server.socket.getsockname()[1]
        return {"ok": True, "url": f"ws://127.0.0.1:{port}/link/?ticket=emulated"}

    def _socket_session(self, websocket) -> None:
        websocket.send(json.dumps({"type": "hello", "num_connections": 1,
                                   "connection_info": {"app_id": "A0CITEBOT"}}))
        self._sockets.append(websocket)
        for raw in websocket:  # the app acknowledges each envelope by its id
            ack = json.loads(raw)
            self.socket_acks[ack.get("envelope_id", "")] = {**ack, "at": time.monotonic()}

    def socket_connected(self) -> bool:
        return bool(self._sockets)

    def send_over_socket(self, kind: str, payload: dict) -> str:
        """Deliver an `events_api` / `slash_commands` / `interactive` envelope; returns its id."""
        envelope_id = f"env-{next(self._ts)}"
        message = {"envelope_id": envelope_id, "type": kind, "payload": payload,
                   "accepts_response_payload": kind != "events_api", "retry_attempt": 0, "retry_reason": ""}
        self._sockets[-1].send(json.dumps(message))
        return envelope_id

    def socket_event(self, event: dict) -> str:
        return self.send_over_socket("events_api", {
            "token": "legacy", "team_id": "T0EMULATE", "api_app_id": "A0CITEBOT", "type": "event_callback",
            "event": {"event_ts": event.get("ts", ""), **event}, "event_id": f"Ev{next(self._ts):08d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0EMULATE", "user_id": self.BOT_USER, "is_bot": True}]})
