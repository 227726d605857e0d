"""Every Block Kit payload the bot builds passes slack_sdk's own block models, which enforce Slack's
published limits (3,000 characters of section text, 75 of button text, …), whatever the answer holds."""

import pytest
from slack_sdk.models.blocks import Block

from answering.result import AnswerResult, Citation
from bot.blocks import MAX_BLOCKS, MESSAGE_LIMIT, answer_message, help_message, mrkdwn_message, notice, quotes_message
from indexing.retrieval import Passage

HOSTILE = "<!channel> see <https://evil.example|docs> & [docs](https://evil.example)"


def _big_answer() -> AnswerResult:
    code = "\n".join(f"    step_{n:04d}()  # {HOSTILE}" for n in range(500))
    steps = "\n".join(f"{n}. Step {n}: {HOSTILE}" for n in range(1, 400))
    prose = " ".join(f"Sentence {n} of a long paragraph about the deploy windows." for n in range(300))
    answer = f"**Deploying** [1]\n\n{prose} [1]\n\nRun this:\n\n```python\n{code}\n```\n\n{steps} [2]"
    passages = [Passage(f"c{n}", f"d{n}", f"Doc {n}", f"Doc {n} > {HOSTILE}", f"docs/{n}.md",
                        f"https://docs.example/{n}.html#part", f"Doc {n}\n{prose}", 1.0, 0.5, 1.0) for n in (1, 2)]
    citations = [Citation(n, p.title, p.source, p.url, p.chunk_id, 1.0, p.heading) for n, p in enumerate(passages, 1)]
    return AnswerResult("how do I deploy?", answer, "rag", "", "extractive", citations=citations, passages=passages,
                        audit_id="a1b2c3d4e5f6")


def _payloads():
    result = _big_answer()
    long_quote = " ".join(["The passage text goes on."] * 400)
    return {"answer": answer_message(result), "answer with quotes": answer_message(result, quotes=True, shareable=True),
            "answer without buttons": answer_message(result, buttons=False), "notice": notice(HOSTILE * 100),
            "help": help_message(admin=True), "help for members": help_message(admin=False),
            "audit listing": mrkdwn_message("\n".join(f"`{n:012x}` rag · *question {n}*" for n in range(400))),
            "quotes": quotes_message([(n, f"Doc {n} {HOSTILE}", f"https://docs.example/{n}", long_quote)
                                      for n in range(1, 9)])}


@pytest.mark.parametrize("name", list(_payloads()))
def test_every_payload_passes_slack_sdk_block_models(name):
    payload = _payloads()[name]
    assert 0 < len(payload["blocks"]) <= MAX_BLOCKS
    for block in payload["blocks"]:
        model = Block.parse(block)
        assert model is not None, f"unknown block type {block['type']}"
        assert model.to_dict() == block, "slack_sdk validates and keeps every field"  # to_dict() validates
    text = sum(len(b.get("text", {}).get("text", "")) for b in payload["blocks"])
    assert text <= MESSAGE_LIMIT and len(payload["text"]) <= 3000


def test_each_source_says_how_fresh_it_is():
    from datetime import datetime, timedelta, timezone

    result = _big_answer()
    result.answer = "Deploy windows are Monday to Thursday. [1] [2]"
    result.citations[0].updated_at = (datetime.now(timezone.utc) - timedelta(days=3, hours=1)).isoformat()
    result.citations[1].updated_at = "1970-01-01T00:00:00+00:00"  # a source that knows no date
    blocks = answer_message(result)["blocks"]
    sources = next(b["text"]["text"] for b in blocks if "*Sources*" in b.get("text", {}).get("text", ""))
    first, second = [line for line in sources.splitlines() if line.startswith("[")]
    assert first.endswith("· _updated 3 days ago_") and "updated" not in second


def test_nothing_hostile_in_a_payload_is_live():
    for payload in (answer_message(_big_answer(), quotes=True), quotes_message([(1, "Doc", None, HOSTILE)])):
        for text in [payload["text"]] + [b["text"]["text"] for b in payload["blocks"] if "text" in b]:
            assert "<!channel>" not in text and "<https://evil.example" not in text
            prose = [line for line in text.splitlines() if not line.startswith("    step_")]  # code stays verbatim
            assert not any("](https://evil.example)" in line for line in prose), "a Markdown link keeps its text only"
    assert "&lt;!channel&gt;" in notice(HOSTILE)["text"], "a notice is shown as typed, escaped"
