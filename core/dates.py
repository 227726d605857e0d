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


def updated_ago(value: str | None, now: datetime | None = None) -> str | None:
    """"updated 3 days ago" for an ISO 8601 instant (how fresh a cited source is), or None when the
    value is missing, unreadable or the epoch (a source that knows no date)."""
    try:
        when = parse_when(value)
    except ValueError:
        return None
    if when is None or when.year <= 1970:
        return None
    days = ((now or datetime.now(timezone.utc)) - when).days
    if days <= 0:
        return "updated today"
    if days == 1:
        return "updated yesterday"
    for size, unit in ((365, "year"), (30, "month"), (7, "week")):
        if days >= 2 * size:
            return f"updated {days // size} {unit}s ago"
    return f"updated {days} days ago"
