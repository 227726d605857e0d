"""The bundled sample knowledge base (a fictional platform team's handbook) used by `citebot demo`."""

from pathlib import Path

HANDBOOK_DIR = Path(__file__).parent / "handbook"
# Labelled questions about the handbook, asked the way people ask in a help channel (`citebot eval answers`).
HANDBOOK_SET = Path(__file__).parent / "labelled_handbook.jsonl"

# One question answered by one page, one that needs two pages, one the handbook cannot answer.
DEMO_QUESTIONS = [
    "Can I deploy to production on a Friday?",
    "Do I need the VPN to reach staging, and how do I set the VPN up?",
    "What is the Wi-Fi password in the Munich office?",
]
