"""``vetbot ask``, ``vetbot eval`` and ``vetbot bench``: the assistant on the command line.

They sit in the top layer because they assemble the whole assistant, like the bot and the web
app: the knowledge service (``knowledge``), the default-KB bootstrap (``ingest.bootstrap``) and
the complaint classifier (``complaints``), whose detection ``vetbot eval`` scores.

Without ``--kb`` the default knowledge base (``settings.default_kb_dir``) is used, and built
from the bundled policy summaries on first use. A ``--kb`` directory that does not exist yet
starts empty (every question is then refused with ``no_evidence``).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from complaints.classifier import ComplaintClassifier
from complaints.themes import theme_label
from ingest.bootstrap import needs_default_kb, open_knowledge_service
from knowledge.answerability import MODEL_PATH
from knowledge.answerability_eval import Row, collect, fit_all, load_rows, loco, save_rows
from knowledge.conversation import ConversationService, run_chats
from knowledge.conversation_eval import (
    evaluate_conversations,
    format_conversation_report,
    is_conversation_file,
    load_conversation_items,
)
from knowledge.evaluation import (
    SAMPLE_QUESTIONS,
    benchmark,
    evaluate,
    format_report,
    load_items,
    questions_from_file,
)
from knowledge.scalebench import run_scale_bench
from knowledge.scalecorpus import parse_scale
from knowledge.service import KnowledgeService
from knowledge.types import NATIONAL
from vetbot import regions
from vetbot.errors import InvalidInputError, VetbotError

if TYPE_CHECKING:
    from knowledge.types import Answer
    from vetbot.settings import Settings

logger = logging.getLogger(__name__)

BUNDLED_QUESTIONS = Path(__file__).resolve().parent.parent / "tests" / "eval" / "bundled-questions.jsonl"


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ask / eval / bench subcommands."""
    p = sub.add_parser("ask", help="提问：引用条文的回答（--json 输出 JSON）")
    p.add_argument("question", nargs="?", help="问题")
    p.add_argument("--kb", type=Path, default=None, help="知识库目录（默认：内置知识库）")
    p.add_argument("--region", default=None, help="提问人所在地区，如 济南市")
    p.add_argument("--json", action="store_true", help="输出 JSON")
    p.add_argument("--batch", type=Path, default=None, help="每行一个问题的文件；每行输出一个 JSON")
    p.add_argument(
        "--chat-batch", type=Path, default=None,
        help='对话文件（JSONL：{"chat": "会话号", "q": "消息"}，可含 "region"）；'
        "同一会话号的行按顺序构成一段对话",
    )
    p.add_argument("--fusion", choices=("rrf", "weighted"), default=None, help="融合方式（默认取配置）")
    p.set_defaults(func=cmd_ask)

    e = sub.add_parser("eval", help="用 JSONL 评测集评测问答、拒答与投诉识别")
    e.add_argument("file", type=Path, help="评测集 JSONL")
    e.add_argument("--kb", type=Path, default=None, help="知识库目录（默认：内置知识库）")
    e.add_argument("--region", default=None, help="默认的提问人地区")
    e.add_argument("--verbose", "-v", action="store_true", help="列出未通过的题目")
    e.add_argument(
        "--min-pass", type=float, default=0.95, help="对话评测集的最低通过率（低于则退出码为 1），默认 0.95"
    )
    e.add_argument(
        "--fusion", choices=("rrf", "weighted", "both"), default=None, help="融合方式；both 分别评测两种"
    )
    e.set_defaults(func=cmd_eval)

    a = sub.add_parser(
        "answerability",
        help="拒答模型：fit 拟合并保存系数，loco 留一语料评估",
        description=(
            "每个 --corpus 形如 名称=知识库目录:评测集1,评测集2（知识库先用 vetbot ingest --kb 建好）。"
            "fit 在全部语料上拟合并写入 knowledge/data/answerability.json；loco 每次留出一个语料评估。"
        ),
    )
    a.add_argument("action", choices=("fit", "loco"))
    a.add_argument("--corpus", action="append", required=True, metavar="NAME=KB:Q1,Q2", help="语料")
    a.add_argument("--c", type=float, default=1.0, help="L2 正则强度的倒数 C")
    a.add_argument("--out", type=Path, default=MODEL_PATH, help="fit 写入的系数文件")
    a.add_argument("--rows", type=Path, default=None,
                   help="特征行文件（JSONL）：已存在则直接读取（不再提问），否则提问后写入")
    a.set_defaults(func=cmd_answerability)

    b = sub.add_parser("bench", help="问答延迟基准（p50/p95），并比较 rrf 与 weighted")
    b.add_argument("--kb", type=Path, default=None, help="知识库目录（默认：内置知识库）")
    b.add_argument("--n", type=int, default=200, help="计时的提问次数")
    b.add_argument("--questions", type=Path, default=None, help="问题文件（JSONL 的 q 字段或每行一个）")
    b.add_argument(
        "--scale", default=None, metavar="SIZES",
        help="规模基准：合成语料的片段数，如 1k,10k,100k（不加载向量模型，与 LangChain Chroma 对照）",
    )
    b.add_argument("--rounds", type=int, default=5, help="规模基准每个问题的计时轮数（默认 5）")
    b.add_argument("--json", action="store_true", help="规模基准以 JSON 输出")
    b.set_defaults(func=cmd_bench)


# ---------------------------------------------------------------------------- service setup
def open_service(settings: Settings, kb_dir: Path | None) -> KnowledgeService:
    """Build the service for ``kb_dir``; the default KB is built from the bundled files if missing."""
    if kb_dir is None and needs_default_kb(settings):
        print(
            f"提示：默认知识库 {settings.default_kb_dir} 尚未建立，"
            f"正在从 {settings.bundled_knowledge_dir} 导入内置政策……",
            file=sys.stderr,
        )
    return open_knowledge_service(settings, kb_dir, classifier_factory=ComplaintClassifier)


def _dump(answer: Answer) -> str:
    # pydantic writes UTF-8 (no \\u escapes), so Chinese stays readable.
    return answer.model_dump_json()


def _print_human(answer: Answer) -> None:
    print(answer.answer)
    if answer.intent == "complaint":
        theme = theme_label(answer.theme) if answer.theme else "未分类"
        print(f"\n[已识别为投诉，主题：{theme}。可通过机器人或服务站正式提交投诉。]")
    elif answer.offer_complaint:
        print("\n[如您对此有不满，可以提交投诉。]")
    if answer.sources and not answer.refused:
        print("\n来源：")
        for i, s in enumerate(answer.sources, 1):
            where = "" if s.region == NATIONAL else f"［{s.region}］"
            print(f"  {i}. {s.citation}{where}  相关度 {s.score:.4f}  {s.path}")
    print(f"\n（用时 {answer.latency_ms:.0f} ms）")


# ---------------------------------------------------------------------------- commands
def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer one question, or a batch file with one JSON line per question."""
    args.region = regions.validate_region(args.region)  # the same check as the API
    if args.chat_batch is not None:
        return _chat_batch(args, settings)
    if args.batch is None and not args.question:
        raise InvalidInputError("no question given", user_message="请提供问题，或使用 --batch 指定问题文件。")
    if args.batch is not None:
        try:
            questions = [ln.strip() for ln in args.batch.read_text(encoding="utf-8").splitlines()]
        except OSError as exc:
            raise InvalidInputError(str(exc), user_message=f"无法读取问题文件：{args.batch}") from exc
        questions = [q for q in questions if q]
    service = open_service(settings, args.kb)
    if args.batch is None:
        if args.fusion is None:  # one chat turn, as in the bot, the web page and POST /v1/ask
            answer = ConversationService(service).reply(args.question, None, args.region).answer
        else:  # comparing fusion methods: the bare service
            answer = service.ask(args.question, region=args.region, fusion=args.fusion)
        if args.json:
            print(_dump(answer))
        else:
            _print_human(answer)
        return 0
    for q in questions:
        try:
            line = _dump(service.ask(q, region=args.region, fusion=args.fusion))
        except VetbotError as exc:  # one bad line must not stop the batch
            line = json.dumps({"question": q, "error": exc.user_message}, ensure_ascii=False)
        print(line, flush=True)
    return 0


def read_chat_lines(path: Path) -> list[dict[str, Any]]:
    """The lines of a chat-batch JSONL file (blank lines skipped); raises InvalidInputError."""
    try:
        raw = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInputError(str(exc), user_message=f"无法读取对话文件：{path}") from exc
    lines: list[dict[str, Any]] = []
    for n, line in enumerate(raw, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(str(exc), user_message=f"{path} 第 {n} 行不是合法的 JSON") from exc
        if not isinstance(item, dict) or not isinstance(item.get("q"), str):
            raise InvalidInputError(f"line {n}: no q", user_message=f"{path} 第 {n} 行缺少 q 字段")
        lines.append(item)
    return lines


def _chat_batch(args: argparse.Namespace, settings: Settings) -> int:
    lines = read_chat_lines(args.chat_batch)
    conversation = ConversationService(open_service(settings, args.kb))
    for result in run_chats(conversation, lines, args.region):
        print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Run an eval set and print pass rates, complaint and retrieval metrics.

    A conversation set (lines with ``chat``; ``knowledge.conversation_eval``) is run as chats
    and reports its pass rate; the exit status is 1 when it is under ``--min-pass``.
    """
    if is_conversation_file(args.file):
        lines = load_conversation_items(args.file)
        conversation = ConversationService(open_service(settings, args.kb))

        def run(chat_lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return run_chats(conversation, chat_lines, args.region)

        chats = evaluate_conversations(run, lines)
        print(format_conversation_report(chats, verbose=args.verbose))
        return 0 if chats.pass_rate >= args.min_pass else 1
    items = load_items(args.file)
    service = open_service(settings, args.kb)
    service.warm_up()
    methods = ["rrf", "weighted"] if args.fusion == "both" else [args.fusion or service.retriever.fusion]
    for method in methods:

        def ask(q: str, region: str | None, _m: str = method) -> Any:
            return service.ask(q, region=region, fusion=_m)

        report = evaluate(ask, items, region=args.region)
        print(format_report(report, verbose=args.verbose, label=f"fusion={method}"))
    return 0


def _corpus_spec(spec: str) -> tuple[str, Path, list[Path]]:
    name, sep, rest = spec.partition("=")
    kb, sep2, files = rest.rpartition(":")
    if not (sep and sep2 and name and kb and files):
        raise InvalidInputError(
            f"bad --corpus {spec!r}", user_message=f"--corpus 格式应为 名称=知识库:评测集，得到 {spec}"
        )
    return name, Path(kb), [Path(f) for f in files.split(",") if f]


def cmd_answerability(args: argparse.Namespace, settings: Settings) -> int:
    """Fit the answerability model on labelled corpora, or evaluate it leave-one-corpus-out."""
    if args.rows is not None and args.rows.exists():
        rows = load_rows(args.rows)
        print(f"读取特征行 {args.rows}：{len(rows)} 题", file=sys.stderr)
    else:
        rows = _collect_rows(args, settings)
        if args.rows is not None:
            save_rows(rows, args.rows)
    return _fit_or_loco(args, rows)


def _collect_rows(args: argparse.Namespace, settings: Settings) -> list[Row]:
    rows = []
    for spec in args.corpus:
        name, kb, files = _corpus_spec(spec)
        service = open_service(settings, kb)
        items = [item for f in files for item in load_items(f)]

        def assess(
            q: str, region: str | None, _s: KnowledgeService = service
        ) -> tuple[dict[str, float], Answer | None]:
            evidence, draft = _s.assess(q, region)
            return evidence.features, draft

        rows.extend(collect(name, assess, items))
        print(f"{name}: {len(items)} 题，知识库 {kb}", file=sys.stderr)
    return rows


def _fit_or_loco(args: argparse.Namespace, rows: list[Row]) -> int:
    # Collecting the rows is the slow part, so fit reports the leave-one-corpus-out figures too.
    folds = loco(rows, c=args.c)
    print(f"留一语料评估（{len(rows)} 题，C={args.c}）：")
    for fold in folds:
        print("  " + fold.line())
    n = sum(f.n for f in folds)
    fr, fa = sum(f.false_refusals for f in folds), sum(f.false_answers for f in folds)
    print(f"  合计: {n - fr - fa}/{n} 判定正确，误拒答 {fr}，不应答而答 {fa}")
    if args.action == "loco":
        return 0
    model = fit_all(rows, c=args.c)
    model.save(args.out)
    print(f"已写入 {args.out}：{json.dumps(model.weights, ensure_ascii=False)} bias {model.bias} "
          f"threshold {model.threshold}")
    return 0


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    """Latency p50/p95/mean of ``ask`` for both fusion methods (warm-up excluded); with
    ``--scale``, the synthetic-corpus scale benchmark (``knowledge.scalebench``) instead."""
    if getattr(args, "scale", None):
        try:
            sizes = parse_scale(args.scale)
        except ValueError as exc:
            raise InvalidInputError(str(exc), user_message="--scale 的格式如 1k,10k,100k。") from exc
        run_scale_bench(settings, sizes, rounds=max(1, args.rounds), as_json=args.json)
        return 0
    if args.n < 1:
        raise InvalidInputError("--n must be positive", user_message="--n 必须大于 0。")
    path = args.questions or (BUNDLED_QUESTIONS if BUNDLED_QUESTIONS.exists() else None)
    questions = questions_from_file(path) if path else list(SAMPLE_QUESTIONS)
    service = open_service(settings, args.kb)
    service.warm_up()
    summaries = {}
    for method in ("rrf", "weighted"):
        for q in questions:  # warm-up pass, not timed
            service.ask(q, fusion=method)
        def ask(q: str, _m: str = method) -> Answer:
            return service.ask(q, fusion=_m)

        result = benchmark(ask, questions, args.n, label=method)
        summaries[method] = result.summary()
    print(f"问答延迟（{args.n} 次，{len(questions)} 个问题，来源 {path or '内置示例'}，已预热）：")
    for method, s in summaries.items():
        default = "（默认）" if method == service.retriever.fusion else ""
        print(
            f"  {method}{default}: p50 {s['p50']:.1f} ms  p95 {s['p95']:.1f} ms  "
            f"mean {s['mean']:.1f} ms  max {s['max']:.1f} ms"
        )
    ratio = summaries["rrf"]["p50"] / summaries["weighted"]["p50"] if summaries["weighted"]["p50"] else 0.0
    print(f"  p50 之比 rrf/weighted = {ratio:.2f}")
    return 0
