"""Answering as every entry point uses it: the answer, its audit row, its metrics and log line."""
