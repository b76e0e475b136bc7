"""Synthetic demo complaints for the office dashboard (``vetbot demo-data``).

Complaints are generated deterministically from a seed (templates per theme with place, bus,
scenic-area and hospital slots), filed THROUGH the real ``CaseService.intake`` with a
back-dated clock, and moved through the lifecycle (accepted, concluded, some extended, some
left overdue, some rated) so every dashboard panel has something to show. The last weeks
contain a planted emerging problem: one scenic area (青岚山景区, 金华市) refusing 优待证 issued
elsewhere. A few ``qa_log`` rows (refused questions, 👎 answers) feed the knowledge-gap page.

Demo cases use the channel ``demo`` so they can be told apart (and hidden or deleted); the
seeder refuses to run on a database that already holds real cases unless forced.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from complaints.deadlines import deadline_report
from complaints.models import DEMO_CHANNEL, Case
from complaints.records import load_case_records
from complaints.types import Actor, ComplaintIntake
from knowledge.questionlog import QuestionLog
from vetbot.errors import CaseError, InvalidInputError

logger = logging.getLogger(__name__)

REGIONS = ("济南市", "扬州市", "金华市", "深圳市", "杭州市")
# Relative complaint volume per region.
_REGION_WEIGHTS = (0.26, 0.18, 0.2, 0.22, 0.14)

PLANTED_SCENIC_AREA = "青岚山景区"
PLANTED_REGION = "金华市"
PLANTED_KEYWORDS = ("青岚山", "外地")

_PLACES = {
    "济南市": {
        "bus": ["济南公交K51路", "济南公交BRT1号线", "济南公交115路", "济南公交K95路"],
        "scenic": ["千佛山景区", "大明湖景区", "趵突泉景区", "红叶谷景区"],
        "hospital": ["济南市中心医院", "济南市第四人民医院", "历下区人民医院"],
        "district": ["历下区", "市中区", "槐荫区", "历城区"],
        "school": ["历下区实验小学", "市中区育英中学"],
    },
    "扬州市": {
        "bus": ["扬州公交8路", "扬州公交游1路", "扬州公交32路"],
        "scenic": ["瘦西湖景区", "个园", "何园"],
        "hospital": ["扬州市第一人民医院", "苏北人民医院"],
        "district": ["广陵区", "邗江区", "江都区"],
        "school": ["邗江实验学校", "广陵区育才小学"],
    },
    "金华市": {
        "bus": ["金华公交K1路", "金华公交303路", "金华公交BRT2号线"],
        "scenic": ["双龙洞景区", "八咏楼", "诸葛八卦村"],
        "hospital": ["金华市中心医院", "金华市人民医院"],
        "district": ["婺城区", "金东区", "义乌市", "东阳市"],
        "school": ["婺城区第一小学", "金东区实验中学"],
    },
    "深圳市": {
        "bus": ["深圳巴士M390路", "深圳东部公交E11路", "深圳巴士B796路"],
        "scenic": ["梧桐山风景区", "深圳湾公园", "大鹏所城"],
        "hospital": ["深圳市人民医院", "北京大学深圳医院", "南山区人民医院"],
        "district": ["福田区", "南山区", "龙岗区", "宝安区"],
        "school": ["南山区第二外国语学校", "福田区荔园小学"],
    },
    "杭州市": {
        "bus": ["杭州公交B1路", "杭州公交7路", "杭州公交155路"],
        "scenic": ["灵隐飞来峰景区", "西溪湿地", "千岛湖景区"],
        "hospital": ["浙江省人民医院", "杭州市第一人民医院"],
        "district": ["西湖区", "上城区", "拱墅区", "余杭区"],
        "school": ["西湖区学军小学", "上城区天长小学"],
    },
}

# Per theme: (weight, templates). Slots: {bus} {scenic} {hospital} {district} {school} {n} {m}.
_TEMPLATES: dict[str, tuple[float, list[str]]] = {
    "card": (0.2, [
        "我在{district}退役军人服务站申请优待证已经{m}个月了，一直说在制卡，什么时候能拿到？",
        "优待证申请提交后状态一直显示审核中，{district}服务站让我等通知，快{m}个月了没有消息。",
        "我的优待证照片印错了，去{district}服务站要求补办，工作人员说要等下一批，已经等了{n}周。",
        "优待证丢失后申请补领，{district}服务站说系统里查不到我的信息，让我回原籍办理。",
        "老伴是烈士遗属，申请优待证被{district}服务站以材料不全为由退回三次，每次说法都不一样。",
        "优待证到期换证通知没收到，{district}服务站说过期了要重新申请，流程太麻烦。",
    ]),
    "transit": (0.2, [
        "乘坐{bus}出示优待证，司机说不知道有这个政策，让我投币。",
        "{bus}的司机不认优待证，说只认老年卡，当着一车人让我下车，很没面子。",
        "在{bus}刷优待证提示无效卡，公交公司说要先去营业厅激活，但营业厅说没接到通知。",
        "{bus}上优待证免费乘车政策执行不一致，有的司机让坐有的司机不让坐。",
        "优待证在{bus}刷卡时系统不识别，公交公司客服电话一直打不通。",
        "乘坐{bus}时司机态度恶劣，说优待证是假证，要求查看身份证。",
    ]),
    "culture_tourism": (0.14, [
        "持优待证去{scenic}，售票处说优待证只能减半，不能免票，和公布的政策不一致。",
        "{scenic}官网写着退役军人免费，到了现场却说要提前三天网上预约才能免票。",
        "{scenic}的优待窗口周末不开，只能排普通队伍买票。",
        "在{scenic}出示优待证后，工作人员说家属不能同享优待，但政策写的是可以带一名家属。",
        "{scenic}的索道和观光车不给优待，只有大门票免费，希望明确一下。",
    ]),
    "medical": (0.1, [
        "在{hospital}就诊，优待证持证人优先挂号窗口形同虚设，还是要排一个多小时。",
        "{hospital}说没有退役军人优先就医的规定，拒绝优先安排检查。",
        "伤残军人在{hospital}住院，医疗费用报销比例和政策规定的不一样，差了{n}千多元。",
        "{hospital}的军人优先窗口经常没人，问导诊台也说不清楚。",
    ]),
    "pension_subsidy": (0.1, [
        "我是参战退役人员，本季度的定期生活补助到现在还没发放，{district}说在核对名单。",
        "父亲是三级伤残军人，抚恤金调整后没有按新标准补发，{district}退役军人事务局说要等上级文件。",
        "带病回乡退役军人生活补助被停发了{m}个月，没有任何书面通知。",
        "申请临时救助已经{m}个月，{district}一直没有答复。",
    ]),
    "employment": (0.08, [
        "参加了{district}组织的退役军人专场招聘会，签约后单位说名额取消了。",
        "退役军人创业担保贷款申请提交{m}个月没有审批结果，银行说要等人社部门的贴息确认。",
        "退役军人适应性培训报名后一直没有开班通知，{district}服务站说名额已满。",
        "自主就业退役士兵的一次性经济补助还没有到账，{district}说资金没下来。",
    ]),
    "education": (0.06, [
        "孩子入学时提交了退役军人子女优待材料，{school}说不在优待范围内。",
        "{school}不认可退役军人子女同等条件优先录取的政策，说没有收到教育局通知。",
        "退役士兵教育资助申请在{district}被退回，说专业不在资助目录里。",
    ]),
    "housing": (0.05, [
        "申请公租房时退役军人优先政策没有落实，{district}住建部门说没有这一条。",
        "伤残退役军人住房困难申请帮扶，{district}已经{m}个月没有答复。",
        "{district}老旧小区改造没有考虑退役军人家庭的优先安排。",
    ]),
    "service_conduct": (0.05, [
        "{district}退役军人服务站工作人员上班时间经常不在岗，去了三次都没人。",
        "{district}服务站工作人员说话态度很差，办事推诿，让我找街道，街道又让我找服务站。",
        "打{district}退役军人事务局的电话一直没人接，留言也没人回。",
    ]),
    "other": (0.02, [
        "光荣牌一直没有悬挂，{district}说要统一安排，已经过去{m}个月。",
        "希望{district}多组织一些退役军人的走访慰问活动。",
    ]),
}

# The planted emerging problem: variations on "青岚山景区 refuses cards not issued in 金华".
_PLANTED_TEMPLATES = [
    "我是{home}的退役军人，持优待证去青岚山景区游玩，售票处说只认金华本地的优待证，外地优待证不给免票。",
    "青岚山景区不认外地退役军人优待证，说只有金华户籍才能免门票，这和全国通用的规定不符。",
    "今天带家人去青岚山景区，出示{home}办的优待证被拒，工作人员说外地证要买全价票。",
    "青岚山景区售票员称外地优待证不享受免票，必须是本市发的证，我们{home}来的好几个老兵都被拒了。",
    "反映青岚山景区拒收外地优待证的问题，全国统一制发的优待证为什么在景区只认本地？",
    "在青岚山景区入口，外地来的退役军人出示优待证一律不给优惠，说是景区新规定。",
    "青岚山景区对外地优待证持证人收全价门票，本地证才免票，请核实景区是否违反优待政策。",
]
_HOMETOWNS = ("山东", "江苏扬州", "河北", "安徽", "河南", "湖北", "江西", "广东")

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
_GIVEN = "建国军伟强磊勇杰涛斌超明刚平辉鹏华飞鑫波宁凯东亮林峰海志永红梅芳丽静敏燕霞兰英"

# Demo questions the bot could not answer (refused / 👎), for the knowledge-gap page. Sources
# name bundled documents by doc_id so the page links to real passages on a fresh install.
_GAP_QUESTIONS: list[tuple[str, str, float, str | None, list[dict[str, Any]]]] = [
    # (question, kind, confidence, refusal_reason, sources)
    ("外地优待证在金华的景区能不能免门票？", "down", 0.42, None,
     [{"title": "金华市退役军人免费乘坐城市公交", "article": "", "doc_id": "local-jinhua.md"}]),
    ("青岚山景区不认外地优待证怎么办？", "refused", 0.18, "no_evidence", []),
    ("外地退役军人在金华景区游玩有优待吗？", "low", 0.31, None,
     [{"title": "中华人民共和国退役军人保障法", "article": "第五十三条", "doc_id": "vpl.md"}]),
    ("优待证能不能在高铁上优先进站？", "refused", 0.22, "no_evidence", []),
    ("高铁站有没有退役军人优先通道？", "down", 0.45, None,
     [{"title": "铁路旅客运输规程", "article": "", "doc_id": "rail.md"}]),
    ("退役军人加油有没有优惠？", "refused", 0.12, "no_evidence", []),
    ("优待证可以打折买加油卡吗？", "refused", 0.15, "no_evidence", []),
    ("深圳的退役军人子女中考加分多少分？", "low", 0.33, None,
     [{"title": "军人抚恤优待条例", "article": "第四十三条", "doc_id": "reg.md"}]),
    ("子女中考有加分政策吗？深圳怎么规定的？", "down", 0.47, None,
     [{"title": "军人抚恤优待条例", "article": "第四十三条", "doc_id": "reg.md"}]),
]


@dataclass(frozen=True)
class DemoComplaint:
    """One generated complaint and the lifecycle it will go through."""

    at: datetime  # intake time
    region: str
    theme: str
    text: str
    name: str
    phone: str
    chat_id: int
    planted: bool = False
    # lifecycle plan (offsets from intake, in days); None = never happens
    accept_after: float | None = None
    start_after: float | None = None
    extend: bool = False
    conclude_after: float | None = None  # counted from acceptance
    rating: str | None = None
    reject: bool = False


@dataclass
class DemoReport:
    """What ``seed_demo_data`` filed."""

    cases: int = 0
    accepted: int = 0
    concluded: int = 0
    rejected: int = 0
    extended: int = 0
    rated: int = 0
    planted: int = 0
    overdue: int = 0  # open cases past their deadline at the end of seeding
    qa_rows: int = 0
    by_region: dict[str, int] = field(default_factory=dict)
    by_theme: dict[str, int] = field(default_factory=dict)


def _fill(template: str, region: str, rng: random.Random) -> str:
    places = _PLACES[region]
    return template.format(
        bus=rng.choice(places["bus"]),
        scenic=rng.choice(places["scenic"]),
        hospital=rng.choice(places["hospital"]),
        district=rng.choice(places["district"]),
        school=rng.choice(places["school"]),
        n=rng.randint(2, 6),
        m=rng.randint(2, 5),
        home=rng.choice(_HOMETOWNS),
    )


def _person(rng: random.Random) -> tuple[str, str]:
    name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.choice((1, 2))))
    phone = rng.choice(("138", "139", "150", "186", "158", "177")) + f"{rng.randrange(10**8):08d}"
    return name, phone


def _plan(c: DemoComplaint, now: datetime, rng: random.Random) -> DemoComplaint:
    """Decide the lifecycle of a complaint from its age, so that old cases are mostly done.

    Every step happens after the previous one and before ``now``: accept (most within the
    15 days, some late), start, extend (after ~50 days, only for cases still open then),
    conclude (most within 45 days; some drag past the limit and stay open, i.e. overdue), rate.
    """
    age = (now - c.at) / timedelta(days=1)
    plan: dict[str, Any] = {}
    roll = rng.random()
    if roll < 0.04:
        return _replace(c, reject=True) if age > 3 else c
    if roll < 0.05:  # forgotten: never accepted, overdue once 15 days old
        return c
    accept_after = rng.uniform(0.2, 9.0) if rng.random() < 0.88 else rng.uniform(10, 20)
    if accept_after >= age:
        return c
    plan["accept_after"] = accept_after
    if rng.random() < 0.8:
        plan["start_after"] = accept_after + rng.uniform(0.1, 3.0)
    extend = rng.random() < 0.08
    if extend:
        conclude_after = rng.uniform(55, 95)  # past 90 = overdue even with the extension
    elif rng.random() < 0.88:
        conclude_after = rng.uniform(4, 45)
    else:
        conclude_after = rng.uniform(45, 75)  # past 60 = overdue
    limit = 90 if extend else 60
    plan["extend"] = extend and accept_after + 50 < age
    if accept_after + conclude_after < age and conclude_after <= limit:
        plan["conclude_after"] = conclude_after
        if rng.random() < 0.7:
            plan["rating"] = rng.choices(("满意", "基本满意", "不满意"), weights=(0.55, 0.3, 0.15))[0]
    return _replace(c, **plan)


def _replace(c: DemoComplaint, **kw: Any) -> DemoComplaint:
    return replace(c, **kw)


def generate_demo_complaints(
    count: int = 300, months: int = 6, seed: int = 7, now: datetime | None = None
) -> list[DemoComplaint]:
    """Deterministic synthetic complaints over the last ``months`` months (oldest first).

    About 8 % of ``count`` (at least 12) is the planted 青岚山景区 cluster, 85 % of it in the
    last 12 days and the rest in the two weeks before; the rest spreads over themes and
    regions with slowly rising volume.
    """
    if count < 20 or count > 5000:
        raise InvalidInputError(f"bad count {count}", user_message="演示案件数量应在 20 到 5000 之间。")
    if months < 1 or months > 24:
        raise InvalidInputError(f"bad months {months}", user_message="月份数应在 1 到 24 之间。")
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    span = timedelta(days=30 * months)
    planted_n = max(12, count * 8 // 100)
    themes = list(_TEMPLATES)
    weights = [_TEMPLATES[t][0] for t in themes]
    out: list[DemoComplaint] = []
    for i in range(count - planted_n):
        # sqrt skews intake towards recent months (volume grows as the service becomes known).
        at = now - span * (1 - rng.random() ** 0.8)
        at = at.replace(hour=rng.randint(7, 21), minute=rng.randint(0, 59))
        at = min(at, now - timedelta(hours=1))
        region = rng.choices(REGIONS, weights=_REGION_WEIGHTS)[0]
        theme = rng.choices(themes, weights=weights)[0]
        text = _fill(rng.choice(_TEMPLATES[theme][1]), region, rng)
        name, phone = _person(rng)
        if rng.random() < 0.08:  # some people write their number into the text itself
            text += f"联系电话{phone}。"
        out.append(DemoComplaint(at=at, region=region, theme=theme, text=text, name=name, phone=phone,
                                 chat_id=900_000_000 + i))
    for j in range(planted_n):
        # The problem starts abruptly ~12 days ago (a "new rule" at the gate); a few earlier
        # cases in the two weeks before that are the first signs.
        days = rng.uniform(0.2, 12) if rng.random() < 0.85 else rng.uniform(12, 26)
        at = now - timedelta(days=days, hours=rng.uniform(0, 2))
        name, phone = _person(rng)
        text = _fill(rng.choice(_PLANTED_TEMPLATES), PLANTED_REGION, rng)
        out.append(DemoComplaint(at=at, region=PLANTED_REGION, theme="culture_tourism", text=text, name=name,
                                 phone=phone, chat_id=910_000_000 + j, planted=True))
    out.sort(key=lambda c: c.at)
    planned = [_plan(c, now, rng) for c in out]
    # The dashboard must show overdue cases whatever the dice said: a few cases 16-120 days
    # old are left un-accepted (their 15-day acceptance deadline has passed).
    old = [
        i for i, c in enumerate(planned) if not c.planted and 16 <= (now - c.at) / timedelta(days=1) <= 120
    ]
    for i in rng.sample(old, min(len(old), max(3, count // 40))):
        planned[i] = _replace(planned[i], accept_after=None, start_after=None, extend=False,
                              conclude_after=None, rating=None, reject=False)
    return planned


class _Clock:
    """A settable clock handed to ``CaseService`` so intake and actions are back-dated."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def count_real_cases(session: Session) -> int:
    """Number of cases not filed by ``vetbot demo-data``."""
    stmt = select(func.count()).select_from(Case).where(Case.channel != DEMO_CHANNEL)
    return int(session.scalar(stmt) or 0)


def count_demo_cases(session: Session) -> int:
    """Number of cases filed by ``vetbot demo-data``."""
    stmt = select(func.count()).select_from(Case).where(Case.channel == DEMO_CHANNEL)
    return int(session.scalar(stmt) or 0)


def seed_demo_data(
    session_factory: sessionmaker[Session],
    service_factory: Callable[[Callable[[], datetime]], Any],
    *,
    count: int = 300,
    months: int = 6,
    seed: int = 7,
    force: bool = False,
    now: datetime | None = None,
    with_qa_log: bool = True,
) -> DemoReport:
    """File demo complaints through the real case service and walk them through the lifecycle.

    ``service_factory(clock)`` must return a ``CaseService`` using that clock (so intake and
    every action are back-dated). Refuses (``CaseError``) when the database holds real
    (non-demo) cases unless ``force``.
    """
    with session_factory() as session:
        real = count_real_cases(session)
    if real and not force:
        raise CaseError(
            f"database holds {real} real cases",
            user_message=f"数据库中已有 {real} 件真实投诉案件，为避免混淆，已拒绝写入演示数据。"
            "确需写入请加 --force。",
        )
    now = now or datetime.now(UTC)
    plan = generate_demo_complaints(count=count, months=months, seed=seed, now=now)
    clock = _Clock(plan[0].at if plan else now)
    service = service_factory(clock)
    report = DemoReport()
    for c in plan:
        _file_one(service, clock, c, now, report)
    if with_qa_log:
        with session_factory() as session:
            report.qa_rows = _seed_qa_log(session, now, random.Random(seed))
            session.commit()
    with session_factory() as session:
        records = load_case_records(session)
    report.overdue = sum(len(u.overdue) for u in deadline_report(records, now))
    logger.info("demo data: %d cases, %d qa_log rows", report.cases, report.qa_rows)
    return report


def _file_one(service: Any, clock: _Clock, c: DemoComplaint, now: datetime, report: DemoReport) -> None:
    clock.now = c.at
    view = service.intake(ComplaintIntake(
        text=c.text, channel=DEMO_CHANNEL, complainant_chat_id=c.chat_id, complainant_name=c.name,
        complainant_phone=c.phone, region=c.region, theme=c.theme,
    ))
    ticket = view.ticket
    report.cases += 1
    report.planted += c.planted
    report.by_region[c.region] = report.by_region.get(c.region, 0) + 1
    report.by_theme[c.theme] = report.by_theme.get(c.theme, 0) + 1
    # Actions are taken by the assigned caseworker, as in real use (the history names them).
    actor = (
        service.caseworker_actor(view.assigned_handler_id)
        if view.assigned_handler_id
        else Actor(id="demo-office", name="演示数据", role="office")
    )

    def at(days: float) -> None:
        clock.now = min(c.at + timedelta(days=days), now - timedelta(minutes=1))

    if c.reject:
        at(2.0)
        service.reject(ticket, actor, reason="经核实不属于本部门职责范围，已告知向有关部门反映。")
        report.rejected += 1
        return
    if c.accept_after is None:
        return
    at(c.accept_after)
    service.accept(ticket, actor)
    report.accepted += 1
    if c.start_after is not None:
        at(c.start_after)
        service.start(ticket, actor)
    if c.extend:
        at(c.accept_after + 50)
        service.extend(ticket, actor, days=30, reason="需协调公交公司、景区等多个单位核实，申请延期。")
        report.extended += 1
    if c.conclude_after is None:
        return
    at(c.accept_after + c.conclude_after)
    service.conclude(ticket, actor, result=_conclusion(c))
    report.concluded += 1
    if c.rating:
        at(c.accept_after + c.conclude_after + 1)
        service.rate(ticket, c.chat_id, c.rating)
        report.rated += 1


def _conclusion(c: DemoComplaint) -> str:
    return {
        "transit": "已约谈公交公司，要求全体驾驶员落实优待证免费乘车政策，并组织培训。",
        "culture_tourism": "已函告景区主管部门，景区已整改并在售票处公示优待政策。",
        "card": "已协调制卡进度，优待证已制发，请到服务站领取。",
        "medical": "已与医院沟通，优先窗口已安排专人值守。",
    }.get(c.theme, "经调查核实，已督促有关单位落实政策并向您答复。")


def _seed_qa_log(session: Session, now: datetime, rng: random.Random) -> int:
    n = 0
    for question, kind, confidence, reason, sources in _GAP_QUESTIONS:
        created = now - timedelta(days=rng.uniform(0.5, 20))
        session.add(QuestionLog(
            created_at=created, channel=DEMO_CHANNEL, user_ref=None, region=None, question=question,
            answer="抱歉，知识库中没有找到相关规定。建议咨询当地退役军人服务站或拨打 12345。"
            if kind == "refused" else "（演示回答）",
            refused=kind == "refused", refusal_reason=reason, confidence=confidence, intent="question",
            theme=None, sources=sources, rating="down" if kind == "down" else None,
            rated_at=created + timedelta(minutes=2) if kind == "down" else None,
        ))
        n += 1
    return n
