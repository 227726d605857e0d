"""The four labelled corpora the held-out benchmarks leave out in turn, and their command-line options.

The handbook ships with the demo; the Debian FAQ is a BEIR folder built from ../shared/bench; the MkDocs
and Sphinx manuals are HTML folders unpacked from Debian's documentation packages.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from demo import HANDBOOK_DIR, HANDBOOK_SET
from indexing.evaluation import BeirSource, load_beir
from indexing.sources.base import Source
from indexing.sources.files import FileSource

DATA = Path(__file__).parent / "data"


def run_on_corpora(description: str, run: Callable[[Path, Path, Path | None], dict]) -> dict | None:
    """Parse --debian, --mkdocs, optional --sphinx and --json, and run: the result, or None when it was
    printed as JSON."""
    args = _parser(description).parse_args()
    result = run(args.debian, args.mkdocs, args.sphinx)
    if args.json:
        print(json.dumps(result, indent=1))
        return None
    return result


def _parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--debian", type=Path, required=True, help="BEIR folder of the Debian FAQ "
                        "(python3 ../shared/bench/make_debian_faq_beir.py DIR)")
    parser.add_argument("--mkdocs", type=Path, required=True, help="mkdocs-doc HTML folder "
                        "(python3 -m benchmarks.debian_docs mkdocs-doc DIR)")
    parser.add_argument("--sphinx", type=Path, help="sphinx-doc HTML folder, a fourth corpus "
                        "(python3 -m benchmarks.debian_docs sphinx-doc DIR)")
    parser.add_argument("--json", action="store_true", help="print the whole result as JSON")
    return parser


def labelled_corpora(debian: Path, mkdocs: Path, sphinx: Path | None = None) -> dict[str, tuple[Path, Source]]:
    """Each corpus's labelled set and its documents, by name."""
    corpora = {"handbook": (HANDBOOK_SET, FileSource.adhoc([HANDBOOK_DIR])),
               "debian_faq": (DATA / "debian_faq_answers.jsonl", BeirSource(load_beir(debian))),
               "mkdocs": (DATA / "mkdocs_answers.jsonl", FileSource.adhoc([mkdocs]))}
    if sphinx:
        corpora["sphinx"] = (DATA / "sphinx_answers.jsonl", FileSource.adhoc([sphinx]))
    return corpora
