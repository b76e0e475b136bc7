"""Scoring a conversation set: chats of several messages with the expected outcome of each.

File format (JSONL, ``#`` comments allowed), one message per line; lines with the same
``chat`` form one conversation, in file order::

    {"chat": "c01", "q": "我是残疾军人，坐公交免费吗", "intent": "question", "expect": [["免费"]]}
    {"chat": "c01", "q": "那火车呢？", "understood": ["残疾军人", "火车"], "expect": [["50%", "半价"]]}

Checks, each optional (a line passes when all its checks pass):

``intent``      question / complaint / smalltalk
``refused``     true / false (small talk must be false)
``reason``      the refusal reason (e.g. ``language``)
``understood``  terms that must all be in ``understood_as``; ``null`` = must be used as typed
``expect``      groups of terms; each group needs one term in the answer text or in the text
                of a passage it cites (as ``knowledge.evaluation`` checks answers)
``offer``       whether filing a complaint is offered (``offer_complaint``)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vetbot.errors import InvalidInputError

ChatRunner = Callable[[list[dict[str, Any]]], list[dict[str, Any]]]


def is_conversation_file(path: Path) -> bool:
    """True when the first data line of ``path`` has a ``chat`` key (a conversation set)."""
    try:
        with Path(path).open(encoding="utf-8") as fh:
            for line in fh:
                if line.strip() and not line.lstrip().startswith("#"):
                    data = json.loads(line)
                    return isinstance(data, dict) and "chat" in data
    except (OSError, json.JSONDecodeError):
        return False
    return False


def load_conversation_items(path: Path) -> list[dict[str, Any]]:
    """The lines of a conversation set; InvalidInputError names the first bad line."""
    try:
        raw = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInputError(str(exc), user_message=f"无法读取对话评测文件：{path}") from exc
    items = []
    for no, line in enumerate(raw, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(str(exc), user_message=f"{path} 第 {no} 行不是合法的 JSON") from exc
        if not isinstance(data, dict) or "chat" not in data or not isinstance(data.get("q"), str):
            raise InvalidInputError(f"line {no}", user_message=f"{path} 第 {no} 行缺少 chat 或 q 字段")
        items.append(data)
    return items


def check(item: dict[str, Any], result: dict[str, Any]) -> list[str]:
    """What failed for one line (empty when it passed); messages in Chinese."""
    if "error" in result:
        return [f"出错：{result['error']}"]
    failed = []
    if "intent" in item and result.get("intent") != item["intent"]:
        failed.append(f"intent={result.get('intent')}，应为 {item['intent']}")
    if "refused" in item and bool(result.get("refused")) != bool(item["refused"]):
        failed.append(f"refused={result.get('refused')}（{result.get('refusal_reason')}）")
    if "reason" in item and result.get("refusal_reason") != item["reason"]:
        failed.append(f"refusal_reason={result.get('refusal_reason')}，应为 {item['reason']}")
    if "understood" in item:
        understood = result.get("understood_as")
        if item["understood"] is None:
            if understood is not None:
                failed.append(f"不应改写，却理解为：{understood}")
        elif not understood or not all(t in understood for t in item["understood"]):
            failed.append(f"理解为：{understood}，应包含 {item['understood']}")
    if "offer" in item and bool(result.get("offer_complaint")) != bool(item["offer"]):
        failed.append(f"offer_complaint={result.get('offer_complaint')}")
    text = str(result.get("answer") or "")
    if not result.get("refused"):
        text += "\n".join(str(p.get("text", "")) for p in result.get("sources") or [])
    for group in item.get("expect", []):
        if not any(term in text for term in group):
            failed.append(f"回答中没有 {group}")
    return failed


@dataclass
class ConversationReport:
    """Pass rate of a conversation set (``pass_rate`` 0..1) and the failed lines."""

    total: int = 0
    passed: int = 0
    failures: list[tuple[dict[str, Any], dict[str, Any], list[str]]] = field(default_factory=list)

    @property
    def pass_rate(self) -> float:
        """Passed / total (0.0 for an empty set)."""
        return self.passed / self.total if self.total else 0.0


def evaluate_conversations(run: ChatRunner, items: Iterable[dict[str, Any]]) -> ConversationReport:
    """Run every chat with ``run`` (e.g. ``knowledge.conversation.run_chats``) and score each line."""
    items = list(items)
    results = run(items)
    report = ConversationReport(total=len(items))
    for item, result in zip(items, results, strict=True):
        failed = check(item, result)
        if failed:
            report.failures.append((item, result, failed))
        else:
            report.passed += 1
    return report


def format_conversation_report(report: ConversationReport, *, verbose: bool = False) -> str:
    """A short Chinese report: the pass rate, and with ``verbose`` every failed line."""
    lines = [f"对话评测：{report.passed}/{report.total} 通过，通过率 {report.pass_rate:.1%}"]
    if verbose:
        for item, result, failed in report.failures:
            lines.append(f"  ✗ [{item['chat']}] {item['q']}：{'；'.join(failed)}")
            lines.append(f"      回答：{str(result.get('answer', ''))[:100]!r}")
    return "\n".join(lines)
