"""Per-sentence citations, escalations and index runs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    answer_fk = sa.ForeignKey("answers.id", ondelete="CASCADE")
    op.create_table(
        "sentence_citations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("answer_id", sa.String(32), answer_fk, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("citations", sa.String(64), nullable=False),
        sa.Column("support", sa.Float, nullable=False),
    )
    op.create_index("ix_sentence_citations_answer_id", "sentence_citations", ["answer_id"])
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer_id", sa.String(32), sa.ForeignKey("answers.id", ondelete="CASCADE"), nullable=False),
        sa.Column("requested_by", sa.String(64)),
        sa.Column("contact", sa.String(128), nullable=False),
        sa.Column("channel_id", sa.String(64)),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_escalations_answer_id", "escalations", ["answer_id"])
    op.create_index("ix_escalations_created_at", "escalations", ["created_at"])
    op.create_table(
        "index_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("triggered_by", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        *[sa.Column(name, sa.Integer, nullable=False)
          for name in ("added", "updated", "unchanged", "deleted", "skipped", "chunks_embedded")],
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("complete", sa.Boolean, nullable=False),
        sa.Column("errors", sa.Text),
    )
    op.create_index("ix_index_runs_created_at", "index_runs", ["created_at"])


def downgrade() -> None:
    op.drop_table("index_runs")
    op.drop_table("escalations")
    op.drop_table("sentence_citations")
