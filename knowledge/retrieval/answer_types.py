"""Answer types: what kind of fact a question asks for (a duration, a time of day, a share, an
amount, exam points, the papers to bring), and how a passage states one.

A question asking "how long" / "how much money" is only answered by a passage that states a
duration / an amount (:mod:`knowledge.retrieval.query` turns each asked type into a concept).
"""

from __future__ import annotations

import re

# Answer types: a question asking "how long" / "how much money" is only answered by a passage
# that states a duration / an amount. Each entry: (question pattern, label, answer pattern).
ANSWER_TYPES: tuple[tuple[re.Pattern[str], str, re.Pattern[str]], ...] = (
    (
        re.compile(
            r"多久|多长时间|多少天|几天|几个月|多少日|多少年|(?:要|需要|满|得)几年|几年(?:才|后|内)|时限|期限|几个工作日|时间限制|时间要求"
            r"|什么时候(?:能|才能|可以)?(?:办下来|批下来|办好|办完|发下来|拿到|到账)"
        ),
        "时限",
        # A span of time, not a calendar date: 30个工作日, 15日内, 5至15天 but not 2021年12月14日.
        re.compile(
            r"(?<![0-9年月])(?:[0-9]+|[一二三四五六七八九十百两]+)\s*(?:个)?(?:工作日|日|天|个月|周|年)"
            r"(?![0-9一二三四五六七八九十]+[月日])"
        ),
    ),
    (
        # 信访局周末上班吗 asks for opening hours too: a rule on how letters are handled does not say.
        re.compile(
            r"几点|几时|什么时间(开|关|营业)|营业时间|开放时间|上班时间|办公时间"
            r"|(?:周末|周六|周日|星期六|星期天|星期日|节假日|晚上)[^，,。？?]{0,3}(?:上班|开门|办公|营业|开放|有人)"
        ),
        "时刻",
        re.compile(r"[0-9]{1,2}\s*[:：点时]|[一二三四五六七八九十]+点"),
    ),
    (
        re.compile(r"多少比例|百分之多少|百分之几|百分比|比例(?:是|有)?多少|具体比例|几成|几折|打折"),
        "比例",
        re.compile(r"[0-9]+(\.[0-9]+)?\s*%|百分之[0-9一二三四五六七八九十]+|[一二三四五六七八九]成|[0-9一二三四五六七八九]折|半价|减半"),
    ),
    (
        # "能贷多少", "利息贴多少", "工资涨多少" ask for a sum too (not 交多少年: a duration).
        re.compile(
            r"多少钱|多少元|几块钱|金额|标准是多少"
            r"|(?:发|给|拿|领|贷|借|补|贴|赔|报|报销|退|交|缴|涨|扣|减免|减|免)(?:到|得到)?多少(?![年天日个次人分倍])"
            # 工资多少 / 抚恤金每月多少: a sum named (工资, 补助, 补贴, …金, 费用), then how much. Only
            # what follows the sum is the question word: 定期抚恤金 stays a concept.
            r"|(?<=[资水助贴金费用])(?:每月|每年|一个月|一年|是|有|能有|大概|一般)?多少(?![年天日个次人分倍])"
        ),
        "金额",
        # Sums, and standards stated as multiples or shares of a base (20倍, 40%, 80个月基本工资).
        re.compile(
            # A fine (处2万元以上5万元以下罚款) is no sum anyone is paid.
            r"[0-9一二三四五六七八九十百千万]+(\.[0-9]+)?\s*(万)?元(?![^。；;]{0,12}罚款)|[0-9一二三四五六七八九十两]+倍"
            r"|[0-9]+(\.[0-9]+)?\s*%|百分之[0-9一二三四五六七八九十]+|[0-9一二三四五六七八九十]+个月(的)?(基本)?工资"
        ),
    ),
    (
        # "会罚多少" asks for the fine, the one sum the 金额 type leaves out.
        re.compile(r"罚多少|罚款多少|罚几|处罚多少|罚款是多少|罚款标准"),
        "罚款",
        re.compile(r"[0-9一二三四五六七八九十百千万]+(\.[0-9]+)?\s*万?元[^。；;]{0,12}罚款|罚款[^。；;]{0,8}[0-9一二三四五六七八九十百千万]+万?元"),
    ),
    (
        # "加几分" asks for a number of exam points: a rule that only says 优先/照顾 does not answer it.
        re.compile(r"加几分|加多少分"),
        "分值",
        re.compile(r"[0-9一二三四五六七八九十]+(\.[0-9]+)?\s*分(?![之钟])|[0-9]+(\.[0-9]+)?\s*%"),
    ),
    (
        # "从哪天开始施行" asks for a calendar date: 2024年9月21日.
        re.compile(
            r"哪天|哪一天|哪年|哪一年|几月几[日号]|几月份|哪个月|每个?月几[号日]|几号(?:发|打|到|给|领)"
            r"|什么时候(?:发|发放|打钱|到账|给钱)(?!下来)"
            r"|什么时候(?:开始)?(?:施行|实施|生效|执行|起)|何时(?:施行|实施|生效)"
        ),
        "日期",
        # 2024年9月21日, 9月30日, 九月的第三个星期六 (a day of the year).
        re.compile(
            r"[0-9一二三四五六七八九〇零]{4}年[0-9一二三四五六七八九十]{1,2}月"
            r"|[0-9一二三四五六七八九十]{1,2}月份?[0-9一二三四五六七八九十]{1,3}[日号]|每月[0-9一二三四五六七八九十]{1,3}[日号]"
            r"|[0-9一二三四五六七八九十]{1,2}月份?的?第[一二三四五]个?(?:星期|周)[一二三四五六日天]"
        ),
    ),
    (
        # "代表最多几个" / "能委托几个人" asks for a number of people: 5人, 一至两名.
        re.compile(r"最多[^，。？?！!]{0,4}几|几个人|几名|几位|多少人|多少名(?!额)|几个代表"),
        "人数",
        re.compile(r"(?:[0-9]+|[一二三四五六七八九十两]+)\s*(?:人|名|位)(?!民|员|士)"),
    ),
    (
        # "投诉电话是多少" asks for a number to dial: a rule that says phone lines must be published
        # (公布…咨询投诉电话) does not answer it. The 电话 itself stays a concept.
        re.compile(
            r"(?<=电话)(?:号码)?(?:是|有)?多少|(?<=热线)(?:号码)?(?:是|有)?多少|号码是多少"
            r"|打(?:什么|哪个|啥)(?:电话|号码)|联系方式|联系电话"
        ),
        "号码",
        # 12345, 12367, 0571-87654321, 13800001111; not sums (30000元) or years.
        re.compile(r"(?<![0-9.])(?:[0-9]{3,4}-)?[0-9]{5,11}(?![0-9.年元万%])"),
    ),
    (
        # "国家信访局在什么位置" asks for a street address, which rules never give (where to
        # apply, 在哪里办, is a department and not this).
        re.compile(r"(?:什么|啥|哪个|哪)(?:位置|地址)|地址(?:是|在)|具体位置|门牌号|在哪条(?:路|街)"),
        "地址",
        re.compile(r"[路街巷道][0-9一二三四五六七八九十]+号"),
    ),
    (
        # "哪几家医院…给个名单" asks for named institutions: a rule that hospitals shall give
        # priority names none.
        re.compile(r"名单|哪(?:几)?家(?:医院|银行)|哪个医院|哪些(?:医院|银行)"),
        "名单",
        # Two or more named hospitals or banks (解放军总医院、…医院), or a named bank (中国工商银行);
        # 加强优抚医院、光荣院建设 names a kind, not a list.
        re.compile(
            r"[\u4e00-\u9fff]{2,12}(?:医院|银行)(?:[、，,]|和|及)[\u4e00-\u9fff]{2,12}(?:医院|银行)"
            r"|中国[\u4e00-\u9fff]{1,4}银行"
        ),
    ),
    (
        # "到多少岁退休" asks for an age: a rule that says 符合退休条件的应当退休 states none.
        re.compile(r"多少岁|几岁|多大岁数|多大年纪|年龄(?:上限|下限|限制)|岁数(?:上限|限制)"),
        "年龄",
        re.compile(r"(?:[0-9]+|[一二三四五六七八九十]+)\s*周?岁"),
    ),
    (
        # "要满足哪些条件" asks for the conditions: 符合条件的退役军人…可以安葬在军人公墓 names
        # conditions without stating them.
        re.compile(r"(?:什么|哪些|啥|哪几个|哪几条)(?:样的)?条件|条件是(?:什么|啥|哪些)|够(?:什么|啥)条件"),
        "条件",
        re.compile(
            r"下列条件|以下条件|条件之一|条件[:：]|具备[^。；]{1,20}条件|年满|满[0-9一二三四五六七八九十]+(?:年|周岁)"
            r"|周岁以[上下]|[一二三]等功以上|[一二三四五六七八九十]级(?:至|到)[一二三四五六七八九十]级"
        ),
    ),
    (
        # "三属是什么意思" asks what a word means: a rule that uses the word without saying what it
        # covers (为退役军人和其他优抚对象发放优待证) does not answer it.
        re.compile(r"什么意思|啥意思|指的是什么|是指什么|指的是啥|什么叫|啥叫|含义是"),
        "定义",
        # A short form in brackets (…病故军人遗属（三属）), not an item number (（十一）).
        re.compile(r"是指|所称|统称|简称|指的是|[（(](?![一二三四五六七八九十]+[）)])[^（）()0-9]{2,4}[）)]"),
    ),
    (
        # "要带什么材料" asks for the papers to bring: a rule on where to apply does not answer it.
        re.compile(r"(?:什么|哪些|啥)(?:材料|证件|证明|手续|资料)|带(?:什么|哪些|啥)|需要(?:什么|哪些|啥)东西"),
        "材料",
        re.compile(
            r"身份证|户口[簿本]|证明(?:书|材料)?|证件|证书|照片|申请表|复印件|原件|登记表"
            r"|(?:提交|提供|携带|持)[^。；]{0,12}(?:材料|资料)"
            # The 手续 asked for may be a step to take (办理求职登记后…享受失业保险待遇).
            r"|办理[^。；，]{1,8}(?:登记|手续)"
        ),
    ),
)

# What a rule (or a section heading: 审核流程和办理时限) says when it governs an asked-for
# quantity without stating it (相应的保险金标准, 领取一次性退役金, 在规定时间内), by the label of
# its answer type. A phone number, an address or a list is never governed without being stated.
NAMED_TYPES: dict[str, re.Pattern[str]] = {
    "时限": re.compile(r"期限|时限|限期|规定时间|规定的时间|之日起|有效期"),
    "时刻": re.compile(r"时间|开放"),
    "比例": re.compile(r"比例|折扣|减免|优惠"),
    "罚款": re.compile(r"罚款|处罚"),
    "金额": re.compile(
        r"(?:保险|抚恤|退役|优待|褒扬|补助|慰问|奖)金|(?<!免)费|补贴|补助|津贴|工资|标准|数额|金额"
    ),
    "分值": re.compile(r"加分|分数|降分"),
    "材料": re.compile(r"材料|资料|手续"),
    "年龄": re.compile(r"年龄|岁"),
    "条件": re.compile(r"条件"),
    "人数": re.compile(r"人数|名额|代表"),
    "日期": re.compile(r"之日|施行|生效"),
}

# The type label of an answer pattern: a question word that is itself the ask (带什么, 哪一天)
# becomes a concept labelled with the word, carrying its type's pattern.
TYPE_OF_PATTERN: dict[re.Pattern[str], str] = {answer: label for _ask, label, answer in ANSWER_TYPES}


def asked_phrases(text: str) -> list[str]:
    """The phrases of ``text`` (normalised, lower case) that ask for an answer type (什么手续,
    多少钱): a word inside one (手续) names the asked fact, not a topic of the question."""
    return [m.group(0) for ask, _label, _answer in ANSWER_TYPES for m in ask.finditer(text)]


def names_type(answer: re.Pattern[str], text: str) -> bool:
    """Whether ``text`` (a section heading, say) names the kind of fact the answer-type
    pattern ``answer`` states (有效期 names a 时限) without necessarily stating one."""
    label = TYPE_OF_PATTERN.get(answer)
    named = NAMED_TYPES.get(label) if label else None
    return bool(named and named.search(text))
