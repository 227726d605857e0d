"""The Slack app: Bolt listeners, Block Kit builders, access checks, dedupe and the HTTP/Socket Mode servers."""
