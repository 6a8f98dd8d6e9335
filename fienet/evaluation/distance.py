"""Query-to-gallery distance matrices, and ranking their rows in parallel chunks."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

import numpy as np
import torch

from fienet.arrays import as_features

METRICS = ("cosine", "euclidean")

# Rows per chunk are chosen so that one chunk holds about this many matrix entries: large
# enough to amortise the per-call overhead, small enough that a chunk's int64 ranking
# (8 MB) stays in cache-friendly territory and memory stays bounded on big galleries.
_CHUNK_ENTRIES = 1 << 20

T = TypeVar("T")


def compute_distmat(
    q_feats: np.ndarray | torch.Tensor,
    g_feats: np.ndarray | torch.Tensor,
    metric: str = "cosine",
    chunk_size: int | None = None,
) -> np.ndarray:
    """Distance between every query and every gallery feature.

    Args:
        q_feats: query features, (Q, D), numpy array or tensor (any device).
        g_feats: gallery features, (G, D).
        metric: ``"cosine"`` for ``1 - cos(q, g)`` (in [0, 2]; it ranks exactly like the
            negative inner product of L2-normalised features used by most VI-ReID code), or
            ``"euclidean"`` for the plain (not squared) L2 distance.
        chunk_size: if given, queries are processed this many at a time, which bounds the
            temporary memory; the result is the same as without chunking.

    Returns:
        (Q, G) float32 distances; smaller means more similar.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive int or None, got {chunk_size!r}")
    q = as_features(q_feats, "q_feats")
    g = as_features(g_feats, "g_feats")
    if q.shape[1] != g.shape[1]:
        raise ValueError(
            f"q_feats has feature size {q.shape[1]} but g_feats has {g.shape[1]}; expected equal"
        )
    # float64 products rounded once to float32: BLAS sums in a block-size dependent order,
    # and the extra precision absorbs that so chunked and unchunked results agree.
    if metric == "cosine":
        # Clamping the norm keeps an all-zero feature at distance 1 instead of NaN.
        q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        g = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
    g_sq = (g * g).sum(axis=1)  # (G,)
    out = np.empty((q.shape[0], g.shape[0]), dtype=np.float32)
    step = chunk_size or max(q.shape[0], 1)
    for start in range(0, q.shape[0], step):
        qc = q[start : start + step]  # (C, D)
        sim = qc @ g.T  # (C, G)
        if metric == "cosine":
            out[start : start + step] = 1.0 - sim
        else:
            sq = (qc * qc).sum(axis=1, keepdims=True) + g_sq - 2.0 * sim  # (C, G)
            # Rounding can push the squared distance of near-identical vectors below zero.
            out[start : start + step] = np.sqrt(np.maximum(sq, 0.0))
    return out


def row_chunks(num_rows: int, num_cols: int) -> list[slice]:
    """Splits ``range(num_rows)`` into contiguous slices of about ``_CHUNK_ENTRIES`` entries."""
    rows = max(1, _CHUNK_ENTRIES // max(num_cols, 1))
    return [slice(s, min(s + rows, num_rows)) for s in range(0, num_rows, rows)]


def map_chunks(fn: Callable[[slice], T], chunks: Sequence[slice]) -> list[T]:
    """Applies ``fn`` to every chunk on a small thread pool, keeping the chunk order.

    numpy releases the GIL inside sorting, gathering and element-wise kernels, so threads
    give a real speed-up on the row-wise work of evaluation without copying the matrix
    into worker processes.
    """
    # The CPUs this process may run on, which a container can set below os.cpu_count().
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = min(len(chunks), cpus, 8)
    if workers <= 1:
        return [fn(c) for c in chunks]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, chunks))


def rank_rows(distmat: np.ndarray, top: int | None = None) -> np.ndarray:
    """Column indices sorting each row by ascending distance, as ``np.argsort(distmat, axis=1)``.

    Rows are sorted independently with numpy's default sort, so the order of tied
    distances is exactly the one ``np.argsort`` gives; only the work is split across
    threads.

    Args:
        distmat: (Q, G) distances.
        top: keep only the first ``top`` columns of each ranking (all when None).

    Returns:
        (Q, G) or (Q, top) int64 indices into the gallery.
    """
    distmat = np.asarray(distmat)
    if distmat.ndim != 2:
        raise ValueError(f"distmat must be 2-D, got shape {distmat.shape}")

    def one(rows: slice) -> np.ndarray:
        return np.argsort(distmat[rows], axis=1)[:, :top]

    parts = map_chunks(one, row_chunks(*distmat.shape))
    if not parts:
        return np.empty((0, distmat.shape[1] if top is None else top), dtype=np.int64)
    return np.concatenate(parts)
