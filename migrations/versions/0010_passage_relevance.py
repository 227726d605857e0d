"""Retrieved passages keep the router's relevance score (MiniLM similarity, the scale the answer and
abstain thresholds are calibrated on): with another embedder it differs from the retrieval similarity,
and reviewers need the number the routing decision compared.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("retrieved_passages") as batch:
        batch.add_column(sa.Column("relevance", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("retrieved_passages") as batch:
        batch.drop_column("relevance")
