"""Redaction of secrets and e-mail addresses from text before it is stored (audit log, spool).

People paste tokens into questions ("why does xoxb-… get invalid_auth?"); the audit log must not become
the place those leak from. Each match is replaced by a label saying what was removed, so a reviewer
still understands the question.
"""

from __future__ import annotations

import re

SECRET_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("private-key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S)),
    ("slack-token", re.compile(r"\bx(?:ox[abposr]|app)-[A-Za-z0-9-]{8,}")),
    ("openai-key", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9_-]{16,}")),
    ("github-token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}")),
    ("aws-access-key", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("aws-secret", re.compile(r"(?i)(?P<keep>aws_secret_access_key\s*[=:]\s*)[A-Za-z0-9/+=]{40}")),
    ("password", re.compile(r"(?i)(?P<keep>\b(?:password|passwd|pwd)\s*[=:]\s*)\S+")),
]
EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")


def redact(text: str | None, emails: bool = True) -> str | None:
    if not text:
        return text
    for label, pattern in SECRET_PATTERNS:  # `keep` is the "password = " part a reader still needs
        text = pattern.sub(lambda m, label=label: (m.groupdict().get("keep") or "") + f"[redacted {label}]", text)
    return EMAIL.sub("[redacted email]", text) if emails else text
