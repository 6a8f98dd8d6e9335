"""k-reciprocal re-ranking against a plain step-by-step version, plus its invariants."""

import numpy as np
import pytest
import torch

from fienet.evaluation import compute_distmat, evaluate, rerank
from fienet.evaluation.rerank import original_distance


def plain_rerank(q: np.ndarray, g: np.ndarray, k1: int, k2: int, lambda_value: float) -> np.ndarray:
    """Zhong et al.'s re-ranking written for reading: sets, loops, one image at a time."""
    feats = np.concatenate([q, g]).astype(np.float64)
    n, num_q = len(feats), len(q)
    dist = np.array([[np.sum((a - b) ** 2) for b in feats] for a in feats])
    dist = dist / dist.max(axis=1, keepdims=True)
    ranking = np.argsort(dist, axis=1)

    def nearest(i: int, k: int) -> list[int]:
        return list(ranking[i, : k + 1])

    def reciprocal(i: int, k: int) -> list[int]:
        return [j for j in nearest(i, k) if i in nearest(j, k)]

    vectors = np.zeros((n, n))
    for i in range(n):
        r = reciprocal(i, k1)
        expanded = set(r)
        for c in r:
            r_c = reciprocal(c, round(k1 / 2))
            if len(set(r_c) & set(r)) > 2 / 3 * len(r_c):
                expanded |= set(r_c)
        members = sorted(expanded)
        weights = np.exp(-dist[i, members])
        vectors[i, members] = weights / weights.sum()
    if k2 > 1:
        vectors = np.array([vectors[ranking[i, :k2]].mean(axis=0) for i in range(n)])

    jaccard = np.zeros((num_q, n - num_q))
    for i in range(num_q):
        for j in range(n - num_q):
            a, b = vectors[i], vectors[num_q + j]
            jaccard[i, j] = 1 - np.minimum(a, b).sum() / np.maximum(a, b).sum()
    return (1 - lambda_value) * jaccard + lambda_value * dist[:num_q, num_q:]


def _clustered(num_ids: int, per_id: int, dim: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features scattered around one random centre per identity, and their identities."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((num_ids, dim))
    pids = np.repeat(np.arange(num_ids), per_id)
    return centres[pids] + noise * rng.standard_normal((pids.size, dim)), pids


@pytest.mark.parametrize("k1, k2, lambda_value", [(20, 6, 0.3), (6, 3, 0.5), (5, 1, 0.0), (3, 2, 0.3)])
def test_matches_plain_version(k1, k2, lambda_value):
    feats, _ = _clustered(num_ids=8, per_id=6, dim=8, noise=0.8, seed=1)
    q, g = feats[::3], np.delete(feats, np.s_[::3], axis=0)  # 16 queries, 32 gallery
    fast = rerank(q, g, k1=k1, k2=k2, lambda_value=lambda_value)
    assert fast.shape == (16, 32) and fast.dtype == np.float32
    np.testing.assert_allclose(fast, plain_rerank(q, g, k1, k2, lambda_value), atol=2e-6)


def test_lambda_one_gives_the_original_distance():
    feats, _ = _clustered(num_ids=5, per_id=4, dim=6, noise=0.5, seed=2)
    q, g = feats[:7], feats[7:]
    out = rerank(q, g, k1=4, k2=2, lambda_value=1.0)
    np.testing.assert_array_equal(out, original_distance(feats)[:7, 7:])
    # Row normalisation keeps every query's ranking of the plain Euclidean distance.
    np.testing.assert_array_equal(np.argsort(out, axis=1), np.argsort(compute_distmat(q, g, "euclidean"), axis=1))


def test_improves_map_on_clustered_identities():
    # Noisy identities with several images each: the plain distance confuses neighbours of
    # different identities; shared reciprocal neighbourhoods separate them.
    feats, pids = _clustered(num_ids=30, per_id=8, dim=16, noise=1.3, seed=0)
    is_query = np.tile(np.arange(8) < 2, 30)  # 2 queries and 6 gallery images per identity
    q, g = feats[is_query], feats[~is_query]
    q_pids, g_pids = pids[is_query], pids[~is_query]
    cams_q, cams_g = np.ones(q_pids.size), np.ones(g_pids.size)
    before = evaluate(compute_distmat(q, g, "euclidean"), q_pids, g_pids, cams_q, cams_g, "regdb")
    after = evaluate(rerank(q, g), q_pids, g_pids, cams_q, cams_g, "regdb")
    assert after["mAP"] > before["mAP"] + 0.05


def test_invariances():
    feats, _ = _clustered(num_ids=6, per_id=5, dim=8, noise=0.7, seed=3)
    q, g = feats[:9], feats[9:]
    base = rerank(q, g, k1=6, k2=3)
    assert np.all((base >= 0) & (base <= 1))
    # A global scale of the features changes no neighbourhood and no normalised distance.
    np.testing.assert_allclose(rerank(3.0 * q, 3.0 * g, k1=6, k2=3), base, atol=1e-6)
    # Reordering queries or gallery only reorders the rows or columns of the result.
    perm_q, perm_g = np.random.default_rng(0).permutation(9), np.random.default_rng(1).permutation(21)
    np.testing.assert_allclose(rerank(q[perm_q], g[perm_g], k1=6, k2=3), base[perm_q][:, perm_g], atol=1e-6)
    # An image shared by the query and gallery sets is at distance zero from itself.
    self_dist = rerank(g[:3], g, k1=6, k2=3)
    np.testing.assert_allclose(self_dist[np.arange(3), np.arange(3)], 0.0, atol=1e-6)


def test_accepts_tensors():
    feats, _ = _clustered(num_ids=4, per_id=4, dim=5, noise=0.5, seed=4)
    expected = rerank(feats[:5], feats[5:], k1=4, k2=2)
    out = rerank(torch.from_numpy(feats[:5]), torch.from_numpy(feats[5:]), k1=4, k2=2)
    np.testing.assert_array_equal(out, expected)


def test_bad_arguments():
    q, g = np.zeros((2, 3)), np.ones((4, 3))
    with pytest.raises(ValueError, match="k1 must be a positive int"):
        rerank(q, g, k1=0)
    with pytest.raises(ValueError, match=r"lambda_value must lie in \[0, 1\]"):
        rerank(q, g, lambda_value=1.5)
    with pytest.raises(ValueError, match="q_feats has feature size 3 but g_feats has 2"):
        rerank(q, np.ones((4, 2)))
    with pytest.raises(ValueError, match="k2=7 exceeds the 6 query and gallery images"):
        rerank(q, g, k1=2, k2=7)
