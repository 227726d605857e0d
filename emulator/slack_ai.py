"""The emulator's AI-app surface: App Home views, assistant threads and streamed messages.

Mixed into `SlackEmulator`. The Web API methods here are checked like every other call: views.publish
against Slack's 2019 spec, the newer assistant.threads.* and chat.*Stream against the argument types of
Slack's Node SDK (`emulator/slack_method_args.json`). Events are sent shaped as Slack documents them.
"""

from __future__ import annotations

import json
import time

# Streaming chunk types and the fields each requires, from the Node SDK's types (@slack/types chunk.ts).
_CHUNK_FIELDS = {"markdown_text": ("text",), "task_update": ("id", "title", "status"), "plan_update": ("title",),
                 "blocks": ("blocks",)}
_TASK_STATUSES = {"pending", "in_progress", "complete", "error"}


class AiAppSurface:
    """State: `views` (user → the Home view published for them), `assistant_calls` ([(method, params)]),
    and streamed messages in `posted` with `streamed` set, every text append kept in `chunks` and every
    task update as (id, status) in `tasks`."""

    def _ai_init(self) -> None:
        self.views: dict[str, dict] = {}
        self.assistant_calls: list[tuple[str, dict]] = []

    # --- Web API ------------------------------------------------------------------------------
    def api_views_publish(self, params: dict) -> dict:
        view = json.loads(params["view"]) if isinstance(params["view"], str) else params["view"]
        if view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        self.views[params["user_id"]] = view
        return {"ok": True, "view": {"id": f"V{len(self.views):08d}", **view}}

    def _assistant(self, method: str, params: dict) -> dict:
        self.assistant_calls.append((method, params))
        return {"ok": True}

    def api_assistant_threads_setStatus(self, params: dict) -> dict:  # noqa: N802 (Slack's method names)
        return self._assistant("setStatus", params)

    def api_assistant_threads_setSuggestedPrompts(self, params: dict) -> dict:  # noqa: N802
        return self._assistant("setSuggestedPrompts", params)

    def api_assistant_threads_setTitle(self, params: dict) -> dict:  # noqa: N802
        return self._assistant("setTitle", params)

    def _chunks(self, params: dict) -> list[dict]:
        """A stream call's chunks, each checked against the chunk types Slack documents (a wrong one is a
        violation, like any argument the spec refuses)."""
        chunks = params.get("chunks") or []
        chunks = json.loads(chunks) if isinstance(chunks, str) else chunks
        for chunk in chunks:
            kind = chunk.get("type")
            if kind not in _CHUNK_FIELDS:
                self.violations.append(f"stream chunk of unknown type {kind!r}")
            elif missing := [f for f in _CHUNK_FIELDS[kind] if not chunk.get(f)]:
                self.violations.append(f"{kind} chunk without {', '.join(missing)}")
            elif kind == "task_update" and chunk["status"] not in _TASK_STATUSES:
                self.violations.append(f"task_update chunk with status {chunk['status']!r}")
        return chunks

    def _streamed(self, message: dict, params: dict) -> str:
        """Record a stream call's task updates on `message`; the text it adds: `markdown_text`, then its
        markdown_text chunks."""
        chunks = self._chunks(params)
        message.setdefault("tasks", []).extend((c["id"], c["status"]) for c in chunks if c.get("type") == "task_update")
        return (params.get("markdown_text") or "") + "".join(c.get("text", "") for c in chunks
                                                             if c.get("type") == "markdown_text")

    def api_chat_startStream(self, params: dict) -> dict:  # noqa: N802
        ts = self._new_ts()
        message = {"type": "message", "ts": ts, "user": self.BOT_USER, "bot_id": "B0CITEBOT", "text": "",
                   "blocks": None, "channel": params["channel"], "thread_ts": params["thread_ts"], "kind": "message",
                   "at": time.monotonic(), "streamed": "open", "chunks": []}
        if text := self._streamed(message, params):
            message.update(text=text, chunks=[text])
        self.posted.append(message)
        return {"ok": True, "channel": params["channel"], "ts": ts}

    def _stream(self, params: dict) -> dict | None:
        return next((m for m in self.posted if m.get("ts") == params["ts"] and m.get("streamed") == "open"), None)

    def api_chat_appendStream(self, params: dict) -> dict:  # noqa: N802
        message = self._stream(params)
        if message is None:
            return {"ok": False, "error": "message_not_in_streaming_state"}
        if text := self._streamed(message, params):
            message["chunks"].append(text)
            message["text"] += text
        return {"ok": True, "channel": params["channel"], "ts": params["ts"]}

    def api_chat_stopStream(self, params: dict) -> dict:  # noqa: N802
        message = self._stream(params)
        if message is None:
            return {"ok": False, "error": "message_not_in_streaming_state"}
        if last := self._streamed(message, params):
            message["chunks"].append(last)
            message["text"] += last
        message.update(streamed="stopped", blocks=self._blocks(params), updated=time.monotonic())
        return {"ok": True, "channel": params["channel"], "ts": params["ts"],
                "message": {"text": message["text"], "ts": params["ts"]}}

    # --- events -------------------------------------------------------------------------------
    def open_app_home(self, url: str, user: str, **kwargs):
        return self.send_event(url, {"type": "app_home_opened", "user": user, "channel": f"D0{user}", "tab": "home"},
                               **kwargs)

    def _dm(self, user: str) -> str:
        channel = f"D0{user}"
        if channel not in self.channels:
            self.add_channel(channel, f"dm-{user}")
        return channel

    def start_assistant_thread(self, url: str, user: str, thread_ts: str, **kwargs):
        """The user opened the assistant split view: a new DM thread with the bot."""
        self._dm(user)
        thread = {"user_id": user, "channel_id": f"D0{user}", "thread_ts": thread_ts, "context": {}}
        return self.send_event(url, {"type": "assistant_thread_started", "assistant_thread": thread}, **kwargs)

    def assistant_message(self, url: str, user: str, thread_ts: str, text: str, **kwargs):
        """The user's message in an assistant thread (a threaded DM)."""
        event = {"type": "message", "channel_type": "im", "channel": self._dm(user), "user": user, "text": text,
                 "ts": self._new_ts(), "thread_ts": thread_ts}
        return self.send_event(url, event, **kwargs)
