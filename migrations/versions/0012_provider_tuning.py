"""Tuning runs can train at a provider (OpenAI fine-tuning) as well as locally: the registry keeps the
provider, its job id (a crashed run re-attaches to the job instead of paying for a second one), the
uploaded files still to delete, the model id it produced, trained tokens and the estimated cost; and, for
every run, the threads and the people whose messages it was trained on (`citebot audit user --delete`).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tuning_runs") as batch:
        batch.add_column(sa.Column("provider", sa.String(16), nullable=False, server_default="local"))
        batch.add_column(sa.Column("provider_job_id", sa.String(128)))
        batch.add_column(sa.Column("provider_files_json", sa.Text, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("provider_model", sa.String(256)))
        batch.add_column(sa.Column("trained_tokens", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("cost_usd", sa.Float))
        batch.add_column(sa.Column("threads_json", sa.Text, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("users_json", sa.Text, nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("tuning_runs") as batch:
        for column in ("users_json", "threads_json", "cost_usd", "trained_tokens", "provider_model",
                       "provider_files_json", "provider_job_id", "provider"):
            batch.drop_column(column)
