"""Jobs without a cluster: the locks (in Redis and in-process), running a job here, the `jobs` CLI, the
worker's configuration check and JSON logs. The cluster itself is in test_scale_out.py."""

import json
import logging
import secrets
import time

import pytest

from core.settings import Settings
from jobs.lock import JobLocks, process_locks
from jobs.records import create_job, get_job
from jobs.work import LockBusy, run_job
from migrations.schema import migrated_engine
from ops.logs import JsonFormatter
from tests.test_cli import assert_clean_error, run

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["memory", "redis"])
def locks(request):
    return JobLocks(REDIS if request.param == "redis" else None, ttl=0.6)


def test_a_lock_refuses_other_jobs_and_lets_a_retry_of_its_own_job_take_over(locks):
    name = f"reindex:docs-{secrets.token_hex(3)}"
    held = locks.hold(name, "job-a")
    assert held is not None and locks.holder(name) == "job-a"
    assert locks.hold(name, "job-b") is None
    retry = locks.hold(name, "job-a")  # attempt 2 of job-a, after its first worker was killed
    assert retry is not None
    retry.release()
    held.release()
    assert locks.holder(name) is None


def test_a_held_lock_is_renewed_and_a_dead_holders_lock_expires(locks):
    name = f"reindex:docs-{secrets.token_hex(3)}"
    with locks.hold(name, "alive"):
        time.sleep(1.5)  # 2.5 TTLs: only the heartbeat keeps it
        assert locks.holder(name) == "alive"
    assert locks.store.acquire(locks.key(name), "killed", locks.ttl)  # held, never renewed
    assert locks.hold(name, "next") is None
    time.sleep(0.8)
    assert locks.hold(name, "next") is not None


def _config(tmp_path, corpus):
    config = tmp_path / "citebot.toml"
    config.write_text(f'[[sources]]\nname = "office"\ntype = "files"\npaths = ["{corpus}"]\n')
    return config


def test_a_job_waits_while_another_holds_its_source_then_runs(tmp_path, corpus):
    settings = Settings(home=tmp_path / "home", config=_config(tmp_path, corpus))
    engine = migrated_engine(settings.resolved_database_url)
    job_id = create_job(engine, "reindex", "office", "U0ADMIN")
    with JobLocks(None).hold("reindex:office", "another-job"):
        with pytest.raises(LockBusy):
            run_job(settings, engine, job_id, "here")
        job = get_job(engine, job_id)
        assert (job.status, job.attempts) == ("waiting", 0)
    result = run_job(settings, engine, job_id, "here")
    assert result["status"] == "done" and result["sources"][0]["added"] == 3
    job = get_job(engine, job_id)
    assert (job.status, job.attempts, job.worker) == ("done", 1, "here")


def test_a_job_reports_its_progress_and_outcome_through_the_notifier_it_was_given(tmp_path, corpus):
    settings = Settings(home=tmp_path / "home", config=_config(tmp_path, corpus))
    engine = migrated_engine(settings.resolved_database_url)
    posts: list[tuple[str, str, bool]] = []

    class Recorder:
        def __init__(self, job):
            self.job = job

        def post(self, text: str, final: bool = False) -> None:
            posts.append((self.job.id, text, final))

    job_id = create_job(engine, "reindex", "office", "U0ADMIN", "C0ADMIN", "1700000000.000100")
    assert run_job(settings, engine, job_id, "here", notifier=Recorder)["status"] == "done"
    assert {job for job, _, _ in posts} == {job_id}
    assert any("Reindexing office" in text for _, text, final in posts if not final)
    final = [text for _, text, final in posts if final]
    assert len(final) == 1 and "Reindex finished" in final[0] and "3 added" in final[0]


def test_a_job_for_an_unknown_source_fails_with_the_reason(tmp_path, corpus):
    settings = Settings(home=tmp_path / "home", config=_config(tmp_path, corpus))
    engine = migrated_engine(settings.resolved_database_url)
    job_id = create_job(engine, "reindex", "nope")
    assert run_job(settings, engine, job_id, "here")["status"] == "failed"
    assert "nope" in get_job(engine, job_id).error


def test_jobs_cli_runs_a_job_here_without_a_broker_and_lists_it(cli_env, tmp_path, corpus):
    cli_env["CITEBOT_CONFIG"] = str(_config(tmp_path, corpus))
    done = run(cli_env, "jobs", "submit", "reindex", "--source", "office", "--json")
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert (job["status"], job["attempts"], job["result"]["sources"][0]["added"]) == ("done", 1, 3)
    listed = json.loads(run(cli_env, "jobs", "list", "--json").stdout)
    assert [j["id"] for j in listed] == [job["id"]]
    shown = json.loads(run(cli_env, "jobs", "show", job["id"], "--json").stdout)
    assert shown["result"]["sources"][0]["source"] == "office"
    assert_clean_error(run(cli_env, "jobs", "submit", "backup"), "Unknown job kind")
    assert_clean_error(run(cli_env, "jobs", "show", "nosuchjob"), "No job with id")


def test_worker_says_which_settings_it_needs(cli_env):
    cli_env["CITEBOT_BROKER_URL"] = "amqp://guest:guest@127.0.0.1:5672//"
    assert_clean_error(run(cli_env, "worker"), "CITEBOT_REDIS_URL, CITEBOT_CHROMA_URL")


def test_json_logs_carry_audit_and_job_ids():
    record = logging.LogRecord("citebot.answers", logging.INFO, __file__, 1, "answered %s", ("rag",), None)
    record.audit_id, record.job_id = "3f9c1a2b7d40", "job1"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "answered rag" and line["level"] == "info"
    assert (line["audit_id"], line["job_id"], line["logger"]) == ("3f9c1a2b7d40", "job1", "citebot.answers")


def test_cli_index_refuses_a_source_a_worker_is_reindexing(cli_env, tmp_path, corpus):
    cli_env.update(CITEBOT_CONFIG=str(_config(tmp_path, corpus)), CITEBOT_REDIS_URL=REDIS)
    key_owner = f"job-{secrets.token_hex(3)}"
    with JobLocks(REDIS).hold("reindex:office", key_owner):
        assert_clean_error(run(cli_env, "index", "--source", "office"), f"(job {key_owner})")
    done = run(cli_env, "index", "--source", "office", "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["added"] == 3


def test_a_worker_reports_through_its_own_notifier_after_another_queue_app_was_made(monkeypatch):
    """The worker's queue-depth gauge makes a Celery app of its own before the worker's; the jobs must
    still report to Slack through the worker's notifier, not the gauge app's silent one."""
    import jobs.queue as queue

    monkeypatch.setattr(queue, "run_job", lambda settings, engine, job_id, worker, notifier: notifier)
    monkeypatch.setattr(queue, "get_settings", lambda: Settings(database_url="sqlite://"))
    wrong = 0
    for _ in range(20):  # which of two same-named shared tasks an app keeps depends on set order: repeat
        with queue.celery_app("memory://").connection_for_write():  # the gauge's reading
            pass

        def slack(job):
            return None

        worker_app = queue.celery_app("memory://", notifier=slack)
        wrong += worker_app.tasks["citebot.run_job"].run("job-1") is not slack
    assert wrong == 0


def _runner(tmp_path, redis_url: str):
    """A job runner as a bot makes it, over one configured files source."""
    from jobs.runner import JobRunner

    config = tmp_path / "citebot.toml"
    config.write_text(f'[[sources]]\nname = "docs"\ntype = "files"\npaths = ["{tmp_path}"]\n')
    process_locks.cache_clear()  # as in a process that has just started
    return JobRunner(Settings(home=tmp_path, config=config, redis_url=redis_url),
                     migrated_engine(f"sqlite:///{tmp_path / 'db.sqlite'}"))


def test_the_lock_lookup_of_a_slash_command_reuses_the_connection_opened_at_start(tmp_path):
    """`/reindex` asks whether its source is busy inside Slack's 3-second acknowledgement: no new connection."""
    runner = _runner(tmp_path, REDIS)
    runner.warm_up()
    pool = process_locks(REDIS).store.client.connection_pool  # the process's lock client
    opened = pool._created_connections
    assert opened == 1, "warm_up opened the connection"
    held = JobLocks(REDIS).hold("reindex:docs", "job-ahead")  # another process's job
    try:
        assert [runner.busy("reindex", "docs") for _ in range(3)] == ["reindex:docs"] * 3
    finally:
        held.release()
    assert runner.busy("reindex", "docs") is None
    assert pool._created_connections == opened


def test_a_job_retried_while_its_source_is_busy_opens_no_new_connection(tmp_path):
    """A worker retries a waiting job every few seconds for up to an hour: each try reuses the process's
    lock client, as the bot's lookups do (Redis counts every connection it accepts)."""
    import redis

    runner = _runner(tmp_path, REDIS)
    runner.warm_up()
    job_id = create_job(runner.engine, "reindex", "docs", "U0ADMIN")
    held = JobLocks(REDIS).hold("reindex:docs", "job-ahead")
    server = redis.Redis.from_url(REDIS)
    try:
        accepted = server.info("stats")["total_connections_received"]
        for _ in range(3):
            with pytest.raises(LockBusy):
                run_job(runner.settings, runner.engine, job_id, "worker-1")
        assert server.info("stats")["total_connections_received"] == accepted
    finally:
        held.release()
    assert get_job(runner.engine, job_id).status == "waiting"


def test_warm_up_at_start_survives_an_unreachable_redis(tmp_path, caplog):
    """A bot starting while Redis is down still serves (/readyz says what is wrong), logging why."""
    with caplog.at_level(logging.WARNING, logger="citebot.jobs"):
        _runner(tmp_path, "redis://127.0.0.1:1/0").warm_up()
    assert "could not look up the job locks at start" in caplog.text
