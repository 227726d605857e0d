"""The review web page in a real headless browser (Debian's chromium through Playwright), over a real
audit log written by real answers."""

import shutil

import pytest

from audit.log import record_feedback
from indexing.pipeline import index_paths
from ops.web import serve_in_thread
from review.app import review_app
from review.auth import TokenAuth
from service.answers import AnswerService

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TOKEN = "review-token-for-tests"


@pytest.fixture
def site(settings, corpus):
    index_paths([corpus], settings)
    answerer = AnswerService(settings)
    bike = answerer.ask("Where can I park my bike?", user="U1", channel="C0OFFICE")
    answerer.ask("Where are spare toner cartridges?", user="U2", channel="C0PRINT")
    gap = answerer.ask("What is the salary band for a staff engineer?", user="U3", channel="C0OFFICE")
    answerer.ask("What are the salary bands for engineers?", user="U4", channel="C0OFFICE")
    record_feedback(answerer.engine, gap.audit_id, "U3", "not_helpful", "incomplete")
    server = serve_in_thread(review_app(answerer.engine, TokenAuth(TOKEN)))
    yield f"http://127.0.0.1:{server.server_address[1]}", bike
    server.shutdown()


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser.new_page(viewport={"width": 1280, "height": 900})
        browser.close()


def test_log_in_filter_open_an_answer_and_see_the_supporting_passage(site, page, tmp_path):
    url, bike = site
    page.goto(url + "/")
    assert "/login" in page.url, "the log is private"
    page.fill("#token", "wrong")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "That token is not right."
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    assert page.locator("#total").inner_text().startswith("4 answers")

    page.select_option("select[name=route]", "rag")
    page.fill("input[name=channel]", "C0OFFICE")
    page.click("text=Filter")
    assert "route=rag" in page.url and page.locator("#total").inner_text().startswith("1 answer")
    page.screenshot(path=str(tmp_path / "list.png"), full_page=True)

    page.click("text=Where can I park my bike?")
    assert page.url.endswith(f"/answers/{bike.audit_id}")
    first = page.locator("#answer li").first
    assert "basement garage" in first.inner_text()
    first.locator("a").first.click()
    highlighted = page.locator("mark").first
    assert "basement garage" in highlighted.inner_text()
    assert highlighted.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(255, 229, 138)"
    assert page.locator(".passage").count() == len(bike.passages)
    page.screenshot(path=str(tmp_path / "answer.png"), full_page=True)
    shutil.copy(tmp_path / "answer.png", "/tmp/citebot-review-answer.png")


def test_gaps_group_similar_unanswered_questions_and_charts_draw(site, page):
    url, _ = site
    page.goto(url + "/login")
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    page.goto(url + "/gaps")
    biggest = page.locator(".gap").first.inner_text()
    assert biggest.startswith("2 ×") and "salary" in biggest.lower() and "negative feedback" in biggest
    page.goto(url + "/charts")
    assert page.locator(".chart").count() == 4
    assert page.locator(".chart").first.locator("rect").count() == 1  # one day of answers
    page.goto(url + "/?since=yesterday")
    assert "since must be a date" in page.content()
