"""Slack channels through the Web API: history, thread replies and permalinks, paginated.

Rate limits are honoured by slack_sdk's retry handler, which sleeps for the Retry-After the API sends.
If a channel still fails (an error, or 429 after the retries), the channel is reported as skipped and
the harvest marked incomplete, so the threads already indexed from it are kept, not deleted.
"""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import CitebotError
from core.slack_web import paged, web_client
from indexing.sources.base import Harvest, ProgressFn, Source
from indexing.sources.slack_threads import group_threads, is_knowledge, thread_document

PAGE_SIZE = 200


class SlackApiSource(Source):
    def __init__(self, name: str, channels: Sequence[str], token: str | None, api_url: str,
                 page_size: int = PAGE_SIZE):
        if not token:
            raise CitebotError(f"Source {name!r} reads Slack and needs a bot token: set SLACK_BOT_TOKEN "
                               "(scopes channels:history, groups:history, channels:read, groups:read).")
        if not channels:
            raise CitebotError(f"Source {name!r}: list the channel ids to index in `channels`.")
        self.name, self.channels, self.page_size = name, list(channels), page_size
        self._token, self._api_url = token, api_url

    def _client(self):
        return web_client(self._token, self._api_url)

    def _channel(self, client, channel_id: str, harvest: Harvest) -> None:
        info = client.conversations_info(channel=channel_id)["channel"]
        name, private = info.get("name", channel_id), bool(info.get("is_private"))
        history = list(paged(client.conversations_history, "messages", channel=channel_id,
                                   limit=self.page_size))
        for thread_ts, messages in group_threads(history).items():
            root = messages[0]
            if root.get("reply_count"):
                messages = list(paged(client.conversations_replies, "messages", channel=channel_id,
                                            ts=thread_ts, limit=self.page_size))
            if not any(is_knowledge(m) for m in messages):
                continue
            permalink = client.chat_getPermalink(channel=channel_id, message_ts=thread_ts)["permalink"]
            doc = thread_document(source_id=self.name, channel_id=channel_id, channel_name=name,
                                  private=private, messages=messages, permalink=permalink)
            if doc:
                harvest.add(doc)

    def collect(self, harvest: Harvest, progress: ProgressFn) -> None:
        from slack_sdk.errors import SlackApiError, SlackRequestError

        client = self._client()
        for done, channel_id in enumerate(self.channels, 1):
            try:
                self._channel(client, channel_id, harvest)
            except SlackApiError as exc:
                status = exc.response.status_code
                error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
                reason = ("rate limited (429) after retries" if status == 429
                          else f"Slack API error: {error or status}")
                harvest.interrupted(f"slack channel {channel_id}", f"{reason}; its indexed threads are kept")
            except (SlackRequestError, OSError) as exc:
                harvest.interrupted(f"slack channel {channel_id}",
                                    f"cannot reach Slack at {self._api_url}: {exc}; its indexed threads are kept")
            progress("channels", done, len(self.channels))

    def describe(self) -> str:
        return f"{self.name}: Slack channels {', '.join(self.channels)}"
