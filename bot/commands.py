"""Slash commands: /ask, /reindex, /citebot (help, config, audit, tune status|run) and /audit.

Each command acks within Slack's 3 s with a short text; the work runs in a lazy listener and replies
ephemerally to the person who asked (chat.postEphemeral), except the progress of jobs (/reindex,
/citebot tune run), which the channel sees as one message the job edits in place wherever it runs.
"""

from __future__ import annotations

from audit.log import get_answer, recent_answers
from bot.blocks import answer_message, escape, help_message, mrkdwn_message, notice
from bot.services import Services
from core.errors import CitebotError, NotFoundError


def _ephemeral(client, body: dict, message: dict) -> None:
    client.chat_postEphemeral(channel=body["channel_id"], user=body["user_id"], **message)


def audit_text(services: Services, arg: str) -> str:
    """`/citebot audit` (10 recent), `audit 25` (that many) or `audit ID` (one answer with sources)."""
    engine = services.answerer.engine
    if not arg or arg.isdigit():
        rows = recent_answers(engine, limit=min(int(arg or 10), 50))
        if not rows:
            return "No answers logged yet."
        return "\n".join(f"`{r.id}` {r.created_at:%Y-%m-%d %H:%M} *{r.route}* {escape(r.question[:80])}"
                         for r in rows)
    row = get_answer(engine, arg)
    cited = [p for p in row.passages if p.cited] or row.passages[:3]
    sources = "\n".join(f"[{p.rank}] {escape(p.title)} (score {p.score:.3f}) {p.url or escape(p.source)}"
                        for p in cited)
    return (f"*Q:* {escape(row.question)}\n*A:* {escape(row.answer)}\n*Route:* {row.route} ({escape(row.route_reason)})"
            f" · model {row.model} · {row.total_ms:.0f} ms\n*Sources*\n{sources}")


def _start_job(services: Services, client, body: dict, kind: str, target: str, text: str) -> None:
    """Post the status message the job will edit in place, then hand the job to the runner."""
    channel = body["channel_id"]
    status = client.chat_postMessage(channel=channel, text=text)
    try:
        services.jobs.submit(kind, target, body["user_id"], channel, status["ts"], body.get("team_id"))
    except Exception as exc:  # noqa: BLE001 - the broker is down: the admin who asked must know
        client.chat_update(channel=channel, ts=status["ts"], text=f":x: Could not start the {kind}: {exc}")


def tune_status_text(services: Services) -> str:
    """`/citebot tune status`: which adapter writes escalation replies, and the latest runs."""
    from tuning.registry import list_runs

    runs = list_runs(services.answerer.engine, limit=5)
    active = next((r for r in runs if r.active), None)
    if active is None:
        served = "base model (no tuned model promoted)"
    elif active.provider_model:
        served = f"{active.provider} model `{active.provider_model}` (run `{active.version}`)"
    else:
        served = f"adapter `{active.version}`"
    lines = [f"*Escalation model*: {served}"]
    for r in runs:
        if r.base_loss is not None and r.tuned_loss is not None:
            loss = f", held-out loss {r.base_loss:.2f} → {r.tuned_loss:.2f}"
        else:  # provider runs: the job's validation loss, and what the training cost
            loss = f", validation loss {r.tuned_loss:.2f}" if r.tuned_loss is not None else ""
            loss += f", {r.trained_tokens:,} trained tokens" if r.trained_tokens else ""
        lines.append(f"• `{r.version}` {r.provider} {r.status}{' (active)' if r.active else ''}: "
                     f"{r.train_examples} examples{loss}. {escape(r.error or r.decision)}")
    if not runs:
        lines.append("No tuning run yet: `citebot tune run` (or the scheduled job) starts one.")
    return "\n".join(lines)


def register(app, services: Services) -> None:
    def ack_ask(ack, body):
        ack(text="Looking through the docs…" if body.get("text", "").strip() else "Usage: /ask QUESTION")

    def ask(body, client):
        question = body.get("text", "").strip()
        if not question:
            return
        user, channel = body["user_id"], body["channel_id"]
        try:
            with services.answer_slots:
                result = services.answerer.ask(question, user=user, channel=channel,
                                               allowed=services.allowed(client, user, channel),
                                               contact=services.channels.for_channel(channel).escalate_to,
                                               workspace=body.get("team_id"))
            _ephemeral(client, body, answer_message(result, shareable=True))
        except CitebotError as exc:
            _ephemeral(client, body, notice(str(exc)))

    def ack_reindex(ack, body):
        source = body.get("text", "").strip()
        if not services.is_admin(body["user_id"]):
            ack(text="Only citebot admins can reindex (CITEBOT_SLACK_ADMINS).")
        elif services.jobs.busy("reindex", source):
            ack(text=f"A reindex of {source or 'these sources'} is already running; this one starts when it "
                     "is done.")
        else:
            ack(text="Reindex starting…")

    def reindex(body, client):
        if services.is_admin(body["user_id"]):
            source = body.get("text", "").strip()
            _start_job(services, client, body, "reindex", source,
                       f":arrows_counterclockwise: Reindexing {source or 'all sources'}…")

    def ack_citebot(ack, body):
        ack()

    def citebot(body, client):
        words = body.get("text", "").split()
        sub, arg = (words[0].lower() if words else "help"), " ".join(words[1:])
        if (sub, arg) == ("tune", "run") and services.is_admin(body["user_id"]):
            _start_job(services, client, body, "tune", "", ":brain: Tuning run queued…")
            return
        _ephemeral(client, body, _citebot_reply(services, body["user_id"], sub, arg, body["channel_id"]))

    def audit(body, client):
        _ephemeral(client, body, _citebot_reply(services, body["user_id"], "audit", body.get("text", "").strip()))

    app.command("/ask")(ack=ack_ask, lazy=[ask])
    app.command("/reindex")(ack=ack_reindex, lazy=[reindex])
    app.command("/citebot")(ack=ack_citebot, lazy=[citebot])
    app.command("/audit")(ack=ack_citebot, lazy=[audit])


def _citebot_reply(services: Services, user: str, sub: str, arg: str, channel: str = "") -> dict:
    if sub == "audit":
        if not services.is_admin(user):
            return notice("Only citebot admins can read the audit log (CITEBOT_SLACK_ADMINS).")
        try:
            text = audit_text(services, arg)
        except NotFoundError as exc:
            return notice(str(exc))
        return mrkdwn_message(text)
    if sub == "tune":
        text = tune_status_text(services)
        if arg.strip() == "run" and not services.is_admin(user):
            return notice("Only citebot admins can start a tuning run (CITEBOT_SLACK_ADMINS).")
        return mrkdwn_message(text)
    if sub == "config":
        text = f"*citebot settings for this channel*\n{services.channels.for_channel(channel).describe()}"
        return mrkdwn_message(text)
    return help_message(services.is_admin(user))
