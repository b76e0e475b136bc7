"""Deterministic fakes for unit tests only (integration tests use the real components)."""

from __future__ import annotations

import hashlib
import itertools
import math

from langchain_core.embeddings import Embeddings


class HashingEmbeddings(Embeddings):
    """Bag-of-character-bigrams hashed into ``dim`` buckets, L2-normalised.

    Deterministic and fast; texts sharing bigrams are close, which is enough to test
    fusion and ranking logic without a model.
    """

    model_id = "fake:hashing"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def _embed(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        chars = [c for c in text if not c.isspace()]
        grams = [a + b for a, b in itertools.pairwise(chars)] or chars
        for g in grams:
            h = int(hashlib.md5(g.encode()).hexdigest(), 16)
            vec[h % self.dim] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed each text."""
        return [self._embed(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        """Embed the query like a document."""
        return self._embed(text)
