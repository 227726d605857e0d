"""Throughput and answer time of the scaled-out deployment against the single-process laptop default.

    .venv/bin/python -m benchmarks.scale_out [--questions 200] [--bots 3] [--workers 2] [--retry-share 0.2]

Scaled out: `--bots` replicas + `--workers` queue workers + a Chroma server, on the local PostgreSQL
(a scratch database), Redis and RabbitMQ. Default: one `citebot serve --http`, embedded Chroma, SQLite.
The same questions (answerable handbook questions, cycled) go to both, 20% delivered twice.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.cluster import CHANNEL, Cluster
from core.settings import Settings
from demo import HANDBOOK_DIR, HANDBOOK_SET
from emulator.slack import SlackEmulator
from indexing.metrics import percentile

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in HANDBOOK_SET.read_text().splitlines() if line.strip()]
    answerable = [r["question"] for r in rows if r["answerable"] and not r.get("expect_route")]
    return [f"{answerable[i % len(answerable)]} (#{i})" for i in range(n)]


def scratch_database() -> tuple[str, object]:
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    name = f"citebot_bench_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", drop


def measure(cluster: Cluster, asked: list[str], retry_share: float) -> dict:
    warm = cluster.ask_many(asked[:len(cluster.bot_urls)], 0.0, seed=0)  # first answer of each replica
    cluster.wait_answers(warm)
    started = time.monotonic()
    sent = cluster.ask_many(asked, retry_share, concurrency=8, seed=1)
    seconds = cluster.wait_answers(sent)
    wall = time.monotonic() - started
    time.sleep(2)
    twice = sum(1 for ts, *_ in sent if len(cluster.slack.replies_to(CHANNEL, ts)) != 1)
    return {"questions": len(asked), "retried": sum(1 for *_, r in sent if r), "wall_s": round(wall, 1),
            "throughput_qps": round(len(asked) / wall, 2), "answer_p50_s": round(statistics.median(seconds), 2),
            "answer_p95_s": round(percentile(seconds, 95), 2), "answered_not_once": twice}


def run(mode: str, args, root: Path) -> dict:
    from indexing.pipeline import index_paths

    with SlackEmulator() as slack:
        slack.add_channel(CHANNEL, "scale")
        if mode == "default":
            index_paths([HANDBOOK_DIR], Settings(home=root / "home"))
            cluster = Cluster(root, slack, {"handbook": HANDBOOK_DIR}, bots=1, workers=0, shared=False,
                              extra_env={"CITEBOT_ABSTAIN_THRESHOLD": "-1"})
            with cluster:
                return measure(cluster, questions(args.questions), args.retry_share)
        url, drop = scratch_database()
        try:
            cluster = Cluster(root, slack, {"handbook": HANDBOOK_DIR}, bots=args.bots, workers=args.workers,
                              database_url=url, extra_env={"CITEBOT_ABSTAIN_THRESHOLD": "-1"})
            with cluster:
                from sqlalchemy import create_engine

                from jobs.records import get_job
                from jobs.runner import JobRunner

                settings = Settings(home=root / "client", database_url=url, broker_url=cluster.broker_url,
                                    redis_url=cluster.redis_url, chroma_url=cluster.chroma_url, queue=cluster.queue,
                                    config=root / "citebot.toml")
                engine = create_engine(url)
                job = JobRunner(settings, engine).submit("reindex", "handbook")
                while get_job(engine, job).status not in ("done", "failed"):
                    time.sleep(0.2)
                engine.dispose()
                return measure(cluster, questions(args.questions), args.retry_share)
        finally:
            drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--bots", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--retry-share", type=float, default=0.2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {}
    for mode in ("default", "scaled"):
        with tempfile.TemporaryDirectory() as tmp:
            results[mode] = run(mode, args, Path(tmp))
    if args.json:
        print(json.dumps(results))
        return
    for mode, r in results.items():
        label = "single process, embedded" if mode == "default" else f"{args.bots} bots + {args.workers} workers"
        print(f"{label:>28}: {r['questions']} questions ({r['retried']} delivered twice) in {r['wall_s']} s = "
              f"{r['throughput_qps']} q/s; answer p50 {r['answer_p50_s']} s, p95 {r['answer_p95_s']} s; "
              f"not answered exactly once: {r['answered_not_once']}")


if __name__ == "__main__":
    main()
