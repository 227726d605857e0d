"""Every source type against real services: the Slack emulator, a local web server, real files."""

import json
import os
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from emulator.slack import SlackEmulator
from indexing.pipeline import index_source
from indexing.retrieval import HybridRetriever
from indexing.sources.files import FileSource
from indexing.sources.slack_api import SlackApiSource
from indexing.sources.slack_export import SlackExportSource
from indexing.sources.web import WebSource
from indexing.store import manifest, open_collection


def _workspace(slack: SlackEmulator) -> None:
    support = slack.add_channel("C0SUPPORT", "support")
    slack.add_thread("C0SUPPORT", "1700000000.000100", "U1", "How do I rotate the Grafana admin password?",
                     replies=[("1700000060.000200", "U2", "Run `grafana-cli admin reset-admin-password` on the "
                               "monitoring host, then update the vault entry grafana/admin."),
                              ("1700000120.000300", "U1", "Worked, thanks!")])
    slack.add_thread("C0SUPPORT", "1700000300.000100", "U3", "Staging deploys are frozen on Fridays after 3pm.")
    slack.add_thread("C0SUPPORT", "1700000400.000100", "U9", "Deploy finished", bot_id="B1", subtype="bot_message")
    slack.add_thread("C0SUPPORT", "1700000500.000100", "U4", "The VPN gateway for Berlin is vpn-ber.example.net.")
    slack.add_channel("G0SECRET", "security-incidents", is_private=True)
    slack.add_thread("G0SECRET", "1700000700.000100", "U5", "Incident 42: the leaked key was revoked by Dana.",
                     replies=[("1700000760.000100", "U6", "Postmortem is due on Monday.")])
    assert support.messages


@pytest.fixture
def slack():
    with SlackEmulator() as emulator:
        _workspace(emulator)
        yield emulator
        assert emulator.violations == [], "calls must follow Slack's OpenAPI spec"


def _slack_source(slack, page_size=2):
    return SlackApiSource("slack", ["C0SUPPORT", "G0SECRET"], "xoxb-test", slack.api_url, page_size=page_size)


def test_slack_threads_become_documents_with_permalinks_and_access_tags(settings, slack):
    summary = index_source(_slack_source(slack), settings)
    assert (summary.added, summary.complete, summary.skipped) == (4, True, [])  # the bot post is not knowledge
    assert slack.count("conversations.history") >= 2, "history must be paged (page size 2)"
    assert slack.count("conversations.replies") == 3, "a 3-message thread takes two pages, the other one"
    got = open_collection(settings).get(include=["metadatas", "documents"])
    by_doc = {m["doc_id"]: (m, d) for m, d in zip(got["metadatas"], got["documents"])}
    meta, text = by_doc["slack:C0SUPPORT:1700000000.000100"]
    assert meta["url"] == "https://acme.slack.com/archives/C0SUPPORT/p1700000000000100"
    assert "reset-admin-password" in text and "Worked, thanks" in text, "a thread is one document"
    assert (meta["access"], meta["channel_id"]) == ("public", "C0SUPPORT")
    secret, _ = by_doc["slack:G0SECRET:1700000700.000100"]
    assert (secret["access"], secret["channel_id"]) == ("private", "G0SECRET")
    hit = HybridRetriever(settings).search("how to reset the grafana admin password")[0]
    assert hit.url.endswith("p1700000000000100")


def test_slack_rate_limit_is_waited_out_then_paging_continues(settings, slack):
    slack.fail("conversations.history", status=429, retry_after=1, on_call=2)
    summary = index_source(_slack_source(slack), settings)
    assert (summary.added, summary.complete) == (4, True)
    assert slack.count("conversations.history") >= 3, "the rate-limited page must be retried"


def test_slack_error_mid_paging_keeps_indexed_threads_and_deletes_nothing(settings, slack):
    index_source(_slack_source(slack), settings)
    before = manifest(open_collection(settings))
    support = slack.channels["C0SUPPORT"]
    support.messages = [m for m in support.messages if not m["text"].startswith("Staging")]  # thread deleted
    slack.fail("conversations.history", error="internal_error", on_call=2, times=1)  # its 2nd page fails
    summary = index_source(_slack_source(slack), settings)
    assert not summary.complete and summary.deleted == 0
    assert any("C0SUPPORT" in s.path and "internal_error" in s.reason for s in summary.skipped)
    assert set(manifest(open_collection(settings))) == set(before)
    recovered = index_source(_slack_source(slack), settings)  # once Slack answers again, deletions happen
    assert recovered.complete and recovered.deleted == 1


def _export(root):
    (root / "general").mkdir(parents=True)
    (root / "oncall").mkdir()
    (root / "channels.json").write_text(json.dumps([{"id": "C0GENERAL", "name": "general"}]))
    (root / "groups.json").write_text(json.dumps([{"id": "G0ONCALL", "name": "oncall"}]))
    (root / "general" / "2024-03-01.json").write_text(json.dumps([
        {"type": "message", "ts": "1709280000.000100", "user": "U1", "text": "Where are the on-call runbooks?",
         "thread_ts": "1709280000.000100", "reply_count": 1},
        {"type": "message", "subtype": "channel_join", "ts": "1709280001.000100", "user": "U7",
         "text": "<@U7> has joined the channel"},
    ]))
    (root / "general" / "2024-03-02.json").write_text(json.dumps([
        {"type": "message", "ts": "1709366400.000200", "user": "U2", "thread_ts": "1709280000.000100",
         "text": "In the <https://wiki.example.com/runbooks|runbooks wiki> &amp; pinned in #oncall."},
    ]))
    (root / "oncall" / "2024-03-01.json").write_text(json.dumps([
        {"type": "message", "ts": "1709280100.000100", "user": "U3", "text": "Pager rotation swaps on Tuesdays."},
    ]))


def test_slack_export_folder_threads_span_days_and_private_channels_are_tagged(settings, tmp_path):
    _export(tmp_path / "export")
    source = SlackExportSource("archive", tmp_path / "export", "https://acme.slack.com")
    summary = index_source(source, settings)
    assert (summary.added, summary.skipped) == (2, [])
    got = open_collection(settings).get(include=["metadatas", "documents"])
    docs = {m["doc_id"]: (m, d) for m, d in zip(got["metadatas"], got["documents"])}
    meta, text = docs["slack:C0GENERAL:1709280000.000100"]
    assert "runbooks wiki (https://wiki.example.com/runbooks) & pinned" in text, "reply from the next day"
    assert "joined" not in text
    assert meta["url"] == "https://acme.slack.com/archives/C0GENERAL/p1709280000000100"
    assert docs["slack:G0ONCALL:1709280100.000100"][0]["access"] == "private"


def test_slack_export_broken_day_file_is_reported_and_nothing_is_deleted(settings, tmp_path):
    _export(tmp_path / "export")
    source = SlackExportSource("archive", tmp_path / "export")
    index_source(source, settings)
    (tmp_path / "export" / "oncall" / "2024-03-01.json").write_text("{not json")
    summary = index_source(source, settings)
    assert not summary.complete and summary.deleted == 0
    assert [s.path.endswith("2024-03-01.json") for s in summary.skipped] == [True]
    assert "slack:G0ONCALL:1709280100.000100" in manifest(open_collection(settings))


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def web_server(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "status.html").write_text("<html><head><title>Status page</title></head><body><h1>Status</h1>"
                                      "<p>Incidents are posted by the on-call engineer within 15 minutes.</p>"
                                      "<script>var tracking = 1;</script></body></html>")
    (site / "notes.txt").write_text("Office wifi password rotates every quarter.")
    (site / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (site / "broken.html").write_text("<html><body><h2>Half <b>open tags <p>Lunch is served at noon")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", site
    server.shutdown()
    server.server_close()


def test_web_pages_are_indexed_and_failures_skipped_with_reasons(settings, web_server):
    base, site = web_server
    os.utime(site / "status.html", (1767225600, 1767225600))  # served as Last-Modified: 2026-01-01
    urls = [f"{base}/status.html", f"{base}/notes.txt", f"{base}/missing.html", f"{base}/logo.png",
            f"{base}/broken.html"]
    summary = index_source(WebSource("web", urls), settings)
    assert summary.added == 3
    reasons = {s.path.rsplit("/", 1)[1]: s.reason for s in summary.skipped}
    assert reasons == {"missing.html": "HTTP 404 File not found", "logo.png": "unsupported content type image/png"}
    hit = HybridRetriever(settings).search("who posts incidents on the status page")[0]
    assert hit.url == f"{base}/status.html" and hit.title == "Status page" and "tracking" not in hit.text
    assert hit.updated_at.startswith("2026-01-01T00:00:00"), "a page is as fresh as its Last-Modified header"
    shorter = index_source(WebSource("web", urls[:1]), settings)
    assert (shorter.unchanged, shorter.deleted) == (1, 2), "pages removed from the list leave the index"


def _pdf(text: str) -> bytes:
    """A minimal one-page PDF with `text` in Helvetica (byte offsets computed for a valid xref)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_files_pdf_url_template_and_bad_files(settings, tmp_path):
    docs = tmp_path / "docs"
    (docs / "policies").mkdir(parents=True)
    (docs / "policies" / "expenses.pdf").write_bytes(_pdf("Expenses above 500 euros need approval from finance."))
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    (docs / "empty.md").write_text("   \n")
    (docs / "huge.txt").write_bytes(b"a" * (50 * 1024 * 1024))
    (docs / "copy-a.md").write_text("# Parking\n\nVisitors park on level -2.\n")
    (docs / "copy-b.md").write_text("# Parking\n\nVisitors park on level -2.\n")
    source = FileSource("handbook", [docs], "https://git.example.com/handbook/blob/main/{relpath}")
    summary = index_source(source, settings)
    reasons = {s.path.rsplit("/", 1)[1]: s.reason for s in summary.skipped}
    assert reasons["broken.pdf"].startswith("broken PDF")
    assert reasons["empty.md"] == "empty file"
    assert reasons["huge.txt"].startswith("too large")
    assert reasons["copy-b.md"] == "duplicate of a document already in this source"
    assert (summary.added, summary.duplicates) == (2, 1)
    hit = HybridRetriever(settings).search("who approves expenses over 500 euros")[0]
    assert hit.url == "https://git.example.com/handbook/blob/main/policies/expenses.pdf#page=1", "deep link to the page"
    assert hit.heading.endswith("page 1") and "finance" in hit.text
