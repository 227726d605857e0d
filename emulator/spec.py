"""Slack's published Web API spec as a validator: method exists, verb allowed, arguments declared and typed.

The spec is Slack's 2019 OpenAPI file (`web-api/slack_web_openapi_v2_without_examples.json` of
slackapi/slack-api-specs); its location comes from CITEBOT_SLACK_SPEC (the tests and benchmarks point it
at their copy), never from a path baked in here. Two documented gaps are filled here (see SPEC_ADDENDUM
and UNIVERSAL_PARAMS) rather than loosening the checks everywhere.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SPEC_ENV = "CITEBOT_SLACK_SPEC"


def spec_path() -> Path | None:
    """Where Slack's OpenAPI file is, from CITEBOT_SLACK_SPEC; None when it is not set."""
    value = os.environ.get(SPEC_ENV)
    return Path(value).expanduser() if value else None



def _check_type(value, kind: str, json_body: bool) -> bool:
    text = str(value).lower() if not isinstance(value, (dict, list)) else None
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool) or (text or "").lstrip("-").isdigit()
    if kind == "number":
        try:
            float(value)
            return not isinstance(value, (bool, dict, list))
        except (TypeError, ValueError):
            return False
    if kind == "boolean":
        return isinstance(value, bool) or text in ("true", "false", "1", "0")
    if kind == "string":  # Slack takes JSON arrays/objects for string params (blocks) in JSON bodies
        return isinstance(value, str) or (json_body and isinstance(value, (list, dict)))
    if kind in ("array", "object"):  # form posts carry them JSON-encoded
        wanted = list if kind == "array" else dict
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return False
        return isinstance(value, wanted)
    return True


# Socket Mode (2021) is newer than the published 2019 spec; its one Web API method is checked against
# this entry written from Slack's method reference instead (app-level token in the header, no arguments).
SPEC_ADDENDUM = {"/apps.connections.open": {"post": {"parameters": [
    {"name": "token", "in": "header", "type": "string", "required": True}]}}}

# Methods newer than the 2019 spec (AI apps: assistant threads, streamed messages) are checked against
# the request argument types of Slack's official Node SDK instead, an independent description of the
# same API: scripts/slack_method_args.mjs derives slack_method_args.json from @slack/web-api's .d.ts files.
TS_METHODS = Path(__file__).with_name("slack_method_args.json")


def _ts_operations() -> dict:
    methods = json.loads(TS_METHODS.read_text(encoding="utf-8"))["methods"]
    return {f"/{method}": {"post": {"parameters": [
        {"name": name, "in": "header" if name == "token" else "formData", "type": arg["type"],
         "required": arg["required"], **({"enum": arg["enum"]} if arg.get("enum") else {})}
        for name, arg in args.items()]}} for method, args in methods.items()}


# Bolt's per-request client sends the workspace's team_id with every call (needed by org-wide apps on
# Enterprise Grid) and Slack accepts it on every method; the 2019 spec predates that and omits it.
UNIVERSAL_PARAMS = {"team_id"}


class SpecValidator:
    def __init__(self, spec_path: Path | None, required: bool = True):
        if spec_path is None or not spec_path.exists():
            if required:
                raise FileNotFoundError(f"Slack's OpenAPI spec is needed to validate calls: set {SPEC_ENV} to "
                                        f"slack_web_openapi_v2_without_examples.json (now: {spec_path})")
            self.spec = None  # trying the bot locally without the spec: calls are recorded, not checked
            return
        self.spec = json.loads(spec_path.read_text(encoding="utf-8"))
        for path, operations in {**SPEC_ADDENDUM, **_ts_operations()}.items():
            self.spec["paths"].setdefault(path, operations)

    def problems(self, method: str, verb: str, params: dict, has_auth_header: bool, json_body: bool) -> list[str]:
        if self.spec is None:
            return []
        operations = self.spec["paths"].get(f"/{method}")
        if operations is None:
            return [f"{method}: not a Slack Web API method"]
        # Slack accepts POST for every method (slack_sdk always posts); GET only where the spec says so.
        operation = operations.get(verb.lower()) or (operations.get("get") if verb == "POST" else None)
        if operation is None:
            return [f"{method}: the spec declares {sorted(operations)} but the call used {verb}"]
        declared = {p["name"]: p for p in operation.get("parameters", [])}
        found = []
        for name, value in params.items():
            if name in UNIVERSAL_PARAMS and name not in declared:
                continue
            if name not in declared:
                found.append(f"{method}: undeclared parameter {name!r}")
            elif not _check_type(value, declared[name].get("type", "string"), json_body):
                found.append(f"{method}: {name}={value!r} is not a {declared[name].get('type')}")
            elif declared[name].get("enum") and value not in declared[name]["enum"]:
                found.append(f"{method}: {name}={value!r} is not one of {declared[name]['enum']}")
        for name, spec in declared.items():
            if spec.get("required") and name not in params and not (name == "token" and has_auth_header):
                found.append(f"{method}: required parameter {name!r} missing")
        return found
