"""What Prometheus reads at scrape time from a bot or worker: jobs active, broker queue depth, index size."""

from __future__ import annotations

from sqlalchemy import Engine

from core.settings import Settings
from jobs.records import active_count
from ops.metrics import Gauge


def state_gauges(settings: Settings, engine: Engine) -> list[Gauge]:
    def chunks() -> int:
        from indexing.store import open_collection

        collection = open_collection(settings.index, create=False)
        return collection.count() if collection is not None else 0

    gauges = [Gauge("citebot_jobs_active", "Jobs queued, waiting for a lock or running.",
                    lambda: active_count(engine)),
              Gauge("citebot_index_chunks", "Chunks in the search index.", chunks)]
    if settings.broker_url:
        from jobs.queue import queue_depth

        gauges.append(Gauge("citebot_queue_depth", "Job messages waiting in the broker queue.",
                            lambda: queue_depth(settings.ops)))
    return gauges
