"""Background jobs (reindex, tuning): recorded in the audit log, run in-process or on queue workers."""
