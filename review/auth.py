"""Who may use the review page.

Today: a shared admin token (CITEBOT_REVIEW_TOKEN) typed once on the login page, then a signed,
expiring, HttpOnly cookie. The app only asks an `Authenticator` for the user of a request, so an OIDC
login (a reverse proxy such as oauth2-proxy passing a verified header, or an in-app flow) is another
implementation of the same two methods, not a rewrite.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Protocol

SESSION_COOKIE = "citebot_review"
SESSION_SECONDS = 12 * 3600


class Authenticator(Protocol):
    def user(self, cookie: str | None) -> str | None:
        """The signed-in user of a request, or None."""

    def login(self, credential: str) -> str | None:
        """A session cookie value for a valid credential, or None."""


class TokenAuth:
    def __init__(self, token: str):
        self._key = hashlib.sha256(b"citebot-review-session:" + token.encode()).digest()
        self._token = token

    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()

    def login(self, credential: str) -> str | None:
        if not hmac.compare_digest(credential.encode(), self._token.encode()):
            return None
        payload = f"admin|{int(time.time()) + SESSION_SECONDS}"
        return f"{payload}|{self._sign(payload)}"

    def user(self, cookie: str | None) -> str | None:
        if not cookie or cookie.count("|") != 2:
            return None
        name, expires, signature = cookie.split("|")
        payload = f"{name}|{expires}"
        if not hmac.compare_digest(signature, self._sign(payload)) or not expires.isdigit():
            return None
        return name if int(expires) > time.time() else None
