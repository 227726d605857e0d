"""Prometheus metrics: answers and routes, latency per stage, duplicate deliveries, jobs, queue depth and
index size. The bot serves them at /metrics, a worker on `citebot worker --metrics-port`.

Counters and histograms are updated where things happen; queue depth and index size are read when
Prometheus scrapes (cached a few seconds so a scrape never hammers the database or Chroma).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Gauge:
    """A number read when Prometheus scrapes; `read` returns None (or raises) when it cannot tell now,
    and the gauge is then left out of that scrape instead of failing the page."""

    name: str
    help: str
    read: Callable[[], float | None]


class StateCollector:
    """Gauges read at scrape time, cached a few seconds so a scrape never hammers a database or broker.

    The gauges are handed in by the process that serves the page: this module knows nothing of jobs,
    queues or indexes, so everything may count something here without an import cycle.
    """

    CACHE_SECONDS = 5.0

    def __init__(self, gauges: list[Gauge]):
        self.gauges = gauges
        self._cached: tuple[float, list] = (0.0, [])

    def _read(self) -> list:
        families = []
        for gauge in self.gauges:
            try:
                value = gauge.read()
            except Exception:  # noqa: BLE001 - an unreachable dependency shows as a missing gauge, not a 500
                continue
            if value is not None:
                family = GaugeMetricFamily(gauge.name, gauge.help)
                family.add_metric([], value)
                families.append(family)
        return families

    def collect(self):
        stamp, families = self._cached
        if time.monotonic() - stamp > self.CACHE_SECONDS:
            families = self._read()
            self._cached = (time.monotonic(), families)
        yield from families


_registered: list[StateCollector] = []


def register_state(gauges: list[Gauge]) -> None:
    """Add the scrape-time gauges once per process."""
    if not _registered:
        collector = StateCollector(gauges)
        REGISTRY.register(collector)
        _registered.append(collector)


def exposition() -> tuple[bytes, str]:
    """The metrics page body and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
