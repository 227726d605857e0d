"""Answering: retrieval → route → grounded answer or escalation → sentence-level citations."""
