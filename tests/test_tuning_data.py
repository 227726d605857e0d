"""The tuning dataset: resolved threads from an export, the audit log and the Web API, scrubbed and split."""

import json
import shutil

import pytest

from benchmarks.sample_threads import PEOPLE, RESPONDERS, SHIPPED, generate
from core.db import get_engine, session_scope
from core.errors import CitebotError
from core.models import ResolvedThread
from core.slack_web import web_client
from emulator.slack import SlackEmulator
from migrations.schema import ensure_schema
from tuning.dataset import Example, build_dataset, in_heldout, read_examples
from tuning.prompt import escalates
from tuning.run import NotEnoughData, collect_threads, make_dataset
from tuning.threads import from_export, from_slack_api


@pytest.fixture(scope="module")
def sample():
    return build_dataset(from_export(SHIPPED, "white_check_mark"))


def test_shipped_sample_yields_scrubbed_examples_split_by_thread(sample):
    stats = sample.stats
    assert stats.train >= 120 and stats.heldout >= 15
    assert stats.unresolved_skipped > 0 and stats.bot_only > 0, "the sample holds threads that must be skipped"
    assert not {e.thread for e in sample.train} & {e.thread for e in sample.heldout}
    everything = sample.train + sample.heldout
    text = "\n".join(e.prompt + "\n" + e.reply for e in everything)
    assert "xoxb-" not in text and "@example.com" not in text and "<@U" not in text
    assert stats.secrets_scrubbed > 0
    for _, name in PEOPLE + RESPONDERS:
        assert name not in text and name.split()[0] not in text, name
    assert "@db-team" in stats.groups and "@security" in stats.groups, "group handles are the habit to learn"
    assert 0.6 < stats.escalating_share < 0.95


def test_the_learned_reply_is_the_teams_last_reply_not_the_askers_thanks_or_a_bot_post(sample):
    for example in sample.train[:40]:
        assert "couldn't find this in the indexed docs" not in example.prompt + example.reply
        assert not example.reply.lower().startswith(("thanks!", "thank you", "perfect"))
        assert example.prompt.startswith("asker: ")
    assert sum(e.escalates for e in sample.train) == sum(escalates(e.reply) for e in sample.train)
    assert sample.stats.chatter_skipped > 20, "the sample's bystander 'hmm' replies are not learned"


def test_an_earlier_team_reply_that_asks_or_loops_someone_in_is_learned_too_chatter_is_not(tmp_path):
    from benchmarks.sample_threads import write_export

    asker, helper, bystander = PEOPLE[0][0], RESPONDERS[0][0], RESPONDERS[1][0]
    root = "1790000000.000100"
    turns = [(asker, "The orders replica is 40 minutes behind primary, dashboards are stale"),
             (bystander, "Hmm, never seen that one."),
             (helper, "Which dashboard exactly, and since when roughly?"),
             (asker, "Orders overview, since about 9:10"),
             (helper, "Thanks, looping in <!subteam^S01|@db-team>: they own replication.")]
    messages = [{"type": "message", "ts": f"17900000{i:02d}.000100", "user": user, "text": text,
                 "thread_ts": root} for i, (user, text) in enumerate(turns)]
    messages[0].update(ts=root, reactions=[{"name": "white_check_mark", "users": [asker], "count": 1}])
    write_export([{"channel": "help-platform", "messages": messages}], tmp_path / "export")
    data = build_dataset(from_export(tmp_path / "export", "white_check_mark"), heldout_fraction=0.0)
    assert [e.reply for e in data.train] == ["Which dashboard exactly, and since when roughly?",
                                             "Thanks, looping in @db-team: they own replication."]
    asked, resolved = data.train
    assert asked.asks and asked.prompt.endswith("teammate: Hmm, never seen that one.")
    assert f"teammate: {asked.reply}" in resolved.prompt and resolved.handles == ["@db-team"]
    assert (data.stats.earlier_replies, data.stats.chatter_skipped) == (1, 1)
    held = build_dataset(from_export(tmp_path / "export", "white_check_mark"), heldout_fraction=1.0)
    assert [e.reply for e in held.heldout] == [resolved.reply], "a held-out thread gives its resolving reply"


def test_dataset_is_deterministic_and_written_as_jsonl(sample, tmp_path):
    again = build_dataset(from_export(SHIPPED, "white_check_mark"))
    assert again.stats.dataset_hash == sample.stats.dataset_hash
    sample.write(tmp_path)
    assert read_examples(tmp_path / "train.jsonl") == sample.train
    row = json.loads((tmp_path / "heldout.jsonl").read_text().splitlines()[0])
    assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
    assert json.loads((tmp_path / "stats.json").read_text())["heldout"] == len(sample.heldout)


def test_the_same_thread_twice_is_deduplicated(copy_of, tmp_path):
    export = copy_of(SHIPPED, "export")
    shutil.copytree(export / "help-office", export / "help-office-copy")
    channels = json.loads((export / "channels.json").read_text())
    channels.append({"id": "C0COPY", "name": "help-office-copy"})
    (export / "channels.json").write_text(json.dumps(channels))
    data = build_dataset(from_export(export, "white_check_mark"))
    assert data.stats.duplicates > 5
    pairs = [(e.prompt.lower(), e.reply.lower()) for e in data.train + data.heldout]
    assert len(pairs) == len(set(pairs)), "no example twice"
    copies = {e.thread.split(":")[1] for e in data.train + data.heldout if e.thread.startswith("C0COPY:")}
    originals = {e.thread.split(":")[1] for e in data.train + data.heldout if not e.thread.startswith("C0COPY:")}
    assert not copies & originals, "a thread and its copy never both give examples (on either side)"


def test_each_example_is_hinted_with_the_groups_of_the_most_similar_other_training_thread(sample):
    """Whom to loop in is retrieved: the hint names what the team did on the nearest training thread, never
    the example's own thread (its own reply would be the answer), and the prompt the model sees carries it."""
    from tuning.groups import nearest_groups

    train_threads = {e.thread for e in sample.train}
    named = {h for e in sample.train for h in e.handles}
    everything = sample.train + sample.heldout
    assert sum(bool(e.hint) for e in everything) > 0.9 * len(everything)
    assert all(set(e.hint) <= named for e in everything)
    # generated threads of one topic share their group: the nearest other thread's group is the right one
    hinted = [e for e in sample.heldout if e.handles]
    assert sum(bool(set(e.hint) & set(e.handles)) for e in hinted) / len(hinted) > 0.8
    example = next(e for e in sample.train if e.hint)
    assert f"looped in {', '.join(example.hint)}." in example.messages()[0]["content"]

    refs = [("T1", "asker: the orders replica lags behind primary", ["@db-team"]),
            ("T2", "asker: my laptop will not join the office wifi", ["@it-help"])]
    assert nearest_groups(["asker: replica lag on the orders database"], [None], refs) == [["@db-team"]]
    assert nearest_groups(["asker: the orders replica lags behind primary"], ["T1"], refs) == [["@it-help"]]
    assert nearest_groups(["asker: anything"], [None], []) == [[]]
    assert train_threads  # the sample has training threads at all


def test_held_out_side_depends_only_on_the_thread():
    keys = [f"C1:{i}.0" for i in range(2000)]
    share = sum(in_heldout(k, 0.15) for k in keys) / len(keys)
    assert 0.12 < share < 0.18
    assert [in_heldout(k, 0.15) for k in keys[:50]] == [in_heldout(k, 0.15) for k in keys[:50]]


def test_malformed_export_files_are_reported_and_the_rest_is_used(copy_of):
    export = copy_of(SHIPPED, "export")
    days = sorted((export / "help-platform").glob("*.json"))
    days[0].write_text("{not json")
    days[1].write_text('{"a": "dict, not a list"}')
    load = from_export(export, "white_check_mark")
    assert len(load.problems) == 2 and all("skipped" in p for p in load.problems)
    assert build_dataset(load).stats.train > 100


def test_a_folder_that_is_not_an_export_is_a_clear_error(tmp_path):
    with pytest.raises(CitebotError, match="not a Slack export folder"):
        from_export(tmp_path, "white_check_mark")


def test_too_little_data_refuses_to_train(settings, tmp_path):
    from benchmarks.sample_threads import write_export

    write_export(generate(6), tmp_path / "tiny")
    engine = get_engine(settings.resolved_database_url)
    ensure_schema(engine)
    with pytest.raises(NotEnoughData, match="at least 20 training examples"):
        make_dataset(collect_threads(engine, settings.tuning, settings.slack, [tmp_path / "tiny"]), settings)


def test_threads_with_only_bot_messages_give_no_example():
    bot = {"ts": "1.0", "text": "Deploy finished", "bot_id": "B1", "subtype": "bot_message",
           "reactions": [{"name": "white_check_mark"}]}
    from tuning.threads import Thread, ThreadLoad

    data = build_dataset(ThreadLoad(threads=[Thread("C1:1.0", "ops", [bot])]))
    assert (data.stats.bot_only, data.train, data.heldout) == (1, [], [])


def test_threads_marked_resolved_in_slack_come_from_the_audit_log(settings):
    engine = get_engine(settings.resolved_database_url)
    ensure_schema(engine)
    thread = generate(3)[1]["messages"]
    with session_scope(engine) as session:
        session.add(ResolvedThread(channel_id="C9", thread_ts=thread[0]["ts"], messages_json=json.dumps(thread)))
    load = collect_threads(engine, settings.tuning, settings.slack)
    assert [t.key for t in load.threads] == [f"C9:{thread[0]['ts']}"]
    assert isinstance(build_dataset(load, heldout_fraction=0.01).train[0], Example)


def test_resolved_threads_are_read_through_the_web_api_with_paging():
    reaction = [{"name": "white_check_mark", "users": ["U1"], "count": 1}]
    with SlackEmulator() as slack:
        slack.add_channel("C0HELP", "help")
        for i in range(3):
            slack.add_thread("C0HELP", f"17000000{i}0.000100", "U1", f"Prod database {i} is down",
                             replies=[(f"17000000{i}1.000100", "U2", "Looping in @db-team, can you share the error?"),
                                      (f"17000000{i}2.000100", "U1", "thanks")],
                             **({"reactions": reaction} if i != 1 else {}))
        load = from_slack_api(web_client("xoxb-test", slack.api_url), ["C0HELP"], "white_check_mark")
        assert slack.violations == []
    assert (len(load.threads), load.unresolved) == (2, 1)
    example = build_dataset(load, heldout_fraction=0.01).train[0]
    assert example.reply == "Looping in @db-team, can you share the error?" and example.escalates
