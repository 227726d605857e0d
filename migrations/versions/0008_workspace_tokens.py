"""Answers record their Slack workspace and the model tokens they used.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.add_column(sa.Column("workspace_id", sa.String(64)))
        batch.add_column(sa.Column("prompt_tokens", sa.Integer))
        batch.add_column(sa.Column("completion_tokens", sa.Integer))
        batch.create_index("ix_answers_workspace_id", ["workspace_id"])


def downgrade() -> None:
    with op.batch_alter_table("answers") as batch:
        batch.drop_index("ix_answers_workspace_id")
        batch.drop_column("completion_tokens")
        batch.drop_column("prompt_tokens")
        batch.drop_column("workspace_id")
