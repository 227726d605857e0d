"""Answers quote whole units (the list, the code block), thresholds come from the index itself, and
Slack gets the Markdown through one formatter that never posts a live mention or a disguised link."""

import pytest

from audit.serialize import answer_json
from bot.formatting import mrkdwn_pieces, to_mrkdwn
from core.settings import Settings
from demo import HANDBOOK_DIR
from indexing.blocks import parse_blocks
from indexing.pipeline import index_paths
from service.answer_metrics import code_pairs, facts_present, fragmentary
from service.answers import AnswerService

VPN_STEPS = ["Install Acme Connect from the self-service portal (macOS) or the `acme-connect` apt package (Linux).",
             "Sign in with your SSO account; the app downloads your WireGuard profile.",
             "Choose the gateway closest to you: `fra-1` (Frankfurt) or `dub-1` (Dublin)."]


@pytest.fixture(scope="module")
def handbook(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("handbook"))
    summary = index_paths([HANDBOOK_DIR], settings)
    return settings, summary, AnswerService(settings)


def test_a_how_do_i_question_gets_the_whole_numbered_list_with_its_citation(handbook):
    _, _, service = handbook
    result = service.ask("how do I set up the VPN?")
    lists = [b for b in parse_blocks(result.answer) if b.kind == "list"]
    assert lists and [item.split(" [")[0] for item in lists[0].items] == VPN_STEPS
    assert lists[0].items[-1].endswith("]"), "the quoted list keeps its [n]"
    assert not fragmentary(result.answer)


def test_both_parts_of_a_compound_question_are_answered(handbook):
    _, _, service = handbook
    result = service.ask("Do I need the VPN to reach staging, and how do I set the VPN up?")
    assert "from the VPN only" in result.answer and VPN_STEPS[1] in result.answer
    assert result.uncovered == []


def test_a_part_the_docs_do_not_cover_is_named_in_a_note(handbook):
    _, _, service = handbook
    result = service.ask("How long do we keep database backups, and what is the wifi password of the Munich office?")
    assert result.route == "rag" and "35 days" in result.answer
    assert result.uncovered and "wifi password" in result.uncovered[0]
    assert "do not answer" in result.answer and answer_json(result)["uncovered"] == result.uncovered


def test_the_index_derives_its_own_thresholds_and_the_answer_records_them(handbook):
    settings, summary, service = handbook
    routing = summary.routing
    assert routing["off_domain"]["p90"] <= routing["answer_threshold"] <= routing["in_domain"]["p20"]
    assert routing["abstain_threshold"] <= routing["answer_threshold"]
    result = service.ask("what are the deploy windows for production")
    assert result.thresholds == {"answer": routing["answer_threshold"], "abstain": routing["abstain_threshold"],
                                 "source": "index"}
    assert "(index thresholds)" in result.route_reason
    from audit.log import open_audit, recent_answers

    row = recent_answers(open_audit(settings.storage)[0], limit=1)[0]
    assert (row.answer_threshold, row.threshold_source) == (routing["answer_threshold"], "index")


def test_the_calibration_sample_changes_only_by_what_an_edit_adds_or_removes():
    from indexing.calibration import calibration_sample

    ids = [f"/docs/page{n}.html::{n:012x}::0" for n in range(500)]
    sample = calibration_sample(ids, 40)
    assert len(set(sample)) == 40 and calibration_sample(list(reversed(ids)), 40) == sample
    outside = next(i for i in ids if i not in sample)
    assert calibration_sample([i for i in ids if i != outside], 40) == sample, "an edit elsewhere moves nothing"
    grown = calibration_sample(ids + ["/docs/new.html::abcdef012345::0"], 40)
    assert len(set(grown) - set(sample)) <= 1, "a new chunk enters the sample or not; the rest stays"


def test_explicit_threshold_settings_win_over_the_index(handbook):
    settings, _, _ = handbook
    strict = AnswerService(Settings(home=settings.home, answer_threshold=0.99))
    result = strict.ask("what are the deploy windows for production")
    assert result.route != "rag" and result.thresholds["source"] == "settings"
    assert result.thresholds["answer"] == 0.99


def test_quoted_code_stays_a_fenced_block_with_its_introduction(settings, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "deploy.md").write_text("# Publishing\n\n## GitHub Pages\n\nTo publish the site to GitHub Pages, run the "
                                    "following command:\n\n```sh\nmkdocs gh-deploy --force\nmkdocs gh-deploy --help\n"
                                    "```\n\nThe site is pushed to the gh-pages branch.\n")
    (docs / "other.md").write_text("# Lunch\n\nLunch is at noon in the canteen on the second floor.\n")
    index_paths([docs], settings)
    result = AnswerService(settings).ask("How do I publish the site to GitHub Pages?")
    assert "run the following command: [1]\n\n```sh\nmkdocs gh-deploy --force\nmkdocs gh-deploy --help\n```" \
        in result.answer
    assert code_pairs(result) == [True] and not fragmentary(result.answer)


@pytest.fixture
def options_page(settings, tmp_path):
    """An options reference as Sphinx renders one: terms, descriptions, version notes."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "buildtool.html").write_text(
        "<html><head><title>buildtool</title></head><body><main><h1>buildtool</h1><h2>Options</h2><dl>"
        "<dt>-q</dt><dd><p>Do not print anything on standard output, only warnings and errors.</p></dd>"
        "<dt>-Q</dt><dd><p>Do not output anything on standard output, also suppress warnings.</p></dd>"
        "<dt>-j N</dt><dd><p>Distribute the build over N processes in parallel, to make building on "
        "multiprocessor machines more effective.</p><p>New in version 1.2.</p></dd>"
        "<dt>-W</dt><dd><p>Changed in version 2.0: also for warnings of extensions.</p>"
        "<p>Turn warnings into errors: the build stops at the first warning.</p></dd>"
        "</dl><h2>Caching</h2><p>Changed in version 3.0: the cache moved.</p>"
        "<p>Builds reuse the doctrees of the last run.</p></main></body></html>")
    (docs / "other.md").write_text("# Lunch\n\nLunch is at noon in the canteen on the second floor.\n")
    index_paths([docs], settings)
    return AnswerService(settings)


def test_a_definition_is_quoted_with_the_term_it_defines(options_page):
    """Reference pages define options, settings and functions in definition lists: the description alone
    ("Distribute the build over N processes") does not say which option to use."""
    result = options_page.ask("how do I make the build use all the processors of my machine?")
    assert result.route == "rag"
    assert "**-j N**\n\nDistribute the build over N processes in parallel" in result.answer
    assert "**Options**" not in result.answer, "the term labels its definition: no section label stacked above"
    assert not fragmentary(result.answer)
    terms = parse_blocks("**Note:** builds are cached.\n\n**-j N**\n\nSome **bold** words.\n\n**a** and **b**\n\n"
                         "**`filter(**kwargs)`**")
    assert [b.is_term() for b in terms] == [False, True, False, False, True], "a paragraph that is all one bold term"


def test_a_question_naming_an_option_gets_its_definition_and_version_notes_stay_with_theirs(options_page):
    for option, description in (("-q", "Do not print anything"), ("-Q", "Do not output anything")):
        result = options_page.ask(f"what does the {option} option of buildtool do?")
        assert result.route == "rag"
        assert result.answer.startswith(f"**{option}**\n\n{description}"), result.answer
    result = options_page.ask("which option turns warnings into errors?")
    assert "**-W**\n\nChanged in version 2.0: also for warnings of extensions.\n\nTurn warnings into errors" \
        in result.answer, "a version note is quoted with the definition it annotates"
    answer = options_page.ask("how do I make the build use all the processors of my machine?").answer
    assert "machines more effective.\n\nNew in version 1.2. [1]" in answer
    answer = options_page.ask("are builds cached?").answer
    assert "Builds reuse the doctrees" in answer
    assert "Changed in version 3.0" not in answer, "a note opening a section annotates what is not quoted"


def test_mrkdwn_converts_markdown_and_keeps_code_lists_and_numbers():
    text = to_mrkdwn("## Setup\n\nRun **this** now:\n\n1. Install `tool`.\n2. Sign in.\n\n- a\n- b\n\n"
                     "```python\nif a < b:\n    pass\n```")
    assert text == ("*Setup*\n\nRun *this* now:\n\n1. Install `tool`.\n2. Sign in.\n\n• a\n• b\n\n"
                    "```\nif a &lt; b:\n    pass\n```")


def test_mrkdwn_shows_escaped_characters_as_text_not_as_emphasis_or_code():
    text = to_mrkdwn("**f(\\*args, \\*\\*kwargs)**\n\nPass \\*.tmp and \\`x\\` to `g(*a)`, not \\<b>, then *stop*. \ue000")
    assert text == "*f(*args, **kwargs)*\n\nPass *.tmp and `x` to `g(*a)`, not &lt;b&gt;, then _stop_. \ue000"


@pytest.mark.parametrize("hostile", ["<!channel>", "<!here>", "<!everyone>", "<@U123ABC>", "<#C123ABC>",
                                     "<https://evil.example|docs>"])
def test_nothing_in_an_answer_becomes_a_live_mention_or_link(hostile):
    text = to_mrkdwn(f"Heads up {hostile} and [docs](https://evil.example) please.")
    assert "<" not in text and ">" not in text and "evil.example)" not in text
    assert "docs" in text


def test_long_answers_are_split_between_lines_and_code_is_fenced_again():
    code = "\n".join(f"line {n:04d} of the script" for n in range(400))
    steps = "\n".join(f"{n}. step number {n}" for n in range(1, 300))
    pieces = mrkdwn_pieces(f"Intro:\n\n```\n{code}\n```\n\n{steps}", limit=3000)
    assert all(len(p) <= 3000 for p in pieces)
    joined = "\n".join(pieces)
    assert all(f"line {n:04d} of the script" in joined for n in range(400)), "no line is cut"
    for piece in pieces:
        assert piece.count("```") % 2 == 0, "every piece opens and closes its code fences"


def test_answer_metrics_follow_their_definitions():
    assert facts_present("Backups are kept for **35 days**.", [["35 days"], ["backup", "restore"]])
    assert not facts_present("Backups are kept.", [["35 days"]])
    assert fragmentary("and think it is a bug in Python. [1]")
    assert fragmentary("The syntax is as follows: [1]")
    assert not fragmentary("The syntax is as follows: [1]\n\n```\nx = 1\n```")
    assert not fragmentary("The tool is fast. [1]")


def _quoting(answer: str, body: str):
    """An answer citing one passage whose text is `body`."""
    from answering.result import AnswerResult, Citation
    from indexing.retrieval import Passage

    passage = Passage("c1", "d1", "Config", "Config > Nav", "config.md", None, f"Config > Nav\n{body}", 1.0, 0.5, 1.0)
    return AnswerResult("q", answer, "rag", "", "extractive", passages=[passage],
                        citations=[Citation(1, "Config", "config.md", None, "c1", 1.0)])


def test_code_kept_judges_only_blocks_the_answer_quotes():
    body = "Short form:\n\n```yaml\nnav:\n    - index.md\n```\n\nLong form:\n\n```yaml\nnav:\n    - Home: index.md\n```"
    whole = "Long form: [1]\n\n```yaml\nnav:\n    - Home: index.md\n```"
    assert code_pairs(_quoting(whole, body)) == [True], "a line the kept block shares is no quote of the other"
    flattened = "Long form: - Home: index.md [1]"
    assert code_pairs(_quoting(flattened, body)) == [False]
    assert code_pairs(_quoting("Nothing of the code here. [1]", body)) == []
    one_word = "Build\n\n```\nmkdocs.yml\ndocs/\n    index.md\n```"
    assert code_pairs(_quoting("Keep `mkdocs.yml` at the top of the project. [1]", one_word)) == [], \
        "a one-word line named in prose is no quote of the block"
    assert code_pairs(_quoting("The layout is mkdocs.yml docs/ index.md [1]", one_word)) == [False], \
        "one-word lines in a row, flattened, are"


def test_code_kept_sees_code_inside_list_items_and_ignores_a_term_that_names_a_directive():
    steps = "1. Install the parser:\n\n   ```\n   pip install --upgrade myst-parser\n   ```\n2. Add it to `extensions`."
    assert code_pairs(_quoting(steps + " [1]", steps)) == [True], "step 1's command is quoted whole, in its step"
    assert code_pairs(_quoting("1. Install it: pip install --upgrade myst-parser [1]", steps)) == [False]
    directive = "**.. testcode:: [group]**\n\nA code-output-style test.\n\n```rst\n.. testcode::\n\n   print(1)\n```"
    assert code_pairs(_quoting("**.. testcode:: [group]**\n\nA code-output-style test. [1]", directive)) == [], \
        "the term names the directive; the example below it is not quoted"


@pytest.mark.parametrize("nested", ["[![logo](https://evil.example/a.png)](https://evil.example)",
                                    "[[docs](https://evil.example)](https://evil.example)"])
def test_a_link_wrapped_around_an_image_or_link_keeps_only_its_text(nested):
    from bot.formatting import stream_units

    for text in (to_mrkdwn(f"See {nested} now."), *stream_units(f"See {nested} now.")):
        assert "evil.example" not in text and "](" not in text, text
