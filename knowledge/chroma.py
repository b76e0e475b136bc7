"""The Chroma client a knowledge base uses: embedded in ``<kb_dir>/chroma``, or a server."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chromadb.api import ClientAPI


def make_chroma_client(kb_dir: Path, chroma_url: str | None) -> ClientAPI:
    """An embedded PersistentClient in ``kb_dir/chroma``, or an HttpClient for a server URL."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if chroma_url:
        from urllib.parse import urlparse

        url = urlparse(chroma_url)
        return chromadb.HttpClient(
            host=url.hostname or "127.0.0.1",
            port=url.port or 8000,
            ssl=url.scheme == "https",
            settings=chroma_settings,
        )
    (kb_dir / "chroma").mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(kb_dir / "chroma"), settings=chroma_settings)


def collection_name_for(base: str, kb_dir: Path, server: bool) -> str:
    """Collection name for a new KB; on a shared server each KB directory gets its own collection.

    The name is recorded in the KB's catalogue when it is created, and the catalogue's name wins
    afterwards: replicas sharing the default KB through the database use one collection
    whatever their own directories are called.
    """
    if not server:
        return base
    digest = hashlib.sha1(str(kb_dir.resolve()).encode()).hexdigest()[:10]
    return f"{base}-{digest}"
