"""Prometheus metrics: answers and routes, latency per stage, duplicate deliveries, jobs, queue depth and
index size. The bot serves them at /metrics, a worker on `citebot worker --metrics-port`.

Counters and histograms are updated where things happen; queue depth and index size are read when
Prometheus scrapes (cached a few seconds so a scrape never hammers the database or Chroma).
"""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

ANSWERS = Counter("citebot_answers", "Questions answered, by route (rag, abstain, escalate).", ["route"])
STAGE_SECONDS = Histogram("citebot_answer_stage_seconds", "Time per answering stage.", ["stage"],
                          buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
DUPLICATES = Counter("citebot_duplicate_events", "Slack event deliveries dropped as retries of one already seen.")
JOBS = Counter("citebot_jobs", "Jobs run to the end by this process, by kind and outcome.", ["kind", "status"])


def observe_answer(route: str, latency_ms: dict[str, float]) -> None:
    ANSWERS.labels(route).inc()
    for stage, ms in latency_ms.items():
        STAGE_SECONDS.labels(stage).observe(ms / 1000)


class StateCollector:
    """Gauges read at scrape time: jobs waiting or running, broker queue length, chunks in the index."""

    CACHE_SECONDS = 5.0

    def __init__(self, settings, engine):
        self.settings, self.engine = settings, engine
        self._cached: tuple[float, list] = (0.0, [])

    def _read(self) -> list:
        from bot.jobs.records import active_count
        from indexing.store import open_collection

        families = []
        try:
            jobs = GaugeMetricFamily("citebot_jobs_active", "Jobs queued, waiting for a lock or running.")
            jobs.add_metric([], active_count(self.engine))
            families.append(jobs)
        except Exception:  # noqa: BLE001 - an unreachable database shows as a missing gauge, not a 500
            pass
        if self.settings.broker_url:
            from bot.jobs.queue import queue_depth

            depth = queue_depth(self.settings)
            if depth is not None:
                broker = GaugeMetricFamily("citebot_queue_depth", "Job messages waiting in the broker queue.")
                broker.add_metric([], depth)
                families.append(broker)
        try:
            collection = open_collection(self.settings, create=False)
            chunks = GaugeMetricFamily("citebot_index_chunks", "Chunks in the search index.")
            chunks.add_metric([], collection.count() if collection is not None else 0)
            families.append(chunks)
        except Exception:  # noqa: BLE001
            pass
        return families

    def collect(self):
        stamp, families = self._cached
        if time.monotonic() - stamp > self.CACHE_SECONDS:
            families = self._read()
            self._cached = (time.monotonic(), families)
        yield from families


_registered: list[StateCollector] = []


def register_state(settings, engine) -> None:
    """Add the scrape-time gauges once per process."""
    if not _registered:
        collector = StateCollector(settings, engine)
        REGISTRY.register(collector)
        _registered.append(collector)


def exposition() -> tuple[bytes, str]:
    """The metrics page body and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
