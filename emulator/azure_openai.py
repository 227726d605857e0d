"""A local Azure OpenAI resource over real HTTP: the data plane (files, fine-tuning jobs, chat completions
of deployments) and the deployments of Azure Resource Manager, checking every request against Azure's
published descriptions.

No Azure description ships in ../shared, so the rules below are transcribed from Azure's published REST
specs (github.com/Azure/azure-rest-api-specs): `cognitiveservices/data-plane/AzureOpenAI/authoring/
stable/2024-10-21/azureopenai.json` (operations, `api-version`, the `api-key` header, FineTuningJobCreation,
the Purpose enum, FineTuningState), `.../inference/stable/2024-10-21/inference.json` (chat completions of a
deployment) and `cognitiveservices/resource-manager/Microsoft.CognitiveServices/stable/2024-10-01`
(Deployments_CreateOrUpdate/Get/Delete, a bearer token, Sku and DeploymentModel). One check is stricter
than Swagger's default: a request body may carry only the properties the description names, because
Azure ignores the others, so a field sent there (OpenAI's `method`) would be silently dropped. Chat
completion bodies are validated with OpenAI's spec (the Azure inference schema describes the same
request), like the OpenAI stand-in's.

Jobs behave as the OpenAI stand-in's, in Azure's states (pending → running → succeeded), and a tuned model
is named as Azure names them (`BASE.ft-ID`). A deployment is Creating after its PUT and Succeeded on the
next GET (`fail_deployment`: Failed); a chat to a deployment that does not serve yet is a 404.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

from emulator.openai_api import FineTuneJob, OpenAIStandIn, Reply, multipart_form, spec_problems

DATA_PLANE_VERSION = "2024-10-21"
ARM_VERSION = "2024-10-01"
ARM_PREFIX = re.compile(r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.CognitiveServices/"
                        r"accounts/[^/]+/deployments/(?P<name>[^/]+)$")
DEPLOYMENT_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}")
PURPOSES = ("fine-tune", "fine-tune-results", "assistants", "assistants_output", "batch")

# (verb, path under /openai): the 2024-10-21 operations this stand-in plays
OPERATIONS = {
    ("POST", r"/files"): "Files_Upload", ("GET", r"/files/[^/]+"): "Files_Get",
    ("DELETE", r"/files/[^/]+"): "Files_Delete", ("POST", r"/fine_tuning/jobs"): "FineTuning_Create",
    ("GET", r"/fine_tuning/jobs/[^/]+"): "FineTuning_Get",
    ("GET", r"/fine_tuning/jobs/[^/]+/events"): "FineTuning_GetEvents",
    ("POST", r"/fine_tuning/jobs/[^/]+/cancel"): "FineTuning_Cancel",
    ("POST", r"/deployments/[^/]+/chat/completions"): "ChatCompletions_Create",
}
FINE_TUNING_JOB_CREATION = {
    "type": "object", "required": ["model", "training_file"], "additionalProperties": False,
    "properties": {
        "model": {"type": "string", "minLength": 1}, "training_file": {"type": "string", "minLength": 1},
        "validation_file": {"type": "string"}, "seed": {"type": "integer"},
        "suffix": {"type": "string", "maxLength": 40, "pattern": "^[a-zA-Z0-9_-]*$"},
        "hyperparameters": {"type": "object", "additionalProperties": False, "properties": {
            "n_epochs": {"type": "integer"}, "batch_size": {"type": "integer"},
            "learning_rate_multiplier": {"type": "number"}}},
    },
}
DEPLOYMENT = {
    "type": "object", "required": ["sku", "properties"],
    "properties": {
        "sku": {"type": "object", "required": ["name"], "additionalProperties": False, "properties": {
            "name": {"type": "string"}, "tier": {"enum": ["Free", "Basic", "Standard", "Premium", "Enterprise"]},
            "size": {"type": "string"}, "family": {"type": "string"}, "capacity": {"type": "integer"}}},
        "properties": {"type": "object", "required": ["model"], "properties": {
            "model": {"type": "object", "required": ["format", "name", "version"], "properties": {
                "format": {"type": "string"}, "name": {"type": "string"}, "version": {"type": "string"},
                "source": {"type": "string"}}},
            "raiPolicyName": {"type": "string"}}},
    },
}


def _schema_problems(what: str, body: bytes, schema: dict) -> list[str]:
    from jsonschema import Draft4Validator

    try:
        document = json.loads(body or b"null")
    except ValueError:
        return [f"{what}: the body is not JSON"]
    return [f"{what}: {'/'.join(map(str, e.path)) or 'body'}: {e.message}"
            for e in Draft4Validator(schema).iter_errors(document)]


class AzureOpenAIStandIn(OpenAIStandIn):
    """`with AzureOpenAIStandIn(reply, deployments={"name": "model"}) as azure:` serves both planes at
    `azure.endpoint` (AZURE_OPENAI_ENDPOINT and CITEBOT_TUNE_AZURE_MANAGEMENT_URL) until the block ends.
    `deployments` are the ones the resource already has (the base model's); `reply(messages, model)` gets
    the model a deployment serves."""

    QUEUE = (("pending", "running", "Job started."),)
    RESOURCE = "/subscriptions/sub-1/resourceGroups/team/providers/Microsoft.CognitiveServices/accounts/citebot"

    def __init__(self, reply: Reply, deployments: dict[str, str] | None = None, spec: Path | None = None,
                 steps: int = 3):
        super().__init__(reply, spec, steps)
        self.deployments = {name: {"model": model, "state": "Succeeded"} for name, model in (deployments or {}).items()}
        self.fail_deployment = False

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.port}"

    def tuned_model_name(self, job: FineTuneJob) -> str:
        return f"{job.model}.ft-{job.id[-6:]}"

    # -- the published description ---------------------------------------------------------------------

    def check(self, verb: str, path: str, query: dict, headers: dict, body: bytes, content_type: str) -> list[str]:
        headers = {k.lower(): v for k, v in headers.items()}
        arm = ARM_PREFIX.match(path)
        if arm:
            return self._check_arm(verb, unquote(arm["name"]), query, headers, body)
        rest = path.removeprefix("/openai")
        operation = next((op for (v, pattern), op in OPERATIONS.items() if v == verb and
                          rest != path and re.fullmatch(pattern, rest)), None)
        if operation is None:
            return [f"{verb} {path}: no such operation in Azure OpenAI {DATA_PLANE_VERSION}"]
        problems = []
        if query.get("api-version") != DATA_PLANE_VERSION:
            problems.append(f"{verb} {path}: api-version {query.get('api-version')!r} (this resource serves "
                            f"{DATA_PLANE_VERSION})")
        if not headers.get("api-key") and not headers.get("authorization", "").startswith("Bearer "):
            problems.append(f"{verb} {path}: neither the api-key header nor a bearer token")
        if operation == "FineTuning_Create":
            problems += _schema_problems(operation, body, FINE_TUNING_JOB_CREATION)
        elif operation == "Files_Upload":
            problems += self._check_upload(body, content_type)
        elif operation == "FineTuning_GetEvents" and not str(query.get("limit", "1")).isdigit():
            problems.append(f"{operation}: limit must be an integer")
        elif operation == "ChatCompletions_Create":  # the credential was checked above, by Azure's scheme
            problems += spec_problems("POST", "/v1/chat/completions", {}, {"Authorization": "Bearer azure-checked"},
                                      body, content_type, self.spec)
        return problems

    def _check_upload(self, body: bytes, content_type: str) -> list[str]:
        if not content_type.startswith("multipart/form-data"):
            return [f"Files_Upload: multipart/form-data expected, got {content_type!r}"]
        form = multipart_form(body, content_type)
        problems = [f"Files_Upload: the {name} part is required" for name in ("purpose", "file") if name not in form]
        if "purpose" in form and form["purpose"].get_content().strip() not in PURPOSES:
            problems.append(f"Files_Upload: purpose {form['purpose'].get_content().strip()!r} is not one of {PURPOSES}")
        return problems

    def _check_arm(self, verb: str, name: str, query: dict, headers: dict, body: bytes) -> list[str]:
        problems = []
        if verb not in ("PUT", "GET", "DELETE"):
            problems.append(f"{verb} deployments/{name}: not an operation of Microsoft.CognitiveServices deployments")
        if query.get("api-version") != ARM_VERSION:
            problems.append(f"deployments/{name}: api-version {query.get('api-version')!r} (expected {ARM_VERSION})")
        if not headers.get("authorization", "").startswith("Bearer "):
            problems.append(f"deployments/{name}: Azure Resource Manager needs a bearer token")
        if not DEPLOYMENT_NAME.fullmatch(name):
            problems.append(f"deployments/{name}: not a valid deployment name")
        if verb == "PUT":
            problems += _schema_problems("Deployments_CreateOrUpdate", body, DEPLOYMENT)
        return problems

    # -- the API ---------------------------------------------------------------------------------------

    def handle(self, verb: str, path: str, query: dict, body: bytes, content_type: str) -> tuple[int, dict | str]:
        arm = ARM_PREFIX.match(path)
        if arm:
            return self._deployment(verb, unquote(arm["name"]), json.loads(body) if body else {})
        parts = path.removeprefix("/openai/").split("/")
        if parts[0] == "deployments":
            deployment = self.deployments.get(parts[1])
            if deployment is None or deployment["state"] != "Succeeded":
                return 404, {"error": {"code": "DeploymentNotFound",
                                       "message": f"The API deployment {parts[1]} does not exist."}}
            return self._chat({**json.loads(body), "model": deployment["model"]})
        status, payload = super().handle(verb, "/v1/" + "/".join(parts), query, body, content_type)
        if verb == "POST" and parts == ["files"] and status == 200:  # Azure imports uploads asynchronously
            self.files[payload["id"]]["status"] = "processed"
            return 201, {**payload, "status": "pending"}
        return (201 if verb == "POST" and parts == ["fine_tuning", "jobs"] and status == 200 else status), payload

    def _deployment(self, verb: str, name: str, body: dict) -> tuple[int, dict]:
        if verb == "PUT":
            self.deployments[name] = {"model": body["properties"]["model"]["name"], "state": "Creating",
                                      "sku": body["sku"]}
            return 201, self._deployment_json(name)
        if name not in self.deployments:
            return 404, {"error": {"code": "DeploymentNotFound", "message": f"Deployment {name} not found"}}
        if verb == "DELETE":
            del self.deployments[name]
            return 200, {}
        deployment = self.deployments[name]
        if deployment["state"] == "Creating":
            deployment["state"] = "Failed" if self.fail_deployment else "Succeeded"
        return 200, self._deployment_json(name)

    def _deployment_json(self, name: str) -> dict:
        deployment = self.deployments[name]
        return {"id": f"{self.RESOURCE}/deployments/{name}", "name": name,
                "type": "Microsoft.CognitiveServices/accounts/deployments",
                "sku": deployment.get("sku", {"name": "Standard", "capacity": 1}),
                "properties": {"model": {"format": "OpenAI", "name": deployment["model"], "version": "1"},
                               "provisioningState": deployment["state"]}}

