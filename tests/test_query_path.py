"""The query path stays light: answering a question loads neither torch nor sentence-transformers
(the encoder runs from its ONNX export), so a cold `citebot ask` and every bot replica skip their
seconds of import and hundreds of MB."""

import json
import subprocess
import sys

from indexing.pipeline import index_paths

PROBE = """
import sys
from cli import main
sys.argv = ["citebot", "ask", "--json", sys.argv[1]]
try:
    main()
except SystemExit:
    pass
print("HEAVY", sorted(m for m in ("torch", "sentence_transformers", "transformers") if m in sys.modules))
"""


def test_answering_from_the_docs_imports_neither_torch_nor_sentence_transformers(cli_env, settings, corpus):
    index_paths([corpus], settings)
    done = subprocess.run([sys.executable, "-c", PROBE, "Where can I park my bike?"], env=cli_env,
                          capture_output=True, text=True, timeout=300)
    answer, heavy = done.stdout.rsplit("HEAVY", 1)
    assert json.loads(answer)["route"] == "rag", done.stderr
    assert heavy.strip() == "[]", f"the query path imported {heavy.strip()}"
