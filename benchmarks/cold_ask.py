"""Cold `citebot ask` against the time of merely importing torch and sentence-transformers, in one run.

    python -m benchmarks.cold_ask [--runs 5] [--embed-model minilm]

Indexes the bundled handbook into a temporary home, then alternates fresh processes: `citebot ask` for
a question the handbook answers, and `python -c "import torch, sentence_transformers"`. Reports the
median wall time of each, their ratio, and the peak RSS of the ask (getrusage of the child). The
query path's goal is a ratio under 0.6 and a peak under 300 MB with the default MiniLM.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from demo import HANDBOOK_DIR

QUESTION = "Can I deploy to production on a Friday?"
CITEBOT = str(Path(sys.executable).parent / "citebot")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--embed-model", default="minilm")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CITEBOT_", "SLACK_", "OPENAI_"))}
        env.update(CITEBOT_HOME=str(Path(tmp) / "home"), CITEBOT_EMBED_MODEL=args.embed_model)
        subprocess.run([CITEBOT, "index", str(HANDBOOK_DIR), "--json"], env=env, capture_output=True, check=True)
        subprocess.run([CITEBOT, "ask", QUESTION], env=env, capture_output=True, check=True)  # warm the page cache
        asks, imports, peaks = [], [], []
        for _ in range(args.runs):
            # A fresh measurement process per ask, so ru_maxrss is that ask's own peak.
            probe = subprocess.run([sys.executable, "-c", _PROBE, CITEBOT, QUESTION], env=env, capture_output=True,
                                   text=True, check=True)
            seconds, peak, route = json.loads(probe.stdout)
            if route != "rag":
                raise SystemExit(f"the question was not answered from the docs (route {route})")
            asks.append(seconds)
            peaks.append(peak)
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import torch, sentence_transformers"], env=env, check=True)
            imports.append(time.perf_counter() - started)
    ask, imported = statistics.median(asks), statistics.median(imports)
    print(json.dumps({"embed_model": args.embed_model, "runs": args.runs, "ask_seconds_p50": round(ask, 2),
                      "import_torch_st_seconds_p50": round(imported, 2), "ratio": round(ask / imported, 2),
                      "ask_peak_rss_mb": round(max(peaks), 1)}))


_PROBE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
out = subprocess.run([sys.argv[1], "ask", "--json", sys.argv[2]], capture_output=True, text=True, check=True)
seconds = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps([seconds, peak, json.loads(out.stdout)["route"]]))
"""

if __name__ == "__main__":
    main()
