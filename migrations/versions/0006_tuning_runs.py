"""Tuning runs: the adapter registry.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tuning_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("version", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("triggered_by", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("promoted_at", sa.DateTime(timezone=True)),
        sa.Column("decision", sa.Text, nullable=False),
        sa.Column("dataset_hash", sa.String(32), nullable=False),
        sa.Column("train_examples", sa.Integer, nullable=False),
        sa.Column("heldout_examples", sa.Integer, nullable=False),
        sa.Column("newest_thread_ts", sa.Float, nullable=False),
        sa.Column("base_model", sa.String(128), nullable=False),
        sa.Column("params_json", sa.Text, nullable=False),
        sa.Column("losses_json", sa.Text, nullable=False),
        sa.Column("base_loss", sa.Float),
        sa.Column("tuned_loss", sa.Float),
        sa.Column("evaluation_json", sa.Text, nullable=False),
        sa.Column("adapter_path", sa.Text),
        sa.Column("adapter_bytes", sa.Integer, nullable=False),
        sa.Column("train_seconds", sa.Float, nullable=False),
        sa.Column("tokens_per_s", sa.Float, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_tuning_runs_created_at", "tuning_runs", ["created_at"])
    op.create_index("ix_tuning_runs_status", "tuning_runs", ["status"])
    op.create_index("ix_tuning_runs_active", "tuning_runs", ["active"])


def downgrade() -> None:
    op.drop_table("tuning_runs")
