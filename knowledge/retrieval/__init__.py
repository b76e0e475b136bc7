"""Hybrid retrieval over a knowledge base: query analysis, fusion, coverage reranker, regions.

The public entry is :class:`HybridRetriever` (``knowledge.retrieval.retriever``); the seams
are modules of their own: ``query`` (analysis and concepts), ``corpus`` (IDF statistics),
``filters`` (topic/region/document), ``fusion`` (RRF, weighted sum), ``reranker`` (coverage
blend), ``regions`` (place names and the asker's region preference) and ``docnumbers``
(a 发文字号 in a staff query lists its document first).
"""

from knowledge.retrieval.corpus import CROSS_REFERENCE, CorpusStats
from knowledge.retrieval.fusion import FUSION_METHODS, Fusion, rrf_fuse, weighted_fuse
from knowledge.retrieval.query import Concept, QueryAnalysis, QueryAnalyzer
from knowledge.retrieval.regions import RegionPreference, rule_applies
from knowledge.retrieval.reranker import CoverageReranker
from knowledge.retrieval.retriever import Hit, HybridRetriever, RetrievalResult, passage_from_chunk

__all__ = [
    "CROSS_REFERENCE",
    "FUSION_METHODS",
    "Concept",
    "CorpusStats",
    "CoverageReranker",
    "Fusion",
    "Hit",
    "HybridRetriever",
    "QueryAnalysis",
    "QueryAnalyzer",
    "RegionPreference",
    "RetrievalResult",
    "passage_from_chunk",
    "rrf_fuse",
    "rule_applies",
    "weighted_fuse",
]
