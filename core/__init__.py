"""Shared foundation of citebot: settings, SQL models, database engines, and the one helper for each
cross-cutting job (sentence splitting, vector math, dates, the Slack Web API client).

Every other package may depend on this one; it depends on none of them (see `[tool.importlinter]`).
"""
