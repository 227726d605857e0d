"""The SQL models of citebot: the one place the audit log's schema is declared.

Every change here goes with an Alembic revision in `migrations/versions/` (a test checks that the
models and the migrations agree). Ids of answers are generated client-side so a row written later
from the on-disk spool keeps the id the user already saw.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone

from sqlalchemy import Boolean, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def new_audit_id() -> str:
    """Short, unguessable, URL-safe id shown to users ("audit id 3f9c1a2b7d40")."""
    return secrets.token_hex(6)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Answer(Base):
    """One question asked and what citebot did with it."""

    __tablename__ = "answers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_audit_id)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[str | None] = mapped_column(String(64))
    channel_id: Mapped[str | None] = mapped_column(String(64), index=True)
    thread_ts: Mapped[str | None] = mapped_column(String(32))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text, default="")
    route: Mapped[str] = mapped_column(String(16), index=True)
    route_reason: Mapped[str] = mapped_column(Text, default="")
    model: Mapped[str] = mapped_column(String(128))
    adapter_version: Mapped[str | None] = mapped_column(String(64))
    workspace_id: Mapped[str | None] = mapped_column(String(64), index=True)  # Slack team id
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    retrieve_ms: Mapped[float] = mapped_column(Float, default=0.0)
    generate_ms: Mapped[float] = mapped_column(Float, default=0.0)
    total_ms: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    # What the router compared the best relevance with, and where that came from (settings/index/default)
    answer_threshold: Mapped[float | None] = mapped_column(Float)
    abstain_threshold: Mapped[float | None] = mapped_column(Float)
    threshold_source: Mapped[str | None] = mapped_column(String(16))

    passages: Mapped[list[RetrievedPassage]] = relationship(
        back_populates="answer", cascade="all, delete-orphan", order_by="RetrievedPassage.rank"
    )
    feedback: Mapped[list[Feedback]] = relationship(
        back_populates="answer", cascade="all, delete-orphan", order_by="Feedback.created_at"
    )
    sentences: Mapped[list[SentenceCitation]] = relationship(
        back_populates="answer", cascade="all, delete-orphan", order_by="SentenceCitation.position"
    )


class RetrievedPassage(Base):
    """A passage retrieval returned for an answer, with its scores and whether the answer cited it."""

    __tablename__ = "retrieved_passages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    answer_id: Mapped[str] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    dense_score: Mapped[float | None] = mapped_column(Float)  # the retrieval model's cosine similarity
    relevance: Mapped[float | None] = mapped_column(Float)  # the router's score, compared with the thresholds
    chunk_id: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(Text)
    cited: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str | None] = mapped_column(Text)  # the passage as retrieved (redacted): what reviewers check
    citation: Mapped[int | None] = mapped_column(Integer)  # its [n] in the answer's Sources list

    answer: Mapped[Answer] = relationship(back_populates="passages")


class Feedback(Base):
    """What a person said about an answer: helpful / not helpful (with a reason) / escalated to a person."""

    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    answer_id: Mapped[str] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[str | None] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(String(16), index=True)  # helpful | not_helpful | escalated
    reason: Mapped[str | None] = mapped_column(String(32))  # wrong | outdated | incomplete | wrong_source

    answer: Mapped[Answer] = relationship(back_populates="feedback")


class ResolvedThread(Base):
    """A Slack thread someone marked resolved: indexed as knowledge and kept as tuning data."""

    __tablename__ = "resolved_threads"
    __table_args__ = (UniqueConstraint("channel_id", "thread_ts", name="uq_resolved_thread"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    channel_id: Mapped[str] = mapped_column(String(64))
    thread_ts: Mapped[str] = mapped_column(String(32))
    permalink: Mapped[str | None] = mapped_column(Text)
    marked_by: Mapped[str | None] = mapped_column(String(64))
    private: Mapped[bool] = mapped_column(Boolean, default=False)
    messages_json: Mapped[str] = mapped_column(Text)  # the thread as Slack returned it, for the tuning dataset


class SentenceCitation(Base):
    """One sentence of an answer, the passage numbers it cites and how well they support it."""

    __tablename__ = "sentence_citations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    answer_id: Mapped[str] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    citations: Mapped[str] = mapped_column(String(64))  # "1,3": numbers of the answer's Sources list
    support: Mapped[float] = mapped_column(Float)

    answer: Mapped[Answer] = relationship(back_populates="sentences")


class Escalation(Base):
    """A question handed to a person: by the router, or by someone clicking "Escalate to a person"."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    answer_id: Mapped[str] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), index=True)
    requested_by: Mapped[str | None] = mapped_column(String(64))  # user id, or "router"
    contact: Mapped[str] = mapped_column(String(128))
    channel_id: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")


class IndexRun(Base):
    """One run of indexing a source: who started it, what changed, how long it took, what failed."""

    __tablename__ = "index_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    triggered_by: Mapped[str] = mapped_column(String(64))  # "cli", or the Slack user id of /reindex
    source: Mapped[str] = mapped_column(Text)
    added: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    chunks_embedded: Mapped[int] = mapped_column(Integer, default=0)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    complete: Mapped[bool] = mapped_column(Boolean, default=True)
    errors: Mapped[str | None] = mapped_column(Text)  # skipped documents and reasons, one per line


class TuningRun(Base):
    """One fine-tuning run and the adapter it produced: the adapter registry.

    `active` marks the escalation model the bot serves (at most one row): a local LoRA adapter
    (`adapter_path`) or a model fine-tuned at a provider (`provider_model`); `promoted_at` orders
    promotions so a rollback can return to the previous one. Losses and behaviour checks are kept so a
    reviewer can see why a run was promoted or kept back.
    """

    __tablename__ = "tuning_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    triggered_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)  # running|kept|promoted|rolled_back|failed
    active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision: Mapped[str] = mapped_column(Text, default="")
    dataset_hash: Mapped[str] = mapped_column(String(32))
    train_examples: Mapped[int] = mapped_column(Integer, default=0)
    heldout_examples: Mapped[int] = mapped_column(Integer, default=0)
    newest_thread_ts: Mapped[float] = mapped_column(Float, default=0.0)  # "new threads since the last run"
    base_model: Mapped[str] = mapped_column(String(128))
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    losses_json: Mapped[str] = mapped_column(Text, default="[]")  # training loss per optimizer step
    base_loss: Mapped[float | None] = mapped_column(Float)
    tuned_loss: Mapped[float | None] = mapped_column(Float)
    evaluation_json: Mapped[str] = mapped_column(Text, default="{}")  # base vs tuned behaviour table
    adapter_path: Mapped[str | None] = mapped_column(Text)
    adapter_bytes: Mapped[int] = mapped_column(Integer, default=0)
    train_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    tokens_per_s: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(16), default="local", server_default="local")  # local | openai
    provider_job_id: Mapped[str | None] = mapped_column(String(128))  # a crashed run re-attaches to this job
    provider_files_json: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")  # not yet deleted
    provider_model: Mapped[str | None] = mapped_column(String(256))  # the fine-tuned model id it produced
    trained_tokens: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    cost_usd: Mapped[float | None] = mapped_column(Float)  # estimated from CITEBOT_TUNE_PROVIDER_PRICE_PER_MTOK
    threads_json: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")  # thread keys trained on
    users_json: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")  # whose messages they hold


class Job(Base):
    """A reindex or tuning job run by a queue worker: who asked, where progress goes, what came of it.

    The row is the job's record across retries: a worker killed mid-job leaves it `running`, the broker
    hands the message to another worker, and `attempts` counts how many workers started it.
    """

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_audit_id)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # reindex | tune
    target: Mapped[str] = mapped_column(Text, default="")  # source name; "" is every source
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued|waiting|running|done|failed
    requested_by: Mapped[str] = mapped_column(String(64))  # "cli", or a Slack user id
    channel_id: Mapped[str | None] = mapped_column(String(64))  # where progress is posted, if from Slack
    message_ts: Mapped[str | None] = mapped_column(String(32))  # the status message edited in place
    workspace_id: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(128))
    progress: Mapped[str] = mapped_column(Text, default="")
    result_json: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
