"""Fixtures of the bot tests: a fake Bot API, a fake KnowledgeService, a real CaseService on a
temporary SQLite database, and a harness driving ``Application.process_update``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker
from telegram import Update
from telegram.ext import Application, ExtBot

from bot.app import build_application
from bot.notifier import TelegramNotifier
from complaints.routing import RoutingTable
from complaints.service import CaseService
from knowledge.store import ChunkRecord
from knowledge.types import Answer, Passage
from tests.bot.fake_telegram import FakeBotAPI, FakeRequest
from tests.db_support import DB_BACKENDS, migrated_sqlite_url, postgres_schema
from vetbot.db import create_db_engine, make_session_factory
from vetbot.errors import InvalidInputError
from vetbot.settings import Settings

TOKEN = "123456:TEST-TOKEN-abcdefghijklmnopqrstuvwxyz"
VETERAN = 5550001
HANDLER = 5550099
OTHER_HANDLER = 5550098
PARTNER = 5550097
ADMIN = 5550042
STRANGER = 5550077


# ------------------------------------------------------------------------------ fakes
@dataclass
class FakeStore:
    """What the bot reads from ``KnowledgeService.store``: chunk texts by id."""

    chunks: dict[str, ChunkRecord] = field(default_factory=dict)


def _source(chunk_id: str, title: str, article: str, text: str, region: str = "全国") -> Passage:
    return Passage(
        title=title,
        article=article,
        text=text,
        score=0.9,
        region=region,
        doc_id=chunk_id.split(":")[0],
        chunk_id=chunk_id,
        scope="national" if region == "全国" else "local",
        heading=article,
    )


class FakeKnowledge:
    """Deterministic stand-in for ``knowledge.service.KnowledgeService`` (unit tests only).

    * text containing 投诉/举报 is a complaint (theme ``transit``);
    * text containing 不公平 is a grievance-like question (offer_complaint);
    * text containing 天气 is off topic (refused);
    * text containing 长篇 gets a very long answer;
    * text containing 崩溃 raises an unexpected error;
    * anything else is answered citing two passages.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []
        self.sources = [
            _source(
                "law:aaaaaaaaaaaa:0",
                "中华人民共和国退役军人保障法",
                "第六十二条",
                "退役军人凭退役军人优待证，享受公共交通、文化和旅游等优待。",
            ),
            _source(
                "jn:bbbbbbbbbbbb:1",
                "济南市退役军人优待办法",
                "第五条",
                "持优待证的退役军人免费乘坐本市城市公交 <b>线路</b> & 地铁。",
                region="济南市",
            ),
        ]
        self.store = FakeStore(
            {
                s.chunk_id: ChunkRecord(
                    s.chunk_id,
                    s.text + "（全文）",
                    {"title": s.title, "article": s.article, "region": s.region, "heading": s.heading},
                )
                for s in self.sources
            }
        )
        self.classifier = None

    def regions(self) -> list[str]:
        """Regions in the fake KB."""
        return ["全国", "济南市", "扬州市", "金华市"]

    def ask(self, question: str, region: str | None = None) -> Answer:
        """Answer per the rules in the class docstring."""
        self.calls.append((question, region))
        if not question.strip():
            raise InvalidInputError("empty", user_message="问题不能为空")
        if "崩溃" in question:
            raise RuntimeError("boom while answering; caller phone 13812345678")
        base: dict[str, Any] = {"question": question, "theme": "transit"}
        if "投诉" in question or "举报" in question:
            return Answer(**base, answer="", refused=False, intent="complaint", confidence=0.9)
        if "天气" in question:
            return Answer(
                **base,
                answer="抱歉，这个问题超出了我的服务范围。请拨打 12345。",
                refused=True,
                refusal_reason="off_topic",
            )
        if "长篇" in question:
            para = "退役军人凭优待证享受优待《中华人民共和国退役军人保障法》第六十二条。" * 40
            text = "\n\n".join([para] * 6)
            return Answer(**base, answer=text, refused=False, sources=self.sources[:1], confidence=0.8)
        text = (
            "退役军人凭优待证享受公共交通优待《中华人民共和国退役军人保障法》第六十二条。\n"
            "济南市：持证免费乘坐城市公交《济南市退役军人优待办法》第五条。<注意>"
        )
        return Answer(
            **base,
            answer=text,
            refused=False,
            sources=list(self.sources),
            confidence=0.8,
            local_rule=region == "济南市",
            offer_complaint="不公平" in question,
        )


# ------------------------------------------------------------------------------ database
ROUTING = {
    "handlers": [
        {
            "id": "jn-yfk",
            "name": "王建国",
            "unit": "济南市退役军人事务局优抚科",
            "region": "济南市",
            "telegram_chat_id": HANDLER,
        },
        {
            "id": "jn-other",
            "name": "李红梅",
            "unit": "济南市退役军人事务局就业创业科",
            "region": "济南市",
            "telegram_chat_id": OTHER_HANDLER,
        },
        {"id": "xfk", "name": "赵信访", "unit": "省退役军人事务厅信访处", "region": "*"},
    ],
    "rules": [
        {"region": "济南市", "theme": "*", "handler": "jn-yfk"},
        {"region": "济南市", "theme": "employment", "handler": "jn-other"},
    ],
    "fallback": "xfk",
    "partners": [
        {
            "id": "jn-jtj",
            "unit": "济南市交通运输局",
            "region": "济南市",
            "theme": ["transit"],
            "telegram_chat_id": PARTNER,
        },
    ],
}


def migrated_session_factory(path: Path) -> sessionmaker[Session]:
    """A session factory on a fresh SQLite file migrated with the project's Alembic scripts."""
    return make_session_factory(create_db_engine(migrated_sqlite_url(path)))


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database file, copied for each test (migrating each time is slow)."""
    path = tmp_path_factory.mktemp("botdb") / "template.db"
    factory = migrated_session_factory(path)
    factory.kw["bind"].dispose()
    return path


@pytest.fixture
def session_factory(template_db: Path, tmp_path: Path) -> sessionmaker[Session]:
    """A fresh migrated database for one test."""
    path = tmp_path / "vetbot.db"
    path.write_bytes(template_db.read_bytes())
    return make_session_factory(create_db_engine(f"sqlite:///{path}"))


@pytest.fixture(params=DB_BACKENDS)
def db_url(request: pytest.FixtureRequest, template_db: Path, tmp_path: Path) -> Iterator[str]:
    """URL of a freshly migrated database on SQLite and on PostgreSQL (see ``tests.db_support``)."""
    if request.param == "sqlite":
        path = tmp_path / "vetbot.db"
        path.write_bytes(template_db.read_bytes())
        yield f"sqlite:///{path}"
        return
    with postgres_schema("bot") as url:
        yield url


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Test settings (never read from the environment)."""
    values: dict[str, Any] = {
        "data_dir": tmp_path,
        "telegram_token": SecretStr(TOKEN),
        "telegram_admin_ids": [ADMIN],
        "rate_limit_per_minute": 100,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


# ------------------------------------------------------------------------------ harness
@dataclass
class BotHarness:
    """A running application on the fake Bot API, driven update by update."""

    api: FakeBotAPI
    app: Application[Any, Any, Any, Any, Any, Any]
    knowledge: Any
    cases: CaseService
    notifier: TelegramNotifier
    session_factory: sessionmaker[Session]

    async def send(self, update: dict[str, Any]) -> None:
        """Process one update (as the application would from getUpdates or a webhook)."""
        await self.app.process_update(Update.de_json(update, self.app.bot))
        await self.notifier.drain()

    async def say(self, user_id: int, text: str) -> None:
        """The user sends a text message."""
        await self.send(self.api.message_update(user_id, text))

    async def press(self, user_id: int, label_part: str) -> None:
        """The user presses the newest inline button whose label contains ``label_part``."""
        message, data = self.api.find_button(user_id, label_part)
        await self.send(self.api.callback_update(user_id, data, message))

    def last_text(self, chat_id: int) -> str:
        """The newest message sent to ``chat_id``."""
        texts = self.api.texts_to(chat_id)
        assert texts, f"nothing sent to {chat_id}"
        return texts[-1]


def make_bot(api: FakeBotAPI) -> ExtBot[None]:
    """An ExtBot whose requests are answered by ``api`` in-process."""
    return ExtBot(TOKEN, request=FakeRequest(api), get_updates_request=FakeRequest(api))


async def start_harness(
    settings: Settings,
    session_factory: sessionmaker[Session],
    knowledge: Any,
    api: FakeBotAPI | None = None,
) -> BotHarness:
    """Build and start an application with the DB persistence on ``session_factory``."""
    api = api or FakeBotAPI()
    notifier = TelegramNotifier()
    cases = CaseService(session_factory, RoutingTable.from_dict(ROUTING), notifier=notifier)
    app = build_application(
        settings, knowledge=knowledge, cases=cases, session_factory=session_factory, bot=make_bot(api)
    )
    await app.initialize()
    await app.start()
    return BotHarness(api, app, knowledge, cases, notifier, session_factory)


async def stop_harness(h: BotHarness) -> None:
    """Stop and shut down (flushes the persistence)."""
    await h.app.stop()
    await h.app.shutdown()


@pytest.fixture
def fake_knowledge() -> FakeKnowledge:
    """A fresh fake KnowledgeService."""
    return FakeKnowledge()


@pytest.fixture
async def harness(
    tmp_path: Path, session_factory: sessionmaker[Session], fake_knowledge: FakeKnowledge
) -> AsyncIterator[BotHarness]:
    """A started bot with fake knowledge and a real CaseService on a temp database."""
    h = await start_harness(make_settings(tmp_path), session_factory, fake_knowledge)
    yield h
    await stop_harness(h)


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``predicate`` on the event loop until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
