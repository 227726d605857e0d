"""Shared foundation of citebot: settings, SQL models and database access.

`bot`, `indexing` and `tuning` all depend on this package; it depends on none of them.
"""
