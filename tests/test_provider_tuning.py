"""Fine-tuning at a provider (`tune run --provider openai`) against the OpenAI stand-in, which checks every
request against OpenAI's published OpenAPI spec: upload, job, events, model id, evaluation through chat
completions, promotion, an escalation reply written by the promoted model, rollback; consent, dry run,
re-attaching after a crash, cancel, a failed job, and the files deleted when the job ends.

These numbers are plumbing: no provider is reachable here, and the stand-in's "tuned" model is a
nearest-thread lookup over the uploaded examples, not a trained model."""

import json
import re
from types import SimpleNamespace

import openai
import pytest

from benchmarks.sample_threads import generate, write_export
from bot.commands import tune_status_text
from core.db import get_engine
from core.errors import CitebotError
from core.settings import Settings
from emulator.openai_api import OpenAIStandIn
from indexing.pipeline import index_paths
from migrations.schema import ensure_schema
from service.answers import AnswerService
from service.tuning import tune
from tests.test_cli import run as run_cli
from tuning import registry
from tuning.provider import count_tokens
from tuning.provider_run import cancel_run
from tuning.run import collect_threads, make_dataset

GENERIC = "I am not sure about that one. Maybe search the wiki or try again later."


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


def provider(train: list) -> callable:
    """Base models answer generically; a fine-tuned one answers like the team did in the closest thread."""
    def reply(messages: list[dict], model: str) -> str:
        if not model.startswith("ft:"):
            return GENERIC
        thread = words(messages[-1]["content"])
        return max(train, key=lambda e: len(words(e.prompt) & thread)).reply
    return reply


@pytest.fixture
def threads(tmp_path, settings):
    write_export(generate(40), tmp_path / "export")
    engine = get_engine(settings.resolved_database_url)
    ensure_schema(engine)
    return engine, collect_threads(engine, settings.tuning, settings.slack, [tmp_path / "export"]), tmp_path / "export"


@pytest.fixture
def api(threads, settings):
    engine, load, _ = threads
    train = make_dataset(load, _small(settings).tuning).train
    with OpenAIStandIn(provider(train)) as stand_in:
        yield stand_in
    assert stand_in.problems == [], "every request must follow OpenAI's published spec"


def _small(settings: Settings, **extra) -> Settings:
    return settings.model_copy(update={"tune_provider": "openai", "tune_min_examples": 10, "tune_eval_samples": 4,
                                       "tune_provider_poll_seconds": 0.01, "openai_api_key": "sk-test",
                                       "adapter_poll_seconds": 0, "llm_retries": 0, **extra})


def _configured(settings: Settings, api: OpenAIStandIn) -> Settings:
    """The bot's escalation model before any promotion is the adapter behind an OpenAI-compatible server."""
    return _small(settings, openai_base_url=api.base_url, escalation_llm="openai",
                  escalation_model="citebot-escalation")


class Crash(Exception):
    pass


def test_provider_run_uploads_trains_evaluates_promotes_serves_and_rolls_back(threads, settings, api, corpus):
    engine, load, _ = threads
    settings = _configured(settings, api)
    with pytest.raises(CitebotError, match="--yes or set CITEBOT_TUNE_PROVIDER_CONSENT"):
        tune(settings, engine, load, "test")
    assert api.calls == [], "nothing leaves the machine without consent"

    events: list[tuple] = []
    report = tune(settings, engine, load, "test", consent=True, on_event=lambda *e: events.append(e))
    assert report.status == "promoted", report.decision
    tuned, base = report.evaluation["tuned"]["behaviour"], report.evaluation["base"]["behaviour"]
    assert tuned["tone"] > base["tone"] and tuned["group_agreement"] > base["group_agreement"]
    assert [e[1] for e in events if e[1]] == [1, 2, 3], "each metrics event reaches the progress callback"
    assert report.training["model"].startswith("ft:gpt-4o-mini-2024-07-18:citebot:")
    uploads = [path for verb, path in api.calls if verb == "POST" and path == "/v1/files"]
    assert len(uploads) == 2 and len(api.jobs) == 1 and api.files == {}, "train + validation up, both deleted"
    job = next(iter(api.jobs.values()))
    assert job.validation_file and job.epochs == settings.tune_epochs
    assert report.training["losses"] == [e["data"]["train_loss"] for e in job.events if e["type"] == "metrics"]
    row = registry.get_run(engine, report.version)
    dataset = make_dataset(load, settings.tuning)
    assert (row.provider, row.provider_model, row.active) == ("openai", report.training["model"], True)
    assert row.trained_tokens == job.train_tokens * job.epochs and row.cost_usd > 0
    assert json.loads(row.users_json) == dataset.users and json.loads(row.threads_json) == dataset.threads

    index_paths([corpus], settings)
    service = AnswerService(settings)
    question = "Can someone grant me write access to the billing database?"
    served = service.ask(question, user="U1", channel="C1")
    assert served.route == "escalate" and served.model == f"openai:{row.provider_model}"
    assert served.adapter_version == report.version
    assert api.requests[-1]["model"] == row.provider_model, "the promoted provider model wrote the reply"
    assert any(group in served.answer for group in dataset.stats.groups), \
        "the team's groups, allowed by the run's metadata, survive the guard"

    registry.rollback(engine)
    after = service.ask(question, user="U1", channel="C1")
    assert after.model == "openai:citebot-escalation" and after.adapter_version is None
    assert api.requests[-1]["model"] == "citebot-escalation"


def test_dry_run_writes_the_chat_jsonl_and_estimates_cost_without_uploading(threads, cli_env, settings, tmp_path):
    engine, load, export = threads
    env = dict(cli_env, CITEBOT_TUNE_PROVIDER_PRICE_PER_MTOK="25", OPENAI_API_KEY="sk-test",
               CITEBOT_TUNE_MIN_EXAMPLES="10", OPENAI_BASE_URL="http://127.0.0.1:9/v1")
    out = tmp_path / "dry"
    done = run_cli(env, "tune", "run", "--provider", "openai", "--dry-run", "--export", str(export),
                   "--out", str(out), "--json")
    assert done.returncode == 0, done.stderr
    estimate = json.loads(done.stdout)["training"]["estimate"]
    rows = [json.loads(line) for line in (out / "train.chat.jsonl").read_text().splitlines()]
    dataset = make_dataset(load, _small(settings).tuning)
    assert len(rows) == estimate["examples"] == len(dataset.train)
    assert [m["role"] for m in rows[0]["messages"]] == ["system", "user", "assistant"]
    assert rows[0]["messages"][2]["content"] == dataset.train[0].reply
    assert estimate["trained_tokens"] == count_tokens(dataset.train) * estimate["epochs"]
    assert estimate["cost_usd"] == round(estimate["trained_tokens"] / 1e6 * 25, 4)
    assert (out / "validation.chat.jsonl").read_text().count("\n") == len(dataset.heldout)
    refused = run_cli(env, "tune", "run", "--provider", "openai", "--export", str(export))
    assert refused.returncode != 0 and "--yes" in refused.stderr, "consent is asked for before any upload"


def test_a_crashed_run_reattaches_to_its_job_instead_of_paying_for_another(threads, settings, api):
    engine, load, _ = threads
    settings = _configured(settings, api)

    def crash_on_metrics(message, step, total, loss):
        if step:
            raise Crash()

    with pytest.raises(Crash):
        tune(settings, engine, load, "test", consent=True, on_event=crash_on_metrics)
    crashed = registry.unfinished_run(engine, make_dataset(load, settings.tuning).stats.dataset_hash, "openai")
    assert crashed.status == "failed" and crashed.provider_job_id in api.jobs
    report = tune(settings, engine, load, "test", consent=True)
    assert report.version == crashed.version and report.status == "promoted"
    assert len(api.jobs) == 1 and api.files == {}, "one paid job, its files deleted when it ended"


def test_cancel_stops_the_job_and_deletes_its_files_then_a_new_run_starts_afresh(threads, settings, api):
    engine, load, _ = threads
    settings = _configured(settings, api)

    def crash(*_):
        raise Crash()

    with pytest.raises(Crash):
        tune(settings, engine, load, "test", consent=True, on_event=crash)
    version = registry.list_runs(engine)[0].version
    assert len(api.files) == 2
    assert cancel_run(engine, settings.tuning, settings.answering, version) == "cancelled"
    assert api.files == {} and registry.get_run(engine, version).status == "cancelled"
    assert next(iter(api.jobs.values())).status == "cancelled"
    with pytest.raises(CitebotError, match="no job to cancel"):
        cancel_run(engine, settings.tuning, settings.answering, version)
    report = tune(settings, engine, load, "test", consent=True)
    assert report.version != version and len(api.jobs) == 2 and report.status == "promoted"


def test_a_job_that_fails_at_the_provider_is_recorded_and_nothing_is_promoted(threads, settings, api):
    engine, load, _ = threads
    api.fail_job = True
    report = tune(_configured(settings, api), engine, load, "test", consent=True)
    assert report.status == "failed" and "internal error" in report.decision
    assert registry.serving(engine) is None and api.files == {}
    assert registry.get_run(engine, report.version).error.startswith("the openai job")


def test_deleting_a_persons_data_names_the_models_trained_on_their_messages(threads, settings, api, cli_env):
    engine, load, _ = threads
    report = tune(_configured(settings, api), engine, load, "test", consent=True)
    person = make_dataset(load, _small(settings).tuning).users[0]
    assert [r.version for r in registry.runs_trained_on(engine, person)] == [report.version]
    assert registry.runs_trained_on(engine, "U-nobody") == []
    done = run_cli(cli_env, "audit", "user", person, "--delete", "--yes")
    assert done.returncode == 0, done.stderr
    assert report.version in done.stdout and "SERVED NOW" in done.stdout and "ft:gpt-4o-mini" in done.stdout


def test_registry_views_show_the_provider_model_and_what_it_cost(threads, settings, api, cli_env):
    engine, load, _ = threads
    report = tune(_configured(settings, api), engine, load, "test", consent=True)
    listed = run_cli(cli_env, "tune", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    row = json.loads(listed.stdout)[0]
    assert (row["version"], row["provider"], row["active"]) == (report.version, "openai", True)
    assert row["provider_model"] == report.training["model"] and row["trained_tokens"] > 0 and row["cost_usd"] > 0
    status = tune_status_text(SimpleNamespace(answerer=SimpleNamespace(engine=engine)))
    assert f"openai model `{report.training['model']}`" in status and "trained tokens" in status


def test_the_stand_in_rejects_requests_that_break_openais_spec():
    with OpenAIStandIn(lambda messages, model: "hi") as api:
        client = openai.OpenAI(api_key="sk-test", base_url=api.base_url, max_retries=0)
        with pytest.raises(openai.BadRequestError, match="purpose"):
            client.files.create(file=("a.jsonl", b"{}\n"), purpose="bogus")
        with pytest.raises(openai.BadRequestError, match="training_file"):
            client.post("/fine_tuning/jobs", body={"model": "gpt-4o-mini"}, cast_to=dict)
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model="m", messages=[{"role": "wizard", "content": "hi"}])
        assert client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}]) \
            .choices[0].message.content == "hi"
        assert len(api.problems) == 3
