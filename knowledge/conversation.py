"""Conversation: one message in a chat, understood as people write it, answered.

``ConversationService.reply(message, state, region)`` is the one implementation used by the
bot, the web 智能问答 page / ``POST /v1/ask`` and ``vetbot ask --chat-batch``:

1. the message is cleaned (``knowledge.conversation_input.clean_message``: NFKC, zero-width
   characters and emoji removed, traditional → simplified, a long message cut to its question);
2. small talk (``knowledge.smalltalk``) gets a friendly reply with example questions
   (``intent="smalltalk"``, not refused, nothing retrieved);
3. a message in another language gets a Chinese hint (``refusal_reason="language"``);
4. domain-word typos are corrected (``TypoCorrector``);
5. an elliptical follow-up (那火车呢, 那我老婆呢, 还有呢, 济南呢) is rewritten from the chat's
   context (the last question and its slots: person, benefit, region, article) into a full
   question; a message with its own person and benefit starts a new topic;
6. the knowledge service answers the (rewritten) question; ``Answer.understood_as`` is the
   rewritten question (None when the message was used as typed), and the answer starts with
   按“残疾军人乘火车”理解 when it was rewritten from context; a grievance asked as a question
   (凭什么别人有补贴我没有) is answered as a question with ``offer_complaint``.

The context (``state``) is a JSON-able dict the caller stores with the conversation (the bot
in ``user_data``, i.e. its database persistence; the web app in the session) and passes back
next time; it expires after ``ttl`` (default 30 minutes) without messages.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from knowledge import smalltalk
from knowledge.conversation_input import (
    TypoCorrector,
    clean_message,
    english_hint_question,
    foreign_language,
    retrieval_text,
)
from knowledge.conversation_slots import RELATION_COVERAGE, Slots, benefit_phrase, extract
from knowledge.question_checks import domain_vocabulary, load_userdict_words
from knowledge.synonyms import SynonymTable
from knowledge.types import NATIONAL, Answer
from vetbot.clock import utcnow
from vetbot.errors import InvalidInputError, VetbotError
from vetbot.regions import spellings
from vetbot.textnorm import clean_input

logger = logging.getLogger(__name__)

DEFAULT_TTL = timedelta(minutes=30)

# Markers of a message that leans on the previous one.
_ELLIPSIS = re.compile(
    r"^(那么|那要是|那如果|那|如果是|要是|换成|改成|还有|也|他|她|他们|她们|我家|我的)|呢[?？!！。.]*$|还有呢|^又|同样"
)
# A bare question about the previous topic (多久能办下来, 要带什么): it names no topic of its own.
_BARE_ASK = re.compile(
    r"^(?:那)?(?:多久|多长时间|多少天|几天|多少钱|要多少钱|什么时候|在哪|去哪|到哪|哪里|要带|需要带|要准备|需要什么|要什么|找谁|谁管)"
)
_BARE_MAX = 10  # characters, fillers aside
# A grievance asked as a question (凭什么别人有补贴我没有) is answered first, with an offer to
# file; only an explicit wish to file makes it a complaint.
_GRIEVANCE_QUESTION = re.compile(r"凭什么|凭啥|为什么|为啥|怎么就|难道|不公平|不合理")
_GRIEVANCE = re.compile(r"凭什么|凭啥|不公平|不合理|就不行|就没有|欺负人|区别对待")
_FILING = re.compile(r"投诉|举报|信访|控告|我要反映|要求.{0,12}处理|给个说法|讨个说法|查处|追责")
_FILLER = re.compile(r"[\s,.!?，。！？、…呢吧啊呀的了吗]+")
# The line a follow-up's answer opens with; pages that show ``understood_as`` themselves drop it.
_UNDERSTOOD_LINE = "（按“{}”理解）\n"
_UNDERSTOOD_OPENING = re.compile(r"（按“[^”\n]*”理解）\n")


class Asker(Protocol):
    """What the conversation needs of ``knowledge.service.KnowledgeService``."""

    vocabulary: frozenset[str]

    def ask(self, question: str, region: str | None = None) -> Answer:
        """Answer one stand-alone question."""

    def regions(self) -> list[str]:
        """Regions in the knowledge base (``全国`` first)."""


@dataclass
class Context:
    """The subject of a chat's last question (stored as a dict, see :meth:`to_state`)."""

    question: str
    slots: Slots = field(default_factory=Slots)
    at: str = ""  # ISO UTC time of the last question

    def to_state(self) -> dict[str, Any]:
        """A JSON-able dict for storage."""
        return {"question": self.question, "slots": asdict(self.slots), "at": self.at}

    @classmethod
    def from_state(cls, state: dict[str, Any] | None, now: datetime, ttl: timedelta) -> Context | None:
        """The stored context, or None when missing, malformed or older than ``ttl``."""
        if not isinstance(state, dict) or not state.get("question"):
            return None
        try:
            at = datetime.fromisoformat(str(state.get("at")))
            slots = Slots(**dict(state.get("slots") or {}))
        except (TypeError, ValueError):
            return None
        if now - at > ttl:
            return None
        return cls(str(state["question"]), slots, at.isoformat())


@dataclass
class Turn:
    """One reply: the answer (``intent`` question/complaint/smalltalk) and the context to store."""

    answer: Answer
    state: dict[str, Any] | None
    smalltalk: str | None = None
    corrections: list[tuple[str, str]] = field(default_factory=list)


def without_understood_line(text: str) -> str:
    """``text`` without the 按“…”理解 line a rewritten follow-up's answer opens with.

    For a page that states ``Answer.understood_as`` on its own line, so the follow-up is not
    explained twice; any other text is returned unchanged.
    """
    match = _UNDERSTOOD_OPENING.match(text)
    return text[match.end():] if match else text


def run_chats(
    conversation: ConversationService, lines: Iterable[dict[str, Any]], region: str | None = None
) -> list[dict[str, Any]]:
    """Answer chat lines (``{"chat", "q"[, "region"]}``) in order, one context per ``chat`` id.

    One result per line: the Answer's JSON fields (``understood_as`` and ``intent`` included)
    plus ``chat``; a line the service rejects gives ``{"chat", "question", "error"}`` (Chinese).
    """
    states: dict[str, dict[str, Any] | None] = {}
    out: list[dict[str, Any]] = []
    for item in lines:
        chat = str(item.get("chat", ""))
        try:
            turn = conversation.reply(str(item["q"]), states.get(chat), item.get("region") or region)
        except VetbotError as exc:  # one bad line must not stop the batch
            out.append({"chat": chat, "question": item["q"], "error": exc.user_message})
            continue
        states[chat] = turn.state
        out.append({"chat": chat, **turn.answer.model_dump(mode="json")})
    return out


class ConversationService:
    """Answers chat messages with context; see the module docstring."""

    def __init__(self, knowledge: Asker, *, ttl: timedelta = DEFAULT_TTL,
                 vocabulary: Iterable[str] | None = None) -> None:
        self.knowledge = knowledge
        self.ttl = ttl
        if vocabulary is None:
            # The service's domain words; the same dictionary files when it has none.
            vocabulary = getattr(knowledge, "vocabulary", None) or domain_vocabulary(
                SynonymTable.load(), load_userdict_words()
            )
        self.corrector = TypoCorrector(vocabulary)

    def reply(self, message: str, state: dict[str, Any] | None = None, region: str | None = None,
              *, now: datetime | None = None) -> Turn:
        """Answer ``message`` in the chat whose stored context is ``state``.

        Returns the answer and the new context to store (None to forget it). Raises what
        ``KnowledgeService.ask`` raises (InvalidInputError for an empty message,
        KnowledgeBaseError).
        """
        now = now or utcnow()
        typed = (message or "").strip()
        if not typed:
            raise InvalidInputError("empty message", user_message="问题不能为空")
        text = retrieval_text(typed) or typed
        kind = smalltalk.detect(clean_message(text))
        if kind is not None:
            answer = Answer(question=typed, answer=smalltalk.reply(kind), refused=False, intent="smalltalk")
            return Turn(answer, state if Context.from_state(state, now, self.ttl) else None, smalltalk=kind)
        if foreign_language(text):
            return Turn(self._language_hint(typed, text), None)
        corrected, fixes = self.corrector.correct(text)
        context = Context.from_state(state, now, self.ttl)
        slots = extract(corrected, self._region_keys())
        rewritten, slots, from_context = self._rewrite(corrected, slots, context)
        answer = self.knowledge.ask(rewritten, region)
        answer.question = typed
        if answer.intent == "complaint" and _GRIEVANCE_QUESTION.search(text) and not _FILING.search(text):
            answer.intent, answer.offer_complaint = "question", True
        elif answer.intent == "question" and _GRIEVANCE.search(text) and not answer.refused:
            answer.offer_complaint = True
        if rewritten not in (typed, clean_input(typed)):
            answer.understood_as = rewritten
        if from_context and not answer.refused and answer.intent == "question":
            answer.answer = _UNDERSTOOD_LINE.format(_label(slots, rewritten)) + answer.answer
            note = _relation_note(slots, answer)
            if note:
                answer.answer += "\n\n" + note
        keep = answer.intent == "question" and (not answer.refused or from_context)
        new_state = Context(rewritten, slots, now.isoformat()).to_state() if keep else None
        return Turn(answer, new_state, corrections=[(c.typed, c.word) for c in fixes])

    # ------------------------------------------------------------------ parts
    def _region_keys(self) -> dict[str, str]:
        # Every way a KB region is written (济南市 / 济南) finds it; a name the gazetteer does
        # not know is matched as written.
        return {
            spelling: r
            for r in self.knowledge.regions()
            if r != NATIONAL
            for spelling in (spellings(r) or [r])
        }

    def _rewrite(self, text: str, slots: Slots, context: Context | None) -> tuple[str, Slots, bool]:
        """(question to ask, its slots, whether the context was used)."""
        if context is None or not _is_followup(text, slots):
            return text, slots, False
        prev = context.slots
        question = context.question
        merged = Slots(**asdict(prev))
        if slots.person:  # a person of its own: replaces the previous one
            merged.person, merged.relation = slots.person, None
            # The category, not the words typed: 我爸是烈士 → 烈士子女.
            question = _swap(question, prev.person_text, slots.person, prefix=True)
            merged.person_text = slots.person
        elif slots.relation:
            root = (prev.person or "退役军人").split("的")[0]
            subject = f"{root}的{slots.relation}"
            question = _swap(question, prev.person_text, subject, prefix=True)
            merged.person, merged.person_text, merged.relation = subject, subject, slots.relation
        if slots.benefit:
            merged.benefit, merged.benefit_text = slots.benefit, slots.benefit_text
        if slots.region:
            merged.region, merged.region_text = slots.region, slots.region_text
        if slots.empty:
            # Nothing to swap (那要是超期了呢, 多久能办下来): the new words are asked about the
            # previous question's topic, not dropped.
            question = f"{question.rstrip('？?。!！')}，{text}"
        elif slots.article and prev.article and prev.article in question:
            question = question.replace(prev.article, slots.article, 1)
            merged.article = slots.article
        elif merged.benefit:
            # A canonical question retrieves better than the previous wording with one word
            # swapped (坐火车免费吗 finds the 免费 articles, not the 火车 ones).
            question = f"{merged.person or ''}{benefit_phrase(merged.benefit)}有什么优待？"
            merged.person_text = merged.person
            merged.benefit_text = benefit_phrase(merged.benefit)
            if merged.region:
                question = f"在{merged.region}，{question}"
                merged.region_text = merged.region
        elif slots.region:
            question = f"在{slots.region}，{question}"
        return question, merged, True

    @staticmethod
    def _language_hint(typed: str, text: str) -> Answer:
        suggestion = english_hint_question(text)
        lines = ["抱歉，我目前只能用中文回答问题。"]
        if suggestion:
            lines.append(f"您想问的可能是：“{suggestion}”，可以直接发送这句中文。")
        lines += ["", "您也可以这样问我："] + [f"• {q}" for q in smalltalk.EXAMPLE_QUESTIONS]
        lines += ["", "如需人工帮助，可咨询当地退役军人服务站，或拨打 12345 政务服务热线。"]
        return Answer(
            question=typed, answer="\n".join(lines), refused=True, refusal_reason="language",
            understood_as=suggestion,
        )


def _is_followup(text: str, slots: Slots) -> bool:
    """True when ``text`` leans on the previous question rather than standing alone."""
    if slots.person and slots.benefit and not slots.relation:
        return False  # a question with its own subject: a new topic
    if _ELLIPSIS.search(text):
        return True
    if slots.empty and _BARE_ASK.search(text) and len(_FILLER.sub("", text)) <= _BARE_MAX:
        return True
    # Nothing but slot words (火车？ / 济南): the rest of the question is the previous one's.
    rest = text
    words = (slots.person_text, slots.relation_text, slots.benefit_text, slots.region_text, slots.article)
    for word in words:
        rest = rest.replace(word or "\0", "")
    return not slots.empty and len(_FILLER.sub("", rest)) <= 1


def _swap(question: str, old: str | None, new: str, *, prefix: bool) -> str:
    if old and old in question:
        return question.replace(old, new, 1)
    return f"{new}，{question}" if prefix else question


def _label(slots: Slots, question: str) -> str:
    if slots.person and slots.benefit:
        return f"{slots.person}{benefit_phrase(slots.benefit)}"
    return question


def _relation_note(slots: Slots, answer: Answer) -> str | None:
    """A note when the question is about a relative and the cited rules never mention one."""
    if not slots.relation or not slots.person:
        return None
    words = RELATION_COVERAGE.get(slots.relation, (slots.relation,))
    if any(w in s.text for s in answer.sources for w in words):
        return None
    root = slots.person.split("的")[0]
    return (
        f"说明：以上依据针对的是{root}本人，没有提到其{slots.relation}；知识库中没有专门针对"
        f"{slots.person}的规定，能否享受请以当地规定为准，可咨询当地退役军人服务站或拨打 12345。"
    )
