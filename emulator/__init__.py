"""A local Slack for tests, benchmarks and `citebot serve --emulator` (optional extra: `citebot[emulator]`).

Not used by the bot in production. Socket Mode emulation needs `websockets` (in the extra); request
validation needs Slack's OpenAPI file at CITEBOT_SLACK_SPEC.
"""
