"""Operations: liveness and readiness checks, Prometheus metrics, JSON logs and the threaded WSGI server."""
