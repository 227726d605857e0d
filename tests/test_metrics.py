"""Ranking metrics against values worked out by hand (trec_eval definitions)."""

import pytest

from indexing.metrics import evaluate_run, mrr_at, ndcg_at, recall_at

RANKED = ["d3", "d1", "d7", "d2"]
RELEVANT = {"d1": 2, "d2": 1, "d9": 1, "d5": 0}


def test_ndcg_uses_graded_gain_and_log2_discount():
    # DCG = 2/log2(3) + 1/log2(5) = 1.26186 + 0.43068; IDCG = 2 + 1/log2(3) + 1/log2(4) = 3.13093
    assert ndcg_at(RANKED, RELEVANT, 10) == pytest.approx(1.69254 / 3.13093, abs=1e-5)
    assert ndcg_at(RANKED, RELEVANT, 1) == 0.0
    assert ndcg_at(["d1", "d2", "d9"], RELEVANT, 10) == pytest.approx(1.0)


def test_recall_counts_only_positive_judgements_within_the_cutoff():
    assert recall_at(RANKED, RELEVANT, 100) == pytest.approx(2 / 3)
    assert recall_at(RANKED, RELEVANT, 2) == pytest.approx(1 / 3)


def test_reciprocal_rank_of_the_first_relevant_document():
    assert mrr_at(RANKED, RELEVANT, 10) == 0.5
    assert mrr_at(["d3", "d7"], RELEVANT, 10) == 0.0
    assert mrr_at(["x"] * 10 + ["d1"], RELEVANT, 10) == 0.0


def test_mean_over_judged_queries_counts_missing_runs_as_zero():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1}, "unjudged": {"c": 0}}
    scores = evaluate_run({"q1": ["a"]}, qrels)
    assert scores == {"ndcg@10": 0.5, "recall@100": 0.5, "mrr@10": 0.5}
