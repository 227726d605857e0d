"""Who may see which passage: a private channel's thread is cited only to members of that channel.

Membership comes from `conversations.members` (paged) and is cached briefly per channel, so a busy
channel does not cost one API call per question.
"""

from __future__ import annotations

import threading
import time

from core.slack_web import paged
from indexing.retrieval import Passage

CACHE_SECONDS = 300


class ChannelAccess:
    """Membership cache shared by all requests; each lookup uses the asking workspace's client."""

    def __init__(self, ttl: float = CACHE_SECONDS):
        self.ttl = ttl
        self._members: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def members(self, client, channel_id: str) -> frozenset[str]:
        with self._lock:
            cached = self._members.get(channel_id)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        members = frozenset(paged(client.conversations_members, "members", channel=channel_id, limit=200))
        with self._lock:
            self._members[channel_id] = (time.monotonic(), members)
        return members

    def allows(self, client, passage: Passage, user: str | None, reply_channel: str | None) -> bool:
        """Public passages always; private ones only if the asker is a member and the reply stays there.

        A reply posted in another channel would show the passage to that channel's members too, so a
        private thread is only cited in its own channel or in the asker's DM (channel ids starting D).
        """
        if passage.access != "private":
            return True
        channel = passage.channel_id
        if not channel or not user:
            return False
        in_place = reply_channel == channel or (reply_channel or "").startswith("D")
        try:
            return in_place and user in self.members(client, channel)
        except Exception:  # if Slack cannot tell us, the safe answer is "no"
            return False
