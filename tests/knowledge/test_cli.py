"""`vetbot ask / eval / bench`: the JSON contract, batches, KB selection and eval scoring."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api.askcli import _print_human
from ingest.bootstrap import needs_default_kb
from knowledge import evaluation
from knowledge.evaluation import EvalItem, EvalReport, load_items, score_item
from knowledge.types import Answer, Passage
from tests.fakes import HashingEmbeddings
from vetbot.cli import main
from vetbot.settings import Settings

from .conftest import build_tiny_kb

POLICY_MD = """---
title: 示例优待证办法（要点）
issuer: 测试
region: 全国
topics: [card]
---
# 示例优待证办法（要点）

## 第五条 申领地点
优待证到户籍所在地的退役军人服务站申请办理。

## 第七条 挂失补办
优待证丢失的，先到发卡银行挂失，再到服务站补办。
"""


@pytest.fixture(autouse=True)
def _fake_models(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Use the hashing embedding and no classifier; keep all data under tmp_path."""
    monkeypatch.setattr("knowledge.service.build_embeddings", lambda settings: HashingEmbeddings())
    monkeypatch.setattr("api.askcli.ComplaintClassifier", lambda embeddings=None, cache_dir=None: None)
    monkeypatch.setenv("VETBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("VETBOT_KB_DIR", raising=False)
    monkeypatch.delenv("VETBOT_CHROMA_URL", raising=False)


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    kb_dir = tmp_path / "tiny-kb"
    build_tiny_kb(kb_dir)
    return kb_dir


def _json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_ask_json_contract(kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--kb", str(kb), "--json", "优待证丢了怎么办？"]) == 0
    out = capsys.readouterr().out
    assert "优待证" in out and "\\u" not in out  # Chinese stays readable
    (data,) = _json_lines(out)
    for key in ("question", "answer", "refused", "intent", "theme", "sources", "latency_ms"):
        assert key in data
    assert data["question"] == "优待证丢了怎么办？"
    assert data["refused"] is False and data["intent"] == "question" and data["theme"] is None
    first = data["sources"][0]
    for key in ("title", "article", "text", "score", "path", "region"):
        assert key in first
    assert first["text"].startswith("优待证丢了")
    scores = [s["score"] for s in data["sources"][1:]]
    assert scores == sorted(scores, reverse=True)


def test_ask_human_readable(kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--kb", str(kb), "--region", "济南", "老兵坐地铁要钱吗"]) == 0
    out = capsys.readouterr().out
    assert "来源：" in out and "《" in out and "ms）" in out
    assert not out.lstrip().startswith("{")


def test_batch_keeps_order_and_reports_bad_lines(kb: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    batch = tmp_path / "q.txt"
    batch.write_text("优待证去哪里办？\n\n明天会下雨吗\n" + "长" * 600 + "\n信访多久办结\n", encoding="utf-8")
    assert main(["ask", "--kb", str(kb), "--json", "--batch", str(batch)]) == 0
    rows = _json_lines(capsys.readouterr().out)
    assert [r["question"] for r in rows] == ["优待证去哪里办？", "明天会下雨吗", "长" * 600, "信访多久办结"]
    assert rows[0]["refused"] is False
    assert rows[1]["refused"] is True and rows[1]["refusal_reason"] == "off_topic"
    assert "error" in rows[2]
    assert rows[3]["sources"][0]["article"] == "第三十四条"


def test_a_new_kb_dir_starts_empty_and_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--kb", str(tmp_path / "brand-new"), "--json", "优待证去哪里办？"]) == 0
    (data,) = _json_lines(capsys.readouterr().out)
    assert data["refused"] is True and data["refusal_reason"] == "no_evidence"
    assert data["sources"] == []


def test_default_kb_is_built_from_the_bundled_policies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    (bundled / "card.md").write_text(POLICY_MD, encoding="utf-8")
    monkeypatch.setenv("VETBOT_BUNDLED_KNOWLEDGE_DIR", str(bundled))
    assert main(["ask", "--json", "优待证丢失了怎么补办"]) == 0
    captured = capsys.readouterr()
    assert "正在从" in captured.err
    (data,) = _json_lines(captured.out)
    assert not data["refused"]
    assert data["sources"][0]["title"] == "示例优待证办法（要点）"
    assert data["sources"][0]["article"] == "第七条"
    assert not needs_default_kb(Settings())  # the default KB's catalogue has a generation
    # Second run: the default KB exists, nothing is rebuilt.
    assert main(["ask", "--json", "优待证去哪里申请"]) == 0
    assert "正在从" not in capsys.readouterr().err


def test_ask_without_question_is_an_error(kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--kb", str(kb)]) == 1
    assert "请提供问题" in capsys.readouterr().err


# ------------------------------------------------------------------------------- eval


EVAL_LINES = [
    {"id": "a1", "q": "优待证丢了怎么办", "kind": "answer", "expect": [["挂失"], ["银行"]]},
    {"id": "a2", "q": "信访多久办结", "kind": "answer", "expect": [["60日"]],
     "expect_source": {"title_contains": "信访工作条例", "article": "第三十四条"}},
    {"id": "a3", "q": "优待证丢了怎么办", "kind": "answer", "expect": [["不会出现的词"]]},
    {"id": "r1", "q": "明天会下雨吗", "kind": "refuse"},
    {"id": "c1", "q": "我要投诉公交司机", "kind": "complaint", "theme": "transit"},
]


def test_eval_command_prints_rates_and_lists_failures(kb: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "eval.jsonl"
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in EVAL_LINES), encoding="utf-8")
    assert main(["eval", str(path), "--kb", str(kb), "--verbose"]) == 0
    out = capsys.readouterr().out
    assert "应答题(answer): 2/3 = 66.7%" in out
    assert "应拒答题(refuse): 1/1 = 100.0%" in out
    assert "投诉题(complaint): 0/1 = 0.0%" in out  # no classifier: everything is a question
    assert "recall 0.0%" in out
    assert "[a3]" in out and "不会出现的词" in out and "[a2]" not in out
    assert "hit@1" in out


def _answer(text: str, sources: list[str], *, refused: bool = False, intent: str = "question",
            theme: str | None = None) -> Answer:
    return Answer(
        question="q", answer=text, refused=refused, intent=intent,  # type: ignore[arg-type]
        theme=theme, sources=[Passage(title=t, article=a, text=x, score=1.0) for t, a, x in
                              (s.split("|") for s in sources)],
    )


def test_scoring_rules() -> None:
    item = EvalItem(id="x", q="q", kind="answer", expect=[["挂失"], ["银行", "服务站"]])
    # Groups may be satisfied by the answer or the top-3 sources, but not by the 4th source.
    ok = score_item(item, _answer("请先挂失。", ["A|第一条|无关", "B|第二条|到银行办理"]))
    assert ok.passed and ok.rank == 2
    late = score_item(item, _answer("无", ["A||一", "B||二", "C||三", "D||挂失到银行"]))
    assert not late.passed and late.rank == 4
    refused = score_item(item, _answer("挂失 银行", [], refused=True))
    assert not refused.passed and refused.rank is None

    spec = {"title_contains": "保障法", "article": "第五十三条"}
    src_item = EvalItem(id="s", q="q", kind="answer", expect_source=spec)
    hit = score_item(src_item, _answer("…", ["保障法（要点）|第十五条|…", "保障法（要点）|第五十三条|…"]))
    assert hit.passed and hit.rank == 2
    miss = score_item(src_item, _answer("…", ["军人抚恤优待条例|第五十三条|…"]))
    assert not miss.passed and miss.rank is None

    complaint = EvalItem(id="c", q="q", kind="complaint", theme="card")
    assert score_item(complaint, _answer("…", [], intent="complaint", theme="card")).passed
    assert not score_item(complaint, _answer("…", [], intent="complaint", theme="transit")).passed
    assert score_item(EvalItem(id="r", q="q", kind="refuse"), _answer("…", [], refused=True)).passed


def test_report_metrics() -> None:
    results = [
        score_item(EvalItem(id="1", q="q", kind="complaint", theme="card"),
                   _answer("…", [], intent="complaint", theme="card")),
        score_item(EvalItem(id="2", q="q", kind="complaint", theme="transit"),
                   _answer("…", [], intent="question", theme="transit")),
        score_item(EvalItem(id="3", q="q", kind="answer", expect=[["甲"]]),
                   _answer("…", ["T||乙", "T||甲"], intent="complaint")),
        score_item(EvalItem(id="4", q="q", kind="answer", expect=[["甲"]]), _answer("甲", ["T||乙"])),
    ]
    report = EvalReport(results)
    cm = report.complaint_metrics()
    assert cm["precision"] == pytest.approx(0.5) and cm["recall"] == pytest.approx(0.5)
    assert cm["f1"] == pytest.approx(0.5) and cm["theme_accuracy"] == pytest.approx(1.0)
    rm = report.retrieval_metrics()
    assert rm["n"] == 2 and rm["hit@1"] == pytest.approx(0.5) and rm["hit@3"] == pytest.approx(1.0)
    assert rm["mrr"] == pytest.approx((0.5 + 1.0) / 2)


def test_load_items_rejects_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "1", "q": "x", "kind": "answer"}\n{"id": "2", "q": "y", "kind": "nope"}\n',
                    encoding="utf-8")
    with pytest.raises(evaluation.InvalidInputError) as err:
        load_items(path)
    assert "第 2 行" in err.value.user_message


def test_bench_prints_latency_for_both_fusions(kb: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    questions = tmp_path / "q.txt"
    questions.write_text("优待证去哪里办\n信访多久办结\n", encoding="utf-8")
    assert main(["bench", "--kb", str(kb), "--n", "6", "--questions", str(questions)]) == 0
    out = capsys.readouterr().out
    assert "rrf" in out and "weighted" in out and "p95" in out and "rrf/weighted" in out


def test_ask_is_a_chat_turn_like_the_bot(kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A greeting used to be refused as off-topic on the command line only.
    assert main(["ask", "--kb", str(kb), "--json", "你好"]) == 0
    (data,) = _json_lines(capsys.readouterr().out)
    assert data["intent"] == "smalltalk" and data["refused"] is False


def test_ask_refuses_an_unknown_region(kb: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "--kb", str(kb), "--region", "火星", "优待证丢了怎么办？"]) == 1
    assert "未知的地区“火星”" in capsys.readouterr().err


def test_ask_names_a_detected_complaints_theme_in_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    _print_human(Answer(question="q", answer="答", refused=False, intent="complaint", theme="employment"))
    out = capsys.readouterr().out
    assert "就业创业/安置" in out and "employment" not in out


def test_expected_sources_match_at_article_level_and_by_heading() -> None:
    paragraph = Passage(title="军人地位和权益保障法（要点）", article="第五十五条第二款", text="…", score=1.0)
    spec = {"title_contains": "军人地位和权益保障法", "article": "第五十五条"}
    assert evaluation.source_matches(paragraph, spec)
    whole = Passage(title="军人地位和权益保障法（要点）", article="第六十八条", text="…", score=1.0)
    assert evaluation.source_matches(whole, {"article": "第六十八条第二款"})
    assert not evaluation.source_matches(whole, {"article": "第六十七条"})
    # A section that is no article is cited, and expected, by its heading.
    rail = "军人、残疾军人和三属坐火车的优待"
    section = Passage(title="铁路旅客运输规程（要点）", heading=rail, text="…", score=1.0)
    assert evaluation.source_matches(section, {"article": f"“{rail}”"})
    assert evaluation.source_matches(section, {"article": rail})
    assert not evaluation.source_matches(section, {"article": "“申领材料”"})
