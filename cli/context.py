"""What most commands start from: the settings and the audit database, migrated to the latest schema."""

from __future__ import annotations


def settings_and_engine():
    from core.settings import get_settings
    from migrations.schema import migrated_engine

    settings = get_settings()
    return settings, migrated_engine(settings.resolved_database_url)
