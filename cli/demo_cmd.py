"""`citebot demo`: index the bundled handbook and answer three questions, fully offline."""

from __future__ import annotations

from rich.rule import Rule

from cli.output import console, index_with_progress, print_answer


def demo() -> None:
    """Index the bundled sample handbook and answer three questions end to end.

    Shows an answer from one page, one that needs two pages, and one the handbook cannot answer
    (escalated instead of made up). Everything runs offline on CPU; data goes to CITEBOT_HOME.
    """
    from core.settings import get_settings
    from demo import DEMO_QUESTIONS, HANDBOOK_DIR
    from indexing.sources.files import FileSource
    from service.answers import AnswerService

    settings = get_settings()
    console.print(Rule("citebot demo"))
    console.print(f"Indexing the sample handbook ({HANDBOOK_DIR}) ...", highlight=False)
    summary = index_with_progress(FileSource.adhoc([HANDBOOK_DIR]), settings.index, quiet=False)
    console.print(f"{summary.added} added, {summary.updated} updated, {summary.unchanged} unchanged, "
                  f"{summary.chunks_total} chunks in {summary.seconds:.1f} s", highlight=False)
    answerer = AnswerService(settings)
    for number, question in enumerate(DEMO_QUESTIONS, 1):
        console.print(Rule(f"Question {number}"))
        console.print(f"[bold]Q: {question}[/bold]", highlight=False)
        print_answer(answerer.ask(question, user="demo", channel="demo"))
    console.print(Rule("Where things are"))
    console.print(f"Index:           {settings.where()}\nAudit database:  {settings.resolved_database_url}\n"
                  f"Model cache:     {settings.model_cache_dir}", highlight=False)
    console.print("\nTry next:\n"
                  "  citebot ask \"How long are database backups kept?\"\n"
                  "  citebot ask --json \"Who writes the status page updates?\"\n"
                  "  citebot index PATH...     index your own docs (md, txt, html, pdf)\n"
                  "  citebot audit list        review the answers above\n"
                  "  citebot audit show ID     one answer with its passages and scores\n"
                  "  citebot serve --emulator  try the Slack bot in a local emulated workspace", highlight=False)
