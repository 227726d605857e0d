"""Liveness (/healthz: the process answers) and readiness (/readyz: it can do its job right now).

Readiness checks what an answer needs: the audit database, the search index (Chroma server or the
local files) and, when configured, Redis (event dedupe and job locks). A load balancer or Kubernetes
stops sending traffic to a replica whose readiness fails, without restarting it.
"""

from __future__ import annotations

from sqlalchemy import text


def _database(settings, engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _index(settings, engine) -> None:
    from indexing.store import open_collection

    collection = open_collection(settings.index, create=False)
    if collection is not None:
        collection.count()


def _redis(settings, engine) -> None:
    import redis

    redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2).ping()


def readiness(settings, engine) -> tuple[bool, dict[str, str]]:
    """(all ok, {check: "ok" or the error}) for every dependency this process uses."""
    checks = {"database": _database, "index": _index}
    if settings.redis_url:
        checks["redis"] = _redis
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check(settings, engine)
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - every failure is a reason to report, not to crash
            results[name] = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    return all(v == "ok" for v in results.values()), results
