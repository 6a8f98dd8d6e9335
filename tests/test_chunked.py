"""Chunked large-gallery evaluation: identical to the whole-matrix path, chunk size irrelevant."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fienet.evaluation import compute_distmat, evaluate
from fienet.evaluation.chunked import evaluate_chunked


def split(num_q: int, num_g: int, num_ids: int, dim: int, seed: int, ties: bool = False) -> dict:
    """Identity-structured random features with SYSU-like cameras; some query ids absent from the gallery."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((num_ids, dim))
    q_pids = rng.integers(0, num_ids + 2, num_q)  # ids num_ids, num_ids+1 never in the gallery
    g_pids = rng.integers(0, num_ids, num_g)
    q_centres = np.where(q_pids[:, None] < num_ids, centres[np.minimum(q_pids, num_ids - 1)], 0)  # (Q, dim)
    q = q_centres + rng.standard_normal((num_q, dim))
    g = centres[g_pids] + rng.standard_normal((num_g, dim))
    if ties:  # duplicated gallery rows: equal distances, where the tie order matters
        g[1::2] = g[::2][: g[1::2].shape[0]]
    return {
        "q_feats": q.astype(np.float32), "g_feats": g.astype(np.float32),
        "q_pids": q_pids, "g_pids": g_pids,
        "q_camids": rng.choice([3, 6], num_q), "g_camids": rng.choice([1, 2, 4, 5], num_g),
    }


def unchunked(s: dict, protocol: str, metric: str = "cosine") -> dict:
    distmat = compute_distmat(s["q_feats"], s["g_feats"], metric)
    return evaluate(distmat, s["q_pids"], s["g_pids"], s["q_camids"], s["g_camids"], protocol=protocol)


def assert_identical(a: dict, b: dict) -> None:
    assert a["num_valid"] == b["num_valid"]
    np.testing.assert_array_equal(a["cmc"], b["cmc"])
    assert a["mAP"] == b["mAP"] and a["mINP"] == b["mINP"]  # exact, not approximately


@pytest.mark.parametrize("protocol", ["sysu", "regdb", "llcm"])
@pytest.mark.parametrize("chunk_size", [1, 7, 64, None])
def test_chunked_equals_whole_matrix_exactly(protocol, chunk_size) -> None:
    s = split(num_q=150, num_g=400, num_ids=30, dim=16, seed=1, ties=True)
    assert_identical(evaluate_chunked(**s, protocol=protocol, chunk_size=chunk_size), unchunked(s, protocol))


def test_euclidean_and_tensor_inputs() -> None:
    s = split(num_q=40, num_g=90, num_ids=10, dim=8, seed=2)
    t = {k: torch.from_numpy(np.asarray(v)) for k, v in s.items()}
    got = evaluate_chunked(**t, protocol="sysu", metric="euclidean", chunk_size=9)
    assert_identical(got, unchunked(s, "sysu", metric="euclidean"))


def test_hand_computed_ranks() -> None:
    # One-dimensional features, euclidean distance: gallery at 0, 1, 2, 3 with ids 5, 6, 5, 7.
    g = np.array([[0.0], [1.0], [2.0], [3.0]])
    q = np.array([[0.1], [2.9]])  # query 0 (id 6): ranks 0, 1, 2, 3 -> first match at 2
    out = evaluate_chunked(q, g, [6, 7], [5, 6, 5, 7], [3, 3], [1, 1, 1, 1], "regdb", "euclidean", chunk_size=1)
    # Query 1 (id 7): ranked 3, 2, 1, 0 -> match at 1. AP = (1/2 + 1/1) / 2, INP = (1/2 + 1) / 2.
    np.testing.assert_array_equal(out["cmc"][:3], [0.5, 1.0, 1.0])
    assert out["mAP"] == pytest.approx(0.75) and out["mINP"] == pytest.approx(0.75)


def test_errors_name_the_argument() -> None:
    s = split(num_q=5, num_g=6, num_ids=3, dim=4, seed=3)
    with pytest.raises(ValueError, match=r"g_camids has shape \(5,\); expected \(6,\)"):
        evaluate_chunked(**{**s, "g_camids": s["g_camids"][:5]}, protocol="sysu")
    with pytest.raises(ValueError, match=r"chunk_size must be a positive int"):
        evaluate_chunked(**s, protocol="sysu", chunk_size=0)
    with pytest.raises(ValueError, match=r"unknown protocol 'market'"):
        evaluate_chunked(**s, protocol="market")
    with pytest.raises(ValueError, match=r"no valid query"):
        evaluate_chunked(**{**s, "q_pids": np.full(5, 99)}, protocol="sysu")
