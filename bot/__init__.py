"""The Slack app, and only Slack: the Bolt app, one listener module per interaction, Block Kit
builders, job status edits and access checks. Answers come from `service.answers`; nothing here runs SQL
or opens the index itself."""
