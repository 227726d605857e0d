"""What most commands start from: the settings and the audit database, migrated to the latest schema."""

from __future__ import annotations


def settings_and_engine():
    from core.db import migrated_engine
    from core.settings import get_settings

    settings = get_settings()
    return settings, migrated_engine(settings.resolved_database_url)
