"""Fine-tuning at Azure OpenAI (`tune run --provider azure`) against the Azure stand-in, which checks every
request against Azure's published descriptions (data plane 2024-10-21, Resource Manager 2024-10-01):
upload, job, events, the tuned model deployed before it is evaluated, promotion, an escalation reply
written by the promoted deployment, rollback; a candidate that is not promoted is undeployed, a failed
deployment fails the run, and missing Azure settings are refused before anything is uploaded.

Plumbing numbers only: no Azure resource is reachable here."""

import httpx
import openai
import pytest

from core.errors import CitebotError
from core.settings import Settings
from emulator.azure_openai import AzureOpenAIStandIn
from indexing.pipeline import index_paths
from service.answers import AnswerService
from service.tuning import tune
from tests.test_cli import run as run_cli
from tests.test_provider_tuning import GENERIC, threads, words  # noqa: F401 - `threads` is a fixture
from tuning import registry
from tuning.azure_deployments import deployment_name
from tuning.run import make_dataset

BASE = "gpt-4o-mini-2024-07-18"


def azure_reply(train: list, tuned_sounds_like_team: bool = True):
    """Base deployments answer generically; a tuned one like the team did in the closest thread."""
    def reply(messages: list[dict], model: str) -> str:
        if ".ft-" not in model or not tuned_sounds_like_team:
            return GENERIC
        thread = words(messages[-1]["content"])
        return max(train, key=lambda e: len(words(e.prompt) & thread)).reply
    return reply


def _azure(settings: Settings, azure: AzureOpenAIStandIn, **extra) -> Settings:
    return settings.model_copy(update={
        "tune_provider": "azure", "tune_min_examples": 10, "tune_eval_samples": 4, "tune_provider_poll_seconds": 0.01,
        "azure_openai_endpoint": azure.endpoint, "azure_openai_api_key": "azure-key",
        "tune_azure_resource_id": azure.RESOURCE, "tune_azure_base_deployment": "gpt-4o-mini",
        "tune_azure_management_url": azure.endpoint, "tune_azure_management_token": "arm-token",
        "adapter_poll_seconds": 0, "llm_retries": 0, **extra})


def _stand_in(load, settings: Settings, tuned_sounds_like_team: bool = True) -> AzureOpenAIStandIn:
    train = make_dataset(load, settings.model_copy(update={"tune_min_examples": 10}).tuning).train
    return AzureOpenAIStandIn(azure_reply(train, tuned_sounds_like_team), deployments={"gpt-4o-mini": BASE})


def test_azure_run_deploys_evaluates_promotes_serves_and_rolls_back(threads, settings, corpus, cli_env):  # noqa: F811
    engine, load, _ = threads
    with _stand_in(load, settings) as azure:
        settings = _azure(settings, azure)
        report = tune(settings, engine, load, "test", consent=True)
        assert report.status == "promoted", report.decision
        tuned, base = report.evaluation["tuned"]["behaviour"], report.evaluation["base"]["behaviour"]
        assert tuned["tone"] > base["tone"]
        model = report.training["model"]
        assert model.startswith(f"{BASE}.ft-") and report.training["losses"]
        job = next(iter(azure.jobs.values()))
        assert job.epochs == settings.tune_epochs, "the epochs reach Azure as hyperparameters"
        assert azure.files == {}, "training and validation files deleted when the job ended"
        name = deployment_name(report.version)
        assert azure.deployments[name]["model"] == model and azure.deployments[name]["state"] == "Succeeded"
        assert ("PUT", f"{azure.RESOURCE}/deployments/{name}") in azure.calls
        row = registry.get_run(engine, report.version)
        assert (row.provider, row.provider_model, row.active) == ("azure", model, True)

        index_paths([corpus], settings)
        service = AnswerService(settings)
        question = "Can someone grant me write access to the billing database?"
        served = service.ask(question, user="U1", channel="C1")
        assert served.route == "escalate" and served.model == f"azure:{model}"
        assert served.adapter_version == report.version
        assert azure.calls[-1] == ("POST", f"/openai/deployments/{name}/chat/completions")
        assert set(words(served.answer)) - set(words(GENERIC)), "the tuned deployment wrote the reply"

        del azure.deployments[name]  # someone deleted it in the portal; promoting it again redeploys it
        registry.rollback(engine)
        env = {**cli_env, "AZURE_OPENAI_ENDPOINT": azure.endpoint, "AZURE_OPENAI_API_KEY": "azure-key",
               "CITEBOT_TUNE_AZURE_RESOURCE_ID": azure.RESOURCE, "CITEBOT_TUNE_AZURE_MANAGEMENT_URL": azure.endpoint,
               "CITEBOT_TUNE_AZURE_MANAGEMENT_TOKEN": "arm-token", "CITEBOT_TUNE_PROVIDER_POLL_SECONDS": "0.01"}
        done = run_cli(env, "tune", "promote", report.version)
        assert done.returncode == 0, done.stderr
        assert azure.deployments[name]["state"] == "Succeeded" and registry.serving(engine).version == report.version
    assert azure.problems == [], "every request must follow Azure's published description"


def test_a_candidate_that_is_not_promoted_is_undeployed(threads, settings):  # noqa: F811
    engine, load, _ = threads
    with _stand_in(load, settings, tuned_sounds_like_team=False) as azure:
        report = tune(_azure(settings, azure), engine, load, "test", consent=True)
        assert report.status == "kept", report.decision
        assert deployment_name(report.version) not in azure.deployments, "an unused deployment is not billed"
        assert list(azure.deployments) == ["gpt-4o-mini"] and registry.serving(engine) is None
    assert azure.problems == []


def test_a_deployment_that_fails_fails_the_run_and_serves_nothing(threads, settings):  # noqa: F811
    engine, load, _ = threads
    with _stand_in(load, settings) as azure:
        azure.fail_deployment = True
        with pytest.raises(CitebotError, match="provisioning Failed"):
            tune(_azure(settings, azure), engine, load, "test", consent=True)
        row = registry.list_runs(engine)[0]
        assert row.status == "failed" and "provisioning Failed" in row.error
        assert registry.serving(engine) is None and azure.files == {}
    assert azure.problems == []


@pytest.mark.parametrize("missing, message", [
    ({"azure_openai_endpoint": None}, "AZURE_OPENAI_ENDPOINT"),
    ({"tune_azure_resource_id": ""}, "CITEBOT_TUNE_AZURE_RESOURCE_ID"),
    ({"tune_azure_base_deployment": ""}, "CITEBOT_TUNE_AZURE_BASE_DEPLOYMENT"),
])
def test_missing_azure_settings_are_refused_before_anything_is_uploaded(threads, settings, missing, message):  # noqa: F811
    engine, load, _ = threads
    with _stand_in(load, settings) as azure:
        with pytest.raises(CitebotError, match=message):
            tune(_azure(settings, azure, **missing), engine, load, "test", consent=True)
        assert azure.calls == []


def test_the_azure_stand_in_rejects_requests_that_break_azures_description():
    with AzureOpenAIStandIn(lambda messages, model: "hi", deployments={"chat": BASE}) as azure:
        client = openai.AzureOpenAI(api_key="k", azure_endpoint=azure.endpoint, api_version="2024-10-21",
                                    max_retries=0)
        with pytest.raises(openai.BadRequestError, match="method"):  # OpenAI's field, not in Azure 2024-10-21
            client.fine_tuning.jobs.create(model=BASE, training_file="file-1",
                                           method={"type": "supervised", "supervised": {}})
        with pytest.raises(openai.BadRequestError, match="purpose"):
            client.files.create(file=("a.jsonl", b"{}\n"), purpose="bogus")
        old = openai.AzureOpenAI(api_key="k", azure_endpoint=azure.endpoint, api_version="2023-05-15", max_retries=0)
        with pytest.raises(openai.BadRequestError, match="api-version"):
            old.chat.completions.create(model="chat", messages=[{"role": "user", "content": "x"}])
        assert client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "x"}]) \
            .choices[0].message.content == "hi"
        put = httpx.put(f"{azure.endpoint}{azure.RESOURCE}/deployments/x?api-version=2024-10-01",
                        json={"sku": {"capacity": 1}, "properties": {"model": {"name": "m"}}})
        assert put.status_code == 400
        problems = "\n".join(azure.problems)
        assert "'method' was unexpected" in problems and "purpose 'bogus'" in problems
        assert "api-version '2023-05-15'" in problems and "bearer token" in problems
        assert "sku: 'name' is a required property" in problems
