"""Scoring of eval sets (``vetbot eval``) and latency benchmarks (``vetbot bench``).

Eval file: JSONL, one item per line::

    {"id": "d01", "q": "...", "kind": "answer", "expect": [["优待证"], ["省", "当地"]]}
    {"id": "d27", "q": "...", "kind": "refuse"}
    {"id": "d29", "q": "...", "kind": "complaint", "theme": "culture_tourism"}

Optional per item: ``region`` (the asker's region), ``expect_source``
(``{"title_contains": "...", "article": "第N条"}``) for retrieval metrics, and ``expect_cited``
(true: the answer must cite ``expect_source``, not only list it among 相关条文).

* ``answer`` passes when not refused and every ``expect`` group has a term in the answer or in
  the text of the first three passages it lists (cited ones first, then 相关条文);
  ``refuse`` when refused, or when the answer says the cited rules do not state the amount,
  time limit... asked for, or that the KB lacks the asker's place's or group's rule (``Answer.not_stated``:
  issue 16 counts "says it is not in the knowledge base" as the answer to a how-much question;
  the report counts these apart);
  ``complaint`` when the intent is complaint and the theme matches.
* False refusals (answer items refused) and wrong answers (answer items answered without the
  expected content or source, refuse items answered) are counted apart: a wrong answer is worse.
* Complaint detection: every item counts, complaint items positive, the rest negative.
* Retrieval (hit@1, hit@3, MRR): items with ``expect_source`` hit at rank r when the r-th
  source matches it; answer items with only ``expect`` groups hit at rank r when every group is
  satisfied by the answer plus the sources up to rank r.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.types import Answer, Passage
from vetbot.errors import InvalidInputError

KINDS = ("answer", "refuse", "complaint")

# Used by `vetbot bench` when no question file is given or found.
SAMPLE_QUESTIONS: tuple[str, ...] = (
    "老兵坐地铁要钱吗？",
    "优待证去哪儿办？",
    "办优待证需要什么材料？",
    "残疾军人坐火车有优惠吗？",
    "烈士子女上学有什么照顾？",
    "退役军人看病能优先吗？",
    "信访事项多长时间办结？",
    "退役军人考公务员有什么优待？",
    "优待证丢了怎么办？",
    "景区对退役军人免门票吗？",
    "今天天气怎么样",
    "帮我写一首诗",
)


@dataclass
class EvalItem:
    """One eval question and what a correct reply must contain."""

    id: str
    q: str
    kind: str
    expect: list[list[str]] = field(default_factory=list)
    theme: str | None = None
    region: str | None = None
    expect_source: dict[str, str] | None = None
    # The answer must cite expect_source itself (not only list it as related).
    expect_cited: bool = False

    @property
    def is_retrieval_item(self) -> bool:
        """True when the item counts toward hit@k / MRR."""
        return self.expect_source is not None or (self.kind == "answer" and bool(self.expect))


@dataclass
class ItemResult:
    """The outcome of one item."""

    item: EvalItem
    answer: Answer
    passed: bool
    rank: int | None  # first rank at which the retrieval criterion is met (retrieval items)
    why: str = ""


@dataclass
class EvalReport:
    """Aggregated metrics of an eval run."""

    results: list[ItemResult]

    def by_kind(self) -> dict[str, tuple[int, int]]:
        """kind -> (passed, total)."""
        out: dict[str, tuple[int, int]] = {}
        for r in self.results:
            p, t = out.get(r.item.kind, (0, 0))
            out[r.item.kind] = (p + int(r.passed), t + 1)
        return out

    def complaint_metrics(self) -> dict[str, float]:
        """Complaint detection over every item (complaint items positive), all figures 0..1.

        Keys: ``precision``, ``recall``, ``f1`` (0 where undefined), ``theme_accuracy`` on the
        complaint items, ``n`` = number of complaint items.
        """
        # sklearn.metrics is imported here, not at module level: it is slow to load and only
        # `vetbot eval` needs it (the CLI imports this module for every command).
        from sklearn.metrics import precision_recall_fscore_support

        truth = [r.item.kind == "complaint" for r in self.results]
        predicted = [r.answer.intent == "complaint" for r in self.results]
        precision, recall, f1 = 0.0, 0.0, 0.0
        if self.results:
            scores = precision_recall_fscore_support(
                truth, predicted, average="binary", pos_label=True, zero_division=0.0
            )
            precision, recall, f1 = (float(x) for x in scores[:3])
        gold = [r for r in self.results if r.item.kind == "complaint"]
        theme_ok = sum(1 for r in gold if r.answer.theme == r.item.theme)
        return {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "theme_accuracy": theme_ok / len(gold) if gold else 0.0,
            "n": float(len(gold)),
        }

    def retrieval_metrics(self) -> dict[str, float]:
        """hit@1, hit@3 and MRR over the retrieval items."""
        items = [r for r in self.results if r.item.is_retrieval_item]
        if not items:
            return {"hit@1": 0.0, "hit@3": 0.0, "mrr": 0.0, "n": 0.0}
        n = len(items)
        return {
            "hit@1": sum(1 for r in items if r.rank is not None and r.rank <= 1) / n,
            "hit@3": sum(1 for r in items if r.rank is not None and r.rank <= 3) / n,
            "mrr": sum(1.0 / r.rank for r in items if r.rank) / n,
            "n": float(n),
        }

    def false_refusals(self) -> list[ItemResult]:
        """Answer items that were refused."""
        return [r for r in self.results if r.item.kind == "answer" and r.answer.refused]

    def wrong_answers(self) -> list[ItemResult]:
        """Items answered wrongly: an answer item answered without the expected content or
        source, or a refuse item answered. Worse than a refusal."""
        return [
            r for r in self.results
            if not r.passed and not r.answer.refused and r.item.kind in ("answer", "refuse")
        ]

    def failures(self) -> list[ItemResult]:
        """Items that did not pass."""
        return [r for r in self.results if not r.passed]

    def latencies(self) -> list[float]:
        """Per-item latency in ms."""
        return [r.answer.latency_ms for r in self.results]


def load_items(path: Path) -> list[EvalItem]:
    """Read an eval JSONL file; InvalidInputError names the first bad line."""
    items = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInputError(
            f"cannot read {path}: {exc}", user_message=f"无法读取评测文件：{path}"
        ) from exc
    for no, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            data = json.loads(line)
            kind = data["kind"]
            if kind not in KINDS:
                raise ValueError(f"unknown kind {kind!r}")
            items.append(
                EvalItem(
                    id=str(data.get("id", no)),
                    q=str(data["q"]),
                    kind=kind,
                    expect=[list(map(str, g)) for g in data.get("expect", [])],
                    theme=data.get("theme"),
                    region=data.get("region"),
                    expect_source=data.get("expect_source"),
                    expect_cited=bool(data.get("expect_cited", False)),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidInputError(
                f"{path}:{no}: {exc}", user_message=f"评测文件第 {no} 行格式有误：{exc}"
            ) from exc
    return items


def groups_satisfied(groups: Sequence[Sequence[str]], texts: Iterable[str]) -> list[int]:
    """Indexes of the ``expect`` groups with no term in ``texts`` (empty: all satisfied)."""
    joined = "\n".join(texts)
    return [i for i, g in enumerate(groups) if not any(term in joined for term in g)]


def source_matches(source: Passage, spec: dict[str, str]) -> bool:
    """True when ``source`` is the passage an ``expect_source`` spec names: the title contains
    ``title_contains`` and the article is ``article``, compared at article level (第五十五条
    matches its 第五十五条第二款 and the reverse; a section that is no article is named by its
    heading, with or without the “” quotes its citation puts around it)."""
    title = spec.get("title_contains")
    article = spec.get("article")
    if title and title not in source.title:
        return False
    # A section that is no article is cited by its heading (knowledge.types.citation).
    label = source.article or (source.heading.split(" > ")[-1] if source.heading else "")
    return not article or _article_key(label) == _article_key(article)


_PARAGRAPH = re.compile(r"(第[一二三四五六七八九十百零〇0-9]+条)第[一二三四五六七八九十0-9]+款$")


def _article_key(label: str) -> str:
    """An article label without its 款 and its quotes: 第五十五条第二款 → 第五十五条."""
    label = label.strip().strip("“”\"")
    return _PARAGRAPH.sub(r"\1", label)


def score_item(item: EvalItem, answer: Answer) -> ItemResult:
    """Decide whether ``answer`` passes ``item`` and where retrieval first hits."""
    rank: int | None = None
    listed = [*answer.sources, *answer.related]
    if item.is_retrieval_item and not answer.refused:
        for r in range(1, len(listed) + 1):
            if item.expect_source is not None:
                hit = source_matches(listed[r - 1], item.expect_source)
            else:
                texts = [answer.answer, *(s.text for s in listed[:r])]
                hit = not groups_satisfied(item.expect, texts)
            if hit:
                rank = r
                break
    why = ""
    if item.kind == "answer":
        # The expected content must be in the answer or the first three passages it lists
        # (cited ones first, then 相关条文).
        missing = groups_satisfied(item.expect, [answer.answer, *(s.text for s in listed[:3])])
        passed = not answer.refused and not missing
        if answer.refused:
            why = f"refused ({answer.refusal_reason}, confidence {answer.confidence:.2f})"
        elif missing:
            why = "missing " + "; ".join("/".join(item.expect[i]) for i in missing)
        if passed and item.expect_source is not None and rank is None:
            passed, why = False, f"expected source {item.expect_source} not retrieved"
        if passed and item.expect_cited and not any(
            source_matches(s, item.expect_source or {}) for s in answer.sources
        ):
            passed, why = False, f"expected source {item.expect_source} not cited"
    elif item.kind == "refuse":
        passed = answer.refused or bool(answer.not_stated)
        why = "" if passed else f"answered (confidence {answer.confidence:.2f})"
    else:
        passed = answer.intent == "complaint" and answer.theme == item.theme
        why = "" if passed else f"intent={answer.intent} theme={answer.theme} (want {item.theme})"
    return ItemResult(item=item, answer=answer, passed=passed, rank=rank, why=why)


def evaluate(
    ask: Callable[[str, str | None], Answer], items: Sequence[EvalItem], region: str | None = None
) -> EvalReport:
    """Ask every item (its own region, else ``region``) and score it."""
    results = [score_item(item, ask(item.q, item.region or region)) for item in items]
    return EvalReport(results)


def format_report(report: EvalReport, *, verbose: bool = False, label: str = "") -> str:
    """Human-readable summary (Chinese labels, figures as percentages)."""
    lines = [f"评测结果{('（' + label + '）') if label else ''}：共 {len(report.results)} 题"]
    names = {"answer": "应答题", "refuse": "应拒答题", "complaint": "投诉题"}
    total_p = total_t = 0
    for kind in KINDS:
        p, t = report.by_kind().get(kind, (0, 0))
        if t:
            lines.append(f"  {names[kind]}({kind}): {p}/{t} = {p / t:.1%}")
            total_p, total_t = total_p + p, total_t + t
    if total_t:
        lines.append(f"  合计: {total_p}/{total_t} = {total_p / total_t:.1%}")
    answered = [r for r in report.results if r.item.kind in ("answer", "refuse")]
    if answered:
        fr, wa = len(report.false_refusals()), len(report.wrong_answers())
        lines.append(
            f"  误拒答(false refusals): {fr}/{len(answered)} = {fr / len(answered):.1%}  "
            f"答错(wrong answers): {wa}/{len(answered)} = {wa / len(answered):.1%}"
        )
    unstated = [r for r in report.results if r.item.kind == "refuse" and not r.answer.refused
                and r.answer.not_stated]
    if unstated:
        what = Counter(t for r in unstated for t in r.answer.not_stated)
        lines.append(f"  应拒答题以“知识库没有写明”作答(计为通过): {len(unstated)}（"
                     + "，".join(f"{t} {n}" for t, n in what.most_common()) + "）")
    cm = report.complaint_metrics()
    if cm["n"]:
        lines.append(
            f"  投诉识别: precision {cm['precision']:.1%}  recall {cm['recall']:.1%}  "
            f"F1 {cm['f1']:.1%}  主题准确率 {cm['theme_accuracy']:.1%}"
        )
    rm = report.retrieval_metrics()
    if rm["n"]:
        lines.append(
            f"  检索({int(rm['n'])} 题): hit@1 {rm['hit@1']:.1%}  "
            f"hit@3 {rm['hit@3']:.1%}  MRR {rm['mrr']:.3f}"
        )
    lat = report.latencies()
    if lat:
        lines.append(f"  延迟: p50 {percentile(lat, 50):.1f} ms  p95 {percentile(lat, 95):.1f} ms")
    if verbose:
        fails = report.failures()
        lines.append(f"未通过 {len(fails)} 题：" if fails else "全部通过。")
        for r in fails:
            lines.append(f"  [{r.item.id}] ({r.item.kind}) {r.item.q}")
            lines.append(f"      原因: {r.why}")
            first = r.answer.answer.replace("\n", " / ")
            lines.append(f"      回答: {first[:160]}")
            for s in r.answer.sources[:3]:
                lines.append(f"      来源: {s.citation} {s.region} {s.score:.4f}")
    return "\n".join(lines)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank ``pct``-th percentile (0-100) of ``values``, in their unit; 0 for no values."""
    if not values:
        return 0.0
    return float(np.percentile(values, pct, method="inverted_cdf"))


@dataclass
class BenchResult:
    """Latency figures of one benchmark run."""

    label: str
    latencies_ms: list[float]

    def summary(self) -> dict[str, Any]:
        """p50 / p95 / mean / max in ms."""
        lat = self.latencies_ms
        return {
            "label": self.label,
            "n": len(lat),
            "p50": percentile(lat, 50),
            "p95": percentile(lat, 95),
            "mean": statistics.fmean(lat) if lat else 0.0,
            "max": max(lat) if lat else 0.0,
        }


def benchmark(ask: Callable[[str], Any], questions: Sequence[str], n: int, label: str = "") -> BenchResult:
    """Wall-clock latency of ``ask`` over ``n`` questions (cycled); the caller warms up first."""
    if not questions:
        raise InvalidInputError("no questions to benchmark", user_message="没有可用于测试的问题。")
    lat = []
    for i in range(n):
        q = questions[i % len(questions)]
        t0 = time.perf_counter()
        ask(q)
        lat.append((time.perf_counter() - t0) * 1000.0)
    return BenchResult(label=label, latencies_ms=lat)


def questions_from_file(path: Path) -> list[str]:
    """Questions of an eval JSONL file (``q`` fields) or of a plain text file (one per line)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("{"):
            try:
                q = json.loads(line).get("q")
            except ValueError:
                continue
            if q:
                out.append(str(q))
        else:
            out.append(line)
    return out
