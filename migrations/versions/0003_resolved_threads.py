"""Threads marked resolved in Slack (✅ reaction or the "Mark resolved" shortcut).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "resolved_threads",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("thread_ts", sa.String(32), nullable=False),
        sa.Column("permalink", sa.Text),
        sa.Column("marked_by", sa.String(64)),
        sa.Column("private", sa.Boolean, nullable=False),
        sa.Column("messages_json", sa.Text, nullable=False),
        sa.UniqueConstraint("channel_id", "thread_ts", name="uq_resolved_thread"),
    )
    op.create_index("ix_resolved_threads_created_at", "resolved_threads", ["created_at"])


def downgrade() -> None:
    op.drop_table("resolved_threads")
