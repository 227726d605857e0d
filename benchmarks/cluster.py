"""A scaled-out citebot on this machine, from real processes: a Chroma server (`chroma run`), N bot
replicas (`citebot serve --http`) and M queue workers (`citebot worker`), sharing the local PostgreSQL,
Redis and RabbitMQ; Slack is the local emulator, which also plays the load balancer (round robin).

Used by tests/test_scale_out.py and `python -m benchmarks.scale_out`. With `bots=1, workers=0,
shared=False` it is the laptop default instead: one bot, embedded Chroma, SQLite, no Redis or broker.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent
CHANNEL = "C0SCALE"
ADMIN = "U0ADMIN"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, what: str, proc: subprocess.Popen | None = None, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{what} exited with code {proc.returncode}")
            time.sleep(0.3)
    raise RuntimeError(f"{what} did not answer {url} within {timeout:.0f} s")


def bulk_corpus(folder: Path, docs: int, seed: int = 7) -> Path:
    """`docs` generated pages of about 3,000 characters: enough embedding work to kill a worker mid-job."""
    rng = random.Random(seed)
    words = [f"{a}{b}" for a in ("ker", "lum", "daz", "mir", "tob", "quen", "sav", "pol")
             for b in ("ab", "ent", "ilo", "usk", "ora", "een", "ith", "ux")]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(docs):
        body = "\n\n".join(" ".join(rng.choice(words) for _ in range(90)) + "." for _ in range(5))
        (folder / f"page{i:04d}.md").write_text(f"# Page {i}\n\n## Notes\n\n{body}\n")
    return folder


@dataclass
class Cluster:
    root: Path
    slack: object  # a running SlackEmulator
    sources: dict[str, Path]
    bots: int = 3
    workers: int = 2
    shared: bool = True  # False: the embedded default (one bot, no services)
    database_url: str | None = None
    redis_url: str = "redis://127.0.0.1:6379/0"
    broker_url: str = "amqp://guest:guest@127.0.0.1:5672//"
    extra_env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    bot_urls: list[str] = field(default_factory=list)
    _next_bot: itertools.cycle = field(init=False, repr=False)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "SLACK_", "OPENAI_"))}
        config = self.root / "citebot.toml"
        config.write_text("".join(f'[[sources]]\nname = "{name}"\ntype = "files"\npaths = ["{path}"]\n\n'
                                  for name, path in self.sources.items()))
        env.update({"CITEBOT_HOME": str(self.root / "home"), "CITEBOT_CONFIG": str(config),
                    "SLACK_BOT_TOKEN": "xoxb-scale", "SLACK_SIGNING_SECRET": self.slack.signing_secret,
                    "SLACK_API_URL": self.slack.api_url, "CITEBOT_SLACK_ADMINS": ADMIN,
                    "CITEBOT_LOG_FORMAT": "json"})
        if self.database_url:
            env["CITEBOT_DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        if self.shared:
            env.update({"CITEBOT_CHROMA_URL": self.chroma_url, "CITEBOT_REDIS_URL": self.redis_url,
                        "CITEBOT_BROKER_URL": self.broker_url, "CITEBOT_QUEUE": self.queue})
        return env

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "wb")  # noqa: SIM115 - kept open for the process's life
        proc = subprocess.Popen(args, env=self.env(), stdout=log, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def start(self) -> Cluster:
        self.root.mkdir(parents=True, exist_ok=True)
        self.queue = f"citebot-test-{secrets.token_hex(4)}"
        if self.shared:
            port = free_port()
            self.chroma_url = f"http://127.0.0.1:{port}"
            chroma = self._spawn("chroma", [str(BIN / "chroma"), "run", "--path", str(self.root / "chroma"),
                                            "--host", "127.0.0.1", "--port", str(port)])
            wait_http(f"{self.chroma_url}/api/v2/heartbeat", "chroma run", chroma, 60)
            subprocess.run([str(BIN / "citebot"), "db", "upgrade"], env=self.env(), check=True,
                           capture_output=True)  # the migration step of a deployment, before any replica
        for i in range(self.workers):
            self.start_worker(f"worker{i}")
        ports = [free_port() for _ in range(self.bots)]
        for i, port in enumerate(ports):
            self._spawn(f"bot{i}", [str(BIN / "citebot"), "serve", "--http", "--host", "127.0.0.1",
                                    "--port", str(port)])
        for i, port in enumerate(ports):
            wait_http(f"http://127.0.0.1:{port}/readyz", f"bot{i}", self.procs[f"bot{i}"])
            self.bot_urls.append(f"http://127.0.0.1:{port}")
        self._next_bot = itertools.cycle(self.bot_urls)
        return self

    def start_worker(self, name: str) -> subprocess.Popen:
        return self._spawn(name, [str(BIN / "citebot"), "worker"])

    def kill(self, pid: int) -> None:
        """SIGKILL, as an OOM kill or a lost node would: no chance to finish or hand the job back."""
        os.kill(pid, signal.SIGKILL)
        next(p for p in self.procs.values() if p.pid == pid).wait(timeout=30)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- traffic ------------------------------------------------------------------------------------
    def events_url(self) -> str:
        """The next replica, round robin: the load balancer's job."""
        return f"{next(self._next_bot)}/slack/events"

    def ask(self, question: str, retried: bool) -> tuple[str, float]:
        """Mention the bot once, and deliver the same event again to another replica if `retried`
        (Slack's retry after a missed 3 s ack); returns the message ts and when it was sent."""
        ts = self.slack._new_ts()
        event = {"type": "app_mention", "user": "U0ASKER", "text": f"<@U0CITEBOT> {question}", "ts": ts,
                 "channel": CHANNEL}
        event_id = f"Ev{secrets.token_hex(6)}"
        sent = time.monotonic()
        status, _ = self.slack.send_event(self.events_url(), event, event_id=event_id)
        assert status == 200, status
        if retried:
            status, _ = self.slack.send_event(self.events_url(), event, event_id=event_id, retry_num=1)
            assert status == 200, status
        return ts, sent

    def ask_many(self, questions: list[str], retry_share: float, concurrency: int = 8,
                 seed: int = 1) -> list[tuple[str, float, bool]]:
        rng = random.Random(seed)
        retried = [rng.random() < retry_share for _ in questions]
        with ThreadPoolExecutor(concurrency) as pool:
            sent = list(pool.map(lambda qr: self.ask(*qr), zip(questions, retried)))
        return [(ts, at, r) for (ts, at), r in zip(sent, retried)]

    def wait_answers(self, sent: list[tuple[str, float, bool]], timeout: float = 900) -> list[float]:
        """Seconds from each question to its final answer (streamed, or the progress message edited into it)."""
        from bot.answers import PROGRESS_TEXT

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            replies = [self.slack.replies_to(CHANNEL, ts) for ts, *_ in sent]
            if all(r and self.slack.answered(r[0]) and r[0]["text"] != PROGRESS_TEXT for r in replies):
                return [r[0]["updated"] - at for r, (_, at, _) in zip(replies, sent)]
            time.sleep(0.2)
        missing = sum(1 for ts, *_ in sent if not self.slack.replies_to(CHANNEL, ts))
        raise RuntimeError(f"answers did not arrive within {timeout:.0f} s ({missing} without any reply)")

    def metric(self, name: str) -> float:
        """A counter summed over every bot replica's /metrics."""
        total = 0.0
        for url in self.bot_urls:
            for line in urllib.request.urlopen(f"{url}/metrics", timeout=5).read().decode().splitlines():
                if line.startswith(name) and not line.startswith("#"):
                    total += float(line.rsplit(" ", 1)[1])
        return total

    def readiness(self) -> list[dict]:
        return [json.loads(urllib.request.urlopen(f"{u}/readyz", timeout=5).read()) for u in self.bot_urls]
