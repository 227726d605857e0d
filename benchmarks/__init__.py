"""Benchmarks (`python -m benchmarks.NAME`): numbers for the README, never timed assertions in tests."""

import os
from pathlib import Path

# The Slack emulator validates every Web API call against Slack's published spec, kept beside the repo.
os.environ.setdefault("CITEBOT_SLACK_SPEC", str(Path(__file__).resolve().parents[2] / "shared" / "slack-api-specs"
                                                / "web-api" / "slack_web_openapi_v2_without_examples.json"))
