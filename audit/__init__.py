"""The audit log: the writer with its spool (rows are never lost), the queries the CLI and the review page
share, the JSON shapes of an answer, and retention."""
