"""Synthetic complaint texts shared by the emerging-theme tests (analytics and pages).

A growing cluster (scenic spot refusing non-local cards), two stable ones (bus drivers, card
production) and unrelated noise; templates are filled with a hometown, region or number.
"""

from __future__ import annotations

HOMETOWNS = ["山东", "河北", "安徽", "河南", "湖北", "江西", "广东", "江苏", "四川", "湖南", "福建", "山西"]
# The planted, growing cluster: placeholder ``{h}`` is the veteran's hometown.
SCENIC = [
    "我是{h}的退役军人，去青岚山景区游玩，售票处说外地优待证不给免票，只认金华本地的优待证。",
    "青岚山景区不认外地优待证，{h}来的老兵出示优待证被拒，说只有本地优待证才免票。",
    "青岚山景区售票处拒收外地优待证，我从{h}过来，外地优待证一律买全价票，不给免票。",
]
# Stable background: ``{r}`` a city, ``{n}`` a bus line.
BUS = [
    "乘坐{r}公交{n}路，司机不认优待证，说优待证不能免费乘车，让我投币。",
    "{r}公交{n}路司机不让刷优待证，说公交只认老年卡，优待证不能免费乘车。",
]
# Stable, slightly shrinking: ``{r}`` a city, ``{n}`` months waited.
CARD = [
    "在{r}服务站申请优待证已经{n}个月，一直说在制卡，优待证什么时候能制发下来？",
    "{r}服务站说优待证还在制卡，申请快{n}个月了，优待证迟迟没有发下来。",
]
NOISE = [
    "孩子入学时退役军人子女优待政策没有落实，学校说没收到教育局通知。",
    "参战退役人员生活补助本季度还没发放，区里说在核对名单。",
    "医院的军人优先挂号窗口经常没人，只能排普通队伍。",
    "申请公租房时退役军人优先没有落实，住建部门说没有这一条。",
    "服务站工作人员上班时间不在岗，去了三次都没人。",
    "创业担保贷款申请提交三个月没有审批结果。",
]
