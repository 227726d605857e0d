"""`citebot serve --emulator`: the real app behind the local Slack emulator, driven from the terminal.

Each line typed is delivered as a signed @-mention in #try-citebot; the bot's final answer (streamed,
or its progress message edited) comes back through the emulated Web API and is printed as plain text.
Nothing leaves the machine and no Slack workspace is needed.
"""

from __future__ import annotations

import re
import sys
import time

from emulator.slack import SlackEmulator

CHANNEL = "C0TRYCITE"
_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")


def render(message: dict) -> str:
    """A streamed answer's text, then Block Kit sections, as terminal text: links become `label (url)`,
    entities are unescaped."""
    sections = [b["text"]["text"] for b in message.get("blocks") or [] if b.get("type") in ("section", "context")
                and "text" in b]
    if message.get("streamed") == "stopped":  # the answer arrived as stream text; the blocks hold its sources
        parts = [message["text"].strip()] + sections
    else:
        parts = sections or [message.get("text", "")]
    parts += [e["text"] for b in message.get("blocks") or [] if b.get("type") == "context"
              for e in b.get("elements", []) if "text" in e]
    text = "\n".join(parts)
    text = _LINK.sub(r"\2 (\1)", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def run(settings, timeout: float = 300.0) -> None:
    from bot.app import build_app
    from bot.server import serve_http_in_thread

    with SlackEmulator(require_spec=False) as slack:
        slack.add_channel(CHANNEL, "try-citebot")
        local = settings.model_copy(update={"slack_bot_token": "xoxb-emulator", "slack_client_id": None,
                                            "slack_signing_secret": slack.signing_secret,
                                            "slack_api_url": slack.api_url})
        app = build_app(local)
        app.citebot_services.answerer.warm_up()
        server = serve_http_in_thread(app)
        url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"
        print("citebot is listening in an emulated #try-citebot. Type a question (Ctrl-D to quit).")
        for line in sys.stdin:
            question = line.strip()
            if not question:
                continue
            ts = slack._new_ts()
            slack.send_event(url, {"type": "app_mention", "user": "UYOU", "text": f"<@{slack.BOT_USER}> {question}",
                                   "ts": ts, "channel": CHANNEL})
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                replies = slack.replies_to(CHANNEL, ts)
                if replies and (slack.answered(replies[0]) or not (replies[0].get("streamed")
                                                                   or replies[0]["text"].startswith(":hourglass"))):
                    print(render(replies[0]) + "\n")
                    break
                time.sleep(0.1)
            else:
                print("(no answer within the time limit)\n")
        server.shutdown()
        if slack.violations:
            print("Slack API spec violations:", *slack.violations, sep="\n  ")
