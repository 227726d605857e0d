"""The real `citebot` executable: contract of --json, and bad input → one clear line, no traceback."""

import json
import sqlite3
import subprocess

import pytest

from tests.conftest import CITEBOT_BIN


def run(env, *args, timeout=600):
    return subprocess.run([CITEBOT_BIN, *args], env=env, capture_output=True, text=True, timeout=timeout)


def assert_clean_error(proc, needle):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("citebot: error:") and needle in lines[0], proc.stderr


def audit_rows(home):
    with sqlite3.connect(home / "audit.db") as conn:
        return conn.execute("select count(*) from answers").fetchone()[0]


@pytest.fixture
def indexed(cli_env, corpus):
    proc = run(cli_env, "index", str(corpus), "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_index_and_ask_json_contract(cli_env, indexed, home):
    assert indexed["added"] == 3 and indexed["chunks_total"] > 0
    with sqlite3.connect(home / "audit.db") as conn:
        assert conn.execute("select triggered_by, added from index_runs").fetchall() == [("cli", 3)]
    proc = run(cli_env, "ask", "--json", "--user", "U1", "--channel", "C1", "Where can I park my bike?")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["route"] == "rag" and isinstance(out["answer"], str) and out["answer"]
    citation = out["citations"][0]
    assert set(citation) >= {"n", "title", "source", "url", "chunk_id", "score"}
    assert citation["n"] == 1 and citation["source"].endswith("parking.md")
    assert all(set(s) >= {"text", "citations"} for s in out["sentences"])
    assert set(out["latency_ms"]) >= {"retrieve", "generate", "total"}
    listed = json.loads(run(cli_env, "audit", "list", "--json").stdout)
    assert [row["audit_id"] for row in listed] == [out["audit_id"]]
    assert listed[0]["user"] == "U1" and listed[0]["channel"] == "C1"


def test_bad_inputs_fail_cleanly_and_lose_nothing(cli_env, indexed, home, tmp_path):
    assert run(cli_env, "ask", "Where is the colour printer?").returncode == 0
    before = audit_rows(home)

    assert_clean_error(run(cli_env, "ask", "   "), "empty")
    assert_clean_error(run(cli_env, "ask", "x" * 100_000), "limit")
    assert_clean_error(run(cli_env, "index", str(tmp_path / "missing")), "does not exist")
    binary = tmp_path / "blob.md"
    binary.write_bytes(b"\x00\x01binary")
    assert_clean_error(run(cli_env, "index", str(binary)), "binary")
    bad_db = dict(cli_env, CITEBOT_DATABASE_URL="postgresql://::not-a-url")
    assert_clean_error(run(bad_db, "ask", "Where is the colour printer?"), "CITEBOT_DATABASE_URL")
    assert_clean_error(run(cli_env, "audit", "show", "doesnotexist"), "No answer")
    assert_clean_error(run(dict(cli_env, CITEBOT_LLM="gpt"), "ask", "Where is the colour printer?"),
                       "CITEBOT_LLM='gpt': use one of local, openai, openai-like, azure")

    assert audit_rows(home) == before
    again = json.loads(run(cli_env, "index", str(tmp_path / "corpus"), "--json").stdout)
    assert again["unchanged"] == 3 and again["chunks_total"] == indexed["chunks_total"]


def test_help_explains_every_command(cli_env):
    for args in ([], ["index"], ["ask"], ["demo"], ["db"], ["audit"], ["audit", "list"]):
        proc = run(cli_env, *args, "--help")
        assert proc.returncode == 0 and "Usage" in proc.stdout and len(proc.stdout) > 200, args


def test_demo_answers_one_page_two_page_and_unanswerable_questions(cli_env, home):
    proc = run(cli_env, "demo")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.count("audit id:") == 3
    routes = [line.split("route: ")[1].split()[0] for line in out.splitlines() if "route: " in line]
    assert routes[:2] == ["rag", "rag"] and routes[2] in ("abstain", "escalate")
    question2 = out.split("Question 2")[1].split("Question 3")[0]
    assert "staging.md" in question2 and "vpn.md" in question2
    assert "@platform-oncall" in out.split("Question 3")[1]
    assert str(home / "chroma") in out and "citebot audit list" in out
    with sqlite3.connect(home / "audit.db") as conn:
        assert conn.execute("select count(*) from answers where user_id = 'demo'").fetchone()[0] == 3


def test_configured_sources_index_one_by_name(cli_env, corpus, tmp_path):
    config = tmp_path / "citebot.toml"
    config.write_text(f'''
[[sources]]
name = "office"
type = "files"
paths = ["{corpus}"]
url_template = "https://wiki.example.com/office/{{stem}}"

[[sources]]
name = "gone"
type = "files"
paths = ["{tmp_path / 'missing'}"]
''')
    env = {**cli_env, "CITEBOT_CONFIG": str(config)}
    listed = json.loads(run(env, "sources", "--json").stdout)
    assert [s["name"] for s in listed["sources"]] == ["office", "gone"]
    proc = run(env, "index", "--source", "office", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert (summary["source"], summary["added"], summary["complete"]) == ("office", 3, True)
    assert_clean_error(run(env, "index", "--source", "nope"), "No source named 'nope'. Configured sources: office, gone")
    assert_clean_error(run(env, "index", "--source", "gone"), "path does not exist")
    config.write_text("[[sources]]\nname = 'x'\ntype = 'ftp'\n")
    assert_clean_error(run(env, "index"), "has type 'ftp'; use one of files, slack, slack_export, web")


def test_serve_emulator_answers_questions_typed_in_the_terminal(cli_env, indexed):
    proc = subprocess.run([CITEBOT_BIN, "serve", "--emulator"], env=cli_env, input="Where can I park my bike?\n",
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "basement garage" in proc.stdout and "*Sources*\n[1] Parking > Bicycle parking" in proc.stdout
    assert "Slack API spec violations" not in proc.stdout


def test_eval_retrieval_on_a_beir_folder(cli_env, tmp_path):
    beir = tmp_path / "beir"
    (beir / "qrels").mkdir(parents=True)
    docs = {"d1": "The espresso machine is descaled every Tuesday by the office team.",
            "d2": "Bicycles are parked in the basement garage on level -1.",
            "d3": "The colour printer Gutenberg stands next to the kitchen.",
            "d4": "Expense reports are due on the fifth working day of the month."}
    queries = {"q1": "who descales the coffee machine", "q2": "where do I park my bike",
               "q3": "when are expense reports due"}
    (beir / "corpus.jsonl").write_text("".join(json.dumps({"_id": k, "title": "", "text": v}) + "\n"
                                               for k, v in docs.items()))
    (beir / "queries.jsonl").write_text("".join(json.dumps({"_id": k, "text": v}) + "\n" for k, v in queries.items()))
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\nq3\td4\t1\n")
    proc = run(cli_env, "eval", "retrieval", "--beir", str(beir), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert (out["documents"], out["queries"]) == (4, 3)
    assert set(out["metrics"]) == {"bm25", "dense", "hybrid"}
    assert out["metrics"]["hybrid"] == {"ndcg@10": 1.0, "recall@100": 1.0, "mrr@10": 1.0}
    assert out["query_ms_p95"] > 0 and out["reindex_unchanged_seconds"] < out["index_seconds"]
    (beir / "qrels" / "test.tsv").unlink()
    assert_clean_error(run(cli_env, "eval", "retrieval", "--beir", str(beir)), "is not a BEIR folder")


@pytest.mark.postgres
def test_audit_replay_command_writes_spooled_rows_once(cli_env, indexed, pg_url):
    down = {**cli_env, "CITEBOT_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/x?connect_timeout=2"}
    proc = run(down, "ask", "--json", "Where can I park my bike?")
    assert proc.returncode == 0, proc.stderr
    audit_id = json.loads(proc.stdout)["audit_id"]
    assert_clean_error(run(down, "audit", "replay"), "Cannot reach the audit database")
    up = {**cli_env, "CITEBOT_DATABASE_URL": pg_url}
    assert json.loads(run(up, "audit", "replay", "--json").stdout) == {"spooled": 1, "written": 1}
    assert json.loads(run(up, "audit", "replay", "--json").stdout) == {"spooled": 0, "written": 0}
    shown = json.loads(run(up, "audit", "show", audit_id, "--json").stdout)
    assert shown["question"] == "Where can I park my bike?" and shown["sentences"][0]["citations"] == [1]


def test_audit_stats_and_export_with_filters(cli_env, indexed, home, tmp_path):
    from audit.log import record_feedback
    from core.db import get_engine

    ids = []
    for question, channel in (("Where can I park my bike?", "C1"), ("Where is the colour printer?", "C2")):
        ids.append(json.loads(run(cli_env, "ask", "--json", "--channel", channel, question).stdout)["audit_id"])
    record_feedback(get_engine(f"sqlite:///{home / 'audit.db'}"), ids[1], "U9", "not_helpful", "outdated")
    stats = json.loads(run(cli_env, "audit", "stats", "--json").stdout)
    assert stats["answers"] == 2 and stats["routes"] == {"rag": 2} and stats["negative_feedback_rate"] == 1.0
    negative = run(cli_env, "audit", "export", "--format", "jsonl", "--feedback", "negative").stdout.splitlines()
    assert [json.loads(line)["audit_id"] for line in negative] == [ids[1]]
    out = tmp_path / "c1.csv"
    run(cli_env, "audit", "export", "--format", "csv", "--channel", "C1", "--out", str(out))
    import csv

    rows = list(csv.DictReader(out.open()))
    assert [r["audit_id"] for r in rows] == [ids[0]] and rows[0]["cited_sources"]
    assert_clean_error(run(cli_env, "audit", "stats", "--since", "last tuesday"), "--since wants a date")
    assert json.loads(run(cli_env, "audit", "stats", "--json", "--since", "2999-01-01").stdout)["answers"] == 0


def test_audit_user_export_delete_and_retention_commands(cli_env, indexed):
    asked = json.loads(run(cli_env, "ask", "--json", "--user", "UDANA", "Where can I park my bike?").stdout)
    lines = run(cli_env, "audit", "user", "UDANA").stdout.splitlines()
    assert [json.loads(line)["audit_id"] for line in lines] == [asked["audit_id"]]
    assert json.loads(run(cli_env, "audit", "retention", "--days", "30", "--json").stdout)["answers"] == 0
    assert_clean_error(run(cli_env, "audit", "retention", "--days", "30", "--mode", "shred"), "--mode must be")
    proc = run(cli_env, "audit", "user", "UDANA", "--delete", "--yes")
    assert proc.returncode == 0 and "Deleted 1 answers" in proc.stdout
    assert run(cli_env, "audit", "user", "UDANA").stdout == ""


def test_rebuild_replaces_the_index_after_a_settings_change(cli_env, indexed, home, tmp_path):
    import chromadb

    client = chromadb.PersistentClient(path=str(home / "chroma"))
    client.create_collection("citebot-rebuild").add(ids=["stale"], documents=["left by a killed rebuild"],
                                                     embeddings=[[0.0] * 384])
    mpnet_env = {**cli_env, "CITEBOT_EMBED_MODEL": "mpnet"}
    assert_clean_error(run(mpnet_env, "index", str(tmp_path / "corpus")), "citebot index --rebuild")
    assert_clean_error(run(cli_env, "index", "--rebuild", "--source", "office"), "drop --source")

    rules = " ".join(f"Visitor rule {n}: sign in at reception before entering floor {n}." for n in range(12))
    (tmp_path / "corpus" / "visitors.md").write_text("# Visitors\n\n" + rules)
    before = json.loads(run(cli_env, "index", str(tmp_path / "corpus"), "--json").stdout)["chunks_total"]
    small = {**cli_env, "CITEBOT_CHUNK_CHARS": "200"}
    assert json.loads(run(small, "index", str(tmp_path / "corpus"), "--json").stdout)["chunks_embedded"] == 0
    proc = run(small, "index", str(tmp_path / "corpus"), "--rebuild", "--json")
    assert proc.returncode == 0, proc.stderr
    rebuilt = json.loads(proc.stdout)
    assert rebuilt["added"] == 4 and rebuilt["chunks_embedded"] == rebuilt["chunks_total"] > before
    client = chromadb.PersistentClient(path=str(home / "chroma"))
    assert [c.name for c in client.list_collections()] == ["citebot"]
    assert client.get_collection("citebot").count() == rebuilt["chunks_total"]
    answer = json.loads(run(cli_env, "ask", "--json", "Where can I park my bike?").stdout)
    assert answer["route"] == "rag" and answer["citations"]


def test_ask_batch_answers_every_line_in_order_and_a_bad_line_does_not_stop_it(cli_env, indexed, tmp_path):
    questions = tmp_path / "questions.txt"
    questions.write_text("Where can I park my bike?\n\n" + "x" * 5000 + "\nWho descales the espresso machine?\n")
    proc = run(cli_env, "ask", "--batch", str(questions))
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [row["line"] for row in rows] == [1, 3, 4], "blank lines are skipped, numbers say which line"
    assert rows[0]["route"] == "rag" and rows[0]["citations"][0]["source"].endswith("parking.md")
    assert "limit" in rows[1]["error"] and "route" not in rows[1]
    assert rows[2]["route"] == "rag" and "Tuesday" in rows[2]["answer"]
    assert "2 answered, 1 failed" in proc.stderr
    logged = json.loads(run(cli_env, "audit", "list", "--json").stdout)
    assert {r["audit_id"] for r in logged} == {rows[0]["audit_id"], rows[2]["audit_id"]}


def test_ask_batch_reads_standard_input_and_refuses_unclear_input(cli_env, indexed, tmp_path):
    proc = subprocess.run([CITEBOT_BIN, "ask", "--batch", "-"], env=cli_env, input="Where is the colour printer?\n",
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and json.loads(proc.stdout)["citations"][0]["source"].endswith("printers.html")
    assert_clean_error(run(cli_env, "ask", "--batch", str(tmp_path / "missing.txt")), "Cannot read")
    assert_clean_error(run(cli_env, "ask", "Where?", "--batch", "-"), "--batch FILE")
    assert_clean_error(run(cli_env, "ask"), "Give one question")
