"""Production mode: the same indexing and retrieval code against a real Chroma server (`chroma run`)."""

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core.errors import CitebotError
from core.settings import Settings
from indexing import retrieval
from indexing.pipeline import index_paths
from indexing.retrieval import HybridRetriever
from indexing.store import open_collection


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    port = _free_port()
    chroma = str(Path(sys.executable).parent / "chroma")
    proc = subprocess.Popen([chroma, "run", "--path", str(tmp_path_factory.mktemp("chroma-server")),
                             "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("`chroma run` did not start within 60 s")
            time.sleep(0.3)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def test_server_mode_indexes_incrementally_and_retrieves(chroma_server, corpus, tmp_path):
    settings = Settings(home=tmp_path / "home", chroma_url=chroma_server, collection="server-test")
    first = index_paths([corpus], settings)
    assert first.added == 3 and first.chunks_total == first.chunks_embedded
    assert not settings.chroma_path.exists(), "server mode must not create a local Chroma folder"
    again = index_paths([corpus], settings)
    assert (again.unchanged, again.chunks_embedded) == (3, 0)
    hits = HybridRetriever(settings).search("Where is the colour printer?")
    assert hits[0].title == "Printers" and hits[0].dense_score > 0.3


def test_unreachable_server_is_a_clear_error(tmp_path):
    settings = Settings(home=tmp_path / "home", chroma_url=f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(CitebotError, match="Cannot reach the Chroma server"):
        open_collection(settings)


def test_a_running_retriever_sees_edits_another_process_indexed(chroma_server, corpus, tmp_path, monkeypatch):
    """A bot replica's BM25 index follows a worker's reindex even when the chunk count did not change."""
    monkeypatch.setattr(retrieval, "VERSION_RECHECK_SECONDS", 0.0)
    settings = Settings(home=tmp_path / "home", chroma_url=chroma_server, collection="server-edits")
    index_paths([corpus], settings)
    replica = HybridRetriever(settings)
    assert replica.search("zanzibar", mode="bm25") == []
    (corpus / "coffee.md").write_text("# Coffee machine\n\nThe beans come from Zanzibar.\n")
    edited = index_paths([corpus], Settings(home=tmp_path / "worker", chroma_url=chroma_server,
                                            collection="server-edits"))
    assert edited.updated == 1 and edited.chunks_total == open_collection(settings).count()
    hits = replica.search("zanzibar", mode="bm25")
    assert hits and "Zanzibar" in hits[0].text
