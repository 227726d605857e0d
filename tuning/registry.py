"""The model registry: the `tuning_runs` table, and which escalation model the bot serves.

A run trains a local LoRA adapter or a model at a provider (OpenAI fine-tuning); exactly one of them is
served at a time. Every bot replica polls `serving` (one indexed query), so promoting or rolling back in
one place reaches all of them without a restart. Adapter files live under CITEBOT_HOME/adapters/<version>;
in a multi-replica deployment that folder is a shared volume.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine

from core.db import session_scope
from core.errors import CitebotError, NotFoundError
from core.models import TuningRun, utcnow


@dataclass(frozen=True)
class ActiveAdapter:
    version: str
    path: Path


@dataclass(frozen=True)
class ServedModel:
    """The promoted escalation model: a local adapter (`path`) or a provider's model id (`model`)."""

    version: str
    provider: str
    path: Path | None = None
    model: str | None = None


def serving(engine: Engine) -> ServedModel | None:
    """What the bot should answer escalations with; None: the configured base model."""
    with session_scope(engine) as session:
        row = session.scalar(select(TuningRun).where(TuningRun.active.is_(True)))
        if row is None:
            return None
        return ServedModel(row.version, row.provider or "local", Path(row.adapter_path) if row.adapter_path else None,
                           row.provider_model)


def active_adapter(engine: Engine) -> ActiveAdapter | None:
    """The promoted local adapter (None when the base model or a provider model is served)."""
    served = serving(engine)
    return ActiveAdapter(served.version, served.path) if served and served.provider == "local" and served.path \
        else None


def list_runs(engine: Engine, limit: int = 20) -> list[TuningRun]:
    with session_scope(engine) as session:
        rows = list(session.scalars(select(TuningRun).order_by(TuningRun.id.desc()).limit(limit)))
        session.expunge_all()
        return rows


def last_run(engine: Engine) -> TuningRun | None:
    """The newest run that got as far as training (failed and skipped runs do not count)."""
    with session_scope(engine) as session:
        row = session.scalar(select(TuningRun).where(TuningRun.status.in_(("kept", "promoted", "rolled_back")))
                             .order_by(TuningRun.id.desc()).limit(1))
        if row is not None:
            session.expunge(row)
        return row


def start_run(engine: Engine, version: str, triggered_by: str, dataset_hash: str, base_model: str,
              params: dict, train_examples: int, heldout_examples: int, newest_thread_ts: float,
              provider: str = "local", threads: list[str] | None = None, users: list[str] | None = None) -> None:
    with session_scope(engine) as session:
        session.add(TuningRun(version=version, triggered_by=triggered_by, status="running", active=False,
                              dataset_hash=dataset_hash, base_model=base_model, params_json=json.dumps(params),
                              train_examples=train_examples, heldout_examples=heldout_examples,
                              newest_thread_ts=newest_thread_ts, provider=provider,
                              threads_json=json.dumps(sorted(threads or [])),
                              users_json=json.dumps(sorted(users or []))))


def get_run(engine: Engine, version: str) -> TuningRun:
    with session_scope(engine) as session:
        row = _get(session, version)
        session.expunge(row)
        return row


def unfinished_run(engine: Engine, dataset_hash: str, provider: str) -> TuningRun | None:
    """The newest run on this very dataset that crashed, was killed or is still going at the provider."""
    with session_scope(engine) as session:
        row = session.scalar(select(TuningRun).where(TuningRun.dataset_hash == dataset_hash,
                                                     TuningRun.provider == provider,
                                                     TuningRun.status.in_(("running", "failed")))
                             .order_by(TuningRun.id.desc()).limit(1))
        if row is not None:
            session.expunge(row)
        return row


def runs_trained_on(engine: Engine, user: str) -> list[TuningRun]:
    """Runs (adapters or provider models) whose training data held messages of `user`."""
    with session_scope(engine) as session:
        rows = list(session.scalars(select(TuningRun).where(TuningRun.users_json.contains(json.dumps(user)))
                                    .order_by(TuningRun.id)))
        session.expunge_all()
        return [r for r in rows if user in json.loads(r.users_json or "[]")]


def update_run(engine: Engine, version: str, finished: bool = False, **values) -> None:
    """Record progress (a provider's job id, uploaded files) or, `finished`, the outcome (status, losses,
    evaluation, adapter files, or the error)."""
    with session_scope(engine) as session:
        row = _get(session, version)
        for key, value in values.items():
            setattr(row, key, json.dumps(value) if key.endswith("_json") and not isinstance(value, str) else value)
        if finished:
            row.finished_at = utcnow()


def finish_run(engine: Engine, version: str, **values) -> None:
    update_run(engine, version, finished=True, **values)


def _get(session, version: str) -> TuningRun:
    row = session.scalar(select(TuningRun).where(TuningRun.version == version))
    if row is None:
        raise NotFoundError(f"No tuning run {version!r}. See `citebot tune list`.")
    return row


def promote(engine: Engine, version: str) -> None:
    """Serve `version` from now on (every replica picks it up within its poll interval)."""
    with session_scope(engine) as session:
        row = _get(session, version)
        if row.provider != "local":
            if not row.provider_model:
                raise CitebotError(f"Run {version} produced no {row.provider} model (status {row.status}); "
                                   "it cannot be promoted.")
        elif not row.adapter_path or not (Path(row.adapter_path) / "adapter_config.json").exists():
            raise CitebotError(f"Run {version} has no adapter files (status {row.status}); it cannot be promoted.")
        for other in session.scalars(select(TuningRun).where(TuningRun.active.is_(True))):
            other.active = False
        row.active, row.status, row.promoted_at = True, "promoted", utcnow()


def _rollback_pair(session) -> tuple[TuningRun, TuningRun | None]:
    current = session.scalar(select(TuningRun).where(TuningRun.active.is_(True)))
    if current is None:
        raise CitebotError("No tuned model is active: the bot already uses the base model.")
    previous = session.scalar(
        select(TuningRun).where(TuningRun.status == "promoted", TuningRun.id != current.id,
                                TuningRun.promoted_at.is_not(None))
        .order_by(TuningRun.promoted_at.desc()).limit(1))
    return current, previous


def rollback_target(engine: Engine) -> TuningRun | None:
    """The run a rollback would serve (None: the base model), so that it can be made ready first."""
    with session_scope(engine) as session:
        previous = _rollback_pair(session)[1]
        if previous is not None:
            session.expunge(previous)
        return previous


def rollback(engine: Engine) -> str | None:
    """Stop serving the active model and go back to the one promoted before it (None: the base model)."""
    with session_scope(engine) as session:
        current, previous = _rollback_pair(session)
        current.active, current.status = False, "rolled_back"
        if previous is None:
            return None
        previous.active = True
        return previous.version
