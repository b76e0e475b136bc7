"""Answer units keep a sentence's clauses together (a rule and its exception, a chain of
consequences); list items after a lead-in stay items of that lead-in."""

from knowledge.units import MAX_SENTENCE_CHARS, answer_units


def test_a_rule_and_its_exception_are_one_unit() -> None:
    text = (
        "第三十四条 信访事项应当自受理之日起60日内办结；情况复杂的，经负责人批准，"
        "可以适当延长办理期限，但延长期限不得超过30日。"
    )
    units = answer_units(text)
    assert len(units) == 1
    assert "60日内办结" in units[0] and "不得超过30日" in units[0]


def test_a_condition_clause_is_not_cut_from_its_consequence() -> None:
    text = (
        "实行委任制的人员辞职，或者被辞退的；实行聘用制的人员解除聘用合同的，按照有关规定执行。"
        "另有规定的除外。"
    )
    units = answer_units(text)
    assert units[0].startswith("实行委任制") and units[0].endswith("按照有关规定执行。")
    assert units[1] == "另有规定的除外。"


def test_list_items_stay_items_of_their_lead_in() -> None:
    units = answer_units(
        "对下列退役军人，优先安置：\n（一）立功的；\n（二）残疾的；\n（三）烈士子女。\n其他人员按规定执行。"
    )
    assert units == [
        "对下列退役军人，优先安置：（一）立功的；（二）残疾的；（三）烈士子女。",
        "其他人员按规定执行。",
    ]


def test_a_very_long_chain_of_clauses_is_cut_at_its_clauses() -> None:
    clause = "甲" * (MAX_SENTENCE_CHARS // 2) + "；"
    units = answer_units(clause * 3)
    assert len(units) >= 2
    assert all(len(u) <= MAX_SENTENCE_CHARS for u in units)
