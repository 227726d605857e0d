"""A local OpenAI API over real HTTP that checks every request against OpenAI's published OpenAPI spec.

Used by the tests: the `openai` answer backend (chat completions, streamed or not) and the provider
fine-tuning path (files, fine-tuning jobs, their events, cancel) talk to it through the real `openai`
SDK and LlamaIndex clients. Every request is validated with openapi-core against OpenAI's `openapi.yaml`
(CITEBOT_OPENAI_SPEC): the path and verb exist, required fields are present, and types and enums match
(multipart uploads included). A request that breaks the spec is recorded in `problems` and answered 400,
so a test fails both ways. Two things in the file are adjusted when it is loaded, rather than loosening
the checks (see `_load_spec`).

Models behave as the test says: `reply(messages, model)` writes every completion, so a test can make the
fine-tuned model sound like the team and the base model generic. A fine-tuning job moves one state per
poll (validating_files → queued → running, one metrics event per poll → succeeded), so a client that
polls sees the same sequence of events it would see from OpenAI.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qsl, urlparse

from emulator.local_server import LocalServer

SPEC_ENV = "CITEBOT_OPENAI_SPEC"
SPEC_HOST = "https://api.openai.com"  # the spec's server; requests are validated as if sent there

Reply = Callable[[list[dict], str], str]


def spec_path() -> Path | None:
    value = os.environ.get(SPEC_ENV)
    return Path(value).expanduser() if value else None


def _drop_unmapped_discriminators(node) -> None:
    """A `discriminator` without a `mapping` makes openapi-core look the role value up as a schema name
    ("#/components/schemas/user"), which the spec does not define; `oneOf` alone still validates."""
    if isinstance(node, dict):
        if isinstance(node.get("discriminator"), dict) and "mapping" not in node["discriminator"]:
            del node["discriminator"]
        for value in node.values():
            _drop_unmapped_discriminators(value)
    elif isinstance(node, list):
        for value in node:
            _drop_unmapped_discriminators(value)


@lru_cache(maxsize=2)
def _load_spec(path: Path):
    """The spec as an openapi-core validator (loading the 3 MB file takes ~1.5 s, once per process).

    Adjustments: unmapped discriminators are dropped (above); the spec itself is not re-validated (one
    schema lists a required field twice); an upload's `format: binary` part is read as text, since
    openapi-core hands OpenAPI 3.1 `type: string` bytes otherwise (our uploads are JSONL)."""
    import yaml
    from openapi_core import Config, OpenAPI

    spec = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    _drop_unmapped_discriminators(spec)
    config = Config(spec_validator_cls=None, extra_media_type_deserializers={
        "application/octet-stream": lambda value, **_: value.decode("utf-8", "replace")})
    return OpenAPI.from_dict(spec, config=config)


@dataclass
class _Request:
    """What openapi-core's request protocol reads."""

    path: str
    method: str
    body: bytes
    content_type: str
    query: dict[str, str]
    headers: dict[str, str]
    host_url: str = SPEC_HOST

    @property
    def full_url_pattern(self) -> str:
        return self.host_url + self.path

    def __post_init__(self) -> None:
        from openapi_core.datatypes import RequestParameters
        from werkzeug.datastructures import Headers, ImmutableMultiDict

        # one object: openapi-core fills `path` in from the matched template before it checks it
        self.parameters = RequestParameters(query=ImmutableMultiDict(self.query), header=Headers(self.headers),
                                            cookie=ImmutableMultiDict(), path={})


def spec_problems(verb: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes,
                  content_type: str, spec: Path) -> list[str]:
    """Why OpenAI's spec would reject this request (empty: it is a valid request)."""
    request = _Request(path, verb.lower(), body, content_type or "application/json", query, headers)
    try:
        _load_spec(spec).validate_request(request)
    except Exception as exc:  # noqa: BLE001 - openapi-core raises one class per kind of problem
        causes = getattr(exc.__cause__, "schema_errors", None) or []
        detail = "; ".join(getattr(e, "message", str(e)) for e in causes) or str(exc.__cause__ or "")
        return [f"{verb} {path}: {type(exc).__name__}: {exc}" + (f" ({detail[:400]})" if detail else "")]
    return []


@dataclass
class FineTuneJob:
    id: str
    model: str
    training_file: str
    validation_file: str | None
    suffix: str | None
    epochs: int
    train_tokens: int
    status: str
    created_at: int = field(default_factory=lambda: int(time.time()))
    step: int = 0
    events: list[dict] = field(default_factory=list)  # oldest first
    fine_tuned_model: str | None = None
    finished_at: int | None = None
    error: dict | None = None

    def as_json(self) -> dict:
        trained = self.train_tokens * self.epochs if self.status == "succeeded" else None
        return {"object": "fine_tuning.job", "id": self.id, "model": self.model, "created_at": self.created_at,
                "finished_at": self.finished_at, "fine_tuned_model": self.fine_tuned_model,
                "organization_id": "org-standin", "result_files": [], "status": self.status,
                "validation_file": self.validation_file, "training_file": self.training_file,
                "hyperparameters": {"n_epochs": self.epochs, "batch_size": 1, "learning_rate_multiplier": 1.0},
                "trained_tokens": trained, "error": self.error, "seed": 42}


class OpenAIStandIn:
    """`with OpenAIStandIn(reply) as api:` serves at `api.base_url` until the block ends.

    `script` queues faults served first, one per request (int: that HTTP status; float: sleep that long
    first); `fail_job` makes the next fine-tuning job fail at the provider; `steps` is how many training
    steps (polls while running) a job takes.
    """

    def __init__(self, reply: Reply, spec: Path | None = None, steps: int = 3):
        self.reply, self.steps = reply, steps
        self.spec = spec or spec_path()
        if self.spec is None or not self.spec.exists():
            raise FileNotFoundError(f"OpenAI's OpenAPI spec is needed to validate requests: set {SPEC_ENV} to "
                                    f"openai-api-specs/openapi.yaml (now: {self.spec})")
        self.script: list[int | float] = []
        self.fail_job = False
        self.requests: list[dict] = []  # JSON bodies, in order (the answer backend's tests read them)
        self.calls: list[tuple[str, str]] = []  # (verb, path) of every request
        self.problems: list[str] = []
        self.files: dict[str, dict] = {}  # id → {"bytes", "filename", "purpose", "content"}
        self.jobs: dict[str, FineTuneJob] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: LocalServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.port}/v1"

    def _id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids):06d}"

    # -- the API ---------------------------------------------------------------------------------------

    def handle(self, verb: str, path: str, query: dict, body: bytes, content_type: str) -> tuple[int, dict | str]:
        """(status, JSON object or a ready Server-Sent Events stream) for one validated request."""
        parts = path.removeprefix("/v1/").split("/")
        if path == "/v1/chat/completions":
            return self._chat(json.loads(body))
        if parts[0] == "files":
            return self._files(verb, parts[1:], body, content_type)
        if parts[:2] == ["fine_tuning", "jobs"]:
            return self._jobs(verb, parts[2:], query, json.loads(body) if body else {})
        return 404, {"error": {"message": f"the stand-in does not play {verb} {path}", "type": "invalid_request_error"}}

    def _chat(self, body: dict) -> tuple[int, dict | str]:
        self.requests.append(body)
        text = self.reply(body["messages"], body["model"])
        if not body.get("stream"):
            return 200, {"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": body["model"],
                         "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                                      "message": {"role": "assistant", "content": text, "refusal": None}}],
                         "usage": _usage(body["messages"], text)}
        words = text.split(" ")
        chunks = [{"choices": [{"index": 0, "delta": {"content": word + (" " if i < len(words) - 1 else "")},
                                "finish_reason": None}]} for i, word in enumerate(words)]
        if (body.get("stream_options") or {}).get("include_usage"):  # what OpenAI sends last when asked
            chunks.append({"choices": [], "usage": _usage(body["messages"], text)})
        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": body["model"]}
        return 200, "".join(f"data: {json.dumps({**base, **c})}\n\n" for c in chunks) + "data: [DONE]\n\n"

    def _files(self, verb: str, rest: list[str], body: bytes, content_type: str) -> tuple[int, dict]:
        if verb == "POST" and not rest:
            form = multipart_form(body, content_type)
            content = form["file"].get_payload(decode=True)
            file_id = self._id("file")
            self.files[file_id] = {"bytes": len(content), "purpose": form["purpose"].get_content().strip(),
                                   "filename": form["file"].get_filename() or "upload", "content": content}
            return 200, self._file_json(file_id)
        if not rest or rest[0] not in self.files:
            return 404, {"error": {"message": "No such File object", "type": "invalid_request_error"}}
        if verb == "DELETE":
            del self.files[rest[0]]
            return 200, {"id": rest[0], "object": "file", "deleted": True}
        return 200, self._file_json(rest[0])

    def _file_json(self, file_id: str) -> dict:
        f = self.files[file_id]
        return {"id": file_id, "object": "file", "bytes": f["bytes"], "created_at": int(time.time()),
                "filename": f["filename"], "purpose": f["purpose"], "status": f.get("status", "processed")}

    def _jobs(self, verb: str, rest: list[str], query: dict, body: dict) -> tuple[int, dict]:
        if verb == "POST" and not rest:
            return self._create_job(body)
        job = self.jobs.get(rest[0]) if rest else None
        if job is None:
            return 404, {"error": {"message": "No such fine-tuning job", "type": "invalid_request_error"}}
        if rest[1:] == ["cancel"]:
            if job.status in ("succeeded", "failed", "cancelled"):
                return 400, {"error": {"message": f"Job has already {job.status}", "type": "invalid_request_error"}}
            job.status, job.finished_at = "cancelled", int(time.time())
            return 200, job.as_json()
        if rest[1:] == ["events"]:
            events = job.events[::-1]  # newest first, as OpenAI lists them
            if "after" in query:
                ids = [e["id"] for e in events]
                events = events[ids.index(query["after"]) + 1:] if query["after"] in ids else []
            limit = int(query.get("limit", 20))
            return 200, {"object": "list", "data": events[:limit], "has_more": len(events) > limit}
        self._advance(job)
        return 200, job.as_json()

    def _create_job(self, body: dict) -> tuple[int, dict]:
        training = self.files.get(body["training_file"])
        if training is None or training["purpose"] != "fine-tune":
            return 400, {"error": {"message": "training_file is not an uploaded fine-tune file",
                                   "type": "invalid_request_error", "param": "training_file"}}
        lines = [json.loads(line) for line in training["content"].decode().splitlines() if line.strip()]
        if not lines or any(not isinstance(row.get("messages"), list) for row in lines):
            return 400, {"error": {"message": "training_file: every line needs a messages list",
                                   "type": "invalid_request_error", "param": "training_file"}}
        method = (body.get("method") or {}).get("supervised", {}).get("hyperparameters", {})
        epochs = method.get("n_epochs") or (body.get("hyperparameters") or {}).get("n_epochs") or 3
        job = FineTuneJob(self._id("ftjob"), body["model"], body["training_file"], body.get("validation_file"),
                          body.get("suffix"), epochs if isinstance(epochs, int) else 3,
                          sum(_count(m["content"]) for row in lines for m in row["messages"]), self.QUEUE[0][0])
        self.jobs[job.id] = job
        self._event(job, "message", f"Created fine-tuning job: {job.id}")
        return 200, job.as_json()

    # the states a job passes before it runs: (state, next state, the event that says so)
    QUEUE = (("validating_files", "queued", "Validated training file"), ("queued", "running", "Fine-tuning job started"))

    def tuned_model_name(self, job: FineTuneJob) -> str:
        return f"ft:{job.model}:citebot:{job.suffix or 'tuned'}:{job.id[-6:]}"

    def check(self, verb: str, path: str, query: dict, headers: dict, body: bytes, content_type: str) -> list[str]:
        """Why the provider's published description rejects this request (empty: valid)."""
        return spec_problems(verb, path, query, headers, body, content_type, self.spec)

    def _advance(self, job: FineTuneJob) -> None:
        """One poll = one step of the job's life."""
        queued = {state: (following, message) for state, following, message in self.QUEUE}
        if job.status in queued:
            job.status, message = queued[job.status]
            self._event(job, "message", message)
        elif job.status == "running" and self.fail_job:
            self.fail_job = False
            job.status, job.finished_at = "failed", int(time.time())
            job.error = {"code": "server_error", "message": "The job failed due to an internal error.", "param": None}
            self._event(job, "message", "The job failed due to an internal error.", level="error")
        elif job.status == "running" and job.step < self.steps:
            job.step += 1
            loss = round(2.5 / (1 + job.step), 4)
            self._event(job, "metrics", f"Step {job.step}/{self.steps}: training loss={loss}",
                        data={"step": job.step, "total_steps": self.steps, "train_loss": loss,
                              "valid_loss": round(loss * 1.1, 4), "train_mean_token_accuracy": 0.5})
        elif job.status == "running":
            job.status, job.finished_at = "succeeded", int(time.time())
            job.fine_tuned_model = self.tuned_model_name(job)
            self._event(job, "message", f"New fine-tuned model created: {job.fine_tuned_model}")
            self._event(job, "message", "The job has successfully completed")

    def _event(self, job: FineTuneJob, kind: str, message: str, data: dict | None = None, level: str = "info") -> None:
        job.events.append({"object": "fine_tuning.job.event", "id": self._id("ftevent"), "created_at": int(time.time()),
                           "level": level, "message": message, "type": kind, "data": data or {}})

    # -- HTTP ------------------------------------------------------------------------------------------

    def __enter__(self) -> OpenAIStandIn:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                url = urlparse(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                content_type = self.headers.get("Content-Type", "")
                query = dict(parse_qsl(url.query))
                with api._lock:
                    api.calls.append((self.command, url.path))
                    fault = api.script.pop(0) if api.script else None
                if isinstance(fault, float):
                    time.sleep(fault)
                elif isinstance(fault, int):
                    self._send(fault, {"error": {"message": "scripted failure", "type": "server_error"}})
                    return
                problems = api.check(self.command, url.path, query, dict(self.headers), body, content_type)
                if problems:
                    api.problems.extend(problems)
                    self._send(400, {"error": {"message": problems[0], "type": "invalid_request_error"}})
                    return
                with api._lock:
                    status, payload = api.handle(self.command, url.path, query, body, content_type)
                self._send(status, payload)

            do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 (http.server naming)

            def _send(self, status: int, payload: dict | str) -> None:
                stream = isinstance(payload, str)
                data = (payload if stream else json.dumps(payload)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/event-stream" if stream else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self._server = LocalServer(Handler)
        return self

    def __exit__(self, *exc) -> None:
        self._server.stop()


def multipart_form(body: bytes, content_type: str) -> dict:
    """A multipart/form-data body's parts by name."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    return {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}


def _count(text: str) -> int:
    """The stand-in's token count: words."""
    return len(str(text).split())


def prompt_tokens(messages: list[dict]) -> int:
    return sum(_count(m["content"]) for m in messages)


def _usage(messages: list[dict], text: str) -> dict:
    prompt, completion = prompt_tokens(messages), _count(text)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
