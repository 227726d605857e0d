"""Alembic migrations of the audit log (script location = this folder; see migrations.schema.upgrade)."""
