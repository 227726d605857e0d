"""The Chroma collection that holds chunks, embedded (PersistentClient) or server (HttpClient).

Chroma is also the manifest of what is indexed: every chunk carries its document id and content
hash, so the index and the record of "what we already embedded" can never disagree.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlparse

from core.errors import CitebotError
from core.settings import IndexSettings, StorageSettings
from indexing.chunking import CHUNKER_VERSION
from indexing.embed_models import model_key
from indexing.sources.base import Indexed

EMBED_MODEL_KEY = "citebot_embed_model"
ROUTING_KEY = "citebot_routing"  # the thresholds the index derived for itself (indexing.calibration)
CHUNKER_KEY = "citebot_chunker"  # the chunker version (indexing.chunking.CHUNKER_VERSION) of every chunk


def open_client(settings: StorageSettings, create: bool = True):
    """The Chroma client: HttpClient for CITEBOT_CHROMA_URL, else the files in CITEBOT_HOME (None when
    `create` is False and nothing was indexed yet)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise CitebotError(f"CITEBOT_CHROMA_URL must look like http://host:8000, got {settings.chroma_url!r}")
        try:
            return chromadb.HttpClient(host=url.hostname, port=url.port or 8000, ssl=url.scheme == "https",
                                       settings=chroma_settings)
        except Exception as exc:  # chromadb raises plain ValueError/ConnectionError variants
            raise CitebotError(f"Cannot reach the Chroma server at {settings.chroma_url}: {exc}") from None
    if not create and not settings.chroma_path.exists():
        return None
    settings.chroma_path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=chroma_settings)


def get_collection(client, name: str):
    """The named collection, or None when it does not exist (yet)."""
    try:
        return client.get_collection(name)
    except Exception:  # NotFoundError's import path moves between chromadb releases
        return None


def open_collection(settings: IndexSettings, create: bool = True):
    """The chunk collection; `create=False` returns None when nothing was indexed yet."""
    client = open_client(settings, create)
    if client is None:
        return None
    if create:
        collection = client.get_or_create_collection(
            settings.collection, metadata={"hnsw:space": "cosine", EMBED_MODEL_KEY: model_key(settings.embed_model),
                                           CHUNKER_KEY: CHUNKER_VERSION})
    else:
        collection = get_collection(client, settings.collection)
    return collection and check_embed_model(collection, settings)


def check_embed_model(collection, settings: IndexSettings):
    """The collection, if its vectors come from CITEBOT_EMBED_MODEL: vectors of two models must never be
    mixed or compared. Collections made before the setting existed hold MiniLM vectors."""
    built = (collection.metadata or {}).get(EMBED_MODEL_KEY, "minilm")
    if built != model_key(settings.embed_model):
        back = ("point CITEBOT_EMBED_MODEL at that adapted model's folder" if built.startswith("adapted:")
                else f"set CITEBOT_EMBED_MODEL={built}")
        raise CitebotError(f"The index {settings.collection!r} ({settings.where()}) was built with the {built} "
                           f"embedding model but CITEBOT_EMBED_MODEL={settings.embed_model}. Rebuild it with "
                           f"`citebot index --rebuild`, or {back}.")
    return collection


def check_chunker(collection, settings: IndexSettings) -> None:
    """Refuse to add chunks cut by this chunker to an index cut by another: the two would be mixed (and
    a document indexed twice). Collections made before the key existed hold chunker 1."""
    built = (collection.metadata or {}).get(CHUNKER_KEY, 1)
    if built != CHUNKER_VERSION and collection.count():
        raise CitebotError(f"The index {settings.collection!r} ({settings.where()}) was chunked by an older citebot "
                           f"(chunker {built}, now {CHUNKER_VERSION}): rebuild it with `citebot index --rebuild`; "
                           "it keeps answering until the new one is complete.")


def drop_collection(settings: IndexSettings) -> None:
    """Delete the configured collection if it exists."""
    client = open_client(settings)
    if get_collection(client, settings.collection) is not None:
        client.delete_collection(settings.collection)


def replace_collection(settings: IndexSettings, rebuilt: str) -> None:
    """Put the freshly built collection `rebuilt` in place of the configured one. Until this moment the old
    index kept answering; a crash before it leaves the old index untouched."""
    drop_collection(settings)
    open_client(settings).get_collection(rebuilt).modify(name=settings.collection)
    built = bm25_folder(settings.model_copy(update={"collection": rebuilt}))
    if built.exists():  # its BM25 index was saved under the build's name; it is current for the swap
        shutil.rmtree(bm25_folder(settings), ignore_errors=True)
        built.rename(bm25_folder(settings))


def bm25_folder(settings: StorageSettings) -> Path:
    """Where the BM25 index of an embedded collection is saved (see `indexing.lexical`)."""
    return settings.home / "bm25" / settings.collection


def manifest(collection) -> dict[str, Indexed]:
    """What is indexed now: document id → source, path, content hash and chunk ids."""
    docs: dict[str, Indexed] = {}
    got = collection.get(include=["metadatas"])
    for chunk_id, meta in zip(got["ids"], got["metadatas"]):
        doc_id = meta["doc_id"]
        if doc_id not in docs:
            docs[doc_id] = Indexed(doc_id, meta.get("source_id", ""), meta.get("path", ""), meta["content_hash"],
                                   chunk_count=meta.get("chunk_count"))
        docs[doc_id].chunk_ids.append(chunk_id)
    return docs


def coverage(settings: IndexSettings, titles: int = 4) -> dict[str, dict]:
    """What the index covers, per source id: how many documents, and the titles of the first `titles` of
    them (what the bot can answer: App Home, an assistant thread's suggested prompts). Private channels'
    threads are counted but never named: the titles are shown to everyone."""
    collection = open_collection(settings, create=False)
    if collection is None:
        return {}
    out: dict[str, dict] = {}
    seen: set[str] = set()
    for meta in collection.get(include=["metadatas"])["metadatas"]:
        if meta["doc_id"] in seen:
            continue
        seen.add(meta["doc_id"])
        source = out.setdefault(meta.get("source_id") or "files", {"documents": 0, "titles": []})
        source["documents"] += 1
        title = (meta.get("title") or "").strip()
        if title and meta.get("access") != "private" and len(source["titles"]) < titles and title not in source["titles"]:
            source["titles"].append(title)
    return out


def chunk_texts(settings: IndexSettings, chunk_ids: list[str]) -> dict[str, str]:
    """The indexed text of these chunks as it is now; ids no longer in the index are left out."""
    collection = open_collection(settings, create=False) if chunk_ids else None
    if collection is None:
        return {}
    got = collection.get(ids=chunk_ids, include=["documents"])
    return dict(zip(got["ids"], got["documents"]))


def update_metadata(collection, changes: dict) -> None:
    """Set (or, for None, remove) keys of the collection's metadata, keeping the others. The distance
    function (`hnsw:*`) is fixed at creation and Chroma refuses it in a change, so it is left out."""
    metadata = {k: v for k, v in (collection.metadata or {}).items() if not k.startswith("hnsw:")}
    metadata.update(changes)
    collection.modify(metadata={k: v for k, v in metadata.items() if v is not None})


def save_routing(collection, routing: dict | None) -> None:
    """Keep the index's own thresholds with it (every process and a Chroma server see them)."""
    update_metadata(collection, {ROUTING_KEY: json.dumps(routing) if routing is not None else None})


def stored_routing(metadata: dict | None) -> dict | None:
    """The thresholds an index derived for itself from its collection metadata, or None (an index built
    before calibration, or too small to calibrate)."""
    raw = (metadata or {}).get(ROUTING_KEY)
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None
