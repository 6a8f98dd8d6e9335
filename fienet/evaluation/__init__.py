"""Evaluation: distances, protocol metrics (CMC, mAP, mINP) and k-reciprocal re-ranking."""

from fienet.evaluation.distance import compute_distmat
from fienet.evaluation.metrics import evaluate
from fienet.evaluation.rerank import rerank

__all__ = ["compute_distmat", "evaluate", "rerank"]
