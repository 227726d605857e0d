"""Assistant threads and App Home on the real Bolt app over HTTP, driven by the emulator: every Web API
call checked against Slack's spec (views.publish) or the Node SDK's argument types (assistant.threads.*,
chat.*Stream); Block Kit validated with slack_sdk's models."""

import json
from pathlib import Path

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from audit.log import record_index_run
from bot.assistant import suggested_prompts
from bot.formatting import stream_units
from bot.home import home_view
from indexing.pipeline import index_source
from indexing.sources.config import find_source
from indexing.store import coverage
from tests.conftest import ADMIN, OUTSIDER, USER
from tests.test_slack_app import mention, wait_for

THREAD = "1800000000.000100"


def streamed(slack, user, thread_ts):
    return wait_for(lambda: next((m for m in slack.replies_to(f"D0{user}", thread_ts)
                                  if m.get("streamed") == "stopped"), None))


def calls(slack, method, thread_ts):
    return [p for m, p in slack.assistant_calls if m == method and p.get("thread_ts") == thread_ts]


def test_a_new_assistant_thread_gets_a_greeting_and_prompts_from_what_is_indexed(bot):
    slack, url, _, _ = bot
    assert slack.start_assistant_thread(url, USER, THREAD)[0] == 200
    greeting = wait_for(lambda: slack.replies_to(f"D0{USER}", THREAD))[0]
    assert "numbered sources" in greeting["text"]
    prompts = wait_for(lambda: calls(slack, "setSuggestedPrompts", THREAD))[0]["prompts"]
    titles = {p["title"] for p in (prompts if isinstance(prompts, list) else json.loads(prompts))}
    assert {"Parking", "Coffee machine", "Printers"} <= titles and not any("corporate" in t for t in titles)
    assert slack.violations == []


def test_a_question_shows_a_status_titles_the_thread_and_streams_the_answer_unit_by_unit(bot):
    slack, url, _, _ = bot
    thread = "1800000001.000100"
    slack.start_assistant_thread(url, USER, thread)
    slack.assistant_message(url, USER, thread, "Where can I park my bicycle?")
    answer = streamed(slack, USER, thread)
    assert "basement garage" in answer["text"] and "[1]" in answer["text"]
    assert answer["chunks"] and all(chunk.endswith("\n\n") for chunk in answer["chunks"] if chunk)
    sections = [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section"]
    assert sections[0].startswith("*Sources*\n[1]") and "Bicycle parking" in sections[0]
    actions = next(b for b in answer["blocks"] if b["type"] == "actions")
    assert actions["elements"][0]["action_id"] == "feedback_helpful", "the feedback buttons close the stream"
    for block in answer["blocks"]:
        Block.parse(block).validate_json()
    assert calls(slack, "setStatus", thread)[0]["status"] == "is looking through the docs…"
    assert [c["title"] for c in calls(slack, "setTitle", thread)] == ["Where can I park my bicycle?"]

    slack.assistant_message(url, USER, thread, "and where does the toner go?")
    wait_for(lambda: len([m for m in slack.replies_to(f"D0{USER}", thread) if m.get("streamed") == "stopped"]) == 2)
    assert len(calls(slack, "setTitle", thread)) == 1, "the thread keeps the title of its first question"
    assert slack.violations == []


def test_a_private_channels_passage_stays_out_of_a_non_members_assistant_thread(bot):
    slack, url, _, _ = bot
    for user, thread in ((OUTSIDER, "1800000002.000100"), (USER, "1800000003.000100")):
        slack.start_assistant_thread(url, user, thread)
        slack.assistant_message(url, user, thread, "What is the corporate card limit for travel?")
    outsider = streamed(slack, OUTSIDER, "1800000002.000100")
    member = streamed(slack, USER, "1800000003.000100")
    assert "4000" not in outsider["text"] and "4000" in member["text"]


def test_a_stream_slack_refuses_falls_back_to_one_ordinary_message(bot):
    slack, url, _, _ = bot
    thread = "1800000004.000100"
    slack.start_assistant_thread(url, USER, thread)
    slack.fail("chat.startStream", error="ratelimited")
    slack.assistant_message(url, USER, thread, "Who descales the espresso machine?")
    reply = wait_for(lambda: next((m for m in slack.replies_to(f"D0{USER}", thread)
                                   if m.get("blocks") and not m.get("streamed")), None))
    assert "Tuesday" in reply["blocks"][0]["text"]["text"]


def test_app_home_shows_coverage_how_to_ask_and_the_persons_recent_questions(bot):
    slack, url, app, settings = bot
    office = find_source(settings.config_path, settings.slack, "office")
    summary = index_source(office, settings)  # a reindex, as /reindex records it
    record_index_run(app.citebot_services.answerer.engine, summary, ADMIN)
    mention(slack, url, "Where is the colour printer?", user=ADMIN)
    wait_for(lambda: any("Gutenberg" in (m.get("text") or "") for m in slack.posted if m.get("edits")))
    slack.open_app_home(url, ADMIN)
    view = wait_for(lambda: slack.views.get(ADMIN))
    View(**view).validate_json()
    text = "\n".join(b["text"]["text"] for b in view["blocks"] if b["type"] == "section")
    assert "*What I cover*" in text and "*office*: 3 documents, reindexed today" in text
    assert "*slack*: 1 document" in text and "corporate card" not in text, "a private thread is never named"
    assert "*How to ask*" in text and "Where is the colour printer?" in text
    slack.open_app_home(url, OUTSIDER)
    other = wait_for(lambda: slack.views.get(OUTSIDER))
    assert "Where is the colour printer?" not in str(other), "each person sees only their own questions"
    assert slack.violations == []


def test_units_keep_code_blocks_whole_and_prompts_take_every_source_in_turn():
    text = "Intro line.\n\n```sh\nmake install\n\nmake test\n```\n\n1. one\n2. two"
    assert stream_units(text) == ["Intro line.", "```sh\nmake install\n\nmake test\n```", "1. one\n2. two"]
    covered = {"a": {"documents": 3, "titles": ["A1", "A2", "A3"]}, "b": {"documents": 1, "titles": ["B1"]}}
    assert [p["title"] for p in suggested_prompts(covered)] == ["A1", "B1", "A2", "A3"]


def test_the_app_manifest_asks_for_the_scopes_and_events_the_app_uses():
    import yaml

    from bot.app import BOT_SCOPES

    manifest = yaml.safe_load((Path(__file__).parents[1] / "deploy" / "slack-app-manifest.yml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == set(BOT_SCOPES)
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_home_opened", "assistant_thread_started", "assistant_thread_context_changed", "message.im"} <= events
    assert manifest["features"]["app_home"]["home_tab_enabled"] and "assistant_view" in manifest["features"]


EVIL = """# Deploy freeze <!channel> [read me](https://evil.example/title)

The deploy freeze starts on Fridays at 15:00 <!here>, see [the freeze docs](https://evil.example/phish) and
<https://evil.example|the runbook>; ping <@UADMIN> in <#C0GENERAL> or @everyone.
"""
LIVE = ("<!", "<@", "<#", "<http", "](")  # live mentions, Slack links and Markdown links (a bare URL shows itself)


def test_nothing_indexed_becomes_a_live_mention_or_link_in_streams_prompts_or_app_home(bot):
    slack, url, app, settings = bot
    (settings.config.parent / "corpus" / "freeze.md").write_text(EVIL)
    index_source(find_source(settings.config_path, settings.slack, "office"), settings)
    thread = "1800000009.000100"
    slack.start_assistant_thread(url, USER, thread)
    slack.assistant_message(url, USER, thread, "When does the deploy freeze start?")
    answer = streamed(slack, USER, thread)
    assert "15:00" in answer["text"]
    assert not [s for s in LIVE if s in answer["text"]], answer["text"]
    covered = coverage(settings)
    title = next(t for t in covered["office"]["titles"] if "Deploy freeze" in t)
    for prompt in suggested_prompts(covered):
        assert not [s for s in (*LIVE, "@", "<", "[", "evil.example") if s in prompt["title"] + prompt["message"]]
    home = json.dumps(home_view({"office": {"documents": 1, "titles": [title]}}, {}, []))
    assert "Deploy freeze" in home and not [s for s in LIVE if s in home]
