"""Issue 12 item 6: decompression bombs, YAML alias bombs and oversized documents are refused fast."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest

import ingest.pipeline
from ingest.loaders import MAX_TEXT_CHARS, load_bytes
from ingest.pipeline import build_record
from vetbot.errors import IngestError

ALIAS_BOMB = """---
a: &a ["优待","优待","优待","优待","优待","优待","优待","优待","优待"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
title: *e
---
# 标题

第一条 内容。
"""


def test_yaml_aliases_in_front_matter_are_refused() -> None:
    started = time.perf_counter()
    with pytest.raises(IngestError) as info:
        load_bytes(ALIAS_BOMB.encode(), Path("bomb.md"))
    assert "别名" in info.value.user_message
    assert time.perf_counter() - started < 2


@pytest.mark.parametrize("value", ["[甲, 乙]", "{a: 1}", "'" + "长" * 600 + "'"])
def test_non_scalar_or_huge_metadata_is_refused(value: str) -> None:
    text = f"---\ntitle: {value}\n---\n# 标题\n\n第一条 内容。\n"
    with pytest.raises(IngestError) as info:
        load_bytes(text.encode(), Path("meta.md"))
    assert "title" in info.value.user_message


def _docx_bomb(unpacked: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document>" + " " * unpacked + "</w:document>")
    return buf.getvalue()


def test_docx_that_expands_hugely_is_refused_before_parsing() -> None:
    bomb = _docx_bomb(20 << 20)  # ~20 KB that unpacks to 20 MB
    assert len(bomb) < 100_000
    started = time.perf_counter()
    with pytest.raises(IngestError) as info:
        load_bytes(bomb, Path("bomb.docx"))
    assert "解压后过大" in info.value.user_message
    assert time.perf_counter() - started < 2


def test_overlong_text_is_refused() -> None:
    with pytest.raises(IngestError) as info:
        load_bytes(("第一条 内容。\n" * (MAX_TEXT_CHARS // 7 + 10)).encode(), Path("long.txt"))
    assert "文字过多" in info.value.user_message


def test_chunks_per_document_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest.pipeline, "MAX_CHUNKS_PER_DOCUMENT", 3)
    article = "第{}条 退役军人依法享受第{}项优待，具体办法由有关部门制定。"
    text = "\n".join(article.format(i, i) * 3 for i in range(1, 30))
    loaded = load_bytes(text.encode(), Path("many.txt"))
    with pytest.raises(IngestError) as info:
        build_record("many", "many.txt", "0" * 64, loaded)
    assert "片段过多" in info.value.user_message
