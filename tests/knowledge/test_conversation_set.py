"""The conversation set (tests/eval/conversations.jsonl) on the bundled KB, and the CLI contract
``vetbot ask --json --chat-batch FILE`` / ``vetbot eval`` on a conversation file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from knowledge.conversation import ConversationService, run_chats
from knowledge.conversation_eval import (
    evaluate_conversations,
    format_conversation_report,
    load_conversation_items,
)
from vetbot.cli import main

SET = Path(__file__).resolve().parent.parent / "eval" / "conversations.jsonl"


def test_conversation_set_passes(knowledge_service: Any) -> None:
    items = load_conversation_items(SET)
    assert len(items) == 50
    conversation = ConversationService(knowledge_service)
    report = evaluate_conversations(lambda lines: run_chats(conversation, lines), items)
    assert report.pass_rate >= 0.95, format_conversation_report(report, verbose=True)


def test_chat_batch_and_eval_commands(bundled_kb_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("VETBOT_DATA_DIR", str(tmp_path))
    batch = tmp_path / "chats.jsonl"
    lines = [
        {"chat": "1", "q": "我是残疾军人，坐公交免费吗"},
        {"chat": "2", "q": "你好"},
        {"chat": "1", "q": "那火车呢？"},
        {"chat": "2", "q": "那火车呢？"},
        {"chat": "1", "q": "那我老婆呢？", "region": "济南市"},
    ]
    batch.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n", encoding="utf-8")
    assert main(["ask", "--kb", str(bundled_kb_dir), "--json", "--chat-batch", str(batch)]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    assert [r["question"] for r in rows] == [x["q"] for x in lines]
    assert [r["intent"] for r in rows] == ["question", "smalltalk", "question", "question", "question"]
    assert rows[1]["refused"] is False and rows[1]["understood_as"] is None
    understood = rows[2]["understood_as"] or ""
    assert "残疾军人" in understood and "火车" in understood
    assert "50%" in rows[2]["answer"] + "".join(s["text"] for s in rows[2]["sources"])
    assert rows[3]["understood_as"] is None  # chat 2 has no context about a person
    assert "配偶" in rows[4]["understood_as"]
    assert main(["eval", "--kb", str(bundled_kb_dir), str(SET)]) == 0
    assert "通过率" in capsys.readouterr().out
