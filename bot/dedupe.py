"""Event dedupe: Slack retries an event it thinks we missed, and it must never be answered twice.

In-process by default; with CITEBOT_REDIS_URL the keys live in Redis (SET NX with a TTL), so a retry
that lands on another replica is recognised too.
"""

from __future__ import annotations

import threading
import time

TTL_SECONDS = 3600  # Slack retries within minutes; an hour is plenty


class MemoryDeduper:
    def __init__(self, ttl: float = TTL_SECONDS):
        self.ttl = ttl
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def first_time(self, key: str) -> bool:
        """True exactly once per key within the TTL (atomic across threads)."""
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > 10000:
                self._seen = {k: t for k, t in self._seen.items() if now - t < self.ttl}
            seen_at = self._seen.get(key)
            if seen_at is not None and now - seen_at < self.ttl:
                return False
            self._seen[key] = now
            return True


class RedisDeduper:
    def __init__(self, url: str, ttl: int = TTL_SECONDS):
        import redis

        self.client = redis.Redis.from_url(url)
        self.ttl = ttl

    def first_time(self, key: str) -> bool:
        return bool(self.client.set(f"citebot:event:{key}", "1", nx=True, ex=self.ttl))


def make_deduper(redis_url: str | None):
    return RedisDeduper(redis_url) if redis_url else MemoryDeduper()


def event_key(body: dict) -> str | None:
    """The identity of a delivery: the Events API event_id (the same on every retry)."""
    return body.get("event_id")
