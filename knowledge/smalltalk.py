"""Small talk: greetings, thanks, "who are you" and goodbyes get a short friendly reply.

:func:`detect` tells whether a message (already cleaned, see
``knowledge.conversation_input.clean_message``) is only small talk; a greeting followed by a
question (你好，优待证怎么办) is a question. :func:`reply` gives the reply, with two or three
example questions (:data:`EXAMPLE_QUESTIONS`) to show what can be asked.
"""

from __future__ import annotations

import re

KINDS = ("greeting", "thanks", "identity", "goodbye")

_PATTERNS: dict[str, re.Pattern[str]] = {
    "greeting": re.compile(
        r"(你好|您好|你们好|大家好|哈喽|嗨|hi|hello|hey|在吗|在不在|有人吗|早上好|上午好|中午好|下午好|"
        r"晚上好|早安|晚安|早|喂)"
    ),
    "thanks": re.compile(
        r"(谢谢|多谢|感谢|谢了|辛苦了|麻烦你了|thanks|thank you|thx|好的|好滴|知道了|明白了|收到|ok|okay)"
    ),
    "identity": re.compile(
        r"(你是谁|你是什么|你叫什么|你是机器人吗|你是人吗|你是真人吗|你能做什么|你会什么|你能干什么|"
        r"你有什么用|你可以做什么|介绍一下你自己|介绍下你自己|你是哪个部门的)"
    ),
    "goodbye": re.compile(r"(再见|拜拜|回头见|下次见|bye|goodbye)"),
}
_FILLER = re.compile(r"[\s,.!?~，。！？、…～:：;；\"'“”‘’()（）\-—啊呀呢吧哦噢嗯哈啦了的哇哟呗]+")

EXAMPLE_QUESTIONS: tuple[str, ...] = (
    "优待证怎么申领？",
    "残疾军人坐火车有什么优待？",
    "烈士子女中考有加分吗？",
)

_REPLIES = {
    "greeting": "您好！我是退役军人服务与优待政策助手，可以解答优待政策问题，也可以帮您登记投诉。",
    "thanks": "不客气，很高兴能帮到您！还有其他问题随时问我。",
    "identity": (
        "我是退役军人服务与优待政策助手：解答优待证、交通出行、景区游览、子女教育等政策问题"
        "（每条回答注明依据的文件和条款），也可以登记投诉并查询办理进度。我的回答仅供参考。"
    ),
    "goodbye": "再见！祝您生活顺利，有需要随时来问。",
}


def detect(text: str) -> str | None:
    """The small-talk kind of ``text`` (one of :data:`KINDS`), or None when it asks something else.

    A message is small talk when nothing but small-talk phrases and fillers remain; the first
    matching kind in the order identity, thanks, goodbye, greeting wins.
    """
    lowered = text.lower().strip()
    if not lowered or len(lowered) > 30:
        return None
    found: list[str] = []
    rest = lowered
    for kind in ("identity", "thanks", "goodbye", "greeting"):
        pattern = _PATTERNS[kind]
        if pattern.search(rest):
            found.append(kind)
            rest = pattern.sub(" ", rest)
    if not found or _FILLER.sub("", rest):
        return None
    return found[0]


def reply(kind: str, examples: tuple[str, ...] = EXAMPLE_QUESTIONS) -> str:
    """The reply to small talk of ``kind``, followed by example questions (plain text)."""
    lines = [_REPLIES.get(kind, _REPLIES["greeting"]), "", "您可以这样问我："]
    lines += [f"• {q}" for q in examples[:3]]
    return "\n".join(lines)
