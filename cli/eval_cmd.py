"""`citebot eval ...`: measure retrieval and answers on labelled data, and calibrate the router."""

from __future__ import annotations

import shutil
from contextlib import ExitStack, contextmanager
from pathlib import Path

import typer

from cli.output import console, print_json, stage_progress
from core.errors import CitebotError

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
    embed_model: str = typer.Option(None, "--embed-model", help="Override CITEBOT_EMBED_MODEL (minilm, mpnet or "
                                    "an adapted model's folder) for this run."),
    adapt: bool = typer.Option(False, "--adapt", help="Then adapt the embedder to the corpus as `citebot tune "
                               "embedder` does (queries and judgements unused) and score dense and hybrid again. "
                               "mpnet: ~25 min per epoch on 2 CPU cores."),
    adapt_epochs: int = typer.Option(1, "--adapt-epochs", min=1, max=20, help="Epochs of adaptation."),
) -> None:
    """Index a BEIR corpus with the real pipeline and report nDCG@10, Recall@100 and MRR@10 for BM25
    alone, dense alone and hybrid, plus index time, unchanged-reindex time, embedding throughput and
    query latency (p50/p95 of the bot's own top-k call).

    The corpus goes into a temporary index: your own index is not touched.
    """
    from core.settings import embed_model_name, get_settings
    from indexing.adaptation import AdaptParams
    from indexing.evaluation import evaluate_retrieval

    try:
        embed_model = embed_model and embed_model_name(embed_model)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--embed-model") from None
    updates = {k: v for k, v in (("chunk_chars", chunk_chars), ("dense_weight", dense_weight),
                                 ("embed_model", embed_model)) if v is not None}
    settings = get_settings().model_copy(update=updates)
    params = AdaptParams(epochs=adapt_epochs) if adapt else None
    if as_json:
        print_json(evaluate_retrieval(beir, settings.index, max_queries=max_queries, adapt=params))
        return
    from rich.table import Table

    with stage_progress(16) as progress:
        result = evaluate_retrieval(beir, settings.index, progress, max_queries=max_queries, adapt=params)
    table = Table(title=f"{result['dataset']}: {result['documents']} documents, {result['queries']} queries, "
                        f"{result['chunks']} chunks of ≤{result['chunk_chars']} chars, "
                        f"{result['embed_model']} embeddings")
    for column in ("retrieval", "nDCG@10", "Recall@100", "MRR@10"):
        table.add_column(column, justify="right" if column != "retrieval" else "left")
    rows = list(result["metrics"].items())
    if result["adapted"]:
        rows += [(f"{mode}, adapted", metrics) for mode, metrics in result["adapted"]["metrics"].items()]
    for mode, metrics in rows:
        label = mode.replace("hybrid", f"hybrid (dense weight {result['dense_weight']})")
        table.add_row(label, f"{metrics['ndcg@10']:.3f}", f"{metrics['recall@100']:.3f}", f"{metrics['mrr@10']:.3f}")
    console.print(table)
    if result["adapted"]:
        adapted = result["adapted"]
        console.print(f"adapted in {adapted['adapt']['seconds']} s ({adapted['adapt']['steps']} steps, loss "
                      f"{adapted['adapt']['first_loss']} → {adapted['adapt']['last_loss']}), re-indexed in "
                      f"{adapted['index_seconds']} s", highlight=False)
    console.print(f"index {result['index_seconds']} s ({result['docs_per_second']} docs/s, "
                  f"{result['chunks_per_second']} chunks/s) · unchanged reindex {result['reindex_unchanged_seconds']} s "
                  f"({result['reindex_unchanged_pct']}% of full) · query p50 {result['query_ms_p50']} ms, "
                  f"p95 {result['query_ms_p95']} ms", highlight=False)


SET_HELP = "JSONL of {question, answerable, gold_sources[, expect_route]}; default: the bundled handbook set."
DOCS_HELP = "Folder of documents the set is about (default: the bundled handbook)."
BEIR_HELP = "Use a BEIR folder's corpus.jsonl as the documents instead (gold_sources are its doc ids)."
# Shared by `eval answers` and `eval calibrate`: both read a labelled set over the same documents.
SET_OPTION = typer.Option(None, "--set", help=SET_HELP, exists=True, dir_okay=False)
DOCS_OPTION = typer.Option(None, "--docs", help=DOCS_HELP, exists=True, file_okay=False)
BEIR_OPTION = typer.Option(None, "--beir", help=BEIR_HELP, exists=True, file_okay=False)
JSON_OPTION = typer.Option(False, "--json", help="Print the results as one JSON object.")


@contextmanager
def _scratch(set_file: Path | None, docs: Path | None, beir: Path | None):
    """The labelled items and settings for a scratch home with the set's documents indexed; the home is
    removed afterwards."""
    from core.settings import get_settings
    from demo import HANDBOOK_DIR, HANDBOOK_SET
    from indexing.evaluation import BeirSource, load_beir
    from indexing.sources.files import FileSource
    from service.evaluation import load_set, scratch_settings

    items = load_set(set_file or HANDBOOK_SET)
    source = BeirSource(load_beir(beir)) if beir else FileSource.adhoc([docs or HANDBOOK_DIR])
    settings = scratch_settings(get_settings(), source)
    try:
        yield items, settings
    finally:
        shutil.rmtree(settings.home, ignore_errors=True)


def _also_pair(value: str) -> tuple[Path, Path | None, Path | None]:
    """`SET=FOLDER` → (set, docs, beir): a folder holding corpus.jsonl is a BEIR folder."""
    set_text, sep, folder_text = value.partition("=")
    set_file, folder = Path(set_text), Path(folder_text)
    if not sep or not set_file.is_file() or not folder.is_dir():
        raise CitebotError(f"--also {value!r}: expected SET=FOLDER, a labelled set file and the folder of the "
                           "documents it is about (a BEIR folder works too), e.g. --also debian.jsonl=/tmp/debfaq.")
    return (set_file, None, folder) if (folder / "corpus.jsonl").exists() else (set_file, folder, None)


@app.command("answers")
def answers(
    set_file: Path = SET_OPTION, docs: Path = DOCS_OPTION, beir: Path = BEIR_OPTION, as_json: bool = JSON_OPTION,
) -> None:
    """Answer every question of a labelled set and report citation precision and recall, answer rate,
    right source cited beside the retrieval ceiling, abstain/escalate rate on unanswerable questions,
    routing accuracy, key facts present, fragmentary answers, code kept and latency per stage.

    Runs in a temporary home: your index and audit log are not touched.
    """
    from service.evaluation import evaluate_answers

    with _scratch(set_file, docs, beir) as (items, settings):
        if as_json:
            print_json(evaluate_answers(items, settings))
            return
        with stage_progress(10) as progress:
            result = evaluate_answers(items, settings, progress)
    for key in ("embed_model", "top_k", "questions", "answerable", "unanswerable", "citation_precision",
                "citation_recall", "answer_rate",
                "answered_with_right_source", "first_citation_right", "retrieval_ceiling", "unanswerable_not_answered",
                "unanswerable_abstained", "unanswerable_escalated", "routing_accuracy", "key_facts_present",
                "key_facts_labelled", "fragmentary", "code_kept", "code_cases", "thresholds",
                "escalation_generate_ms_p50", "escalation_first_token_ms_p50"):
        interval = result["intervals"].get(key)
        shown = (f"{result[key]}  (95%: {interval['low']}-{interval['high']} of {interval['n']})" if interval
                 else result[key])
        console.print(f"{key.replace('_', ' '):<28} {shown}", highlight=False)
    for stage, values in result["latency_ms"].items():
        console.print(f"{stage + ' ms':<28} p50 {values['p50']}  p95 {values['p95']}", highlight=False)
    for miss in result["misrouted"]:
        console.print(f"  misrouted ({miss['route']}): {miss['question']}", highlight=False)
    for row in result["answers"]:
        if row["answerable"] and row["route"] == "rag" and not row["right_source"]:
            retrieved = "retrieved" if row["retrieved_gold"] else "not retrieved"
            console.print(f"  wrong source ({', '.join(row['cited'])}; gold {retrieved}): {row['question']}",
                          highlight=False, soft_wrap=True)
    for label, key in (("key facts missing", "facts_missing"), ("fragmentary", "fragments")):
        for question in result[key]:
            console.print(f"  {label}: {question}", highlight=False)


@app.command("calibrate")
def calibrate_cmd(
    set_file: Path = SET_OPTION, docs: Path = DOCS_OPTION, beir: Path = BEIR_OPTION,
    also: list[str] = typer.Option([], "--also", metavar="SET=FOLDER",
                                   help="Another labelled set and its documents (a folder or a BEIR folder); "
                                        "repeatable. Thresholds are chosen on all sets pooled, so they hold on "
                                        "more than one kind of documents."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Choose the router's thresholds from labelled sets: prints CITEBOT_ANSWER_THRESHOLD and
    CITEBOT_ABSTAIN_THRESHOLD to put in your environment, with the accuracy they reach on each set.

    The shipped defaults come from the handbook set pooled with the Debian FAQ set:
    citebot eval calibrate --also benchmarks/data/debian_faq_answers.jsonl=/tmp/debfaq
    """
    from service.evaluation import calibrate

    pairs = [(set_file, docs, beir)] + [_also_pair(value) for value in also]
    with ExitStack() as stack:
        sets = [(labelled.name if labelled else "handbook", *stack.enter_context(_scratch(labelled, folder, corpus)))
                for labelled, folder, corpus in pairs]
        result = calibrate(sets)
    if as_json:
        print_json(result)
        return
    console.print(f"CITEBOT_ANSWER_THRESHOLD={result['answer_threshold']}\n"
                  f"CITEBOT_ABSTAIN_THRESHOLD={result['abstain_threshold']}", highlight=False)
    console.print(f"balanced accuracy {result['balanced_accuracy']} (current thresholds "
                  f"{result['current']['answer_threshold']}/{result['current']['abstain_threshold']}: "
                  f"{result['current']['balanced_accuracy']}); per set {result['per_set']}; person/action "
                  f"classifier {result['person_or_action_classifier']}", highlight=False)
