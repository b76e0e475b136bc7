"""Templates carry no inline script: the pages' CSP (script-src 'self') would block it silently.

The walk-in receipt's and the work order's 打印 buttons had onclick="window.print()" and did
nothing when clicked.
"""

from __future__ import annotations

import re
from pathlib import Path

import api

TEMPLATES = Path(api.__file__).parent / "templates"
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I)


def test_no_template_has_inline_event_handlers_or_scripts() -> None:
    offenders = [
        f"{path.relative_to(TEMPLATES)}: {m.group(0)[:80]}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for pattern in (INLINE_HANDLER, INLINE_SCRIPT)
        for m in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, offenders
