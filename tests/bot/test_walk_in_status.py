"""A walk-in complainant follows their case from their own chat (process_update, fake Bot API).

The case was registered at a service-station window (no chat filed it); the person sends the
ticket from the receipt, proves the last four digits of the phone on the case, and from then
on sees the case and receives its notices like a filer. Guessing is rate-limited.
"""

from __future__ import annotations

from complaints.contact import set_contact_phone
from complaints.followers import MAX_FAILURES_PER_CASE, MAX_FAILURES_PER_CASE_HOUR, MAX_FAILURES_PER_CHAT
from complaints.merging import merge
from complaints.supervision import add_note
from complaints.types import ComplaintIntake
from tests.bot.conftest import HANDLER, STRANGER, VETERAN, BotHarness
from tests.bot.test_complaint_flow import file_complaint
from tests.complaints.conftest import OFFICE

WALK_IN = 5550311
RELATIVE = 5550312
PHONE = "139 1234 5678"


def _walk_in(h: BotHarness, phone: str | None = PHONE) -> str:
    view = h.cases.intake(
        ComplaintIntake(
            text="在济南K51路公交车上，司机不认退役军人优待证，要求我投币乘车。",
            channel="visit",
            complainant_name="张老兵",
            complainant_phone=phone,
            region="济南市",
            theme="transit",
        )
    )
    return view.ticket


def _no_identifiers(texts: list[str]) -> None:
    joined = "\n".join(texts)
    assert "13912345678" not in joined and "139 1234 5678" not in joined and "张老兵" not in joined


async def test_walk_in_complainant_proves_the_phone_follows_the_case_and_is_notified(
    harness: BotHarness,
) -> None:
    h = harness
    ticket = _walk_in(h)
    await h.say(WALK_IN, f"/status {ticket}")
    asked = h.last_text(WALK_IN)
    assert "后四位" in asked and ticket in asked and "待受理" not in asked

    await h.say(WALK_IN, "0000")
    assert "不符" in h.last_text(WALK_IN) and "待受理" not in h.last_text(WALK_IN)
    await h.say(WALK_IN, "５６７８")  # full-width digits from a Chinese keyboard
    texts = h.api.texts_to(WALK_IN)
    assert "核验通过" in texts[-2] and ticket in texts[-2]
    assert ticket in texts[-1] and "待受理" in texts[-1] and "办理记录" in texts[-1]
    _no_identifiers(texts)

    # linked: no question the next time, and /status lists the case
    await h.say(WALK_IN, f"/status {ticket}")
    assert "待受理" in h.last_text(WALK_IN) and "后四位" not in h.last_text(WALK_IN)
    await h.say(WALK_IN, "/status")
    assert "您的投诉办理进度" in h.api.texts_to(WALK_IN)[-2] and ticket in h.last_text(WALK_IN)

    # the notices the filer would get reach the linked chat
    caseworker = h.cases.caseworker_actor("jn-yfk")
    h.cases.accept(ticket, caseworker)
    await h.notifier.drain()
    assert "已受理" in h.last_text(WALK_IN) and ticket in h.last_text(WALK_IN)
    h.cases.conclude(ticket, caseworker, "公交集团已对司机批评教育，今后凭优待证免费乘车。")
    await h.notifier.drain()
    final = h.api.sent_to(WALK_IN)[-1]
    assert "已办结" in final["text"] and "批评教育" in final["text"]
    # and the follower may rate it
    await h.send(h.api.callback_update(WALK_IN, f"rt:{ticket}:0", final))
    assert h.cases.get(ticket).rating == "满意"
    _no_identifiers(h.api.texts_to(WALK_IN))
    # another chat is still asked, whatever the first one did
    await h.say(STRANGER, f"/status {ticket}")
    assert "后四位" in h.last_text(STRANGER)


async def test_a_ticket_typed_alone_or_in_a_question_starts_the_check(harness: BotHarness) -> None:
    h = harness
    ticket = _walk_in(h)
    asked_before = len(h.knowledge.calls)
    await h.say(WALK_IN, f"我的投诉到哪了 {ticket.lower()}")
    assert "后四位" in h.last_text(WALK_IN)
    await h.say(WALK_IN, "/cancel")
    assert "已取消查询" in h.last_text(WALK_IN)
    await h.say(WALK_IN, ticket.replace("-", ""))
    assert "后四位" in h.last_text(WALK_IN)
    await h.say(WALK_IN, "13912345678")  # the whole number is accepted too
    assert "核验通过" in h.api.texts_to(WALK_IN)[-2]
    assert len(h.knowledge.calls) == asked_before  # never sent to the policy answerer
    _no_identifiers(h.api.texts_to(WALK_IN))


async def test_guesses_are_limited_per_chat_and_per_case(harness: BotHarness) -> None:
    h = harness
    ticket = _walk_in(h)
    await h.say(STRANGER, f"/status {ticket}")
    for guess in range(MAX_FAILURES_PER_CHAT):
        await h.say(STRANGER, f"{1000 + guess}")
        assert "不符" in h.last_text(STRANGER)
    await h.say(STRANGER, "5678")  # even the right digits: this chat is out of attempts
    assert "次数过多" in h.last_text(STRANGER) and "✅" not in "\n".join(h.api.texts_to(STRANGER))
    assert "待受理" not in "\n".join(h.api.texts_to(STRANGER))
    # the case's own budget: failures from many chats lock it for everyone
    failures = MAX_FAILURES_PER_CHAT
    chat = 5560000
    while failures < MAX_FAILURES_PER_CASE:
        await h.say(chat, f"/status {ticket}")
        await h.say(chat, "12")
        assert "后四位数字" in h.last_text(chat)  # malformed: asked again, not counted
        await h.say(chat, "0001")
        failures += 1
        chat += 1
    await h.say(RELATIVE, f"/status {ticket}")
    await h.say(RELATIVE, "5678")
    assert "次数过多" in h.last_text(RELATIVE)
    _no_identifiers(h.api.texts_to(RELATIVE))


async def test_another_account_gets_no_fresh_guesses_at_a_paused_case(harness: BotHarness) -> None:
    # F15: chat 5010 used up its guesses, then chat 5011 sent the right digits and was shown
    # the case. The case's own budget holds across chats, and the message says the case is paused.
    h = harness
    ticket = _walk_in(h)
    await h.notifier.drain()
    await h.say(5010, f"/status {ticket}")
    for guess in range(MAX_FAILURES_PER_CASE_HOUR):
        await h.say(5010, f"{1000 + guess}")
        assert "不符" in h.last_text(5010)
    await h.say(5011, f"/status {ticket}")
    assert "后四位" in h.last_text(5011)
    await h.say(5011, "5678")
    paused = h.last_text(5011)
    assert "该投诉" in paused and "已暂停" in paused and "1 小时" in paused
    sent = "\n".join(h.api.texts_to(5011))
    assert "✅" not in sent and "待受理" not in sent
    _no_identifiers(h.api.texts_to(5011))
    # nobody is paged about it: the caseworker has only the new-case notice
    assert len(h.api.texts_to(HANDLER)) == 1 and "新投诉" in h.last_text(HANDLER)


async def test_a_case_without_a_phone_reads_like_any_other_and_sends_the_person_to_the_station(
    harness: BotHarness,
) -> None:
    # fe24/fe25: the reply used to say 「登记时没有留手机号」 at once, which told anyone that the
    # ticket exists and has no phone. Now it is asked like any case, no digits match, and the
    # refusal points to the station and 12345 like every refusal.
    h = harness
    ticket = _walk_in(h, phone=None)
    await h.say(WALK_IN, f"/status {ticket}")
    text = h.last_text(WALK_IN)
    assert "后四位" in text and ticket in text and "没有留手机号" not in text
    await h.say(WALK_IN, "5678")
    refused = h.last_text(WALK_IN)
    assert "不符" in refused and "服务站" in refused and "12345" in refused
    assert "待受理" not in "\n".join(h.api.texts_to(WALK_IN))


async def _replies_about(h: BotHarness, chat: int, ticket: str, digits: str) -> list[str]:
    await h.say(chat, f"/status {ticket}")
    await h.say(chat, digits)
    return [t.replace(ticket, "<ticket>") for t in h.api.texts_to(chat)[-2:]]


async def test_an_unknown_ticket_gets_the_same_replies_as_a_case_filed_elsewhere(harness: BotHarness) -> None:
    # fe24/fe25: 「未找到编号为…的投诉」 for an unknown ticket and 「未找到您在本聊天中提交的…」 for
    # an existing one: tickets are sequential per day, so anyone could list which exist.
    h = harness
    existing = _walk_in(h)
    no_phone = _walk_in(h, phone=None)
    telegram = h.cases.intake(
        ComplaintIntake(
            text="公交司机不认优待证，拒绝让我免费乘车。",
            complainant_chat_id=VETERAN,
            complainant_phone="13812345678",
            region="济南市",
            theme="transit",
        )
    ).ticket
    unknown = "TS-20991231-9999"
    replies = [
        await _replies_about(h, chat, ticket, "0000")
        for chat, ticket in ((7001, existing), (7002, no_phone), (7003, telegram), (7004, unknown))
    ]
    assert replies[0] == replies[1] == replies[2] == replies[3]
    asked, refused = replies[0]
    assert "后四位" in asked and "不符" in refused and "12345" in refused
    assert "未找到编号" not in asked + refused and "没有留手机号" not in asked


async def test_the_wrong_guess_that_pauses_says_so_and_a_new_chat_is_told_at_once(
    harness: BotHarness,
) -> None:
    # fe24/fe25: the 5th wrong try said 「请核对后重新输入」 and the pause came only on the 6th
    # message; a new chat's /status was first asked for the digits and only then told.
    h = harness
    ticket = _walk_in(h)
    await h.say(7010, f"/status {ticket}")
    for guess in range(MAX_FAILURES_PER_CASE_HOUR - 1):
        await h.say(7010, f"{1000 + guess}")
        assert "重新输入" in h.last_text(7010) and "暂停" not in h.last_text(7010)
    await h.say(7010, "1999")
    last = h.last_text(7010)
    assert "不符" in last and "已暂停" in last and "1 小时" in last and "重新输入" not in last
    # a new chat: told at once, not asked for digits, and nothing of the case is shown
    await h.say(7011, f"/status {ticket}")
    told = h.last_text(7011)
    assert "已暂停" in told and "请回复" not in told
    assert "待受理" not in told and "济南" not in told and "公交" not in told
    # digits typed anyway get the same answer, never the case
    await h.say(7011, "5678")
    assert "已暂停" in h.last_text(7011)
    assert "✅" not in "\n".join(h.api.texts_to(7011)) and "待受理" not in "\n".join(h.api.texts_to(7011))
    # an unknown ticket pauses alike (its pause would otherwise tell that it does not exist)
    unknown = "TS-20991231-9998"
    await h.say(7012, f"/status {unknown}")
    for guess in range(MAX_FAILURES_PER_CASE_HOUR):
        await h.say(7012, f"{2000 + guess}")
    assert "已暂停" in h.last_text(7012)
    await h.say(7013, f"/status {unknown}")
    assert h.last_text(7013) == told.replace(ticket, unknown)


async def test_the_filer_is_never_asked_and_strangers_see_nothing_of_a_telegram_case(
    harness: BotHarness,
) -> None:
    h = harness
    view = h.cases.intake(
        ComplaintIntake(
            text="公交司机不认优待证，拒绝让我免费乘车。",
            complainant_chat_id=VETERAN,
            complainant_phone="13812345678",
            region="济南市",
            theme="transit",
        )
    )
    await h.say(VETERAN, f"/status {view.ticket}")
    assert "待受理" in h.last_text(VETERAN) and "后四位" not in h.last_text(VETERAN)
    await h.say(STRANGER, f"/status {view.ticket}")
    await h.say(STRANGER, "1234")
    assert "不符" in h.last_text(STRANGER)
    assert "待受理" not in "\n".join(h.api.texts_to(STRANGER))


async def test_digits_said_in_words_or_with_a_full_stop_are_taken_as_the_reply(harness: BotHarness) -> None:
    # Found by s21t: 「尾号是5678」 or 「5678。」 after 「请回复手机号后四位」 went to the Q&A and got
    # 「超出了我的服务范围」; the check was still waiting and the person did not know why.
    h = harness
    ticket = _walk_in(h)
    await h.say(WALK_IN, f"/status {ticket}")
    await h.say(WALK_IN, "尾号是0000")
    assert "不符" in h.last_text(WALK_IN) and "服务范围" not in h.last_text(WALK_IN)
    await h.say(WALK_IN, "5678。")
    texts = h.api.texts_to(WALK_IN)
    assert "核验通过" in texts[-2] and ticket in texts[-1]
    await h.say(RELATIVE, f"/status {ticket}")
    await h.say(RELATIVE, "手机后四位：５６７８")
    assert "核验通过" in h.api.texts_to(RELATIVE)[-2]
    # a question with a number in it is still a question, and no failed guess
    await h.say(STRANGER, f"/status {ticket}")
    await h.say(STRANGER, "2024年的优待证还能用吗")
    assert "不符" not in h.last_text(STRANGER)



async def test_status_leaves_out_what_the_case_desk_marks_internal(harness: BotHarness) -> None:
    # fe26 §11: /status listed 「分派（待受理）」 and 「联系电话」, which the desk labels 内部，信访人不可见;
    # after acceptance the 「最新进展」 line was the phone correction.
    h = harness
    ticket = await file_complaint(h)
    h.cases.accept(ticket, OFFICE)
    set_contact_phone(h.cases, ticket, OFFICE, "0531-88881234", "本人要求更正")
    add_note(h.cases, ticket, OFFICE, "已电话联系公交集团，对方答应核查。")
    assert {"assign", "phone", "note"} <= {e.action for e in h.cases.get(ticket).events}
    await h.say(VETERAN, f"/status {ticket}")
    full = next(t for t in reversed(h.api.texts_to(VETERAN)) if "办理记录" in t)
    assert "受理" in full.split("办理记录")[1]
    for internal in ("分派", "联系电话", "内部备注", "公交集团", "本人要求更正"):
        assert internal not in full, (internal, full)
    await h.say(VETERAN, "/status")
    latest = next(t for t in reversed(h.api.texts_to(VETERAN)) if "最新进展" in t)
    assert "受理" in latest.split("最新进展")[1], latest
    assert "联系电话" not in latest and "内部备注" not in latest


async def test_status_keeps_the_office_phone_and_masks_the_id_number_as_the_notice_does(
    harness: BotHarness,
) -> None:
    # fe27 §3: the 办结 notice kept the office's callback number, /status showed 0579-****5678.
    h = harness
    ticket = _walk_in(h)
    await h.say(WALK_IN, f"/status {ticket}")
    await h.say(WALK_IN, "5678")
    caseworker = h.cases.caseworker_actor("jn-yfk")
    h.cases.accept(ticket, caseworker)
    note = "已核实处理，联系电话0579-82345678，身份证330702198001011234已核对。"
    h.cases.conclude(ticket, caseworker, note)
    await h.notifier.drain()
    notice = h.last_text(WALK_IN)
    await h.say(WALK_IN, f"/status {ticket}")
    status = h.last_text(WALK_IN)
    for shown in (notice, status):
        assert "0579-82345678" in shown and "330702198001011234" not in shown, shown
    assert "办理结果：已核实处理，联系电话0579-82345678" in status
    _no_identifiers(h.api.texts_to(WALK_IN))

    # A duplicate's complainant did not prove the phone on the surviving case: phones stay masked.
    duplicate = await file_complaint(h)
    merge(h.cases, duplicate, OFFICE, ticket, "同一事项")
    await h.notifier.drain()
    await h.say(VETERAN, f"/status {duplicate}")
    merged = h.last_text(VETERAN)
    assert "合并后办理结果" in merged and "0579-82345678" not in merged and "5678" in merged
    assert "330702198001011234" not in merged
