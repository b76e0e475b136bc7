"""Checks on a question itself, before or beside retrieval: domain vocabulary, attempts to
override the assistant (injection), and questions about how far one's own application has got.

Each is a pure function of the question text (and, for the domain check, a vocabulary);
none raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from knowledge.text import USER_DICT, normalize

if TYPE_CHECKING:
    from knowledge.synonyms import SynonymTable

# Words that by themselves place a question in the veterans' services domain.
# 优待政策 is listed so that the typo corrector never reads its 优待政 as a slip for 优待证.
DOMAIN_TERMS: frozenset[str] = frozenset(
    """军人 退役 退伍 复员 转业 老兵 军队 部队 当兵 服役 入伍 参军 现役 军官 士兵 军士 义务兵 武警
    军属 军嫂 烈士 烈属 遗属 三属 英烈 牺牲 因公 病故 伤残 残疾军人 伤残军人 优待 优待证 优抚 抚恤
    褒扬 光荣牌 光荣之家 立功 双拥 拥军 安置 退役金 退役费 服务站 服务中心 事务局 退役军人事务 信访
    投诉 举报 军龄 参战 立功受奖 上访 国防 国防教育 文职人员 军人保险 伤亡保险 英雄 烈士纪念
    优待政策""".split()
)

# Requests to override the assistant's role or to produce unrelated content.
_INJECTION = re.compile(
    r"(忽略|无视|忘记|忘掉|跳过|不要遵守|不用遵守|绕过).{0,12}(指令|指示|提示|规则|设定|限制|要求|命令|上文|前文|之前|以上)"
    r"|(系统|初始|隐藏|原始)(提示词|提示语|指令|prompt|设定)|提示词|system\s*prompt|jailbreak|越狱"
    r"|ignore\s+(all\s+|any\s+)?(previous|prior|above|the)?\s*(instructions|rules|prompts?)"
    r"|disregard\s+.{0,20}instructions|developer\s+mode|开发者模式|\bDAN\b"
    r"|(扮演|假装|角色扮演|cosplay)|你(现在|从现在起|从今以后)(是|就是|扮演|变成)"
    r"|(写|作|创作|编|来|给我)(一|几)?(首|篇|段|个|则)?.{0,8}(诗|词|歌|歌词|小说|故事|笑话|作文|散文|对联)"
    r"|(写|编写|生成|给我).{0,10}(代码|程序|脚本|函数|sql|python|java)|\bcode\b|\bpoem\b",
    re.IGNORECASE,
)

# A question about how far the asker's own application has got (优待证办好了吗, 批下来没有,
# 到哪一步了): no policy text knows it. How long such a thing takes is a policy question.
_PERSONAL_STATUS = re.compile(
    r"办好了?[吗没么]|办下来了?[吗没么]|批下来了?[吗没么]|批了[吗没么]|批没批|到哪一?步|办到哪|进度"
    r"|审核通过了?[吗没么]|通过了没|有结果了?[吗没么]|发下来了?[吗没么]|寄到哪|怎么还没(?:办|批|发|到|下来|消息|结果)"
)
_ASKS_DURATION = re.compile(r"多久|多长时间|几天|几个月|时限|期限|一般要")


# A question whether a benefit applies to something (有优惠吗, 能打折吗, 免费吗, 给补贴吗, 能
# 报销吗, 加分吗), or a tax (退伍费要交税吗): what it asks about must be in a rule, or no rule
# grants or levies it.
ENTITLEMENT = re.compile(
    r"优惠|优待(?!证)|打折|几折|折扣|半价|免费|免.{0,3}费|减免|补贴|补助|报销|加分|奖金|便宜|绿色通道|要钱|收费|门票"
    r"|[交缴纳扣征免]税|个税"
)


# Replacing a lost card (优待证丢了去哪补办): only a rule on 补办/挂失 answers it, not one that
# the card is issued (接收退役军人时…发放退役军人优待证).
_REPLACEMENT_ASK = re.compile(r"丢了|丢失|遗失|弄丢|掉了|补办|补发|挂失|补领|换证|坏了")
REPLACEMENT_RULE = re.compile(r"补办|补发|挂失|补领|换发|丢失|遗失|损坏|重新(?:办理|申领|发放)")


def asks_replacement(question: str) -> bool:
    """Whether ``question`` asks how to replace a lost or broken card or paper."""
    return bool(_REPLACEMENT_ASK.search(normalize(question)))


def asks_entitlement(question: str) -> bool:
    """Whether ``question`` asks if a benefit applies (or a tax is levied): ``ENTITLEMENT``."""
    return bool(ENTITLEMENT.search(normalize(question)))


def is_personal_status(question: str) -> bool:
    """True when ``question`` asks how far the asker's own application or case has got."""
    text = normalize(question)
    return bool(_PERSONAL_STATUS.search(text)) and not _ASKS_DURATION.search(text)


def is_injection(question: str) -> bool:
    """True for attempts to change the assistant's role or get unrelated content written."""
    return bool(_INJECTION.search(normalize(question)))


def load_userdict_words(path: Path | None = USER_DICT) -> frozenset[str]:
    """Words of a jieba user dictionary (first column), empty when the file is missing."""
    if path is None or not path.exists():
        return frozenset()
    words = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.strip().split()
        if parts and not parts[0].startswith("#"):
            words.add(parts[0].lower())
    return frozenset(words)


def domain_vocabulary(synonyms: SynonymTable | None = None, extra: Iterable[str] = ()) -> frozenset[str]:
    """The domain words: built-in terms, every synonym term and the user dictionary."""
    vocab = set(DOMAIN_TERMS)
    if synonyms is not None:
        vocab |= synonyms.terms
    vocab |= {w for w in extra if len(w) >= 2}
    return frozenset(vocab)


def has_domain_vocabulary(question: str, vocabulary: Iterable[str]) -> bool:
    """True when any domain word occurs in the question."""
    text = normalize(question).lower()
    return any(term and term in text for term in vocabulary)
