"""The shipped deployment files are valid and run commands that exist: Docker Compose against the Compose
spec's JSON schema, Kubernetes manifests against the Kubernetes OpenAPI schemas (kubernetes-validate,
strict: unknown fields fail), and every citebot command line and CITEBOT_* variable against the CLI and
the settings class."""

import importlib.resources
import json
import re
import shlex
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml
from pydantic import AliasChoices

from core.settings import Settings
from tests.test_cli import run

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
K8S_VERSION = "1.33.0"


def _accepts(cli_env, args: list[str]) -> None:
    """`citebot ARGS` names a real (sub)command and every --flag is one of its options."""
    words = []
    for arg in args:
        if arg.startswith("-"):
            break
        words.append(arg)
    path = words[:1]
    shown = run(cli_env, *path, "--help")
    while "Commands" in shown.stdout and len(path) < len(words):  # a command group: go one level down
        path.append(words[len(path)])
        shown = run(cli_env, *path, "--help")
    assert shown.returncode == 0 and "Commands" not in shown.stdout, f"citebot {' '.join(path)}: {shown.stderr}"
    for flag in (a for a in args if a.startswith("--")):
        assert flag in shown.stdout, f"{flag} is not an option of citebot {' '.join(path)}"


def _setting_names() -> set[str]:
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names |= set(alias.choices) if isinstance(alias, AliasChoices) else {f"CITEBOT_{name.upper()}"}
    return names


def _manifests() -> list[tuple[str, dict]]:
    return [(path.name, doc) for path in sorted(KUBERNETES.glob("*.yaml")) if path.name != "kustomization.yaml"
            for doc in yaml.safe_load_all(path.read_text())]


def _pod_specs(doc: dict) -> list[dict]:
    spec = doc.get("spec", {})
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return [spec["template"]["spec"]] if "template" in spec else []


def _citebot_containers(doc: dict) -> list[dict]:
    return [c for pod in _pod_specs(doc) for c in pod["containers"] if c["image"].startswith("citebot")]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_compose_file_follows_the_compose_spec(compose):
    schema = json.loads(importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
                        .joinpath("compose-spec.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    assert [e.message for e in validator.iter_errors(compose)] == []
    broken = {**compose, "services": {**compose["services"], "bot": {**compose["services"]["bot"], "helthcheck": {}}}}
    assert list(validator.iter_errors(broken)), "the schema check must catch a misspelt key"


def test_local_compose_override_builds_every_image_here_from_real_targets(compose):
    """deploy/compose.local.yml (make compose-test) follows the spec, replaces every pulled image with one
    built here, and each engine it builds names a stage that deploy/local/services.Dockerfile has."""
    local = yaml.safe_load((DEPLOY / "compose.local.yml").read_text())
    schema = json.loads(importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
                        .joinpath("compose-spec.json").read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    assert [e.message for e in validator.iter_errors(local)] == []
    assert set(local["services"]) == set(compose["services"])
    assert all(s["image"].startswith("localhost/") for s in local["services"].values())
    stages = set(re.findall(r"^FROM \S+ AS (\w+)$", (DEPLOY / "local/services.Dockerfile").read_text(), re.M))
    built = {s["build"]["target"] for s in local["services"].values() if "target" in s.get("build", {})}
    assert built == {"postgres", "redis", "rabbitmq", "nginx"} and built <= stages
    scaled = [name for name, service in compose["services"].items() if "replicas" in service.get("deploy", {})]
    assert scaled and all(compose["services"][name]["deploy"]["mode"] == "replicated" for name in scaled), \
        "podman-compose runs a single replica unless the mode is spelled out"


def test_compose_runs_the_whole_stack_with_real_commands(compose, cli_env):
    services = compose["services"]
    assert {"bot", "worker", "review", "migrate", "postgres", "redis", "rabbitmq", "chroma", "lb"} <= set(services)
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on a service that does not exist: {needed}"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "$", "/")):
                assert source in compose["volumes"], f"{name} mounts an undeclared volume {source}"
        if service.get("image", "").startswith("citebot"):
            _accepts(cli_env, service["command"])
            assert set(service["environment"]) <= _setting_names()
    assert services["bot"]["deploy"]["replicas"] >= 2 and services["worker"]["deploy"]["replicas"] >= 2
    assert services["migrate"]["restart"] == "no"
    assert (DEPLOY / "nginx.conf").read_text().count("server bot:3000") == 1
    example = [line.split("=")[0].lstrip("# ") for line in (DEPLOY / "citebot.env.example").read_text().splitlines()
               if "=" in line]
    assert set(example) <= _setting_names()


def test_kubernetes_manifests_pass_the_schema_check():
    manifests = _manifests()
    kinds = {doc["kind"] for _, doc in manifests}
    assert {"Deployment", "Service", "Job", "CronJob", "ConfigMap", "PersistentVolumeClaim", "Secret"} <= kinds
    for name, doc in manifests:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    broken = yaml.safe_load((KUBERNETES / "migrate-job.yaml").read_text())
    broken["spec"]["template"]["spec"]["containers"][0]["arg"] = ["db", "upgrade"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_kustomization_applies_every_manifest_but_the_secret_example():
    listed = set(yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())["resources"])
    files = {p.name for p in KUBERNETES.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert listed == files


def test_kubernetes_pods_use_real_commands_settings_and_secret_keys(cli_env):
    secret_keys = set(yaml.safe_load((KUBERNETES / "secret.example.yaml").read_text())["stringData"])
    config = next(doc for _, doc in _manifests()
                  if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "citebot")
    assert set(config["data"]) <= _setting_names()
    containers = [c for _, doc in _manifests() for c in _citebot_containers(doc)]
    assert {c["args"][0] for c in containers} >= {"serve", "worker", "audit", "db", "jobs"}
    for container in containers:
        _accepts(cli_env, container["args"])
        assert container["resources"]["requests"] and container["resources"]["limits"]
        for env in container.get("env", []):
            assert env["name"] in _setting_names(), env["name"]
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            assert ref is None or ref["key"] in secret_keys, f"{env['name']} reads a key the Secret lacks"
    pods = [pod for _, doc in _manifests() for pod in _pod_specs(doc)
            if any(c["image"].startswith("citebot") for c in pod["containers"])]
    assert all(pod["securityContext"]["runAsNonRoot"] for pod in pods)
    bot = next(doc for _, doc in _manifests()
               if doc["metadata"]["name"] == "citebot-bot" and doc["kind"] == "Deployment")
    probes = bot["spec"]["template"]["spec"]["containers"][0]
    assert bot["spec"]["replicas"] >= 2
    assert probes["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert probes["livenessProbe"]["httpGet"]["path"] == "/healthz"


def test_tuning_cronjob_queues_one_job_at_a_time():
    job = yaml.safe_load((KUBERNETES / "tune-cronjob.yaml").read_text())
    assert job["spec"]["concurrencyPolicy"] == "Forbid"
    args = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:3] == ["jobs", "submit", "tune"] and "--wait" in args


def test_image_is_slim_non_root_with_models_baked_in():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert dockerfile.startswith("#") and "ARG BASE=python:3.11-slim\nFROM ${BASE}" in dockerfile  # slim by default
    assert "USER citebot" in dockerfile and "load_base_model" in dockerfile and "torch==2.13.0" in dockerfile


def test_cron_example_runs_tune_run(cli_env):
    lines = [line for line in (DEPLOY / "cron" / "citebot-tune.cron").read_text().splitlines()
             if line and not line.startswith("#") and "=" not in line.split()[0]]
    command = shlex.split(lines[0])[5:]
    args = command[command.index(next(a for a in command if a.endswith("/citebot"))) + 1:]
    args = args[: args.index(">>")] if ">>" in args else args
    assert args[:2] == ["tune", "run"]
    _accepts(cli_env, args)


def test_image_copies_every_package_the_distribution_installs_but_the_dev_emulator():
    import tomllib

    project = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    copied = {line.split()[1] for line in (DEPLOY / "Dockerfile").read_text().splitlines()
              if line.startswith("COPY ") and len(line.split()) == 3}
    assert set(packages) - {"emulator"} <= copied, "a package missing from the image fails at import time"
    assert "emulator" not in copied, "the local Slack is a development extra, not part of the image"
