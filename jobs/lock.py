"""One job per source at a time: a lock held by a job id, in Redis when replicas share work.

The lock expires unless its holder renews it (a heartbeat thread), so a worker that was killed frees
it within `ttl` seconds. Its value is the job id, so the retry of that same job on another worker takes
the lock over at once instead of waiting for it to expire.
"""

from __future__ import annotations

import threading
import time
from functools import lru_cache

TTL_SECONDS = 30.0

# Take the lock when it is free or already ours (a retried job); renew or release it only if ours.
_ACQUIRE = """local cur = redis.call('GET', KEYS[1])
if (not cur) or cur == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0"""
_RENEW = """if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0"""
_RELEASE = """if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0"""


class _MemoryStore:
    """The same contract in one process (the laptop default has no Redis and one bot process)."""

    def __init__(self):
        self._held: dict[str, tuple[str, float]] = {}
        self._mutex = threading.Lock()

    def acquire(self, key: str, owner: str, ttl: float) -> bool:
        with self._mutex:
            current = self._held.get(key)
            if current and current[0] != owner and current[1] > time.monotonic():
                return False
            self._held[key] = (owner, time.monotonic() + ttl)
            return True

    def renew(self, key: str, owner: str, ttl: float) -> bool:
        return self.acquire(key, owner, ttl) if self.holder(key) == owner else False

    def release(self, key: str, owner: str) -> None:
        with self._mutex:
            if self._held.get(key, ("",))[0] == owner:
                del self._held[key]

    def holder(self, key: str) -> str | None:
        current = self._held.get(key)
        return current[0] if current and current[1] > time.monotonic() else None


class _RedisStore:
    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, decode_responses=True)
        self._acquire = self.client.register_script(_ACQUIRE)
        self._renew = self.client.register_script(_RENEW)
        self._release = self.client.register_script(_RELEASE)

    def acquire(self, key: str, owner: str, ttl: float) -> bool:
        return bool(self._acquire(keys=[key], args=[owner, int(ttl * 1000)]))

    def renew(self, key: str, owner: str, ttl: float) -> bool:
        return bool(self._renew(keys=[key], args=[owner, int(ttl * 1000)]))

    def release(self, key: str, owner: str) -> None:
        self._release(keys=[key], args=[owner])

    def holder(self, key: str) -> str | None:
        return self.client.get(key)


_memory = _MemoryStore()


def reindex_lock(source: str) -> str:
    """The lock every reindex of `source` takes: queue jobs and `citebot index` alike."""
    return f"reindex:{source}"


class JobLocks:
    """Named locks (`reindex:handbook`, `tune`) for one Redis URL, or for this process without one."""

    def __init__(self, redis_url: str | None, ttl: float = TTL_SECONDS):
        self.store = _RedisStore(redis_url) if redis_url else _memory
        self.ttl = ttl

    @staticmethod
    def key(name: str) -> str:
        return f"citebot:lock:{name}"

    def holder(self, name: str) -> str | None:
        """The job id holding `name`, or None when it is free."""
        return self.store.holder(self.key(name))

    def hold(self, name: str, owner: str) -> HeldLock | None:
        """The lock, renewed in the background until released; None when another job holds it."""
        if not self.store.acquire(self.key(name), owner, self.ttl):
            return None
        return HeldLock(self, name, owner)


class HeldLock:
    """Use as a context manager: renews every ttl/3 seconds, releases on exit."""

    def __init__(self, locks: JobLocks, name: str, owner: str):
        self.locks, self.key, self.owner = locks, locks.key(name), owner
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, daemon=True, name=f"lock-{name}")
        self._thread.start()

    def _renew(self) -> None:
        while not self._stop.wait(self.locks.ttl / 3):
            try:
                self.locks.store.renew(self.key, self.owner, self.locks.ttl)
            except Exception:  # noqa: BLE001 - a Redis blip: try again next beat; the TTL covers us
                continue

    def release(self) -> None:
        self._stop.set()
        self.locks.store.release(self.key, self.owner)

    def __enter__(self) -> HeldLock:
        return self

    def __exit__(self, *exc) -> None:
        self.release()


@lru_cache(maxsize=4)
def process_locks(redis_url: str | None) -> JobLocks:
    """This process's lock client for `redis_url`, shared by every job it runs and every lookup it makes.
    Its Redis connection is opened once and kept: a client per lookup or per job resolved the host and
    connected each time, inside `/reindex`'s 3-second acknowledgement and on every 5-second retry of a
    worker's job that waits for a lock."""
    return JobLocks(redis_url)
