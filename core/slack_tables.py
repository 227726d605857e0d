"""Every table the migrations manage: citebot's models and slack_sdk's OAuth tables.

Multi-workspace installs keep slack_sdk's SQLAlchemy installation and OAuth-state stores in the audit
database; their tables are declared with slack_sdk's own builders, so the stores and our migration
(0004) describe one schema. Kept apart from `core.models` so that answering a question (which writes an
audit row) does not import the Slack SDK.
"""

from __future__ import annotations

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import MetaData

from core.models import Base

slack_metadata = MetaData()
SQLAlchemyInstallationStore.build_installations_table(slack_metadata, "slack_installations")
SQLAlchemyInstallationStore.build_bots_table(slack_metadata, "slack_bots")
SQLAlchemyOAuthStateStore.build_oauth_states_table(slack_metadata, "slack_oauth_states")

ALL_METADATA = [Base.metadata, slack_metadata]
