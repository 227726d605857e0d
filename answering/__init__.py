"""Answering, pure: a request in, an answer out (retriever → postprocessors → router → composer → tracer).

No Slack, no SQL, no metrics: `service.answers` audits and counts what comes out of here."""
