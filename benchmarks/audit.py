"""Audit log benchmark: write overhead per answer, review list page and export over 100k answers.

    python -m benchmarks.audit [--rows 100000] [--database-url URL] [--json]

Writes `--writes` answers through the bot's own `record_answer` (5 passages and 3 sentences each) and
reports p50/p99; spools `--spooled` answers while the database is unreachable and replays them twice
(every row once, none twice); then bulk-loads `--rows` answers, times the review page's list (unfiltered, filtered,
searched, last page) by the server time it reports, and exports everything to CSV as `citebot audit
export` does.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert

ROUTES = ["rag"] * 7 + ["abstain", "escalate", "escalate"]


def _result(i: int):
    from answering.result import AnswerResult, Citation, Sentence
    from indexing.retrieval import Passage

    passages = [Passage(chunk_id=f"doc{i % 97}:{k}", doc_id=f"doc{i % 97}", text=f"Heading\nBody {k} " * 40,
                        title=f"Page {i % 97}", heading="Heading", source=f"/docs/page{i % 97}.md", url=None,
                        score=0.5 - k / 100, dense_score=0.6 - k / 50, bm25_score=1.0, rank=k + 1) for k in range(5)]
    return AnswerResult(question=f"How do I do thing {i}?", answer="Do it like this. [1]", route="rag",
                        route_reason="best retrieval score 0.600 >= 0.425", model="extractive", passages=passages,
                        citations=[Citation(1, "Page", "/docs/page.md", None, passages[0].chunk_id, 0.5)],
                        sentences=[Sentence(f"Sentence {k}.", [1], 0.7) for k in range(3)],
                        latency_ms={"retrieve": 20.0, "generate": 40.0, "total": 60.0})


def _bulk_load(engine, rows: int) -> None:
    from core.models import Answer, Feedback, RetrievedPassage, utcnow

    rng = random.Random(1)
    start = utcnow() - timedelta(days=90)
    batch = 10_000
    for offset in range(0, rows, batch):
        answers, passages, feedback = [], [], []
        for i in range(offset, min(rows, offset + batch)):
            audit_id = f"b{i:011d}"
            answers.append({"id": audit_id, "created_at": start + timedelta(seconds=i * 77), "user_id": f"U{i % 300}",
                            "channel_id": f"C{i % 40}", "question": f"question {i} about topic {i % 500}",
                            "answer": "an answer [1]", "route": rng.choice(ROUTES), "route_reason": "", "model": "x",
                            "retrieve_ms": 20.0, "generate_ms": 40.0, "total_ms": 60.0})
            passages += [{"answer_id": audit_id, "rank": k, "score": 0.5, "dense_score": 0.6, "chunk_id": f"c{k}",
                          "source": f"/docs/p{i % 97}.md", "title": "Page", "cited": k == 1} for k in (1, 2)]
            if i % 20 == 0:
                feedback.append({"answer_id": audit_id, "created_at": start, "user_id": "U1",
                                 "verdict": rng.choice(["helpful", "not_helpful"])})
        with engine.begin() as conn:
            conn.execute(insert(Answer), answers)
            conn.execute(insert(RetrievedPassage), passages)
            conn.execute(insert(Feedback), feedback)


def _server_ms(client, query: str) -> float:
    response = client.get("/?" + query)
    assert response.status_code == 200, response.status_code
    return float(response.headers["Server-Timing"].split("dur=")[1])


def _spool_replay(engine, folder: Path, count: int) -> dict:
    """Answers written while the database is unreachable, then replayed: all arrive, none twice."""
    from sqlalchemy import func, select

    from audit.log import record_answer
    from audit.spool import AuditSpool
    from core.db import get_engine
    from core.models import Answer

    down = get_engine("postgresql+psycopg://citebot@127.0.0.1:1/unreachable?connect_timeout=1")
    spool = AuditSpool(folder / "home")
    with engine.connect() as conn:
        before = conn.scalar(select(func.count(Answer.id)))
    started = time.perf_counter()
    ids = [record_answer(down, _result(i), "U1", "C1", spool=spool) for i in range(count)]
    spooled_s = time.perf_counter() - started
    started = time.perf_counter()
    first = spool.replay(engine)
    replay_s = time.perf_counter() - started
    second = spool.replay(engine)
    with engine.connect() as conn:
        after = conn.scalar(select(func.count(Answer.id)))
        distinct = conn.scalar(select(func.count(func.distinct(Answer.id))).where(Answer.id.in_(ids[:900])))
    return {"spooled": count, "spool_write_ms_avg": round(spooled_s / count * 1000, 2),
            "replayed": first, "replayed_again": second, "rows_added": after - before,
            "lost": count - (after - before), "sample_distinct_ok": distinct == min(900, count),
            "replay_s": round(replay_s, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--writes", type=int, default=1000)
    parser.add_argument("--spooled", type=int, default=2000)
    parser.add_argument("--database-url", help="default: SQLite in a scratch folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from starlette.testclient import TestClient

    from audit.log import record_answer
    from audit.queries import Filters, find_answers
    from audit.serialize import EXPORT_COLUMNS, export_row
    from core.db import get_engine
    from indexing.metrics import percentile
    from migrations.schema import ensure_schema
    from review.app import review_app
    from review.auth import TokenAuth

    folder = Path(tempfile.mkdtemp(prefix="citebot-audit-bench-"))
    engine = get_engine(args.database_url or f"sqlite:///{folder / 'audit.db'}")
    ensure_schema(engine)
    report: dict = {"database": engine.dialect.name}
    results = [_result(i) for i in range(args.writes)]
    times = []
    for result in results:
        started = time.perf_counter()
        record_answer(engine, result, "U1", "C1")
        times.append((time.perf_counter() - started) * 1000)
    report["write_ms"] = {"p50": round(percentile(times, 50), 2), "p99": round(percentile(times, 99), 2)}

    report["spool"] = _spool_replay(engine, folder, args.spooled)
    started = time.perf_counter()
    _bulk_load(engine, args.rows)
    report["rows"] = args.rows + args.writes + args.spooled
    report["bulk_load_s"] = round(time.perf_counter() - started, 1)
    client = TestClient(review_app(engine, TokenAuth("bench")))
    client.post("/login", data={"token": "bench"})
    queries = {"unfiltered": "", "route + channel": "route=escalate&channel=C7", "search": "q=topic+123",
               "negative feedback": "feedback=negative", "last page": "page=2021"}
    report["list_page_server_ms"] = {name: round(min(_server_ms(client, q) for _ in range(3)), 1)
                                     for name, q in queries.items()}
    started = time.perf_counter()
    with open(folder / "export.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS)
        writer.writeheader()
        for row in find_answers(engine, Filters()):
            writer.writerow(export_row(row))
    report["export_csv_s"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
