"""Evaluation of very large galleries with bounded memory: one chunk of queries at a time.

``evaluate(compute_distmat(q, g), ...)`` holds the whole (Q, G) distance matrix: 1.5 GB of
float32 for SYSU-MM01's 3,803 queries against a 100,000-image gallery, and ``compute_distmat``
briefly needs four times that for its float64 products. Here each chunk of C queries gets its
distances, its ranking and its per-query AP / INP / CMC rank, and only those (Q,) per-query
numbers are kept; peak memory is about ``C * G * 24`` bytes plus two float64 copies of the
gallery features, whatever Q is.

The result is identical (bit for bit) to the unchunked path: distances come from the same
``compute_distmat`` (whose rows do not depend on the other queries), every query's statistics
from the same per-query routine ``evaluate`` uses, and the final averages are taken over the
same (Q,) vectors in the same order.
"""

from __future__ import annotations

import numpy as np
import torch

from fienet.arrays import as_vector
from fienet.evaluation.distance import compute_distmat, map_chunks, row_chunks
from fienet.evaluation.metrics import QueryStats, check_protocol, identity_codes, query_stats, summarize_stats

# Distance entries per query chunk when no chunk size is given: 16M float32 = 64 MB.
_DEFAULT_CHUNK_ENTRIES = 1 << 24


def evaluate_chunked(
    q_feats: np.ndarray | torch.Tensor,
    g_feats: np.ndarray | torch.Tensor,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    protocol: str,
    metric: str = "cosine",
    chunk_size: int | None = None,
    max_rank: int = 20,
) -> dict:
    """``evaluate(compute_distmat(q_feats, g_feats, metric), ...)`` without the (Q, G) matrix.

    Args:
        q_feats: (Q, D) query features; g_feats: (G, D) gallery features (numpy or tensors).
        q_pids, q_camids: (Q,) query identities and cameras.
        g_pids, g_camids: (G,) gallery identities and cameras.
        protocol: one of ``fienet.protocols.PROTOCOLS`` (see :mod:`fienet.evaluation.metrics`).
        metric: ``"cosine"`` or ``"euclidean"``, as in :func:`compute_distmat`.
        chunk_size: queries per chunk; default: as many as keep a chunk near 16M distances.
        max_rank: length of the CMC curve.

    Returns:
        ``{"cmc", "mAP", "mINP", "num_valid"}``, equal to what ``evaluate`` returns.

    Raises:
        ValueError: on malformed inputs, or when no query keeps a true match after filtering.
    """
    check_protocol(protocol, max_rank)
    if chunk_size is not None and (not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
    num_q, num_g = len(q_feats), len(g_feats)
    if num_q == 0 or num_g == 0:
        raise ValueError(f"need at least one query and one gallery feature, got {num_q} and {num_g}")
    q_pids = as_vector(q_pids, "q_pids", num_q)
    q_camids = as_vector(q_camids, "q_camids", num_q)
    g_pids = as_vector(g_pids, "g_pids", num_g)
    g_camids = as_vector(g_camids, "g_camids", num_g)
    q_codes, g_codes = identity_codes(q_pids, g_pids)  # the same codes evaluate() builds

    step = chunk_size or max(1, _DEFAULT_CHUNK_ENTRIES // num_g)
    parts: list[QueryStats] = []
    for start in range(0, num_q, step):
        rows = slice(start, min(start + step, num_q))
        distmat = compute_distmat(q_feats[rows], g_feats, metric)  # (C, G)
        codes, cams = q_codes[rows], q_camids[rows]

        def one(sub: slice, distmat=distmat, codes=codes, cams=cams) -> QueryStats:
            return query_stats(distmat[sub], codes[sub], g_codes, cams[sub], g_camids, protocol, max_rank)

        parts += map_chunks(one, row_chunks(*distmat.shape))
    return summarize_stats(parts, num_q, protocol, max_rank)
