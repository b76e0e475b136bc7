"""Who a question is about, and which groups a rule covers (退役军人, 残疾军人, 遗属, 现役军人 and family…).

:func:`asked_group` reads the person a question is about: a group (``GROUPS``) and the
relation of the person to it (``self``, ``family``: parents/spouse, ``children``), plus a
disability grade when one is named (残疾军人 五级 → 5). :func:`groups_in` lists the groups a
passage names. The answer uses both: among equally relevant rules it prefers the one covering
the asker's group, and when the rule it states covers another group it says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.text import normalize

# Group code -> Chinese label used in answers.
GROUPS: dict[str, str] = {
    "veteran": "退役军人",
    "disabled": "残疾军人",
    "martyr_family": "烈士遗属",
    "duty_death_family": "因公牺牲军人遗属",
    "illness_death_family": "病故军人遗属",
    "active": "现役军人",
    "military_family": "军人家属（军属）",
    # Only in passages: a rule naming 现役军人子女/家属 is for a serving member's family, and not
    # for a veteran's (退役军人的孩子上小学有优待吗 got 现役军人子女's school rule, unflagged).
    "active_family": "现役军人家属",
    "retired_cadre": "军休干部",
    # 普通退役军人: veterans outside the special groups (残疾军人, 军休…), whom a rule names to
    # say they are *not* covered by what it grants the others.
    "ordinary_veteran": "普通退役军人",
    "civilian": "老年人、儿童等其他人群",
}

# Order matters: more specific patterns first; a question names one subject.
_GROUP_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("duty_death_family", re.compile(r"因公牺牲")),
    ("martyr_family", re.compile(
        r"烈士(遗属|家属|子女|父母|配偶|的)|烈属|三属|英烈家属|牺牲.{0,6}(家里|家属|遗属)")),
    ("illness_death_family", re.compile(r"病故")),
    ("disabled", re.compile(r"残疾军人|伤残军人|伤残|残疾|[一二三四五六七八九十1-9]级(伤残|残疾)")),
    ("retired_cadre", re.compile(r"军休|军队离(休|退休)|离休干部|退休干部")),
    ("active", re.compile(
        r"现役|(?<!当年)(?<!以前)(?<!原来)(?<!过去)(?<!曾经)(?<!曾)(?<!年轻时)(?<!那时)在部队|在役"
        r"|当兵的?(儿子|孩子|家人)|部队(服役|当兵)|正在服役|服现役|义务兵家庭")),
    ("military_family", re.compile(
        r"军属|军嫂|随军|(?<!退役)(?<!残疾)(?<!伤残)军人的?(家属|配偶|子女|父母|孩子|儿子|女儿|爸妈|老婆|老公)")),
    # 退役医疗保险 is a serving member's insurance, not a word for veterans.
    # 当年在部队立过功: a past stint in the forces is a veteran's.
    ("veteran", re.compile(
        r"退役(?!医疗)|退伍|复员|转业|老兵|退下来|以前当过兵|当过兵|(?:当年|以前|原来|过去|曾经?|年轻时|那时)在部队")),
)
# 我爸当年在部队: the relative named before a past stint is the veteran, as with 我爸是老兵.
_PAST = re.compile(r"当年|以前|原来|过去|曾|年轻时|那时")
_FAMILY = re.compile(r"(爸|妈|父母|父亲|母亲|老人|配偶|妻子|老婆|媳妇|丈夫|老公|爱人|家属|家人|家里)")
_CHILDREN = re.compile(r"(子女|孩子|儿子|女儿|小孩|娃)")
_VETERAN_GROUPS = ("veteran", "disabled", "retired_cadre")
# A rule that names a group's relatives (退役军人及其家属, 退役军人子女) covers them too.
_KIN_WORDS = re.compile(r"家属|配偶|子女|父母|亲属|家庭|遗属|随迁|随同|抚养|赡养|孩子|儿子|女儿")
# The asker as the one who would act or benefit (我坐公交, 我们家能享受, 我可以…).
_ASKER_ACTS = re.compile(r"我们?家?(?:能|可以|坐|乘|去|看病|住院|上班|办|领|享受|有没有|要不要|算不算|也)")
# "我儿子在部队服役", "我爸是老兵": the relative named before the group word *is* its member.
_IS_MEMBER = re.compile(r"(是|在|当过?|曾|为)$")
# Groups that are already a family (遗属, 军属): no relation is read around them.
_FAMILY_GROUPS = ("martyr_family", "duty_death_family", "illness_death_family", "military_family")
_GRADE = re.compile(r"([一二三四五六七八九十]|10|[1-9])级")
_CN_DIGITS = {c: i for i, c in enumerate("一二三四五六七八九十", 1)}

# How passages name each group (broader than the question patterns: official wording).
_PASSAGE_PATTERNS: dict[str, re.Pattern[str]] = {
    # 残疾退役军人 is the disabled group: a rule for them is not a rule for every veteran.
    # 退役军人事务部门 and 退役军人服务站 are offices, not the group.
    # A rule for a 军人 who 退出现役 is a rule for veterans (军人保险法: 军人退出现役后…; 保障法
    # 第三十五条: 入伍前的学生…退役后两年内…复学).
    "veteran": re.compile(
        r"(?<!残疾)(?<!伤残)(?<!普通)(?<!一般)(?:退役军人|退役士兵|退伍军人)(?!事务|服务)|复员军人|转业军官|退役军官"
        r"|退出现役(?:后|的|时|，|,)|(?<!自)退役后|退伍后|退役的?(?:义务兵|士兵|军士|军官)"
        r"|(?:军官|军士|士兵|义务兵)(?:[、和](?:军官|军士|士兵|义务兵))?(?:退役|退伍|退出现役)"
    ),
    "ordinary_veteran": re.compile(r"(?:普通|一般)(?:退役军人|退役士兵|退伍军人)"),
    "disabled": re.compile(r"残疾军人|伤残军人|(?:残疾|伤残)退役军人|伤残人民警察|因战、因公致残"),
    # What is paid on a 军人's death is paid to the family (给付军人伤亡保险金 on 军人…死亡).
    "martyr_family": re.compile(
        r"烈士遗属|烈属|烈士的?(父母|配偶|子女|兄弟姐妹)|烈士家属|三属|(?:军人|官兵)[^。；]{0,10}(?:死亡|牺牲)"
    ),
    "duty_death_family": re.compile(r"因公牺牲军人遗属|因公牺牲"),
    "illness_death_family": re.compile(r"病故军人遗属|病故"),
    # 军人 alone is a serving member; 退役军人, 残疾军人 … are other groups.
    "active": re.compile(
        r"现役军人|(?<!退役)(?<!伤残)(?<!残疾)(?<!病故)(?<!牺牲)军人(?!家属|配偶|子女|父母|遗属|保险)|官兵|服现役"
        r"|(?<!退役)(?<!转业)(?<!复员)军(?:官|士)(?!家属|配偶|子女|父母)"
    ),
    # 退役军人子女 are a veteran's children, not a serving member's family.
    "military_family": re.compile(
        r"(?<!退役)(?<!现役)(?:军人家属|军人配偶|军人子女|军人父母)|军属|随军|(?<!军人)家属"
    ),
    "active_family": re.compile(r"现役军人(?:的)?(?:家属|配偶|子女|父母)"),
    "retired_cadre": re.compile(r"军休|军队离休|军队退休|离退休干部"),
    # People a rule names for who they are outside the military (城市公共交通条例: 年满七十周岁的
    # 老年人, 身高不足一点二米的儿童): their free ride is no answer for a veteran. No question is
    # read as this group; a rule naming it beside a military group still covers that group.
    "civilian": re.compile(r"老年人|(?<!军人)(?<!烈士)儿童|未成年人|学生|(?<!伤)残疾人(?!民)|孕妇"),
}
# Groups that a rule for the wider group also covers (a 残疾军人 is a 退役军人 for most rules).
_WIDER: dict[str, tuple[str, ...]] = {
    "disabled": ("veteran",),
    "retired_cadre": ("veteran",),
    "duty_death_family": ("martyr_family",),
    "illness_death_family": ("duty_death_family", "martyr_family"),
}


@dataclass(frozen=True)
class AskedGroup:
    """The person a question is about: ``group`` (a ``GROUPS`` code), ``relation``
    (``self``, ``family``, ``children``, or ``kin`` when a relative of the asker is the member
    and the question may be about either) and the disability ``grade`` (1-10, 0 when none)."""

    group: str
    relation: str = "self"
    grade: int = 0

    @property
    def label(self) -> str:
        """Chinese description, e.g. 现役军人的家属, 烈士遗属."""
        base = GROUPS[self.group]
        if self.relation == "children" and self.group not in ("military_family",):
            return f"{base}的子女"
        if self.relation == "family" and self.group in ("active", "veteran", "disabled", "retired_cadre"):
            return f"{base}的家属"
        if self.relation == "kin" and self.group in ("active", "veteran", "disabled", "retired_cadre"):
            return f"{base}及其家属"
        if self.grade:
            return f"{self.grade}级{base}"
        return base

    def passage_groups(self) -> set[str]:
        """The passage groups whose rules apply to this person."""
        if self.relation in ("family", "children") and self.group == "active":
            return {"military_family", "active_family"}
        if self.relation in ("family", "children") and self.group in ("veteran", "disabled", "retired_cadre"):
            groups = {"military_family", self.group}  # some rules name 退役军人 and their families
        elif self.relation == "kin" and self.group in ("active", "veteran", "disabled", "retired_cadre"):
            groups = {self.group, "military_family", *_WIDER.get(self.group, ())}
            if self.group == "active":
                groups.add("active_family")
        else:
            groups = {self.group, *_WIDER.get(self.group, ())}
        if self.group == "veteran":
            groups.add("ordinary_veteran")
        return groups


def asked_group(question: str) -> AskedGroup | None:
    """The person ``question`` is about, or None when it names no group."""
    text = normalize(question)
    for code, pattern in _GROUP_PATTERNS:
        m = pattern.search(text)
        if m is None:
            continue
        tail = text[m.end(): m.end() + 6]
        head = text[max(0, m.start() - 4): m.start()]
        relation = "self"
        if _IS_MEMBER.search(head) or _IS_MEMBER.search(m.group(0)[:1]) or _PAST.match(m.group(0)):
            # 我儿子在部队 / 孩子他爸在部队 / 儿子现在还在部队: the relative is the member, and the
            # question may be about the member or about the asker's side (随军, 子女上学).
            before = text[max(0, m.start() - 8): m.start()]
            if _FAMILY.search(before) or _CHILDREN.search(before):
                relation = "kin"
                # 我儿子在部队，我坐公交免费吗: the asker asks for themself, a member's family.
                if _ASKER_ACTS.search(text[m.end():]):
                    relation = "family"
            head = ""
        if relation == "self" and code not in _FAMILY_GROUPS:
            if _CHILDREN.search(tail) or _CHILDREN.search(head):
                relation = "children"
            elif _FAMILY.search(tail) or _FAMILY.search(head):
                relation = "family"
        grade = 0
        g = _GRADE.search(text)
        if code == "disabled" and g:
            grade = _CN_DIGITS.get(g.group(1)) or int(g.group(1))
        return AskedGroup(code, relation, grade)
    return None


def group_mention(text: str) -> str | None:
    """The words of ``text`` that name the group :func:`asked_group` reads (评了七级残疾 → 残疾),
    or None when it names none."""
    norm = normalize(text)
    for _code, pattern in _GROUP_PATTERNS:
        m = pattern.search(norm)
        if m is not None:
            return m.group(0)
    return None


# A group word with one of these heads names a payment or a card, not a person (退伍费, 残疾军人证).
_THING_HEAD = re.compile(r"(?:费|金|钱|款|证|卡)$")


def names_thing(word: str) -> bool:
    """True when ``word`` ends in a card, paper or payment head (退伍证, 银行卡, 抚恤金, 退伍费)."""
    return bool(_THING_HEAD.search(word))


def names_person(word: str) -> bool:
    """True when ``word`` names a group or a relative (烈士子女, 老兵, 母亲): who, not what
    (退伍费 and 残疾军人证 name things)."""
    if names_thing(word):
        return False
    return asked_group(word) is not None or bool(_FAMILY.search(word) or _CHILDREN.search(word))


def groups_in(text: str) -> set[str]:
    """Codes of the groups a passage names."""
    norm = normalize(text)
    found = {code for code, pattern in _PASSAGE_PATTERNS.items() if pattern.search(norm)}
    if "active_family" in found:
        # 现役军人子女…享受当地军人子女教育优待政策: the later 军人子女 are the same children.
        found.discard("military_family")
    return found


def covers(asked: AskedGroup, passage_text: str) -> bool | None:
    """True when the passage names the asked group (or a wider one that includes it), False when
    it names only other groups, None when it names no group at all (a rule for everyone)."""
    named = groups_in(passage_text)
    if not named:
        return None
    return bool(named & asked.passage_groups())


def own_benefit_only(asked: AskedGroup, text: str) -> bool:
    """True when ``asked`` is a veteran's relative (spouse, children) and ``text`` names the
    veteran's group but no relatives: 持优待证的退役军人免费游览 is the veteran's own benefit and
    says nothing of the spouse. (A rule naming 退役军人及其家属 or 退役军人子女 covers them.)"""
    if asked.relation not in ("family", "children") or asked.group not in _VETERAN_GROUPS:
        return False
    named = groups_in(text)
    return bool(named & {asked.group, *_WIDER.get(asked.group, ())}) and not names_relatives(text)


def names_relatives(text: str) -> bool:
    """Whether ``text`` names someone's relatives (军人家属, 退役军人及其配偶, 烈士子女)."""
    return "military_family" in groups_in(text) or bool(_KIN_WORDS.search(normalize(text)))


def describe_groups(codes: set[str]) -> str:
    """Chinese list of group labels, in ``GROUPS`` order."""
    return "、".join(GROUPS[c] for c in GROUPS if c in codes)
