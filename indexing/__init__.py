"""Indexing and retrieval: turn documents into searchable, citable chunks in Chroma.

Never imports `bot`: the Slack app and the CLI call into this package, not the other way round.
"""
