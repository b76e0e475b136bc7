"""The labelled example messages (``complaints/data/examples.yaml``) of the embedding layer.

The file maps each label (``complaint``, ``ambiguous`` = a grievance phrased as a question,
``question``) to theme code → list of messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml

from complaints.themes import THEMES
from vetbot.errors import ConfigurationError

DEFAULT_EXAMPLES_PATH = Path(__file__).resolve().parent / "data" / "examples.yaml"

ExampleLabel = Literal["complaint", "ambiguous", "question"]


@dataclass(frozen=True)
class Example:
    """One labelled example of ``examples.yaml``."""

    text: str
    label: ExampleLabel
    theme: str




def load_examples(path: Path | None = None) -> list[Example]:
    """Load and validate the labelled examples (``complaint`` / ``ambiguous`` / ``question``)."""
    path = path or DEFAULT_EXAMPLES_PATH
    return parse_examples(read_examples_file(path), path)


def read_examples_file(path: Path) -> bytes:
    """The raw bytes of an examples file (``ConfigurationError`` when unreadable)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read complaint examples {path}: {exc}") from exc


def parse_examples(content: bytes, path: Path) -> list[Example]:
    """Validate and parse examples file ``content`` (``path`` names it in errors).

    Raises ``ConfigurationError`` for bad YAML, unknown sections or themes, or no examples.
    """
    try:
        data = yaml.safe_load(content.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read complaint examples {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"complaint examples {path}: expected a mapping at top level")
    examples: list[Example] = []
    for label in ("complaint", "ambiguous", "question"):
        section = data.get(label) or {}
        if not isinstance(section, dict):
            raise ConfigurationError(f"complaint examples {path}: '{label}' must map theme -> list")
        for theme, texts in section.items():
            if theme not in THEMES:
                raise ConfigurationError(f"complaint examples {path}: unknown theme {theme!r}")
            for text in texts or []:
                if not isinstance(text, str) or not text.strip():
                    raise ConfigurationError(f"complaint examples {path}: bad example under {theme}")
                examples.append(Example(text.strip(), label, theme))  # type: ignore[arg-type]
    unknown = set(data) - {"complaint", "ambiguous", "question"}
    if unknown:
        raise ConfigurationError(f"complaint examples {path}: unknown sections {sorted(unknown)}")
    if not examples:
        raise ConfigurationError(f"complaint examples {path}: no examples")
    return examples


__all__ = [
    "DEFAULT_EXAMPLES_PATH",
    "Example",
    "ExampleLabel",
    "load_examples",
    "parse_examples",
    "read_examples_file",
]
