"""Who may use the review page.

Today: a shared admin token (CITEBOT_REVIEW_TOKEN) typed once on the login page, then Starlette's
signed, expiring, HttpOnly session cookie. The app only asks an `Authenticator` whom a credential
belongs to, so another login (OIDC behind a reverse proxy such as oauth2-proxy, or an in-app flow) is
another implementation of the same small interface, not a rewrite.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Protocol

SESSION_COOKIE = "citebot_review"
SESSION_SECONDS = 12 * 3600


class Authenticator(Protocol):
    secret: str  # signs the session cookie

    def check(self, credential: str) -> str | None:
        """The user a login credential belongs to, or None."""


class TokenAuth:
    def __init__(self, token: str):
        self._token = token
        # Derived, not the token itself: the cookie signature never exposes what logs you in.
        self.secret = hashlib.sha256(b"citebot-review-session:" + token.encode()).hexdigest()

    def check(self, credential: str) -> str | None:
        return "admin" if hmac.compare_digest(credential.encode(), self._token.encode()) else None
