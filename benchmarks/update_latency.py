"""How fast an edited document becomes searchable, in a running process (the bot's /reindex path).

    .venv/bin/python -m benchmarks.update_latency

Indexes the demo handbook into a temporary home, then five times: appends a new fact to one page,
re-indexes that page, and queries for the fact. Prints seconds from "index starts" to "the fact is
the top hit". A separate `citebot index FILE` process adds its import time (~3-10 s) on top.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

from core.settings import Settings
from demo import HANDBOOK_DIR
from indexing.pipeline import index_paths
from indexing.retrieval import HybridRetriever


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        docs = Path(tmp) / "handbook"
        shutil.copytree(HANDBOOK_DIR, docs)
        settings = Settings(home=Path(tmp) / "home")
        index_paths([docs], settings)
        retriever = HybridRetriever(settings)
        retriever.search("warm up")
        page = sorted(docs.glob("*.md"))[0]
        timings = []
        for n in range(5):
            fact = f"The zebra{n} badge reader is on floor {n + 3}."
            page.write_text(page.read_text() + f"\n\n## Badge reader {n}\n\n{fact}\n")
            started = time.perf_counter()
            summary = index_paths([page], settings)
            hit = retriever.search(f"Where is the zebra{n} badge reader?")[0]
            timings.append(time.perf_counter() - started)
            assert summary.updated == 1 and f"zebra{n}" in hit.text, hit.text
        print(f"edited page searchable after {statistics.median(timings):.3f} s median, "
              f"{max(timings):.3f} s max (5 edits, warm process)")


if __name__ == "__main__":
    main()
