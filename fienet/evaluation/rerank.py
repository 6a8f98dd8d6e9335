"""k-reciprocal re-ranking (Zhong et al., "Re-ranking Person Re-identification with
k-reciprocal Encoding", CVPR 2017).

Two images are likely the same person when each is among the other's k nearest neighbours.
The method encodes every image (query and gallery together) by its expanded k-reciprocal
neighbour set as a sparse, Gaussian-weighted vector, smooths that vector over its k2 nearest
neighbours (local query expansion), and compares query and gallery by the Jaccard distance
of their vectors. The final distance mixes it with the original one:
``(1 - lambda) * jaccard + lambda * original``.

No step loops over images: neighbour sets are boolean N x N masks, the expansion test
gathers all (image, candidate) pairs at once, and the Jaccard distance sums over an inverted
index of the gallery vectors, a few hundred query rows at a time.
"""

from __future__ import annotations

import numpy as np
import torch

from fienet.arrays import as_features
from fienet.evaluation.distance import rank_rows

# Query rows handled per step of the Jaccard sum; bounds the temporary pair arrays.
_JACCARD_QUERY_CHUNK = 256


def original_distance(feats: np.ndarray) -> np.ndarray:
    """The re-ranking's base distance: squared Euclidean, each row divided by its maximum.

    Args:
        feats: (N, D) float64 features of queries then gallery.

    Returns:
        (N, N) float32 distances in [0, 1]. Dividing a row by a constant keeps its ranking and
        makes the Gaussian weights ``exp(-d)`` comparable across images.
    """
    sq = (feats * feats).sum(axis=1)  # (N,)
    # |a|^2 + |b|^2 - 2 a.b, built in place: the (N, N) float64 temporaries are the largest
    # arrays of the whole re-ranking.
    dist = feats @ feats.T  # (N, N)
    dist *= -2.0
    dist += sq[:, None]
    dist += sq[None, :]
    np.maximum(dist, 0.0, out=dist)
    # An image's distance to itself is exactly zero; rounding must not make it otherwise.
    np.fill_diagonal(dist, 0.0)
    row_max = dist.max(axis=1, keepdims=True)  # (N, 1)
    dist /= np.maximum(row_max, 1e-12)
    return dist.astype(np.float32)


def reciprocal_mask(ranking: np.ndarray, k: int) -> np.ndarray:
    """``mask[i, j]`` is True when j is among i's k+1 nearest images and i among j's.

    Args:
        ranking: (N, >= k+1) nearest-first neighbour indices of each image (itself included).
        k: neighbourhood size (k+1 entries, as the image itself usually comes first).

    Returns:
        (N, N) bool k-reciprocal neighbour mask (not symmetric only where ties differ).
    """
    n = ranking.shape[0]
    near = np.zeros((n, n), dtype=bool)
    near[np.arange(n)[:, None], ranking[:, : k + 1]] = True
    return near & near.T


def expanded_neighbours(ranking: np.ndarray, k1: int) -> np.ndarray:
    """k-reciprocal sets of every image, expanded with its candidates' half-size sets.

    A candidate c in R(i, k1) adds its own set R(c, round(k1/2)) when more than two thirds
    of that smaller set already lies in R(i, k1); this recovers true matches that are hard
    positives of i but close to one of its reliable neighbours.

    Args:
        ranking: (N, >= k1+1) nearest-first neighbour indices.
        k1: size of the k-reciprocal neighbourhood.

    Returns:
        (N, N) bool mask of the expanded set of each image.
    """
    n = ranking.shape[0]
    half = int(np.around(k1 / 2))
    full = reciprocal_mask(ranking, k1)  # (N, N)
    small = reciprocal_mask(ranking, half)  # (N, N)
    rows = np.arange(n)

    cands = ranking[:, : k1 + 1]  # (N, k1+1)
    cand_ok = full[rows[:, None], cands]  # (N, k1+1): candidate is a k-reciprocal neighbour
    small_idx = ranking[:, : half + 1]  # (N, h+1): the entries of each R(c, half) ...
    small_ok = small[rows[:, None], small_idx]  # (N, h+1): ... that really are members
    small_size = small_ok.sum(axis=1)  # (N,)

    members = small_idx[cands]  # (N, k1+1, h+1): R(c, half) of every candidate c of image i
    members_ok = small_ok[cands]  # (N, k1+1, h+1)
    overlap = (full[rows[:, None, None], members] & members_ok).sum(axis=2)  # (N, k1+1)
    accept = cand_ok & (overlap > 2.0 / 3.0 * small_size[cands])  # (N, k1+1)

    expanded = full.copy()
    add = accept[:, :, None] & members_ok  # (N, k1+1, h+1)
    expanded[np.broadcast_to(rows[:, None, None], add.shape)[add], members[add]] = True
    return expanded


def _jaccard(vq: np.ndarray, vg: np.ndarray) -> np.ndarray:
    """Jaccard distance ``1 - sum(min) / sum(max)`` between non-negative unit-sum vectors.

    Only the columns where both vectors are non-zero contribute to ``sum(min)``, so the sum
    runs over an inverted index: for every non-zero query entry, the gallery rows that are
    non-zero in the same column. With unit sums, ``sum(max) = 2 - sum(min)``.

    Args:
        vq: (Q, N) query vectors; vg: (G, N) gallery vectors; rows sum to 1.

    Returns:
        (Q, G) float32 Jaccard distances.
    """
    num_q, num_g = vq.shape[0], vg.shape[0]
    g_col, g_row = np.nonzero(vg.T)  # gallery entries grouped by column
    g_val = vg[g_row, g_col]
    per_col = np.bincount(g_col, minlength=vg.shape[1])  # (N,)
    col_start = np.cumsum(per_col) - per_col  # (N,)

    overlap = np.zeros((num_q, num_g))
    for start in range(0, num_q, _JACCARD_QUERY_CHUNK):
        q_row, q_col = np.nonzero(vq[start : start + _JACCARD_QUERY_CHUNK])
        q_val = vq[start + q_row, q_col]
        pairs = per_col[q_col]  # gallery partners of each query entry
        owner = np.repeat(np.arange(q_row.size), pairs)  # (P,) query entry of each pair
        rank_in_col = np.arange(owner.size) - np.repeat(np.cumsum(pairs) - pairs, pairs)
        partner = col_start[q_col[owner]] + rank_in_col  # (P,) index into g_row / g_val
        mins = np.minimum(q_val[owner], g_val[partner])
        flat = q_row[owner] * num_g + g_row[partner]
        rows_here = min(_JACCARD_QUERY_CHUNK, num_q - start)
        block = np.bincount(flat, weights=mins, minlength=rows_here * num_g)
        overlap[start : start + rows_here] = block.reshape(rows_here, num_g)  # (C, G)
    return (1.0 - overlap / (2.0 - overlap)).astype(np.float32)


def rerank(
    q_feats: np.ndarray | torch.Tensor,
    g_feats: np.ndarray | torch.Tensor,
    k1: int = 20,
    k2: int = 6,
    lambda_value: float = 0.3,
) -> np.ndarray:
    """Query-to-gallery distances after k-reciprocal re-ranking.

    Args:
        q_feats: (Q, D) query features (numpy or tensor); use the same features, normalised
            or not, that the plain evaluation ranks with.
        g_feats: (G, D) gallery features.
        k1: size of the k-reciprocal neighbourhood.
        k2: neighbours averaged by the local query expansion (1 disables it).
        lambda_value: weight of the original distance in the result, in [0, 1].

    Returns:
        (Q, G) float32 distances; with ``lambda_value=1`` exactly the original distance
        (row-normalised squared Euclidean, see :func:`original_distance`).
    """
    for name, value in (("k1", k1), ("k2", k2)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if not 0.0 <= lambda_value <= 1.0:
        raise ValueError(f"lambda_value must lie in [0, 1], got {lambda_value!r}")
    q = as_features(q_feats, "q_feats")
    g = as_features(g_feats, "g_feats")
    if q.shape[1] != g.shape[1]:
        raise ValueError(f"q_feats has feature size {q.shape[1]} but g_feats has {g.shape[1]}")
    num_q, n = q.shape[0], q.shape[0] + g.shape[0]
    if num_q == 0 or g.shape[0] == 0:
        raise ValueError(
            f"need at least one query and one gallery feature, got {num_q} and {g.shape[0]}"
        )
    if k2 > n:
        raise ValueError(f"k2={k2} exceeds the {n} query and gallery images")

    dist = original_distance(np.concatenate([q, g]))  # (N, N)
    ranking = rank_rows(dist, top=max(k1 + 1, k2))  # (N, K)
    expanded = expanded_neighbours(ranking, k1)  # (N, N)

    # Sparse Gaussian-weighted encoding of each expanded set, normalised to unit sum.
    rows, cols = np.nonzero(expanded)
    weights = np.exp(-dist[rows, cols].astype(np.float64))
    vectors = np.zeros((n, n), dtype=np.float32)
    vectors[rows, cols] = weights / np.bincount(rows, weights=weights, minlength=n)[rows]

    if k2 > 1:
        # Local query expansion: the mean vector of each image's k2 nearest images.
        expanded_vectors = vectors[ranking[:, 0]].copy()
        for t in range(1, k2):
            expanded_vectors += vectors[ranking[:, t]]
        vectors = expanded_vectors / np.float32(k2)

    jaccard = _jaccard(vectors[:num_q], vectors[num_q:])  # (Q, G)
    return (1 - lambda_value) * jaccard + lambda_value * dist[:num_q, num_q:]
