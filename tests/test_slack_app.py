"""The real Bolt app over HTTP, driven by the local Slack emulator (signed requests, spec-checked calls)."""

import json
import time
import urllib.request

from sqlalchemy import select

from bot.app import build_app
from bot.blocks import MAX_BLOCKS, MESSAGE_LIMIT, SECTION_LIMIT, answer_message
from bot.server import serve_http_in_thread
from core.db import session_scope
from core.models import Answer, Escalation, Feedback, IndexRun, Job
from core.settings import Settings
from indexing.pipeline import index_source
from indexing.sources.config import find_source
from jobs.lock import JobLocks
from tests.conftest import ADMIN, OUTSIDER, USER


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def mention(slack, url, text, channel="C0GENERAL", user=USER, **kwargs):
    ts = slack._new_ts()
    status, _ = slack.send_event(url, {"type": "app_mention", "user": user, "text": f"<@U0CITEBOT> {text}",
                                       "ts": ts, "channel": channel}, **kwargs)
    return status, ts


def final_reply(slack, channel, thread_ts):
    return wait_for(lambda: next((m for m in slack.replies_to(channel, thread_ts) if m.get("edits")), None))


def test_mention_gets_progress_then_a_cited_answer_with_buttons(bot):
    slack, url, app, _ = bot
    sent = time.monotonic()
    status, ts = mention(slack, url, "Where can I park my bicycle?")
    assert status == 200
    placeholder = wait_for(lambda: slack.replies_to("C0GENERAL", ts))[0]
    assert placeholder["at"] - sent < 1.0 and "Looking" in placeholder.get("first_text", placeholder["text"])
    reply = final_reply(slack, "C0GENERAL", ts)
    sections = [b["text"]["text"] for b in reply["blocks"] if b["type"] == "section"]
    assert "basement" in sections[0] and "[1]" in sections[0]
    assert sections[1].startswith("*Sources*\n[1]") and "Bicycle parking" in sections[1]
    actions = next(b for b in reply["blocks"] if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == ["feedback_helpful", "feedback_not_helpful", "escalate",
                                                             "show_quotes"]
    assert len(slack.replies_to("C0GENERAL", ts)) == 1, "the placeholder is edited, not a second message"
    with session_scope(app.citebot_services.answerer.engine) as session:
        row = session.scalars(select(Answer).where(Answer.question == "Where can I park my bicycle?")).one()
        assert row.workspace_id == "T0EMULATE", "the audit row says which workspace asked"


def test_retried_event_is_never_answered_twice(bot):
    slack, url, _, _ = bot
    ts = slack._new_ts()
    event = {"type": "app_mention", "user": USER, "text": "<@U0CITEBOT> who descales the espresso machine?",
             "ts": ts, "channel": "C0GENERAL"}
    assert slack.send_event(url, event, event_id="EvRETRY1")[0] == 200
    for retry in (1, 2):
        assert slack.send_event(url, event, event_id="EvRETRY1", retry_num=retry)[0] == 200
    final_reply(slack, "C0GENERAL", ts)
    time.sleep(0.5)
    assert len(slack.replies_to("C0GENERAL", ts)) == 1


def test_unsigned_forged_and_stale_requests_are_rejected_without_reply(bot):
    slack, url, _, _ = bot
    before = len(slack.posted)
    assert mention(slack, url, "forged?", sign=False)[0] == 401
    assert mention(slack, url, "stale?", timestamp=int(time.time()) - 600)[0] == 401
    original, slack.signing_secret = slack.signing_secret, "wrong"
    try:
        assert mention(slack, url, "wrong secret?")[0] == 401
    finally:
        slack.signing_secret = original
    time.sleep(0.3)
    assert len(slack.posted) == before


def test_thread_follow_up_uses_the_earlier_question_and_bots_are_ignored(bot):
    slack, url, _, _ = bot
    status, root = mention(slack, url, "Where is the colour printer?")
    final_reply(slack, "C0GENERAL", root)
    follow = slack._new_ts()
    slack.channels["C0GENERAL"].messages.append({"type": "message", "ts": root, "user": USER,
                                                 "text": "<@U0CITEBOT> Where is the colour printer?"})
    slack.channels["C0GENERAL"].messages.append({"type": "message", "ts": follow, "user": USER,
                                                 "text": "and the toner?", "thread_ts": root})
    slack.send_event(url, {"type": "message", "channel_type": "channel", "user": USER, "text": "and the toner?",
                           "ts": follow, "thread_ts": root, "channel": "C0GENERAL"})
    slack.send_event(url, {"type": "message", "channel_type": "channel", "bot_id": "B0OTHER", "user": "U0OTHER",
                           "text": "I am another bot", "ts": slack._new_ts(), "thread_ts": root,
                           "channel": "C0GENERAL"})
    slack.send_event(url, {"type": "message", "subtype": "message_changed", "channel": "C0GENERAL",
                           "ts": slack._new_ts(), "message": {"text": "edited"}})
    answer = wait_for(lambda: [m for m in slack.replies_to("C0GENERAL", root) if m.get("edits")][1:])[0]
    assert "C3" in answer["blocks"][0]["text"]["text"]
    time.sleep(0.5)
    assert len(slack.replies_to("C0GENERAL", root)) == 2


def test_a_follow_up_in_a_long_thread_reads_past_the_first_page(bot):
    slack, url, _, _ = bot
    channel = slack.channels["C0GENERAL"]
    _, root = mention(slack, url, "Where do bikes go?")
    final_reply(slack, "C0GENERAL", root)
    channel.messages.append({"type": "message", "ts": root, "user": USER, "text": "<@U0CITEBOT> Where do bikes go?"})
    for n in range(150):  # a long thread: bot chatter, then the question the follow-up leans on
        text = "Where is the colour printer?" if n == 140 else f"status update {n}"
        channel.messages.append({"type": "message", "ts": slack._new_ts(), "thread_ts": root, "text": text,
                                 **({"user": USER} if n == 140 else {"bot_id": "B0OTHER", "user": "U0OTHER"})})
    follow = slack._new_ts()
    channel.messages.append({"type": "message", "ts": follow, "user": USER, "text": "what is it called?", "thread_ts": root})
    slack.send_event(url, {"type": "message", "channel_type": "channel", "user": USER, "text": "what is it called?",
                           "ts": follow, "thread_ts": root, "channel": "C0GENERAL"})
    answer = wait_for(lambda: [m for m in slack.replies_to("C0GENERAL", root) if m.get("edits")][1:])[0]
    assert "Gutenberg" in answer["blocks"][0]["text"]["text"], "the question at reply 141 is the context, not the root"


def test_direct_message_is_answered(bot):
    slack, url, _, _ = bot
    slack.add_channel("D0ALICE", "alice-dm")
    ts = slack._new_ts()
    slack.send_event(url, {"type": "message", "channel_type": "im", "user": USER, "ts": ts, "channel": "D0ALICE",
                           "text": "how many car spaces are there?"})
    assert "six" in final_reply(slack, "D0ALICE", ts)["blocks"][0]["text"]["text"]


def test_private_channel_thread_is_cited_only_to_its_members_in_place(bot):
    slack, url, _, _ = bot
    question = "What is the corporate card limit for travel?"
    _, in_place = mention(slack, url, question, channel="G0FINANCE", user=USER)
    member = final_reply(slack, "G0FINANCE", in_place)
    assert "4000 euros" in json.dumps(member["blocks"])
    _, public = mention(slack, url, question, channel="C0GENERAL", user=USER)
    _, outsider = mention(slack, url, question, channel="C0GENERAL", user=OUTSIDER)
    for ts in (public, outsider):
        assert "4000" not in json.dumps(final_reply(slack, "C0GENERAL", ts)["blocks"])


def test_feedback_buttons_land_in_the_audit_log_and_escalation_posts(bot):
    slack, url, app, settings = bot
    _, ts = mention(slack, url, "Where are spare toner cartridges?")
    reply = final_reply(slack, "C0GENERAL", ts)
    actions = next(b for b in reply["blocks"] if b["type"] == "actions")["elements"]
    audit_id = actions[0]["value"]
    slack.send_action(url, {"action_id": "feedback_helpful", "value": audit_id, "type": "button"}, USER,
                      "C0GENERAL", reply["ts"], ts)
    option = next(o for o in actions[1]["options"] if o["value"].endswith(":outdated"))
    slack.send_action(url, {"action_id": "feedback_not_helpful", "type": "static_select", "selected_option": option},
                      OUTSIDER, "C0GENERAL", reply["ts"], ts)
    slack.send_action(url, {"action_id": "escalate", "value": audit_id, "type": "button"}, OUTSIDER,
                      "C0GENERAL", reply["ts"], ts)
    engine = app.citebot_services.answerer.engine

    def verdicts():
        with session_scope(engine) as session:
            return sorted((f.verdict, f.reason) for f in session.query(Feedback).filter_by(answer_id=audit_id))
    assert wait_for(lambda: len(verdicts()) == 3 and verdicts()) == [
        ("escalated", None), ("helpful", None), ("not_helpful", "outdated")]
    assert wait_for(lambda: [m for m in slack.posted if m["kind"] == "message" and audit_id in m["text"]
                             and settings.escalation_contact in m["text"]])
    with session_scope(engine) as session:
        escalation = session.query(Escalation).filter_by(answer_id=audit_id).one()
        assert (escalation.requested_by, escalation.contact) == (OUTSIDER, settings.escalation_contact)
    slack.send_action(url, {"action_id": "show_quotes", "value": audit_id, "type": "button"}, USER,
                      "C0GENERAL", reply["ts"], ts)
    quoted = wait_for(lambda: [m for m in slack.posted if m["kind"] == "ephemeral" and "> " in m["text"]
                               and "cupboard labelled C3" in m["text"]])
    assert quoted[-1]["text"].startswith("[1] ")


def test_ask_command_is_ephemeral_and_shareable(bot):
    slack, url, _, _ = bot
    status, body = slack.send_command(url, "/ask", "Where is the colour printer?", USER, "C0GENERAL")
    assert status == 200 and b"Looking" in body
    ephemeral = wait_for(lambda: [m for m in slack.posted if m["kind"] == "ephemeral" and m["user"] == USER
                                  and "Gutenberg" in json.dumps(m["blocks"])])[-1]
    share = next(b for b in ephemeral["blocks"] if b["type"] == "actions")["elements"][-1]
    assert share["action_id"] == "share_answer"
    slack.send_action(url, {"action_id": "share_answer", "value": share["value"], "type": "button"}, USER,
                      "C0GENERAL", "1.000001")
    shared = wait_for(lambda: [m for m in slack.posted if m["kind"] == "message" and "asked:" in m["text"]
                               and "Gutenberg" in m["text"]])
    assert shared[-1]["thread_ts"] is None


def test_reindex_is_for_admins_and_reports_a_summary(bot):
    slack, url, app, _ = bot
    status, body = slack.send_command(url, "/reindex", "", USER, "C0GENERAL")
    assert b"Only citebot admins" in body
    status, body = slack.send_command(url, "/reindex", "office", ADMIN, "C0GENERAL")
    assert status == 200 and b"starting" in body
    done = wait_for(lambda: [m for m in slack.posted if "Reindex finished" in m.get("text", "")])
    assert "*office*: 0 added, 0 updated, 0 deleted, 3 unchanged" in done[-1]["text"]
    with session_scope(app.citebot_services.answerer.engine) as session:
        run = session.query(IndexRun).filter_by(triggered_by=ADMIN).one()
        assert (run.source, run.unchanged, run.complete) == ("office", 3, True)
    with session_scope(app.citebot_services.answerer.engine) as session:
        job = session.query(Job).filter_by(kind="reindex", requested_by=ADMIN).one()
        assert (job.status, job.target, job.attempts) == ("done", "office", 1)
        assert json.loads(job.result_json)["sources"][0]["unchanged"] == 3


def test_reindex_of_a_source_being_reindexed_waits_for_it(bot):
    slack, url, app, _ = bot
    other_job = JobLocks(None).hold("reindex:office", "job-ahead")
    try:
        _, body = slack.send_command(url, "/reindex", "office", ADMIN, "C0GENERAL")
        assert b"already running" in body
        waiting = wait_for(lambda: [m for m in slack.posted if "waits for the job already running on it" in m.get("text", "")])
        assert "Reindex finished" not in waiting[-1]["text"]
    finally:
        other_job.release()
    done = wait_for(lambda: [m for m in slack.posted if m.get("ts") == waiting[-1]["ts"]
                             and "Reindex finished" in m.get("text", "")])
    assert "*office*" in done[-1]["text"]


def test_citebot_audit_is_admin_only_and_help_works(bot):
    slack, url, _, _ = bot
    slack.send_command(url, "/citebot", "audit 3", USER, "C0GENERAL")
    slack.send_command(url, "/citebot", "audit 3", ADMIN, "C0GENERAL")
    slack.send_command(url, "/citebot", "help", USER, "C0GENERAL")
    refused = wait_for(lambda: [m for m in slack.posted if m["kind"] == "ephemeral" and m["user"] == USER
                                and "Only citebot admins" in m["text"]])
    listing = wait_for(lambda: [m for m in slack.posted if m["kind"] == "ephemeral" and m["user"] == ADMIN
                                and "*rag*" in m["text"]])
    assert refused and listing[-1]["text"].count("\n") == 2
    assert wait_for(lambda: [m for m in slack.posted if "/ask QUESTION" in m.get("text", "")])


def test_citebot_tune_status_shows_the_active_adapter(bot, tmp_path):
    slack, url, app, settings = bot
    from core.db import get_engine
    from tuning import registry

    engine = get_engine(settings.resolved_database_url)
    (tmp_path / "adapter_config.json").write_text("{}")
    registry.start_run(engine, "20261124-0300-abc123", "cron", "abc123", "base", {}, 150, 30, 1.0)
    registry.finish_run(engine, "20261124-0300-abc123", status="kept", adapter_path=str(tmp_path),
                        base_loss=4.1, tuned_loss=0.6, decision="held-out loss improved")
    registry.promote(engine, "20261124-0300-abc123")
    slack.send_command(url, "/citebot", "tune status", USER, "C0GENERAL")
    status = wait_for(lambda: [m for m in slack.posted if m["kind"] == "ephemeral" and "Escalation model" in m["text"]])
    assert "adapter `20261124-0300-abc123`" in status[-1]["text"] and "4.10 → 0.60" in status[-1]["text"]


def test_health_readiness_and_metrics_endpoints(bot):
    slack, url, _, _ = bot
    base = url.replace("/slack/events", "")
    with urllib.request.urlopen(f"{base}/healthz") as response:
        assert response.status == 200 and json.load(response) == {"ok": True}
    with urllib.request.urlopen(f"{base}/readyz") as response:
        assert json.load(response) == {"ok": True, "database": "ok", "index": "ok"}
    before = _metric(base, 'citebot_answers_total{route="rag"}')
    slack.send_command(url, "/ask", "Where is the colour printer?", USER, "C0GENERAL")
    wait_for(lambda: _metric(base, 'citebot_answers_total{route="rag"}') == before + 1)
    assert _metric(base, 'citebot_answer_stage_seconds_count{stage="retrieve"}') >= 1
    assert _metric(base, "citebot_index_chunks") > 0


def _metric(base: str, name: str) -> float:
    with urllib.request.urlopen(f"{base}/metrics") as response:
        lines = response.read().decode().splitlines()
    return next((float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(name + " ")), 0.0)


def test_readiness_fails_with_the_reason_when_redis_is_down(tmp_path):
    from migrations.schema import migrated_engine
    from ops.health import readiness

    settings = Settings(home=tmp_path / "home", redis_url="redis://127.0.0.1:1/0")
    ok, checks = readiness(settings, migrated_engine(settings.resolved_database_url))
    assert not ok and checks["database"] == "ok" and checks["redis"].startswith("ConnectionError")


def test_long_answers_respect_slack_limits():
    from answering.result import AnswerResult, Citation

    result = AnswerResult(question="q", answer=("A very long sentence about deployments. " * 1500), route="rag",
                          route_reason="", model="m", audit_id="abc123",
                          citations=[Citation(n=i, title=f"Doc {i}", source="s", url=f"https://x/{i}",
                                              chunk_id=f"c{i}", score=0.5) for i in range(1, 6)])
    message = answer_message(result)
    blocks = message["blocks"]
    assert len(blocks) <= MAX_BLOCKS and len(message["text"]) <= 3000
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(t) <= SECTION_LIMIT for t in texts)
    assert sum(len(t) for t in texts) <= MESSAGE_LIMIT
    assert "truncated" in texts[-1] and "abc123" in texts[-1]
    assert blocks[-1]["type"] == "actions"


def test_checkmark_reaction_makes_a_thread_a_cited_source(bot):
    slack, url, _, _ = bot
    slack.add_thread("C0GENERAL", "1700001000.000100", USER, "The lab door keeps beeping, what do I do?",
                     replies=[("1700001060.000100", ADMIN, "Hold the lab door reset button for ten seconds; "
                               "the beeping stops and the door re-arms.")])
    slack.send_event(url, {"type": "reaction_added", "user": ADMIN, "reaction": "white_check_mark",
                           "item": {"type": "message", "channel": "C0GENERAL", "ts": "1700001060.000100"},
                           "ts": slack._new_ts()})
    wait_for(lambda: [m for m in slack.posted if "Saved as a resolved thread" in m.get("text", "")])
    _, ts = mention(slack, url, "How do I stop the lab door beeping?")
    reply = final_reply(slack, "C0GENERAL", ts)
    assert "reset button" in json.dumps(reply["blocks"])
    assert "https://acme.slack.com/archives/C0GENERAL/p1700001000000100" in json.dumps(reply["blocks"])


def test_empty_mention_gets_help_and_a_40kb_message_a_clear_refusal(bot):
    slack, url, _, _ = bot
    _, empty = mention(slack, url, "")
    assert "/ask QUESTION" in wait_for(lambda: slack.replies_to("C0GENERAL", empty))[0]["text"]
    _, huge = mention(slack, url, "why " * 10000)
    assert "limit is 4,000" in final_reply(slack, "C0GENERAL", huge)["text"]


def test_unknown_event_types_are_acknowledged_and_ignored(bot):
    slack, url, _, _ = bot
    before = len(slack.posted)
    status, _ = slack.send_event(url, {"type": "team_join", "user": {"id": "UNEW"}})
    assert status == 200
    time.sleep(0.3)
    assert len(slack.posted) == before


def test_channel_config_auto_answers_ephemerally_from_its_sources_only(bot):
    slack, url, _, _ = bot
    slack.add_channel("C0AUTO", "office-help")
    slack.members["G0FINANCE"].append("UCAROL")

    def post(text, user="UCAROL"):
        slack.send_event(url, {"type": "message", "channel_type": "channel", "user": user, "text": text,
                               "ts": slack._new_ts(), "channel": "C0AUTO"})
    post("Where do bicycles go?")
    post("Lunch was great today")
    post("What is the corporate card limit for travel?")  # only in a Slack source this channel does not search
    answer = wait_for(lambda: [m for m in slack.posted if m["channel"] == "C0AUTO"])
    assert answer[0]["kind"] == "ephemeral" and answer[0]["user"] == "UCAROL"
    assert "basement" in answer[0]["blocks"][0]["text"]["text"]
    time.sleep(1.5)
    assert len([m for m in slack.posted if m["channel"] == "C0AUTO"]) == 1
    slack.send_command(url, "/citebot", "config", "UCAROL", "C0AUTO")
    config = wait_for(lambda: [m for m in slack.posted if "settings for this channel" in m.get("text", "")])
    assert "auto_answer: True" in config[-1]["text"] and "escalate_to: @facilities" in config[-1]["text"]


def test_replicas_sharing_redis_answer_a_retried_event_once(bot, tmp_path):
    import secrets

    slack, url_a, app_a, settings = bot
    shared = settings.model_copy(update={"redis_url": "redis://127.0.0.1:6379/15"})
    replicas = [build_app(shared, app_a.citebot_services.answerer) for _ in range(2)]
    servers = [serve_http_in_thread(app) for app in replicas]
    try:
        urls = [f"http://127.0.0.1:{s.server_address[1]}/slack/events" for s in servers]
        ts = slack._new_ts()
        event = {"type": "app_mention", "user": USER, "text": "<@U0CITEBOT> what does error E7 mean?",
                 "ts": ts, "channel": "C0GENERAL"}
        event_id = f"EvREDIS{secrets.token_hex(4)}"
        assert slack.send_event(urls[0], event, event_id=event_id)[0] == 200
        assert slack.send_event(urls[1], event, event_id=event_id, retry_num=1)[0] == 200
        final_reply(slack, "C0GENERAL", ts)
        time.sleep(0.5)
        assert len(slack.replies_to("C0GENERAL", ts)) == 1
    finally:
        for server in servers:
            server.shutdown()


def test_a_crash_while_answering_gets_an_apology_with_the_audit_id(bot, tmp_path):
    slack, _, _, settings = bot
    broken = settings.model_copy(update={"home": tmp_path / "home"})
    index_source(find_source(broken.config_path, broken.slack, "office"), broken)
    app = build_app(broken)
    server = serve_http_in_thread(app)
    try:
        (broken.chroma_path / "chroma.sqlite3").write_bytes(b"not a database" * 100)  # a corrupted index
        _, ts = mention(slack, f"http://127.0.0.1:{server.server_address[1]}/slack/events", "Where is the printer?")
        reply = final_reply(slack, "C0GENERAL", ts)
        assert reply["text"].startswith("Sorry, something went wrong")
        audit_id = reply["text"].split("audit id ")[1].split(";")[0]
        with session_scope(app.citebot_services.answerer.engine) as session:
            row = session.get(Answer, audit_id)
            assert row.route == "error" and row.error and row.question == "Where is the printer?"
    finally:
        server.shutdown()


def test_socket_mode_answers_mentions_and_acks_envelopes(bot):
    from bot.server import connect_socket_mode

    slack, _, _, settings = bot
    app = build_app(settings)
    handler = connect_socket_mode(app, "xapp-1-test")
    try:
        wait_for(slack.socket_connected, timeout=30)
        ts = slack._new_ts()
        envelope = slack.socket_event({"type": "app_mention", "user": USER, "ts": ts, "channel": "C0GENERAL",
                                       "text": "<@U0CITEBOT> how many car spaces are there?"})
        wait_for(lambda: envelope in slack.socket_acks, timeout=10)
        assert "six" in final_reply(slack, "C0GENERAL", ts)["blocks"][0]["text"]["text"]
        command = slack.send_over_socket("slash_commands", {"command": "/citebot", "text": "help", "user_id": USER,
                                                            "channel_id": "C0GENERAL", "team_id": "T0EMULATE"})
        wait_for(lambda: command in slack.socket_acks, timeout=10)
    finally:
        handler.close()


def test_oauth_install_stores_the_workspace_and_answers_with_its_token(bot, tmp_path):
    import re
    import urllib.parse

    slack, _, app_a, settings = bot
    multi = settings.model_copy(update={"slack_bot_token": None, "slack_client_id": "111.222",
                                        "slack_client_secret": "shh"})
    app = build_app(multi, app_a.citebot_services.answerer)
    server = serve_http_in_thread(app)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(f"{base}/slack/install") as page:
            cookie = page.headers["Set-Cookie"].split(";")[0]
            html = page.read().decode()
        state = urllib.parse.unquote(re.search(r"state=([^&\"]+)", html).group(1))
        assert "client_id=111.222" in html and "scope=app_mentions" in html
        callback = urllib.request.Request(f"{base}/slack/oauth_redirect?code=abc&state={state}",
                                          headers={"Cookie": cookie})
        with urllib.request.urlopen(callback) as done:
            assert done.status == 200
        _, ts = mention(slack, f"{base}/slack/events", "how many car spaces are there?", team="T0SECOND")
        assert "six" in final_reply(slack, "C0GENERAL", ts)["blocks"][0]["text"]["text"]
        tokens = {c.token for c in slack.calls if c.method == "chat.update" and c.params.get("ts")}
        assert "xoxb-second-workspace" in tokens
    finally:
        server.shutdown()


def test_malformed_body_is_rejected_and_odd_questions_get_a_reply(bot):
    slack, url, _, _ = bot
    before = len(slack.posted)
    status, _ = slack._deliver(url, b"{not json", "application/json")
    assert status in (400, 404) and len(slack.posted) == before
    for text in (":tada: :tada:", "```kubectl get pods -n prod```\nwhy is this empty?", "Wo parke ich mein Fahrrad?"):
        _, ts = mention(slack, url, text)
        reply = final_reply(slack, "C0GENERAL", ts)
        assert reply["text"] and "audit id" in json.dumps(reply["blocks"])


def test_mark_resolved_shortcut_saves_the_thread(bot):
    from urllib.parse import urlencode

    from core.models import ResolvedThread

    slack, url, app, _ = bot
    slack.add_thread("C0GENERAL", "1700002000.000100", USER, "Badge printer jammed again?",
                     replies=[("1700002060.000100", ADMIN, "Open the badge printer's back flap and pull the "
                               "ribbon out slowly.")])
    payload = {"type": "message_action", "callback_id": "mark_resolved", "team": {"id": "T0EMULATE"},
               "user": {"id": ADMIN}, "channel": {"id": "C0GENERAL"}, "trigger_id": "t1",
               "message": {"ts": "1700002060.000100", "thread_ts": "1700002000.000100", "text": "Open the…"},
               "message_ts": "1700002060.000100"}
    status, _ = slack._deliver(url, urlencode({"payload": json.dumps(payload)}).encode(),
                               "application/x-www-form-urlencoded")
    assert status == 200
    wait_for(lambda: [m for m in slack.posted if m.get("user") == ADMIN and m.get("thread_ts") == "1700002000.000100"
                      and "Saved as a resolved" in m["text"]])
    with session_scope(app.citebot_services.answerer.engine) as session:
        row = session.query(ResolvedThread).filter_by(thread_ts="1700002000.000100").one()
        assert row.marked_by == ADMIN and "back flap" in row.messages_json


def test_other_bots_are_answered_only_where_configured(bot):
    slack, url, _, _ = bot
    slack.add_channel("C0BOTS", "bot-questions")
    slack.add_channel("D0BOTDM", "dm-with-a-bot")
    sent = {}
    for channel in ("D0BOTDM", "C0BOTS"):  # a DM would be answered at once if it came from a person
        sent[channel] = slack._new_ts()
        slack.send_event(url, {"type": "message", "channel_type": "im", "user": "U0DEPLOYBOT", "bot_id": "B0DEPLOY",
                               "subtype": "bot_message", "text": "Where is the colour printer?",
                               "ts": sent[channel], "channel": channel})
    answered = final_reply(slack, "C0BOTS", sent["C0BOTS"])
    assert "Gutenberg" in json.dumps(answered["blocks"])
    time.sleep(0.5)
    assert slack.replies_to("D0BOTDM", sent["D0BOTDM"]) == []


def test_rate_limited_post_is_retried_after_the_wait(bot):
    slack, url, _, _ = bot
    slack.fail("chat.postMessage", status=429, retry_after=1, on_call=1)
    _, ts = mention(slack, url, "Where do bicycles go?")
    reply = final_reply(slack, "C0GENERAL", ts)
    assert "basement" in reply["blocks"][0]["text"]["text"]
    assert len(slack.replies_to("C0GENERAL", ts)) == 1


def test_process_before_response_mode_for_faas_still_answers(bot):
    slack, _, app_a, settings = bot
    app = build_app(settings, app_a.citebot_services.answerer, process_before_response=True)
    server = serve_http_in_thread(app)
    try:
        status, ts = mention(slack, f"http://127.0.0.1:{server.server_address[1]}/slack/events",
                             "What does error E7 mean?")
        assert status == 200
        assert "drip tray" in final_reply(slack, "C0GENERAL", ts)["blocks"][0]["text"]["text"]
    finally:
        server.shutdown()
