"""Buttons under answers: helpful, not helpful (with a reason), escalate to a person, share in channel.

Every click lands in the audit log against the answer it was under; the person who clicked gets a
short ephemeral confirmation so they know it counted.
"""

from __future__ import annotations

from audit.log import get_answer, record_escalation, record_feedback
from bot.blocks import FEEDBACK_REASONS, escape, notice, quotes_message
from bot.services import Services
from core.errors import NotFoundError


def _where(body: dict) -> tuple[str, str | None]:
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id", "")
    return channel, container.get("thread_ts") or container.get("message_ts")


def register(app, services: Services) -> None:
    engine, spool = services.answerer.engine, services.answerer.spool

    def ack_only(ack):
        ack()

    def confirm(client, body: dict, text: str) -> None:
        channel, thread = _where(body)
        client.chat_postEphemeral(channel=channel, user=body["user"]["id"], thread_ts=thread, **notice(text))

    def helpful(body, client):
        audit_id = body["actions"][0]["value"]
        try:
            record_feedback(engine, audit_id, body["user"]["id"], "helpful", spool=spool)
            confirm(client, body, "Thanks, noted as helpful.")
        except NotFoundError as exc:
            confirm(client, body, str(exc))

    def not_helpful(body, client):
        audit_id, _, reason = body["actions"][0]["selected_option"]["value"].partition(":")
        try:
            record_feedback(engine, audit_id, body["user"]["id"], "not_helpful", reason or None, spool=spool)
            label = FEEDBACK_REASONS.get(reason, "not helpful").lower()
            confirm(client, body, f"Thanks, noted as {label}. Use *Escalate to a person* if you still need help.")
        except NotFoundError as exc:
            confirm(client, body, str(exc))

    def escalate(body, client):
        audit_id = body["actions"][0]["value"]
        user = body["user"]["id"]
        try:
            row = get_answer(engine, audit_id)
            record_feedback(engine, audit_id, user, "escalated", spool=spool)
        except NotFoundError as exc:
            confirm(client, body, str(exc))
            return
        channel, thread = _where(body)
        contact = services.channels.for_channel(channel).escalate_to or services.settings.escalation_contact
        record_escalation(engine, audit_id, user, contact, channel, spool=spool)
        text = (f"{contact}: <@{user}> needs a person for "
                f"\u201c{escape(row.question[:300])}\u201d (audit id `{audit_id}`).")
        if services.settings.escalation_channel:
            client.chat_postMessage(channel=services.settings.escalation_channel, text=text)
            confirm(client, body, f"Escalated to {contact}.")
        else:
            client.chat_postMessage(channel=channel, thread_ts=thread, text=text)

    def share(body, client):
        audit_id = body["actions"][0]["value"]
        try:
            row = get_answer(engine, audit_id)
        except NotFoundError as exc:
            confirm(client, body, str(exc))
            return
        cited = [p for p in row.passages if p.cited]
        sources = "\n".join(f"• <{p.url}|{escape(p.title)}>" if p.url else f"• {escape(p.title)}" for p in cited)
        text = f"<@{body['user']['id']}> asked: {escape(row.question)}\n{escape(row.answer)}"
        channel, _ = _where(body)
        client.chat_postMessage(channel=channel, text=text + (f"\n*Sources*\n{sources}" if sources else ""))

    def show_quotes(body, client):
        from indexing.store import chunk_texts

        try:
            row = get_answer(engine, body["actions"][0]["value"])
        except NotFoundError as exc:
            confirm(client, body, str(exc))
            return
        cited = [p for p in row.passages if p.cited]
        texts = chunk_texts(services.settings.index, [p.chunk_id for p in cited])
        quotes = [(n, p.title, p.url, texts.get(p.chunk_id, "(no longer in the index)"))
                  for n, p in enumerate(cited, 1)]
        channel, thread = _where(body)
        client.chat_postEphemeral(channel=channel, user=body["user"]["id"], thread_ts=thread,
                                  **quotes_message(quotes))

    app.action("feedback_helpful")(ack=ack_only, lazy=[helpful])
    app.action("feedback_not_helpful")(ack=ack_only, lazy=[not_helpful])
    app.action("escalate")(ack=ack_only, lazy=[escalate])
    app.action("share_answer")(ack=ack_only, lazy=[share])
    app.action("show_quotes")(ack=ack_only, lazy=[show_quotes])
