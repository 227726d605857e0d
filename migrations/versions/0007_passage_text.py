"""Retrieved passages keep their text and their [n] in the answer, so a reviewer sees what supported
each sentence even after the document changed.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("retrieved_passages") as batch:
        batch.add_column(sa.Column("text", sa.Text))
        batch.add_column(sa.Column("citation", sa.Integer))


def downgrade() -> None:
    with op.batch_alter_table("retrieved_passages") as batch:
        batch.drop_column("citation")
        batch.drop_column("text")
