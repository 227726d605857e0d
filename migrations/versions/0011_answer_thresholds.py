"""Answers record the thresholds the router compared and where they came from (the settings, the
index's own calibration, or the defaults): with per-index calibration they differ between indexes and
over time, and a reviewer needs the numbers behind a route.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("answer_threshold", sa.Float))
        batch.add_column(sa.Column("abstain_threshold", sa.Float))
        batch.add_column(sa.Column("threshold_source", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.drop_column("threshold_source")
        batch.drop_column("abstain_threshold")
        batch.drop_column("answer_threshold")
