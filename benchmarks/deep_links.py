"""Where a citation's link lands in its page, measured against the text the answer quotes from it.

    python -m benchmarks.deep_links --mkdocs /tmp/mkdocs --sphinx /tmp/sphinx [--json]

Each HTML manual is indexed in a scratch home with a link template, every question of its labelled set is
answered, and for each citation of an extractive answer two places are found in the page's text: the
element its link jumps to (the `#fragment`'s id; the top of the page when there is none) and the first
words of the first unit quoted from that passage (up to PROBE of them, found in the page exactly once).
The distance between them, in words, is how far a reader who follows the link reads (or scrolls) before
reaching what was quoted: negative when the link lands past it. Reported per manual: the citations
measured, the median and 90th-percentile distance, the share landing at or before the quote within SCREEN
words, and the share landing past it. No labels are used, so nothing here was tuned on the result.

A link may also name the quoted words (a URL text directive, `#anchor:~:text=…`, `answering.links`); the
distance above is the anchor's, where a browser that does not follow the directive lands. With `--browser
/usr/bin/chromium` each measured citation is opened in the browser twice, by its anchor alone and by its
whole link, and the share of citations whose quote is on screen when the page has opened is reported for
each (`on_screen_anchor`, `on_screen_link`): what a reader sees, the page's navigation and sidebars included.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
from contextlib import ExitStack
from pathlib import Path

from lxml import html

from core.settings import get_settings
from indexing.sources.files import FileSource
from service.answers import AnswerService
from service.evaluation import load_set, scratch_settings

DATA = Path(__file__).parent / "data"
SCREEN = 300  # words: about what one browser window shows of a manual page
PROBE = 10  # the quote's first words looked for in the page, found there once
MIN_PROBE = 4  # a shorter quote ("Support Python 3.10") is not measured
_WORD = re.compile(r"\w+")
_MARK = "zzcitebotlandingzz"


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _quote_words(markdown: str) -> list[str]:
    """The words of a quoted unit as the page shows them: without the composer's bold label line."""
    lines = markdown.split("\n\n", 1)
    if len(lines) == 2 and lines[0].startswith("**") and lines[0].endswith("**"):
        markdown = lines[1]
    return _words("\n".join(line for line in markdown.splitlines() if not line.startswith(("```", "~~~"))))


def _find(words: list[str], probe: list[str]) -> int | None:
    """Where the probe stands in the page, or None when it is not there or not only once (a reference
    page repeats openings such as "A list of paths that contain")."""
    n = len(probe)
    found = [i for i in range(len(words) - n + 1) if words[i:i + n] == probe]
    return found[0] if len(found) == 1 else None


def landing(page: Path, fragment: str, quote: str) -> int | None:
    """Words from where the link's anchor lands to the quote's first words (None: the quote or the target
    is not found in the page as text, e.g. a quote whose words the page splits across markup differently)."""
    fragment = fragment.split(":~:", 1)[0]  # a text directive is the browser's to follow (`on_screen`)
    tree = html.parse(str(page))
    target = tree.getroot().get_element_by_id(fragment, None) if fragment else tree.getroot()
    if target is None:
        return None
    target.text = f" {_MARK} {target.text or ''}"
    words = _words(" ".join(tree.getroot().itertext()))  # elements side by side are separate words
    probe = _quote_words(quote)[:PROBE]
    start = words.index(_MARK)
    words = words[:start] + words[start + 1:]
    at = _find(words, probe) if len(probe) >= MIN_PROBE else None
    return None if at is None else at - start


# The first of `probe`'s words (as `_words` splits them) in the page's visible text, when they stand there
# once: its distance from the top of the window, and the window's height.
_LOCATE = """(probe) => {
  const skip = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE"]);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const words = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (skip.has(node.parentElement.tagName)) continue;
    for (const m of node.data.matchAll(/[\\p{L}\\p{N}_]+/gu)) words.push([m[0].toLowerCase(), node, m.index]);
  }
  const hits = [];
  for (let i = 0; i + probe.length <= words.length; i++) {
    if (probe.every((w, j) => words[i + j][0] === w)) hits.push(i);
  }
  if (hits.length !== 1) return null;
  const [word, node, offset] = words[hits[0]];
  const range = document.createRange();
  range.setStart(node, offset);
  range.setEnd(node, offset + word.length);
  return {top: range.getBoundingClientRect().top, height: window.innerHeight};
}"""


def on_screen(browser, url: str, quote: str) -> bool | None:
    """Whether the quote's first words are in the window once `url` has opened (None: not found once)."""
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    try:
        page.goto(url)
        page.wait_for_timeout(500)  # a text directive scrolls after the load
        found = page.evaluate(_LOCATE, _quote_words(quote)[:PROBE])
    finally:
        page.close()
    return None if found is None else 0 <= found["top"] < found["height"]


def measure(set_file: Path, docs: Path, browser=None) -> dict:
    """The landing distances of every citation in the extractive answers to one labelled set, and with a
    browser, whether each lands with its quote on screen."""
    scratch = scratch_settings(get_settings(), FileSource.adhoc([docs], "{relpath}"))
    try:
        answerer = AnswerService(scratch)
        distances: list[int] = []
        measured: list[tuple[str, str]] = []  # (link, quote) of each citation measured
        unfound = 0
        for item in load_set(set_file):
            result = answerer.ask(item.question, user="benchmark")
            if result.route != "rag":
                continue
            for citation in result.citations:
                quote = next(s.text for s in result.sentences if citation.n in s.citations)
                page, _, fragment = (citation.url or "").partition("#")
                distance = landing(docs / page, fragment, quote)
                if distance is None:
                    unfound += 1
                else:
                    distances.append(distance)
                    measured.append((citation.url or "", quote))
    finally:
        shutil.rmtree(scratch.home, ignore_errors=True)
    distances.sort()
    numbers = {"citations": len(distances) + unfound, "measured": len(distances),
               "median_words": statistics.median(distances) if distances else None,
               "p90_words": distances[int(0.9 * (len(distances) - 1))] if distances else None,
               "within_a_screen": _share(distances, lambda d: 0 <= d <= SCREEN),
               "past_the_quote": _share(distances, lambda d: d < 0),
               "text_directives": _share([link for link, _ in measured], lambda link: ":~:text=" in link)}
    if browser is not None:
        for name, strip in (("on_screen_anchor", True), ("on_screen_link", False)):
            seen = [on_screen(browser, _uri(docs, link, strip), quote) for link, quote in measured]
            numbers[name] = _share([s for s in seen if s is not None], bool)
            numbers[name + "_unfound"] = sum(s is None for s in seen)
    return numbers


def _uri(docs: Path, link: str, anchor_only: bool) -> str:
    """The file URL of a relative link with its fragment, the text directive dropped when `anchor_only`."""
    page, _, fragment = link.partition("#")
    fragment = fragment.split(":~:", 1)[0] if anchor_only else fragment
    return (docs / page).as_uri() + (f"#{fragment}" if fragment else "")


def _share(distances: list[int], test) -> float | None:
    return round(sum(map(test, distances)) / len(distances), 3) if distances else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mkdocs", type=Path, help="mkdocs-doc HTML folder (python3 -m benchmarks.debian_docs "
                        "mkdocs-doc DIR)")
    parser.add_argument("--sphinx", type=Path, help="sphinx-doc HTML folder (python3 -m benchmarks.debian_docs "
                        "sphinx-doc DIR)")
    parser.add_argument("--browser", help="a Chromium executable (e.g. /usr/bin/chromium): also open each link "
                        "and report whether its quote is on screen")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    manuals = {"mkdocs": (DATA / "mkdocs_answers.jsonl", args.mkdocs), "sphinx": (DATA / "sphinx_answers.jsonl",
                                                                                 args.sphinx)}
    with ExitStack() as stack:
        browser = None
        if args.browser:
            from playwright.sync_api import sync_playwright

            browser = stack.enter_context(sync_playwright()).chromium.launch(executable_path=args.browser)
            stack.callback(browser.close)
        result = {name: measure(set_file, docs, browser) for name, (set_file, docs) in manuals.items() if docs}
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        for name, numbers in result.items():
            print(name, " ".join(f"{key}={value}" for key, value in numbers.items()))


if __name__ == "__main__":
    main()
