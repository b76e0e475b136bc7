"""Builders for the knowledge-base admin tests: a real small KB (fake embeddings) and the app."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from api.app import create_app
from api.security import create_token
from api.users import UserService
from tests.api.conftest import DATA, PASSWORD, SECRET
from tests.api.support import Users
from tests.fakes import HashingEmbeddings
from vetbot.settings import Settings

OLD_CARD_RULES = """---
title: 测试优待证补办暂行规定
issuer: 测试退役军人事务局
doc_number: 测退役发〔2020〕3号
date_issued: 2020-03-01
region: 全国
topics: [card]
---
# 测试优待证补办暂行规定
## 第三条 遗失补办
优待证遗失的，持证人应当先登报声明作废，再到县级退役军人事务局窗口申请补办优待证。
"""


def kb_source_dir(tmp_path: Path) -> Path:
    """Copies of the test documents (tests change them to simulate a changed source)."""
    src = tmp_path / "sources"
    src.mkdir(exist_ok=True)
    for name in ("card-rules.md", "jinan-transit.md"):
        shutil.copy(DATA / name, src / name)
    (src / "old-card-rules.md").write_text(OLD_CARD_RULES, encoding="utf-8")
    return src


def make_kb_app(settings: Settings, case_service: Any, session_factory: Any) -> Any:
    """The app over a real KnowledgeService (hashing embeddings) with the three test documents."""
    from ingest.pipeline import ingest_paths
    from knowledge.service import KnowledgeService

    knowledge = KnowledgeService.from_settings(
        settings, kb_dir=settings.data_dir / "kb", embeddings=HashingEmbeddings()
    )
    src = kb_source_dir(settings.data_dir.parent)
    ingest_paths(knowledge.store, sorted(src.iterdir()), progress=False)
    return create_app(settings, knowledge=knowledge, cases=case_service, session_factory=session_factory)


def add_editor(user_service: UserService, users: Users) -> Users:
    """``users`` plus an ``editor`` (知识库编辑) with a token."""
    user = user_service.create_user("editor", PASSWORD, "editor", display_name="editor-显示名")
    tokens = dict(users.tokens)
    tokens["editor"] = create_token(SECRET, user_id=user.id, username="editor", role="editor", hours=1)
    return Users(tokens)
