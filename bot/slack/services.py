"""What the listeners share: settings, the answerer, access checks, dedupe, the reindex runner."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.answering.pipeline import Answerer
from bot.slack.access import ChannelAccess
from bot.slack.channels import ChannelSettings
from core.settings import Settings

ProgressPost = Callable[[str], None]


class ReindexRunner:
    """One reindex at a time per process; a second request is told one is running (issue: /reindex)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self.running: str | None = None

    def start(self, source: str | None, post: ProgressPost, done: Callable[[list, float], None],
              failed: Callable[[str], None]) -> bool:
        if not self._lock.acquire(blocking=False):
            return False
        self.running = source or "all sources"
        threading.Thread(target=self._run, args=(source, post, done, failed), daemon=True).start()
        return True

    def _run(self, source: str | None, post: ProgressPost, done, failed) -> None:
        from core.errors import CitebotError
        from indexing.pipeline import index_source
        from indexing.sources.config import find_source, load_sources

        started = time.perf_counter()
        last_post = 0.0
        try:
            sources = [find_source(self.settings, source)] if source else load_sources(self.settings)
            if not sources:
                raise CitebotError("no sources are configured (citebot.toml / CITEBOT_CONFIG)")

            def progress(stage: str, n: int, total: int) -> None:
                nonlocal last_post
                if time.monotonic() - last_post >= 1.0:  # edits are rate limited; once a second is plenty
                    last_post = time.monotonic()
                    post(f":arrows_counterclockwise: Reindexing {self.running}: {stage} {n}/{total or '?'}")

            summaries = [index_source(s, self.settings, progress) for s in sources]
            done(summaries, time.perf_counter() - started)
        except CitebotError as exc:
            failed(str(exc))
        except Exception as exc:  # noqa: BLE001 - reported to the admin who asked, never lost silently
            failed(f"{type(exc).__name__}: {exc}")
        finally:
            self.running = None
            self._lock.release()


@dataclass
class Services:
    settings: Settings
    answerer: Answerer
    access: ChannelAccess
    deduper: object
    reindex: ReindexRunner
    channels: ChannelSettings | None = None
    threads: dict[tuple[str, str], None] = field(default_factory=dict)  # (channel, thread_ts) answered in
    # CPU-bound answering shares few cores: running 50 at once starves the threads that ack and post
    # progress, so answers queue here while acks and placeholders stay fast.
    answer_slots: threading.BoundedSemaphore = field(init=False)

    def __post_init__(self) -> None:
        self.answer_slots = threading.BoundedSemaphore(self.settings.answer_concurrency)

    def remember_thread(self, channel: str, thread_ts: str, keep: int = 10000) -> None:
        """Threads answered here, newest last; the audit log is the full record, this is a fast path."""
        self.threads[(channel, thread_ts)] = None
        if len(self.threads) > keep:
            del self.threads[next(iter(self.threads))]

    def is_admin(self, user: str | None) -> bool:
        return bool(user) and user in self.settings.admin_ids

    def allowed(self, client, user: str | None, channel: str):
        """The passage filter for one question: access rules plus the channel's source list."""
        sources = self.channels.for_channel(channel).sources if self.channels else ()
        return lambda p: (not sources or p.source_id in sources) and self.access.allows(client, p, user, channel)
