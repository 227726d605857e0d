"""The one Slack Web API client citebot makes, and cursor paging: for the bot, Slack sources and tuning.

slack_sdk's retry handlers sleep for the Retry-After that a 429 carries and retry a dropped connection,
so every caller gets the same rate-limit behaviour.
"""

from __future__ import annotations

from collections.abc import Iterator

RATE_LIMIT_RETRIES = 3
CONNECTION_RETRIES = 2


def web_client(token: str | None, api_url: str):
    """A WebClient pointed at `api_url` (SLACK_API_URL) that waits out 429s and retries lost connections."""
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

    client = WebClient(token=token, base_url=api_url, timeout=30)
    client.retry_handlers.extend([RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
                                  ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES)])
    return client


def paged(call, key: str, **params) -> Iterator:
    """Every item of a cursor-paginated Web API list (`key` of each page), following next_cursor."""
    cursor = None
    while True:
        response = call(cursor=cursor, **params) if cursor else call(**params)
        yield from response.get(key, [])
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return
