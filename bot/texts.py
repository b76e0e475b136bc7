"""User-facing Chinese texts and menu labels of the bot (HTML parse mode, static parts only)."""

from __future__ import annotations

# Reply-keyboard labels. Topic buttons send a representative question to the knowledge base.
BTN_CARD = "优待证"
BTN_TRANSIT = "交通出行"
BTN_TOURISM = "景区游览"
BTN_EDUCATION = "子女教育"
BTN_COMPLAIN = "我要投诉"
BTN_STATUS = "查询进度"
BTN_REGION = "设置地区"
BTN_HELP = "使用帮助"

TOPIC_QUESTIONS: dict[str, str] = {
    BTN_CARD: "退役军人优待证有什么用？怎么申领？",
    BTN_TRANSIT: "退役军人乘坐公共交通工具有哪些优待？",
    BTN_TOURISM: "退役军人游览景区有什么优待？",
    BTN_EDUCATION: "退役军人子女教育有哪些优待政策？",
}

MENU_ROWS: list[list[str]] = [
    [BTN_CARD, BTN_TRANSIT, BTN_TOURISM],
    [BTN_EDUCATION, BTN_COMPLAIN, BTN_STATUS],
    [BTN_REGION, BTN_HELP],
]
MENU_LABELS: frozenset[str] = frozenset(label for row in MENU_ROWS for label in row)

WELCOME = (
    "您好！我是<b>退役军人服务与优待政策助手</b>。\n\n"
    "<b>我能做什么</b>\n"
    "• 解答优待证、交通出行、景区游览、子女教育等优待政策问题，每条回答都注明所依据的文件和条款；\n"
    "• 登记您的投诉或意见，转交对应的承办单位办理，并可随时查询办理进度。\n\n"
    "<b>我不能做什么</b>\n"
    "• 我的回答仅供参考，不构成法律意见；\n"
    "• 我不能审批、认定或发放任何待遇，具体以当地退役军人事务部门的答复为准；\n"
    "• 没有依据的问题我会如实告知，请拨打 12345 政务服务热线或咨询当地退役军人服务站。\n\n"
    "<b>隐私说明</b>\n"
    "我们会保存您的提问（其中的身份证号、手机号、银行卡号会先打码）、您设置的地区，"
    "以及您提交的投诉内容和联系电话；联系电话只有承办人员可以看到，其他场合一律打码显示。\n\n"
    "点击下方按钮选择常见主题，或直接输入您的问题。发送 /region 设置所在地区，可优先看到当地政策。"
)

HELP = (
    "<b>使用帮助</b>\n\n"
    "• 直接输入问题，例如：“优待证可以免费坐公交吗？”\n"
    "• /region 设置所在城市或省份，回答会优先采用当地政策\n"
    "• /complain 提交投诉（也可点击「我要投诉」）\n"
    "• /status 查询我的投诉办理进度；/status 受理编号 查看某一件\n"
    "• /cancel 取消正在进行的操作\n\n"
    "回答仅供参考，不构成法律意见；紧急或复杂事项请拨打 12345 政务服务热线或咨询当地退役军人服务站。"
)

APOLOGY = "抱歉，系统处理您的消息时出现问题，请稍后再试。如情况紧急，请拨打 12345 政务服务热线。"
RATE_LIMITED = "您发送消息有点频繁，请稍等片刻再试。我会认真回答每一个问题。"
TOO_LONG = (
    "您的消息太长了（超过 500 字），其中没有找到要问的问题。您的原文已保存：如需反映情况，"
    "点击「作为投诉提交」即可带上全文；如想咨询政策，请把问题概括得简短一些再发给我。"
)
BTN_LONG_AS_COMPLAINT = "📝 作为投诉提交"
LONG_TEXT_NOTE = "（您的消息较长，我按其中的问题回答：“{question}”）"
NON_TEXT = (
    "抱歉，我目前只能处理文字消息（提交投诉时可以附照片），暂不支持贴纸、语音、视频或文件。"
    "请用文字描述您的问题。"
)
UNKNOWN_COMMAND = "未知的命令。发送 /help 查看可用命令。"
PHOTO_OUTSIDE = (
    "图片仅在提交投诉时作为材料保存。咨询政策请直接用文字提问；"
    "如需反映问题并附上照片，请先发送 /complain 开始投诉。"
)
NOT_PRIVATE = "为保护您的隐私，请与我私聊使用。"

REGION_PROMPT = "请选择您所在的地区，或直接输入城市/省份名称（例如：济南市）："
REGION_NATIONAL = "全国（不限地区）"
REGION_SET = "已将您的地区设置为：<b>{region}</b>。之后的回答会优先采用当地政策。"
REGION_CLEARED = "已清除地区设置，回答将以全国性政策为准。"
REGION_BAD = "地区名称应为 2 至 20 个字，请重新输入，或发送 /cancel 取消。"
REGION_ABORTED = "已退出地区设置。"
REGION_RETRY = "请重新输入，或发送 /cancel 取消。"
REGION_LEFT_FOR_QUESTION = "已退出地区设置，地区未更改（如需设置，请发送 /region）。"

THINKING_FAILED = "抱歉，政策知识库暂时不可用，请稍后再试，或拨打 12345 政务服务热线。"
FEEDBACK_THANKS = "感谢您的反馈！"
FEEDBACK_NOT_YOURS = "只有提问人可以评价这条回答。"
SOURCE_GONE = "该条文已更新或不在知识库中，请重新提问以查看最新原文。"
OFFER_COMPLAINT = "如果您想反映具体问题，可以点击下方「我要投诉」登记，我们会转交承办单位办理。"

# --- complaint filing ---------------------------------------------------------------------
COMPLAINT_DETECTED = "听起来您想反映问题，我来帮您登记投诉，转交承办单位办理。随时可发送 /cancel 取消。"
COMPLAINT_START = "好的，我来帮您登记投诉，转交承办单位办理。随时可发送 /cancel 取消。"
ASK_THEME = "第 1 步（共 4 步）：请确认投诉类别{hint}："
ASK_THEME_HINT = "（系统初步判断为 <b>{label}</b>，如不对请点选其他类别）"
ASK_REGION = "第 2 步：问题发生在哪个地区？请点选，或直接输入城市名称："
ASK_REGION_HINT = "\n根据您的描述，初步判断为 <b>{region}</b>（已标 ✅），如不对请点选其他地区或直接输入。"
ASK_DETAILS = (
    "第 3 步：请用文字详细描述情况：时间、地点、涉及的单位或场所、经过，以及您的诉求。如有照片可以一并发送。"
)
ASK_DETAILS_HAVE_TEXT = "\n\n您刚才说的是：\n<i>{text}</i>\n\n如已说明完整，可回复“无补充”。"
TEXT_KEPT = "这段文字已补充到投诉内容中，不会丢失。\n"
# Typed where a button is expected and not taken into the complaint: said, never dropped silently.
STRAY_NOISE = "这条消息没有加入投诉内容。\n"
STRAY_QUESTION = (
    "您正在登记投诉，这个问题没有加入投诉内容。政策问题请在投诉提交后（或发送 /cancel 取消投诉后）"
    "再发给我，我会为您解答。\n"
)
ASK_PHONE_AGAIN = "请再发送联系手机号（也可以点附件按钮分享联系人），不想留请点击「跳过」。"
OVERFLOW_KEPT = "（描述超过案件正文的长度上限，超出部分以您的原消息作为附件一并提交，不会丢失。）"
PHOTO_SAVED = "已收到照片（共 {n} 张），会作为投诉材料一并提交。"
TOO_MANY_PHOTOS = "最多可附 10 张照片，后续照片不再保存。"
ASK_PHONE = (
    "第 4 步：请留下您的姓名和联系手机号（如：张三 139 0000 0000），方便承办人员与您联系"
    "（只有承办人员可见）。不想留可以点击「跳过」。"
)
PHONE_BAD = "手机号格式不正确，请输入 11 位大陆手机号（如 13812345678），或点击「跳过」。"
USE_BUTTONS = "请点击上方按钮进行选择，或发送 /cancel 取消投诉。"
CONFIRM_HEADER = "<b>请核对您的投诉信息：</b>"
CONFIRM_FOOTER = "确认无误请点击「确认提交」。"
EDIT_WHICH = "请选择要修改的内容："
CANCELLED = "已取消，本次投诉未提交。如需帮助，随时发送消息给我。"
NOTHING_TO_CANCEL = "当前没有进行中的操作。"
SUBMITTED = (
    "✅ 投诉已提交，受理编号：<b>{ticket}</b>\n"
    "承办单位：{unit}\n"
    "依据《信访工作条例》第二十三条，承办单位应在 15 日内决定是否受理（受理期限：{due}）。\n"
    "受理后一般 60 日内办结。发送 /status 可随时查询进度，办理结果也会第一时间通知您。"
)
SESSION_LOST = "投诉登记已过期，请重新发送 /complain 开始。"

# --- status / rating ------------------------------------------------------------------------
NO_CASES = "您还没有提交过投诉。发送 /complain 可以提交；如在服务站窗口登记过，请发送 /status 受理编号 查询。"
# A chat that did not file the case (a walk-in receipt, a relative's phone): it proves the
# phone recorded on the case (complaints.followers) before seeing anything.
# The same words whether the ticket exists or not (the reply must not tell): true of both.
STATUS_ASK_DIGITS = (
    "未找到您在本聊天中提交的 <b>{ticket}</b>。\n"
    "如果这件投诉是在服务站窗口登记或由他人代为提交的，请回复登记时所留手机号的<b>后四位</b>，"
    "核验通过后即可查看进度，之后的办理进展也会发送到这里。发送 /cancel 取消。"
)
STATUS_LINKED = "✅ 核验通过，已为您关注投诉 <b>{ticket}</b>，之后的办理进展会发送到这里。"
STATUS_VERIFY_EXPIRED = "核验已超时，请重新发送 /status 受理编号。"
STATUS_VERIFY_CANCELLED = "已取消查询。"
CASE_NOT_FOUND = "未找到该受理编号对应的投诉，请核对编号。"
RATE_PROMPT = "请对本次办理结果进行评价："
RATE_THANKS = "感谢您的评价：{rating}。"

# --- case handlers --------------------------------------------------------------------------
ASK_REASON = {
    "reject": "请输入不予受理的理由（将告知投诉人），或发送 /cancel 取消：",
    "transfer": "请输入转办的单位和说明，格式：单位名称；说明（投诉人只看到“已转交该单位办理”），"
    "或发送 /cancel 取消：",
    "conclude": "请输入办结答复内容（将发送给投诉人），或发送 /cancel 取消：",
    "reply": "请输入中间答复内容（将发送给投诉人），或发送 /cancel 取消：",
    "extend": "请输入延期天数和理由，格式：天数 理由（如：15 需协调公交集团核查；只能延期一次，最多 30 天），"
    "或发送 /cancel 取消：",
}
# After an invalid 延期 entry: the dialog stays in the extend step.
EXTEND_RETRY = (
    "请重新输入，格式：天数 理由（如：15 需协调公交集团核查），天数为 1 至 30 天；或发送 /cancel 取消。"
)
EXTEND_NO_DAYS = "没有读到延期天数。" + EXTEND_RETRY
REASON_TOO_SHORT = "内容太简短，请至少输入 4 个字。"
ACTION_DONE = "已{label}：{ticket}，当前状态：{status}。投诉人已收到通知。"
ACTION_CANCELLED = "已取消该操作。"
