"""The App Home tab: what the bot covers (sources, documents, last reindex), how to ask, and the person's
own recent questions. Published with views.publish each time someone opens the tab."""

from __future__ import annotations

import logging

from audit.queries import last_index_runs, recent_answers
from bot.assistant import Coverage
from bot.formatting import escape, inline
from bot.services import Services
from core.dates import updated_ago

log = logging.getLogger("citebot.slack")
ROUTE_ICONS = {"rag": ":white_check_mark:", "abstain": ":grey_question:", "escalate": ":raising_hand:",
               "error": ":warning:"}
HOW_TO_ASK = ("*How to ask*\n• Mention me in a channel: `@citebot how do I rotate the VPN key?`\n"
              "• DM me, or open me in the assistant panel\n• `/ask your question` (only you see the answer)\n"
              "• Reply in a thread I answered to follow up")


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def home_view(covered: dict[str, dict], runs: dict, recent: list) -> dict:
    """The Home tab's view (a pure function of what the index covers, index runs and the person's answers)."""
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": "citebot"}},
                          _section("I answer from the team's indexed docs and threads, with numbered sources; "
                                   "questions they do not cover get an escalation, never a guess.")]
    lines = []
    for source, info in sorted(covered.items()):
        run = runs.get(source)
        ago = updated_ago(run.created_at.isoformat()) if run is not None else None
        when = f", {ago.replace('updated', 'reindexed')}" if ago else ""
        titles = ", ".join(inline(t) for t in info["titles"][:3])  # a Markdown link in a title keeps its text
        count = f"{info['documents']} document" + ("s" if info["documents"] != 1 else "")
        lines.append(f"• *{escape(source)}*: {count}{when}" + (f" (e.g. {titles})" if titles else ""))
    blocks += [{"type": "divider"}, _section("*What I cover*\n" + ("\n".join(lines) if lines else
                                                                  "Nothing is indexed yet: an admin runs `/reindex`."))]
    blocks += [{"type": "divider"}, _section(HOW_TO_ASK)]
    if recent:
        asked = "\n".join(f"{ROUTE_ICONS.get(a.route, '•')} {escape(a.question[:150])} · `{a.id}`" for a in recent)
        blocks += [{"type": "divider"}, _section("*Your recent questions*\n" + asked)]
    return {"type": "home", "blocks": blocks}


def register(app, services: Services, covered: Coverage) -> None:

    @app.event("app_home_opened")
    def opened(event, client):
        if event.get("tab") != "home":
            return
        engine = services.answerer.engine
        try:
            runs, recent = last_index_runs(engine), recent_answers(engine, event["user"])
        except Exception:  # noqa: BLE001 - the audit database is down: show what the index says
            log.warning("App Home without audit data", exc_info=True)
            runs, recent = {}, []
        client.views_publish(user_id=event["user"], view=home_view(covered.get(), runs, recent))
