"""Block Kit builders: answers with [n] markers, a numbered Sources section and feedback buttons.

Slack rejects a message whose section text exceeds 3,000 characters, that has more than 50 blocks or
more than 40,000 characters of text; every builder here stays inside those limits by splitting long
text into several sections and truncating what still does not fit, pointing at the audit id for the
full answer. Builders are pure functions so they can be tested without Slack.
"""

from __future__ import annotations

from answering.result import AnswerResult
from bot.formatting import SECTION_LIMIT, escape, fallback_text, inline, mrkdwn_pieces
from core.dates import updated_ago

MAX_BLOCKS = 50
MESSAGE_LIMIT = 40000
FEEDBACK_REASONS = {"wrong": "Wrong", "outdated": "Outdated", "incomplete": "Incomplete",
                    "wrong_source": "Wrong source"}
ROUTE_LABELS = {"rag": "answered from the docs", "abstain": "not answered: sources too weak",
                "escalate": "handed to a person"}
PROGRESS_TEXT = ":hourglass_flowing_sand: Looking through the docs…"


def _split(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of our own mrkdwn (source lists, quotes) of at most `limit` characters, cut at line or
    word boundaries where possible."""
    pieces = []
    while len(text) > limit:
        cut = max(text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
        cut = cut if cut > limit // 2 else limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    return pieces + ([text] if text else [])


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _source_lines(result: AnswerResult, quotes: bool) -> list[str]:
    passages = {p.chunk_id: p for p in result.passages}
    lines = []
    for c in result.citations:
        label = escape(c.heading or c.title or c.source)
        link = f"<{c.url}|{label}>" if c.url else f"{label} ({escape(c.source)})"
        line = f"[{c.n}] {link}"
        if fresh := updated_ago(c.updated_at):
            line += f" · _{fresh}_"
        if quotes and c.chunk_id in passages:
            quote = " ".join(passages[c.chunk_id].body.split())[:280]
            line += f"\n> {inline(quote)}"  # Markdown of the page: a link keeps only its text
        lines.append(line)
    return lines


def feedback_actions(audit_id: str, shareable: bool = False) -> dict:
    elements = [
        {"type": "button", "action_id": "feedback_helpful", "value": audit_id,
         "text": {"type": "plain_text", "text": ":thumbsup: Helpful", "emoji": True}},
        {"type": "static_select", "action_id": "feedback_not_helpful",
         "placeholder": {"type": "plain_text", "text": ":thumbsdown: Not helpful", "emoji": True},
         "options": [{"text": {"type": "plain_text", "text": label}, "value": f"{audit_id}:{key}"}
                     for key, label in FEEDBACK_REASONS.items()]},
        {"type": "button", "action_id": "escalate", "value": audit_id,
         "text": {"type": "plain_text", "text": "Escalate to a person"}},
        {"type": "button", "action_id": "show_quotes", "value": audit_id,
         "text": {"type": "plain_text", "text": "Show quotes"}},
    ]
    if shareable:
        elements.append({"type": "button", "action_id": "share_answer", "value": audit_id, "style": "primary",
                         "text": {"type": "plain_text", "text": "Share in channel"}})
    return {"type": "actions", "block_id": f"feedback:{audit_id}", "elements": elements}


def _sources(result: AnswerResult, quotes: bool) -> list[dict]:
    lines = _source_lines(result, quotes)
    if not lines:
        return []
    return [{"type": "divider"}] + [_section(piece) for piece in _split("*Sources*\n" + "\n".join(lines))]


def _tail(result: AnswerResult, shareable: bool, buttons: bool) -> list[dict]:
    footer = [{"type": "mrkdwn", "text": f"{ROUTE_LABELS.get(result.route, result.route)} · audit id "
                                         f"`{result.audit_id}`"}]
    return [{"type": "context", "elements": footer}] + ([feedback_actions(result.audit_id, shareable)]
                                                       if buttons and result.audit_id else [])


def answer_message(result: AnswerResult, quotes: bool = False, shareable: bool = False,
                   buttons: bool = True) -> dict:
    """`text` (notification fallback) and `blocks` for chat.postMessage / chat.update."""
    blocks = [_section(piece) for piece in mrkdwn_pieces(result.answer)] + _sources(result, quotes)
    return {"text": _fallback(result.answer, result.audit_id),
            "blocks": _fit(blocks, _tail(result, shareable, buttons), result.audit_id)}


def stream_end_blocks(result: AnswerResult) -> list[dict]:
    """What closes a streamed answer (the text itself arrived as stream chunks): sources, footer, buttons."""
    return _fit(_sources(result, quotes=False), _tail(result, shareable=False, buttons=True), result.audit_id)


def _fallback(answer: str, audit_id: str) -> str:
    """The notification text: formatted and escaped like the blocks (a quoted `<!channel>` stays text)."""
    return fallback_text(answer, 2900, f"… (truncated; full answer: audit id {audit_id})")


def _fit(blocks: list[dict], tail: list[dict], audit_id: str) -> list[dict]:
    """Keep the tail (footer, buttons) and as many body blocks as Slack's limits allow."""
    budget_blocks = MAX_BLOCKS - len(tail) - 1
    budget_chars = MESSAGE_LIMIT - 2000
    kept, used = [], 0
    for block in blocks:
        size = len(block.get("text", {}).get("text", ""))
        if len(kept) >= budget_blocks or used + size > budget_chars:
            kept.append(_section(f"_…truncated: the full answer is in the audit log, id `{audit_id}`._"))
            break
        kept.append(block)
        used += size
    return kept + tail


def mrkdwn_message(text: str) -> dict:
    """A message of our own mrkdwn (not escaped again), in as many sections as it needs."""
    return {"text": text[:3000], "blocks": [_section(piece) for piece in _split(text)][:MAX_BLOCKS]}


def notice(text: str) -> dict:
    """Plain text (an error, a status) shown as typed: escaped in the blocks and the notification text."""
    return mrkdwn_message(escape(text))


def help_message(admin: bool) -> dict:
    lines = ["*citebot* answers from the team's docs and Slack threads and cites its sources.",
             "• Mention me or DM me a question; reply in the thread to follow up.",
             "• `/ask QUESTION`: a private answer you can share in the channel.",
             "• Under every answer: *Helpful*, *Not helpful* (with a reason) and *Escalate to a person*.",
             "• React with :white_check_mark: on a solved thread to make it a source for later answers.",
             "• `/citebot config`: how I behave in this channel.",
             "• `/citebot tune status`: which fine-tuned adapter writes my escalation replies."]
    if admin:
        lines += ["• `/reindex [SOURCE]`: update the index (admins).",
                  "• `/citebot tune run`: re-tune the escalation model on resolved threads (admins).",
                  "• `/citebot audit [N|ID]`: recent answers or one answer with its sources (admins)."]
    return mrkdwn_message("\n".join(lines))


def quotes_message(cited: list[tuple[int, str, str | None, str]]) -> dict:
    """The supporting passages of an answer, as (n, title, url, passage text), quoted."""
    lines = []
    for n, title, url, text in cited:
        label = f"<{url}|{escape(title)}>" if url else escape(title)
        quote = " ".join(text.split())[:600]
        lines.append(f"[{n}] {label}\n> {inline(quote)}")  # Markdown of the page: a link keeps only its text
    return mrkdwn_message("\n".join(lines) or "This answer cites no passage.")
