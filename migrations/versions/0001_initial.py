"""Initial audit log: one row per answer, one per retrieved passage.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "answers",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.String(64)),
        sa.Column("channel_id", sa.String(64)),
        sa.Column("thread_ts", sa.String(32)),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("route", sa.String(16), nullable=False),
        sa.Column("route_reason", sa.Text, nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("adapter_version", sa.String(64)),
        sa.Column("retrieve_ms", sa.Float, nullable=False),
        sa.Column("generate_ms", sa.Float, nullable=False),
        sa.Column("total_ms", sa.Float, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_answers_created_at", "answers", ["created_at"])
    op.create_index("ix_answers_channel_id", "answers", ["channel_id"])
    op.create_index("ix_answers_route", "answers", ["route"])
    op.create_table(
        "retrieved_passages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("answer_id", sa.String(32), sa.ForeignKey("answers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("dense_score", sa.Float),
        sa.Column("chunk_id", sa.String(255), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("url", sa.Text),
        sa.Column("cited", sa.Boolean, nullable=False),
    )
    op.create_index("ix_retrieved_passages_answer_id", "retrieved_passages", ["answer_id"])


def downgrade() -> None:
    op.drop_index("ix_retrieved_passages_answer_id", table_name="retrieved_passages")
    op.drop_table("retrieved_passages")
    op.drop_index("ix_answers_route", table_name="answers")
    op.drop_index("ix_answers_channel_id", table_name="answers")
    op.drop_index("ix_answers_created_at", table_name="answers")
    op.drop_table("answers")
