"""Alembic migrations of the audit log (script location = this folder; see core.db.upgrade)."""
