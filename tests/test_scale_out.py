"""Scaled out on real services: 3 bot replicas + 2 queue workers + a Chroma server, on the local
PostgreSQL, Redis and RabbitMQ, with Slack emulated (and checked against Slack's spec).

200 questions go round robin over the replicas, 20% of them delivered a second time to another replica
as Slack's retry; a `/reindex` runs meanwhile; a worker is SIGKILLed in the middle of a reindex job.
Every question must be answered exactly once, the audit log must hold one row per question, and the
killed job must be retried by the other worker and complete.
"""

import json
import time

import pytest
from sqlalchemy import create_engine, func, select

from benchmarks.cluster import ADMIN, CHANNEL, Cluster, bulk_corpus
from core.db import normalize_url
from core.models import Answer, IndexRun
from core.settings import Settings
from demo import HANDBOOK_DIR, HANDBOOK_SET
from emulator.slack import SlackEmulator
from indexing.store import manifest, open_collection
from jobs.records import get_job
from jobs.runner import JobRunner

QUESTIONS = 200
RETRY_SHARE = 0.2


def _questions(n: int) -> list[str]:
    rows = [json.loads(line) for line in HANDBOOK_SET.read_text().splitlines() if line.strip()]
    answerable = [r["question"] for r in rows if r["answerable"] and not r.get("expect_route")]
    return [f"{answerable[i % len(answerable)]} (#{i})" for i in range(n)]


def _wait_job(engine, job_id: str, timeout: float = 600, until=("done", "failed")):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = get_job(engine, job_id)
        if until(job) if callable(until) else job.status in until:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {get_job(engine, job_id).status} after {timeout:.0f} s")


@pytest.mark.postgres
def test_replicas_and_workers_answer_each_question_once_and_survive_a_killed_worker(pg_url, tmp_path):
    bulk = bulk_corpus(tmp_path / "bulk", docs=900)
    with SlackEmulator() as slack:
        slack.add_channel(CHANNEL, "scale")
        cluster = Cluster(tmp_path / "cluster", slack, {"handbook": HANDBOOK_DIR, "bulk": bulk},
                          database_url=pg_url, extra_env={"CITEBOT_ABSTAIN_THRESHOLD": "-1"})
        with cluster:
            settings = Settings(home=tmp_path / "client", database_url=pg_url, broker_url=cluster.broker_url,
                                redis_url=cluster.redis_url, chroma_url=cluster.chroma_url, queue=cluster.queue,
                                config=cluster.root / "citebot.toml")
            engine = create_engine(normalize_url(pg_url))
            runner = JobRunner(settings, engine)
            first = _wait_job(engine, runner.submit("reindex", "handbook"))
            assert first.status == "done", first.error
            assert all(r["ok"] for r in cluster.readiness())

            # A long reindex; its worker is killed once it is embedding.
            bulk_job = runner.submit("reindex", "bulk")
            running = _wait_job(engine, bulk_job, until=lambda j: j.status == "running" and "embedding" in j.progress)
            doomed = int(running.worker.split("@")[0].rsplit("-", 1)[1])
            cluster.kill(doomed)

            half = QUESTIONS // 2
            questions = _questions(QUESTIONS)
            sent = cluster.ask_many(questions[:half], RETRY_SHARE, seed=1)
            slack.send_command(cluster.events_url(), "/reindex", "handbook", ADMIN, CHANNEL)
            sent += cluster.ask_many(questions[half:], RETRY_SHARE, seed=2)
            cluster.wait_answers(sent)
            time.sleep(2)  # a duplicate answer, were there one, would be posted by now

            replies = [slack.replies_to(CHANNEL, ts) for ts, *_ in sent]
            assert [len(r) for r in replies] == [1] * QUESTIONS, "a question was answered twice or not at all"
            assert all("[1]" in r[0]["text"] or "Sources" in json.dumps(r[0]["blocks"]) for r in replies)
            retried = sum(1 for *_, r in sent if r)
            assert 0.1 * QUESTIONS < retried < 0.3 * QUESTIONS
            with engine.connect() as conn:
                rows = conn.execute(select(func.count(), func.count(Answer.thread_ts.distinct()))
                                    .where(Answer.channel_id == CHANNEL)).one()
            assert tuple(rows) == (QUESTIONS, QUESTIONS)
            assert cluster.metric("citebot_answers_total") == QUESTIONS
            assert cluster.metric("citebot_duplicate_events_total") == retried

            finished = _wait_job(engine, bulk_job)
            # at least one retry; a worker starved of CPU by the embedding may miss a broker heartbeat and
            # have the job handed on once more, which the job lock makes harmless
            assert finished.status == "done" and finished.attempts >= 2, finished.error
            assert str(doomed) not in finished.worker
            docs = manifest(open_collection(settings))
            bulk_docs = [d for d in docs.values() if d.source_id == "bulk"]
            assert len(bulk_docs) == 900 and all(d.complete for d in bulk_docs)

            slack_done = [m for m in slack.posted if "Reindex finished" in m.get("text", "")]
            deadline = time.monotonic() + 120
            while not slack_done and time.monotonic() < deadline:
                time.sleep(0.5)
                slack_done = [m for m in slack.posted if "Reindex finished" in m.get("text", "")]
            assert slack_done and "*handbook*" in slack_done[-1]["text"]
            with engine.connect() as conn:
                by_admin = conn.execute(select(IndexRun.source).where(IndexRun.triggered_by == ADMIN)).scalars()
                assert list(by_admin) == ["handbook"]
            assert slack.violations == []
            engine.dispose()
