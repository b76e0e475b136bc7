"""Follow-ups on the bundled knowledge base, over the fake Bot API: the right rule for the right person."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from tests.bot.conftest import VETERAN, make_settings, start_harness, stop_harness


async def test_train_and_spouse_follow_ups_after_a_disabled_veterans_bus_question(
    tmp_path: Path, session_factory: sessionmaker[Session], knowledge_service: Any
) -> None:
    h = await start_harness(make_settings(tmp_path), session_factory, knowledge_service)
    try:
        await h.say(VETERAN, "我是残疾军人，坐公交免费吗")
        first = h.last_text(VETERAN)
        assert "免费" in first and "第五十二条第二款" in first
        await h.say(VETERAN, "那火车呢？")
        train = h.last_text(VETERAN)
        assert "按“残疾军人乘火车”理解" in train
        assert "第五十二条第一款" in train  # the rule for disabled servicemen on trains: 50% fares
        await h.say(VETERAN, "我是残疾军人，坐公交免费吗")
        await h.say(VETERAN, "那我老婆呢？")
        spouse = h.last_text(VETERAN)
        assert "按“残疾军人的配偶乘公交”理解" in spouse
        # The KB has no national free-bus rule for spouses: the answer says it is left to local rules.
        assert "家属" in spouse and ("没有统一规定" in spouse or "以当地规定为准" in spouse)
        await h.say(VETERAN, "谢谢")
        assert "不客气" in h.last_text(VETERAN)
    finally:
        await stop_harness(h)
