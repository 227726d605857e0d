"""`citebot eval ...`: measure retrieval (and later answers) on labelled data."""

from __future__ import annotations

from pathlib import Path

import typer

from bot.cli.output import console, print_json, stage_progress

app = typer.Typer(help="Measure quality on labelled data.", no_args_is_help=True)


@app.command("retrieval")
def retrieval(
    beir: Path = typer.Option(..., "--beir", help="BEIR folder: corpus.jsonl, queries.jsonl, qrels/test.tsv.",
                              exists=True, file_okay=False),
    as_json: bool = typer.Option(False, "--json", help="Print the results as one JSON object."),
    chunk_chars: int = typer.Option(None, "--chunk-chars", help="Override CITEBOT_CHUNK_CHARS for this run."),
    dense_weight: float = typer.Option(None, "--dense-weight", min=0.0, max=1.0,
                                       help="Override CITEBOT_DENSE_WEIGHT for this run."),
    max_queries: int = typer.Option(None, "--max-queries", min=1, help="Score only the first N judged queries."),
) -> None:
    """Index a BEIR corpus with the real pipeline and report nDCG@10, Recall@100 and MRR@10 for BM25
    alone, dense alone and hybrid, plus index time, unchanged-reindex time, embedding throughput and
    query latency (p50/p95 of the bot's own top-k call).

    The corpus goes into a temporary index: your own index is not touched.
    """
    from core.settings import get_settings
    from indexing.evaluation import evaluate_retrieval

    updates = {k: v for k, v in (("chunk_chars", chunk_chars), ("dense_weight", dense_weight)) if v is not None}
    settings = get_settings().model_copy(update=updates)
    if as_json:
        print_json(evaluate_retrieval(beir, settings, max_queries=max_queries))
        return
    from rich.table import Table

    with stage_progress(16) as progress:
        result = evaluate_retrieval(beir, settings, progress, max_queries=max_queries)
    table = Table(title=f"{result['dataset']}: {result['documents']} documents, {result['queries']} queries, "
                        f"{result['chunks']} chunks of ≤{result['chunk_chars']} chars")
    for column in ("retrieval", "nDCG@10", "Recall@100", "MRR@10"):
        table.add_column(column, justify="right" if column != "retrieval" else "left")
    for mode, metrics in result["metrics"].items():
        label = f"hybrid (dense weight {result['dense_weight']})" if mode == "hybrid" else mode
        table.add_row(label, f"{metrics['ndcg@10']:.3f}", f"{metrics['recall@100']:.3f}", f"{metrics['mrr@10']:.3f}")
    console.print(table)
    console.print(f"index {result['index_seconds']} s ({result['docs_per_second']} docs/s, "
                  f"{result['chunks_per_second']} chunks/s) · unchanged reindex {result['reindex_unchanged_seconds']} s "
                  f"({result['reindex_unchanged_pct']}% of full) · query p50 {result['query_ms_p50']} ms, "
                  f"p95 {result['query_ms_p95']} ms", highlight=False)
