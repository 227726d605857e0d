"""A local OpenAI-compatible server (real HTTP, Server-Sent Events) for the `openai` backend's tests.

`reply` is a function of the request's messages, so a test can answer from the numbered passages the
bot sent, like a real model would; `script` queues faults (HTTP status codes or delays) that are
served first, one per request.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def prompt_tokens(messages: list[dict]) -> int:
    """The fake's token count: words of all messages."""
    return sum(len(m["content"].split()) for m in messages)


class FakeOpenAI:
    def __init__(self, reply: Callable[[list[dict]], str]):
        self.reply = reply
        self.script: list[int | float] = []  # int: answer with that HTTP status; float: sleep that long first
        self.requests: list[dict] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAI:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append(body)
                fault = fake.script.pop(0) if fake.script else None
                if isinstance(fault, float):
                    time.sleep(fault)
                elif isinstance(fault, int):
                    self._json(fault, {"error": {"message": "scripted failure", "type": "server_error"}})
                    return
                if self.path != "/v1/chat/completions":
                    self._json(404, {"error": {"message": "unknown path"}})
                    return
                text = fake.reply(body["messages"])
                if body.get("stream"):
                    usage = (body.get("stream_options") or {}).get("include_usage")
                    self._stream(body["model"], text, prompt_tokens(body["messages"]) if usage else None)
                else:
                    self._json(200, {"id": "c1", "object": "chat.completion", "created": 0, "model": body["model"],
                                     "choices": [{"index": 0, "finish_reason": "stop",
                                                  "message": {"role": "assistant", "content": text}}]})

            def _json(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, model: str, text: str, prompt: int | None) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                words = text.split(" ")
                for i, word in enumerate(words):
                    piece = word + (" " if i < len(words) - 1 else "")
                    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                             "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                if prompt is not None:  # what OpenAI sends last when asked for usage
                    usage = {"prompt_tokens": prompt, "completion_tokens": len(words),
                             "total_tokens": prompt + len(words)}
                    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
                             "choices": [], "usage": usage}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
