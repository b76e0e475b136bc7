"""The part of a letter-style question that asks: question sentences out of a narrative.

Letters to a bureau tell a story (who writes, when they served, where they live, what
happened) and then ask one or two questions. Searched as a whole, the story's words (names,
years, places, "谢谢") weigh as much as the question's and pull in unrelated articles. The
*focus* of such a text is:

* every sentence that asks (a question mark, 请问/想问/能不能/有没有/吗 …);
* the sentence just before a question that points back to it ("对这个决定不服…" needs the
  decision named before it), or before a question too short to stand alone;
* when the kept sentences name no person group, the clause of the story that does
  ("我在部队训练时受伤，评了七级残疾" → 评了七级残疾), so that rules for that group still rank;

with courtesy sentences, self-introductions by name, dates and ages removed. Short questions
and texts without a question sentence are returned unchanged (only courtesy and dates dropped
from a long one): the focus never invents words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.persons import asked_group, group_mention
from knowledge.text import normalize

# Below this length a text is a question, not a letter: it is searched as typed.
MIN_LETTER_CHARS = 40
# A question sentence shorter than this (after clean-up) does not stand alone.
MIN_QUESTION_CHARS = 16
# How many sentences before a question its pointing-back words (这种, 那笔) may reach.
MAX_BACK = 2
# What follows a question opener (请问, 想问) must be this long to be the question by itself.
MIN_CUT_REST = 6

_ENDS = "。！？!?；;….."
_SENTENCE = re.compile(r"(?<=[。！？!?；;…])|\n+")
_CLAUSE = re.compile(r"[，,、：:]")
_ASKS = re.compile(
    r"[？?]|请问|想问|问一下|问问|请教|咨询一下|能否|是否|能不能|可不可以|可否|有没有|是不是|"
    r"吗[。！!.]?$|呢[。！!.]?$|怎么|怎样|如何|多少|哪里|哪儿|哪些|什么|(?:要|能|有|需要|得)几[天年个月次]"
)
# A question that refers back to what the story said.
_REFERS_BACK = re.compile(
    r"这个|这种|这些|这样|这么(?:做|办|干|搞|处理)|这笔|这[几段件事]|(?<![应活])该|(?<![因如彼])此|上述"
    r"|那[个种笔些件份样]|以上|(?<!其)他|她"
)
_COURTESY = re.compile(
    r"^(?:尊敬的[^，,！!。]{0,12}|各位[^，,！!。]{0,8}|领导|同志|工作人员)?(?:您好|你好|你们好|好)[！!，,。]?$"
    r"|^(?:谢谢|感谢|非常感谢|万分感谢|麻烦了|麻烦您了|辛苦了|盼复|盼回复|期待回复|望答复|恳请答复|此致|敬礼)"
    r"[^。！!？?]{0,12}[。！!]?$"
)
# Dates, years, ages and self-introductions by name: personal details, not search terms.
_PERSONAL = re.compile(
    r"[0-9一二三四五六七八九〇零]{4}年(?:[0-9一二三四五六七八九十]{1,2}月)?(?:[0-9一二三四五六七八九十]{1,3}[日号])?"
    r"|[0-9]{1,2}月[0-9]{1,2}[日号]|[0-9一二三四五六七八九十]{1,2}月份?|去年|前年|今年|前几年|上个月|最近"
    r"|(?:[0-9]{1,3}|[一二三四五六七八九十]{2,4})(?:周)?岁了?"
    r"|我(?:叫|是|姓)[\u4e00-\u9fff]{1,3}(?=[，,。！!])(?<!军人)(?<!老兵)(?<!军嫂)(?<!军属)"
)
_LEADING_COURTESY = re.compile(
    r"^(?:(?:尊敬的[^，,！!。]{0,12}|各位[^，,！!。]{0,8})?(?:您好|你好|你们好)|(?:尊敬的|各位)[^，,！!。]{0,8}好)[！!，,]?"
)
# Words that open a question without saying what it is about.
_ASK_OPENER = re.compile(
    r"(?:想|还想)?(?:请问|问一下|问问|想问|请教一下|请教|咨询一下)(?:一下)?(?:您|你们)?"
    r"(?:国家|政策|上级)?(?:规定|有没有规定)?(?:[，,]|(?=是不是|是否|能不能|有没有))?"
)


# Connectives that open a letter's next sentence or second question ("另外，…").
_LEADING_CONNECTIVE = re.compile(r"^(?:另外|此外|还有就是|还有|再者|其次|最后|同时|再就是)[，,、：:]?")


def _clean(sentence: str) -> str:
    text = _LEADING_COURTESY.sub("", sentence.strip())
    text = _LEADING_CONNECTIVE.sub("", text)
    text = _PERSONAL.sub("", text)
    return text.strip(" ，,、")


def _sentences(text: str) -> list[str]:
    out = []
    for raw in _SENTENCE.split(text):
        raw = raw.strip()
        if not raw or _COURTESY.match(raw):
            continue
        cleaned = _clean(raw)
        if len(cleaned) >= 2:
            out.append(cleaned)
    return out


def asks(sentence: str) -> bool:
    """True when ``sentence`` asks something (question mark, 请问, 能不能, 吗 at its end …)."""
    return bool(_ASKS.search(sentence))


@dataclass(frozen=True)
class Focus:
    """What to search for a text: ``asking`` (its question sentences, openers such as 请问 cut)
    and ``context`` (story sentences or clauses kept to make them understood); for a short
    question ``asking`` is the question itself and ``context`` is empty."""

    asking: str
    context: str = ""

    @property
    def text(self) -> str:
        """Context then question, as one search text."""
        return f"{self.context}{self.asking}"


def question_focus(text: str) -> Focus:
    """The asking part of a letter-style ``text`` (see the module docstring); ``text`` itself
    when it is short (under ``MIN_LETTER_CHARS`` characters) or has a single sentence."""
    norm = normalize(text)
    if len(norm) < MIN_LETTER_CHARS:
        return Focus(text)
    sentences = _sentences(norm)
    if len(sentences) < 2:
        return Focus(text)
    asking = [i for i, s in enumerate(sentences) if asks(s)]
    if not asking or len(asking) == len(sentences):
        return Focus(_join(sentences))
    cut = {i: _cut_opener(sentences[i]) for i in asking}
    questions = {i: q for i, (_, q) in cut.items()}
    keep: set[int] = set()
    for i, (_, q) in cut.items():
        short = len(sentences[i]) < MIN_QUESTION_CHARS
        if i > 0 and i - 1 not in questions and (_REFERS_BACK.search(q) or short):
            keep.add(i - 1)
            # A kept sentence that itself points back (再请这种假 → the leave named before it)
            # needs its own antecedent: at most MAX_BACK sentences in all.
            j = i - 1
            while j > 0 and i - j < MAX_BACK and j - 1 not in questions and _REFERS_BACK.search(sentences[j]):
                j -= 1
                keep.add(j)
    context = [part for i in sorted({*keep, *questions})
               for part in ([sentences[i]] if i in keep else [cut[i][0]]) if len(part) >= 2]
    story = [s for i, s in enumerate(sentences) if i not in keep and i not in questions]
    mention = group_mention("".join(story))
    if mention and asked_group("".join([*questions.values(), *context])) is None:
        # Only the words naming the story's group (评了七级残疾 → 残疾): the rest of the
        # clause is the story, not the question.
        context.insert(0, mention)
    return Focus(_join(list(questions.values())), _join(context) if context else "")


def _cut_opener(sentence: str) -> tuple[str, str]:
    """(what precedes the opener, the question after it): "我们全家都很难受，想问问国家规定是不是…"
    → ("我们全家都很难受", "是不是…"); ("", sentence) when there is no opener or too little
    follows it. What precedes is kept as context: it may be feelings, or the topic itself."""
    m = _ASK_OPENER.search(sentence)
    if m is None:
        return "", sentence
    rest = sentence[m.end():].strip(" ，,")
    if len(rest) < MIN_CUT_REST:
        return "", sentence
    return sentence[: m.start()].strip(" ，,"), rest


def _join(sentences: list[str]) -> str:
    return "".join(s if s[-1] in _ENDS else s + "。" for s in sentences)
