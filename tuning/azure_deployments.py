"""Deployments of tuned models on an Azure OpenAI resource, through Azure Resource Manager.

A model fine-tuned on Azure OpenAI answers nothing until it is deployed: chat completions go to
`{endpoint}/openai/deployments/{name}`, and a deployment is made through the management API
(`Microsoft.CognitiveServices/accounts/deployments`, a long-running PUT followed until its
`provisioningState` is final), not through the data-plane API the fine-tuning job runs on. The run deploys
each candidate under a name derived from its registry version (`deployment_name`), so evaluation,
serving, rollback and deletion all find it without another column in the registry. Deployments of tuned
models are billed by the hour while they exist: a candidate that is not promoted is deleted.
"""

from __future__ import annotations

import time

import httpx

from core.errors import CitebotError
from core.settings import TuningSettings

API_VERSION = "2024-10-01"  # Microsoft.CognitiveServices stable
FINAL = {"Succeeded": True, "Failed": False, "Canceled": False}
ARM_SCOPE = "https://management.azure.com/.default"


def deployment_name(version: str) -> str:
    """The deployment serving a registry version (ARM names: letters, digits, `_.-`, at most 64)."""
    return f"citebot-{version}"[:64]


def _bearer(settings: TuningSettings):
    """A function giving a current bearer token: the configured one, or azure-identity's (which caches and
    renews it, so a run that trains for hours still deploys with a valid token)."""
    if settings.tune_azure_management_token:
        return lambda: settings.tune_azure_management_token
    try:
        from azure.identity import DefaultAzureCredential
    except ImportError:
        raise CitebotError("Deploying on Azure needs CITEBOT_TUNE_AZURE_MANAGEMENT_TOKEN or azure-identity: "
                           "pip install 'citebot[azure]'.") from None
    credential = DefaultAzureCredential()

    def token() -> str:
        try:
            return credential.get_token(ARM_SCOPE).token
        except Exception as exc:  # noqa: BLE001 - azure-identity raises one class per credential source
            raise CitebotError(f"No Azure credential for the management API: {exc}") from None
    return token


class Deployments:
    """PUT, GET and DELETE of `{resource}/deployments/{name}`; nothing else of Azure's management API."""

    def __init__(self, settings: TuningSettings, poll_seconds: float = 15.0, timeout: float = 30.0,
                 max_wait_seconds: float = 3600.0):
        resource = settings.tune_azure_resource_id.strip().rstrip("/")
        if "/providers/Microsoft.CognitiveServices/accounts/" not in resource:
            raise CitebotError("Fine-tuning at azure needs CITEBOT_TUNE_AZURE_RESOURCE_ID (/subscriptions/SUB/"
                               "resourceGroups/GROUP/providers/Microsoft.CognitiveServices/accounts/NAME) to "
                               "deploy the tuned model.")
        self.settings, self.poll_seconds, self.max_wait = settings, poll_seconds, max_wait_seconds
        self.base = settings.tune_azure_management_url.rstrip("/") + resource + "/deployments/"
        self.token, self.timeout = _bearer(settings), timeout

    def _call(self, verb: str, name: str, body: dict | None = None) -> httpx.Response:
        try:  # at most one call per poll interval: a connection each, nothing left open between runs
            response = httpx.request(verb, self.base + name, params={"api-version": API_VERSION}, json=body,
                                     headers={"Authorization": f"Bearer {self.token()}"}, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise CitebotError(f"Azure management API unreachable ({verb} deployment {name}): {exc}") from None
        if response.status_code >= 400 and response.status_code != 404:
            error = (response.json().get("error") or {}) if response.headers.get("content-type", "").startswith(
                "application/json") else {}
            raise CitebotError(f"Azure refused {verb} deployment {name}: {response.status_code} "
                               f"{error.get('code', '')} {error.get('message', response.text[:200])}".rstrip())
        return response

    def state(self, name: str) -> str | None:
        """The deployment's provisioningState; None when there is no such deployment."""
        response = self._call("GET", name)
        return None if response.status_code == 404 else response.json().get("properties", {}).get("provisioningState")

    def deploy(self, name: str, model: str) -> None:
        """Create (or update) the deployment of `model` and wait until it serves."""
        body = {"sku": {"name": self.settings.tune_azure_deployment_sku,
                        "capacity": self.settings.tune_azure_deployment_capacity},
                "properties": {"model": {"format": "OpenAI", "name": model, "version": "1"}}}
        state = self._call("PUT", name, body).json().get("properties", {}).get("provisioningState")
        deadline = time.monotonic() + self.max_wait
        while state not in FINAL:
            if time.monotonic() > deadline:
                raise CitebotError(f"deployment {name} of {model} was still {state} after {self.max_wait:.0f} s")
            time.sleep(self.poll_seconds)
            state = self.state(name)
        if not FINAL[state]:
            raise CitebotError(f"Azure could not deploy {model} as {name}: provisioning {state}")

    def ensure(self, name: str, model: str) -> None:
        """Deployed, whether it still was (promoting or rolling back to it) or not."""
        if self.state(name) != "Succeeded":
            self.deploy(name, model)

    def delete(self, name: str) -> None:
        self._call("DELETE", name)
