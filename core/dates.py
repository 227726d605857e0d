"""Dates people type (`--since 2026-11-01`, the review page's filters) as UTC instants.

The audit log stores UTC; a date without a zone means that day in UTC everywhere (CLI and review page
alike), so the same filter selects the same answers wherever it is typed.
"""

from __future__ import annotations

from datetime import datetime, timezone


def parse_when(value: str | None) -> datetime | None:
    """`2026-11-01` or `2026-11-01T09:00` (optionally with an offset) as an aware UTC datetime; None
    for an empty value; ValueError for anything else."""
    if not value:
        return None
    when = datetime.fromisoformat(value.strip())
    return when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)
