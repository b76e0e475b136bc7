"""DatabasePersistence, the 0004_bot migration, and resuming a complaint after a restart."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import select

from bot.models import BotConversation, BotUserData
from bot.persistence import DatabasePersistence
from tests.bot.conftest import VETERAN, FakeKnowledge, make_settings, start_harness, stop_harness
from vetbot.db import Base, create_db_engine, import_all_models, make_session_factory, upgrade


def test_bot_branch_migrates_alone_and_matches_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    upgrade(url, "bot@head")
    engine = create_db_engine(url)
    inspector = sa.inspect(engine)
    import_all_models()
    for name in ("bot_user_data", "bot_chat_data", "bot_kv", "bot_conversations"):
        migrated = {c["name"] for c in inspector.get_columns(name)}
        assert migrated == set(Base.metadata.tables[name].columns.keys()), name
        pk = set(inspector.get_pk_constraint(name)["constrained_columns"])
        assert pk == {c.name for c in Base.metadata.tables[name].primary_key.columns}, name
    assert "complaint_cases" not in inspector.get_table_names()  # only its own branch
    engine.dispose()


async def test_round_trip_of_all_kinds_of_data(db_url: str) -> None:
    engine = create_db_engine(db_url)
    session_factory = make_session_factory(engine)
    p = DatabasePersistence(session_factory)
    big_id = 7_000_000_000  # Telegram ids exceed 32 bits
    await p.update_user_data(big_id, {"region": "扬州市"})
    await p.update_user_data(1, {"region": "济南市", "complaint": {"theme": "card", "attachments": []}})
    await p.update_chat_data(2, {"x": [1, 2]})
    await p.update_bot_data({"version": 1})
    await p.update_conversation("complaint", (2, 1), "c_details")
    await p.update_conversation("complaint", (3, 3), "c_theme")
    await p.update_conversation("complaint", (3, 3), None)  # ended conversations are deleted

    fresh = DatabasePersistence(session_factory)
    assert await fresh.get_user_data() == {
        1: {"region": "济南市", "complaint": {"theme": "card", "attachments": []}},
        big_id: {"region": "扬州市"},
    }
    assert await fresh.get_chat_data() == {2: {"x": [1, 2]}}
    assert await fresh.get_bot_data() == {"version": 1}
    assert await fresh.get_conversations("complaint") == {(2, 1): "c_details"}
    assert await fresh.get_conversations("other") == {}

    await fresh.drop_user_data(1)
    await fresh.drop_chat_data(2)
    assert await DatabasePersistence(session_factory).get_user_data() == {big_id: {"region": "扬州市"}}
    assert await DatabasePersistence(session_factory).get_chat_data() == {}
    engine.dispose()


async def test_unchanged_data_is_not_rewritten_and_bad_values_are_skipped(session_factory) -> None:
    p = DatabasePersistence(session_factory)
    await p.update_user_data(1, {"a": 1})
    with session_factory() as s:
        first = s.get(BotUserData, 1).updated_at
    await p.update_user_data(1, {"a": 1})
    with session_factory() as s:
        assert s.get(BotUserData, 1).updated_at == first
    await p.update_user_data(1, {"a": {1, 2}})  # a set is not JSON: logged, previous value kept
    assert await DatabasePersistence(session_factory).get_user_data() == {1: {"a": 1}}


async def test_restart_in_the_middle_of_a_complaint_resumes_at_the_same_step(
    db_url: str, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path)
    engine = create_db_engine(db_url)
    first = await start_harness(settings, make_session_factory(engine), FakeKnowledge())
    await first.say(VETERAN, "/complain")
    await first.press(VETERAN, "优待证")
    await first.press(VETERAN, "金华市")
    await first.send(first.api.photo_update(VETERAN, "photo-before-restart"))
    assert "详细描述" in first.api.texts_to(VETERAN)[-2]
    await stop_harness(first)
    engine.dispose()

    # a new process: new engine, application and persistence on the same database
    engine = create_db_engine(db_url)
    factory = make_session_factory(engine)
    with factory() as s:
        states = {(r.name, r.key): r.state for r in s.scalars(select(BotConversation))}
    assert states == {("complaint", f"[{VETERAN}, {VETERAN}]"): "c_details"}
    second = await start_harness(settings, factory, FakeKnowledge())
    try:
        await second.say(VETERAN, "去年申请的优待证到现在还没有发下来，多次询问服务站都说在等。")
        assert "联系手机号" in second.last_text(VETERAN)  # the phone step, not a new question
        assert second.knowledge.calls == []
        await second.press(VETERAN, "跳过")
        await second.press(VETERAN, "确认提交")
        view = second.cases.list_for_complainant(VETERAN)[0]
        assert view.region == "金华市" and view.theme == "card"
        assert [a.file_id for a in view.attachments] == ["photo-before-restart"]
    finally:
        await stop_harness(second)
        engine.dispose()
