"""What the listeners share: settings, the answerer, access checks, dedupe, the job runner."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from bot.access import ChannelAccess
from bot.channels import ChannelSettings
from core.settings import Settings
from jobs.runner import JobRunner
from service.answers import AnswerService


@dataclass
class Services:
    settings: Settings
    answerer: AnswerService
    access: ChannelAccess
    deduper: object
    jobs: JobRunner
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
