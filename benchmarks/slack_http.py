"""The Slack app in HTTP mode under load, through the local Slack emulator (no Slack needed).

    .venv/bin/python -m benchmarks.slack_http [--events 50] [--retried 100] [--slow-clients 300]

The bot runs as its own process (`citebot serve --http`), as in production; the emulator and the
load generator share this one. Reports ack latency (p50/p99) for N concurrent mentions while S slow
clients hold connections open (each trickling a request's headers, a byte every second), time to the
first visible progress message, time to the final answer (p50, under that load and for a single
question), time to the first streamed text of an answer in an assistant thread, duplicate replies
when every one of M events is delivered twice (the second time as Slack's retry), the bot process's
peak memory, and a graceful stop under load: N questions acked, SIGTERM at once, then how many were
answered and audited before the process exited.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from core.settings import Settings
from demo import DEMO_QUESTIONS, HANDBOOK_DIR
from emulator.slack import SlackEmulator
from indexing.metrics import percentile
from indexing.pipeline import index_paths

QUESTIONS = [*DEMO_QUESTIONS[:2], "How long are database backups kept?", "Who writes the status page updates?",
             "How do I get VPN access?", "When is the deploy freeze?"]


def mention(slack, url, question, event_id=None, retry=None):
    ts = slack._new_ts()
    event = {"type": "app_mention", "user": "UBENCH", "text": f"<@U0CITEBOT> {question}", "ts": ts,
             "channel": "C0BENCH"}
    started = time.monotonic()
    status, _ = slack.send_event(url, event, event_id=event_id)
    ack_ms = (time.monotonic() - started) * 1000
    if retry:
        slack.send_event(url, event, event_id=event_id, retry_num=1)
    return ts, started, ack_ms, status


def wait_answers(slack, sent, timeout=900):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replies = [slack.replies_to("C0BENCH", ts) for ts, *_ in sent]
        if all(r and slack.answered(r[0]) for r in replies):
            return replies
        time.sleep(0.1)
    raise SystemExit("answers did not arrive in time")


def start_bot(slack, home: Path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "CITEBOT_HOME": str(home), "SLACK_BOT_TOKEN": "xoxb-bench",
           "SLACK_SIGNING_SECRET": slack.signing_secret, "SLACK_API_URL": slack.api_url}
    citebot = str(Path(sys.executable).parent / "citebot")
    bot = subprocess.Popen([citebot, "serve", "--http", "--host", "127.0.0.1", "--port", str(port)], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return bot, f"http://127.0.0.1:{port}/slack/events"
        except OSError:
            time.sleep(0.1)
    bot.kill()
    raise SystemExit("citebot serve did not start")


def hold_slow_clients(url: str, count: int, stop: threading.Event) -> list[socket.socket]:
    """`count` connections that send a request's headers one byte a second, as a slow or hostile client."""
    host, port = url.split("//")[1].split("/")[0].split(":")
    sockets = [socket.create_connection((host, int(port)), timeout=5) for _ in range(count)]
    header = b"POST /slack/events HTTP/1.1\r\nHost: bench\r\nX-Slow: " + b"x" * 600

    def trickle():
        for i in range(len(header)):
            if stop.is_set():
                return
            for sock in sockets:
                try:
                    sock.send(header[i:i + 1])
                except OSError:
                    pass
            stop.wait(1.0)

    threading.Thread(target=trickle, daemon=True).start()
    return sockets


def first_streamed_text(slack, url) -> float:
    """Seconds from a question in an assistant thread to the first streamed text of its answer."""
    thread = slack._new_ts()
    slack.start_assistant_thread(url, "UBENCH", thread)
    time.sleep(1.0)  # the greeting and prompts are not what is timed
    started = time.monotonic()
    slack.assistant_message(url, "UBENCH", thread, QUESTIONS[0])
    while time.monotonic() - started < 60:
        streamed = [m for m in slack.replies_to("D0UBENCH", thread) if m.get("streamed") and m.get("chunks")]
        if streamed:
            return streamed[0]["at"] - started
        time.sleep(0.01)
    raise SystemExit("no streamed answer")


def graceful_stop(slack, url, bot, home: Path, count: int) -> dict:
    """`count` questions acked, then SIGTERM: every one must be answered and audited before exit."""
    from sqlalchemy import create_engine, func, select

    from core.models import Answer

    with ThreadPoolExecutor(count) as pool:
        sent = list(pool.map(lambda i: mention(slack, url, f"{QUESTIONS[i % len(QUESTIONS)]} (stop {i})"),
                             range(count)))
    acked = [s for s in sent if s[3] == 200]
    bot.send_signal(signal.SIGTERM)
    started = time.monotonic()
    code = bot.wait(timeout=120)
    answered = sum(1 for ts, *_ in acked if any(slack.answered(m) for m in slack.replies_to("C0BENCH", ts)))
    engine = create_engine(f"sqlite:///{home / 'audit.db'}")
    with engine.connect() as conn:
        audited = conn.scalar(select(func.count(Answer.id)).where(Answer.question.like("% (stop %)")))
    return {"acked": len(acked), "answered": answered, "audited": audited, "exit_code": code,
            "stop_seconds": round(time.monotonic() - started, 1)}


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--retried", type=int, default=100)
    parser.add_argument("--slow-clients", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, SlackEmulator() as slack:
        slack.add_channel("C0BENCH", "bench")
        index_paths([HANDBOOK_DIR], Settings(home=Path(tmp)))
        bot, url = start_bot(slack, Path(tmp))
        single = mention(slack, url, QUESTIONS[0])
        reply = wait_answers(slack, [single])[0][0]
        single_answer = reply["updated"] - single[1]

        stop_trickle = threading.Event()
        slow = hold_slow_clients(url, args.slow_clients, stop_trickle)
        time.sleep(2)
        with ThreadPoolExecutor(args.events) as pool:
            sent = list(pool.map(lambda i: mention(slack, url, QUESTIONS[i % len(QUESTIONS)]), range(args.events)))
        replies = wait_answers(slack, sent)
        stop_trickle.set()
        for sock in slow:
            sock.close()
        acks = [s[2] for s in sent]
        progress = [r[0]["at"] - s[1] for r, s in zip(replies, sent)]
        final = [r[0]["updated"] - s[1] for r, s in zip(replies, sent)]

        with ThreadPoolExecutor(8) as pool:
            retried = list(pool.map(lambda i: mention(slack, url, QUESTIONS[i % len(QUESTIONS)],
                                                      event_id=f"EvBench{i}", retry=True), range(args.retried)))
        replies = wait_answers(slack, retried)
        time.sleep(1)
        duplicates = sum(len(slack.replies_to("C0BENCH", ts)) - 1 for ts, *_ in retried)
        streamed = first_streamed_text(slack, url)
        assert slack.violations == [], slack.violations
        rss = peak_rss_mb(bot.pid)
        stopped = graceful_stop(slack, url, bot, Path(tmp), args.events)
    print(f"ack latency, {args.events} concurrent events with {args.slow_clients} slow clients holding connections: "
          f"p50 {statistics.median(acks):.1f} ms, p99 {percentile(acks, 99):.1f} ms")
    print(f"first visible progress: p50 {statistics.median(progress) * 1000:.0f} ms, "
          f"max {max(progress) * 1000:.0f} ms")
    print(f"final answer: single question {single_answer:.2f} s; under {args.events} concurrent: "
          f"p50 {statistics.median(final):.1f} s, max {max(final):.1f} s")
    print(f"duplicate replies with {args.retried} events each delivered twice: {duplicates}")
    print(f"first streamed text in an assistant thread: {streamed * 1000:.0f} ms")
    print(f"peak memory of the bot process: {rss:.0f} MB")
    print(f"SIGTERM under load: {stopped['acked']} questions acked, {stopped['answered']} answered, "
          f"{stopped['audited']} audited, exit code {stopped['exit_code']} after {stopped['stop_seconds']} s")


if __name__ == "__main__":
    main()
