"""CMC / mAP / mINP under the protocols, and the distance matrix they start from."""

import numpy as np
import pytest
import torch

import fienet.evaluation.distance as distance_module
from fienet.evaluation import compute_distmat, evaluate
from fienet.evaluation.metrics import protocol_kept, protocol_ranking
from fienet.evaluation.reference import evaluate_loop
from fienet.protocols import PLAIN_RANKING, PROTOCOLS, REGDB, UNFILTERED


def _cmc(*ranks_hit: float, length: int = 20) -> np.ndarray:
    """A CMC curve from its first values, padded with the last one up to `length`."""
    values = list(ranks_hit)
    return np.array(values + [values[-1]] * (length - len(values)))


# --------------------------------------------------------------------------- hand-computed


def test_regdb_hand_computed():
    # Query 0 (pid 1) ranks the gallery pids as 2, 1, 3, 1: true matches at positions 2 and 4.
    #   AP = (1/2 + 2/4) / 2 = 0.5, INP = 2 / 4 = 0.5, first match at rank 2.
    # Query 1 (pid 3) ranks them as 3, 2, 1, 1: one true match at position 1.
    #   AP = 1, INP = 1, first match at rank 1.
    # Means: mAP = 0.75, mINP = 0.75, CMC = [0.5, 1, 1, ...].
    distmat = np.array([[0.1, 0.2, 0.3, 0.4], [0.5, 0.9, 0.1, 0.7]], dtype=np.float32)
    g_pids = np.array([2, 1, 3, 1])
    out = evaluate(distmat, np.array([1, 3]), g_pids, np.array([1, 1]), np.array([2, 2, 2, 2]), "regdb")
    np.testing.assert_array_equal(out["cmc"], _cmc(0.5, 1.0))
    assert out["mAP"] == pytest.approx(0.75)
    assert out["mINP"] == pytest.approx(0.75)
    assert out["num_valid"] == 2
    assert out["cmc"].shape == (20,)


def test_deduplicated_cmc_differs_from_standard_cmc():
    # Ranked gallery pids 2, 2, 2, 1 for a pid-1 query. Standard CMC: first match at rank 4.
    # Deduplicated list is [2, 1]: first match at rank 2. AP = 1/4 and INP = 1/4 either way.
    # A camera-6 SYSU query has nothing filtered, so only the deduplication differs.
    distmat = np.array([[0.1, 0.2, 0.3, 0.4]])
    g_pids, g_cams = np.array([2, 2, 2, 1]), np.array([1, 4, 5, 1])
    standard = evaluate(distmat, np.array([1]), g_pids, np.array([6]), g_cams, "regdb")
    dedup = evaluate(distmat, np.array([1]), g_pids, np.array([6]), g_cams, "sysu")
    np.testing.assert_array_equal(standard["cmc"], _cmc(0, 0, 0, 1))
    np.testing.assert_array_equal(dedup["cmc"], _cmc(0, 1))
    assert standard["mAP"] == dedup["mAP"] == pytest.approx(0.25)
    assert standard["mINP"] == dedup["mINP"] == pytest.approx(0.25)


def test_sysu_removes_camera2_gallery_for_camera3_queries_only():
    # Gallery, already in distance order: (pid, cam) = (2,2) (1,2) (3,1) (1,4) (1,5).
    distmat = np.array([[0.1, 0.2, 0.3, 0.4, 0.5]] * 2)
    g_pids, g_cams = np.array([2, 1, 3, 1, 1]), np.array([2, 2, 1, 4, 5])
    # Camera-3 query: both camera-2 images go, whatever their pid -> pids 3, 1, 1.
    #   AP = (1/2 + 2/3) / 2 = 7/12, INP = 2/3, deduplicated [3, 1]: rank 2.
    cam3 = evaluate(distmat[:1], np.array([1]), g_pids, np.array([3]), g_cams, "sysu")
    assert cam3["mAP"] == pytest.approx(7 / 12)
    assert cam3["mINP"] == pytest.approx(2 / 3)
    np.testing.assert_array_equal(cam3["cmc"], _cmc(0, 1))
    # Camera-6 query: nothing removed -> pids 2, 1, 3, 1, 1, matches at 2, 4, 5.
    #   AP = (1/2 + 2/4 + 3/5) / 3 = 1.6 / 3, INP = 3/5, deduplicated [2, 1, 3]: rank 2.
    cam6 = evaluate(distmat[:1], np.array([1]), g_pids, np.array([6]), g_cams, "sysu")
    assert cam6["mAP"] == pytest.approx(1.6 / 3)
    assert cam6["mINP"] == pytest.approx(3 / 5)
    np.testing.assert_array_equal(cam6["cmc"], _cmc(0, 1))
    # Both together: plain means over the two valid queries.
    both = evaluate(distmat, np.array([1, 1]), g_pids, np.array([3, 6]), g_cams, "sysu")
    assert both["mAP"] == pytest.approx((7 / 12 + 1.6 / 3) / 2)
    assert both["mINP"] == pytest.approx((2 / 3 + 3 / 5) / 2)


def test_sysu_camera3_query_with_only_camera2_matches_is_invalid():
    distmat = np.array([[0.1, 0.2, 0.3], [0.3, 0.2, 0.1]])
    g_pids, g_cams = np.array([1, 2, 2]), np.array([2, 1, 4])
    # Query 0 (cam 3, pid 1) loses its only match; query 1 (cam 3, pid 2) ranks 2, 2, 1.
    out = evaluate(distmat, np.array([1, 2]), g_pids, np.array([3, 3]), g_cams, "sysu")
    assert out["num_valid"] == 1
    assert out["mAP"] == pytest.approx(1.0)
    np.testing.assert_array_equal(out["cmc"], _cmc(1))


def test_llcm_removes_same_identity_same_camera_only():
    # Query pid 1, camera 1. Gallery in distance order, (pid, cam):
    #   (1,1) removed, (2,1) kept (other pid), (1,2), (2,2), (1,1) removed, (1,3).
    # Kept pids 2, 1, 2, 1: AP = (1/2 + 2/4) / 2 = 0.5, INP = 2/4, deduplicated [2, 1]: rank 2.
    distmat = np.array([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6]])
    g_pids, g_cams = np.array([1, 2, 1, 2, 1, 1]), np.array([1, 1, 2, 2, 1, 3])
    out = evaluate(distmat, np.array([1]), g_pids, np.array([1]), g_cams, "llcm")
    assert out["mAP"] == pytest.approx(0.5)
    assert out["mINP"] == pytest.approx(0.5)
    np.testing.assert_array_equal(out["cmc"], _cmc(0, 1))
    # Without the filter (RegDB) pids 1, 2, 1, 2, 1, 1: matches at 1, 3, 5, 6.
    plain = evaluate(distmat, np.array([1]), g_pids, np.array([1]), g_cams, "regdb")
    assert plain["mAP"] == pytest.approx((1 + 2 / 3 + 3 / 5 + 4 / 6) / 4)
    assert plain["mINP"] == pytest.approx(4 / 6)
    np.testing.assert_array_equal(plain["cmc"], _cmc(1))


def test_invalid_queries_are_left_out_of_every_average():
    # Query 1 has an identity (9) absent from the gallery: it must not dilute anything.
    distmat = np.array([[0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1]])
    g_pids, g_cams = np.array([2, 1, 3, 1]), np.array([1, 1, 1, 1])
    alone = evaluate(distmat[:1], np.array([1]), g_pids, np.array([1]), g_cams, "regdb")
    mixed = evaluate(distmat, np.array([1, 9]), g_pids, np.array([1, 1]), g_cams, "regdb")
    assert mixed["num_valid"] == 1
    np.testing.assert_array_equal(mixed["cmc"], alone["cmc"])
    assert mixed["mAP"] == alone["mAP"] == pytest.approx(0.5)
    assert mixed["mINP"] == alone["mINP"] == pytest.approx(0.5)


def test_all_invalid_raises():
    distmat = np.array([[0.1, 0.2]])
    with pytest.raises(ValueError, match="no valid query"):
        evaluate(distmat, np.array([5]), np.array([1, 2]), np.array([1]), np.array([1, 1]), "regdb")
    # SYSU: the only match is a camera-2 image and the query comes from camera 3.
    with pytest.raises(ValueError, match="no valid query"):
        evaluate(distmat, np.array([1]), np.array([1, 2]), np.array([3]), np.array([2, 1]), "sysu")


def test_short_gallery_pads_cmc_with_its_last_value():
    # Three gallery images, first match at rank 3: CMC = [0, 0, 1, 1, ...] of length 20.
    distmat = np.array([[0.1, 0.2, 0.3]])
    out = evaluate(distmat, np.array([1]), np.array([2, 3, 1]), np.array([1]), np.array([1, 1, 1]), "regdb")
    np.testing.assert_array_equal(out["cmc"], _cmc(0, 0, 1))


# --------------------------------------------------------------------------- ties and loops


def test_ties_follow_numpy_argsort():
    # 40 equal distances: the ranking is whatever np.argsort returns for ties, and the
    # result must be computed from exactly that order.
    g_pids = np.array([2, 3] * 15 + [1] * 10)
    distmat = np.zeros((1, g_pids.size), dtype=np.float32)
    distmat[0, ::3] = 1.0  # two tie groups, so the sort has to move entries around
    order = np.argsort(distmat, axis=1)[0]
    positions = np.flatnonzero(g_pids[order] == 1) + 1
    expected_ap = np.mean(np.arange(1, positions.size + 1) / positions)
    out = evaluate(distmat, np.array([1]), g_pids, np.array([1]), np.ones(g_pids.size), "regdb")
    assert out["mAP"] == pytest.approx(expected_ap, abs=1e-12)
    assert out["mINP"] == pytest.approx(positions.size / positions[-1], abs=1e-12)
    assert out["cmc"][positions[0] - 2] == 0 and out["cmc"][positions[0] - 1] == 1
    # The check has teeth: a stable order of the same ties gives another AP.
    stable = np.argsort(distmat, axis=1, kind="stable")[0]
    stable_pos = np.flatnonzero(g_pids[stable] == 1) + 1
    assert np.mean(np.arange(1, stable_pos.size + 1) / stable_pos) != pytest.approx(expected_ap)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("with_ties", [False, True])
def test_matches_plain_loop_on_random_data(protocol, with_ties, monkeypatch):
    # Tiny chunks force many chunks on several threads, the path big galleries take.
    monkeypatch.setattr(distance_module, "_CHUNK_ENTRIES", 500)
    rng = np.random.default_rng(7)
    num_q, num_g = 120, 90
    q_pids, g_pids = rng.integers(0, 12, num_q), rng.integers(0, 10, num_g)
    q_cams, g_cams = rng.integers(1, 7, num_q), rng.integers(1, 7, num_g)
    if with_ties:
        distmat = rng.integers(0, 4, (num_q, num_g)).astype(np.float32)
    else:
        distmat = rng.random((num_q, num_g)).astype(np.float32)
    fast = evaluate(distmat, q_pids, g_pids, q_cams, g_cams, protocol)
    slow = evaluate_loop(distmat, q_pids, g_pids, q_cams, g_cams, protocol)
    assert 0 < fast["num_valid"] < num_q  # some queries are invalid, so that path runs too
    assert fast["num_valid"] == slow["num_valid"]
    np.testing.assert_array_equal(fast["cmc"], slow["cmc"])
    assert fast["mAP"] == pytest.approx(slow["mAP"], abs=1e-12)
    assert fast["mINP"] == pytest.approx(slow["mINP"], abs=1e-12)
    assert 0.0 <= fast["mINP"] <= fast["mAP"] <= 1.0


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_protocol_ranking_is_the_ranking_evaluate_scores(protocol):
    # Scored query by query, the AP of the shown ranking must be evaluate's AP: pictures and
    # metric see the same images in the same order (ties included).
    rng = np.random.default_rng(3)
    num_q, num_g = 40, 30
    q_pids, g_pids = rng.integers(0, 6, num_q), rng.integers(0, 6, num_g)
    q_cams, g_cams = rng.integers(1, 7, num_q), rng.integers(1, 7, num_g)
    distmat = rng.integers(0, 5, (num_q, num_g)).astype(np.float32)
    ranked = protocol_ranking(distmat, q_pids, g_pids, q_cams, g_cams, protocol)
    checked = 0
    for i, order in enumerate(ranked):
        hits = np.flatnonzero(g_pids[order] == q_pids[i]) + 1
        if hits.size == 0:
            continue
        one = evaluate(distmat[i : i + 1], q_pids[i : i + 1], g_pids, q_cams[i : i + 1], g_cams, protocol)
        assert np.mean(np.arange(1, hits.size + 1) / hits) == pytest.approx(one["mAP"], abs=1e-12)
        assert hits.size / hits[-1] == pytest.approx(one["mINP"], abs=1e-12)
        checked += 1
    assert checked > num_q // 2
    if protocol == "sysu":
        assert all(not (g_cams[order] == 2).any() for i, order in enumerate(ranked) if q_cams[i] == 3)
        assert any((g_cams[order] == 2).any() for i, order in enumerate(ranked) if q_cams[i] != 3)
    lengths = {len(order) for order in ranked}
    assert lengths == {num_g} if protocol in PLAIN_RANKING else max(lengths) == num_g and min(lengths) < num_g
    assert [len(o) for o in protocol_ranking(distmat, q_pids, g_pids, q_cams, g_cams, protocol, k=5)] == [5] * num_q


def test_protocol_kept_hand_example():
    q_pids, q_cams = np.array([7, 7]), np.array([3, 6])
    g_pids, g_cams = np.array([7, 3, 7]), np.array([2, 2, 6])
    np.testing.assert_array_equal(protocol_kept("sysu", q_pids, q_cams, g_pids, g_cams),
                                  [[False, False, True], [True, True, True]])
    np.testing.assert_array_equal(protocol_kept("llcm", q_pids, q_cams, g_pids, g_cams),
                                  [[True, True, True], [True, True, False]])
    assert protocol_kept("regdb", q_pids, q_cams, g_pids, g_cams) is None
    with pytest.raises(ValueError, match="unknown protocol"):
        protocol_kept("market", q_pids, q_cams, g_pids, g_cams)


def test_unfiltered_is_regdbs_rule_under_its_own_name():
    # Validation ranks held-out identities with the "unfiltered" rule; it must give exactly
    # RegDB's numbers (nothing removed, plain CMC), also where SYSU or LLCM would filter.
    rng = np.random.default_rng(11)
    q_pids, g_pids = rng.integers(0, 8, 50), rng.integers(0, 8, 40)
    q_cams, g_cams = np.full(50, 3), rng.integers(1, 7, 40)  # camera-3 queries: SYSU would drop camera 2
    distmat = rng.integers(0, 6, (50, 40)).astype(np.float32)  # ties, so plain and deduplicated CMC differ
    plain = evaluate(distmat, q_pids, g_pids, q_cams, g_cams, UNFILTERED)
    regdb = evaluate(distmat, q_pids, g_pids, q_cams, g_cams, REGDB)
    sysu = evaluate(distmat, q_pids, g_pids, q_cams, g_cams, "sysu")
    np.testing.assert_array_equal(plain["cmc"], regdb["cmc"])
    assert (plain["mAP"], plain["mINP"], plain["num_valid"]) == (regdb["mAP"], regdb["mINP"], regdb["num_valid"])
    assert plain["mAP"] != sysu["mAP"]  # the data is such that filtering would change the numbers
    assert protocol_kept(UNFILTERED, q_pids, q_cams, g_pids, g_cams) is None


def test_long_distinct_prefix_before_first_match():
    # The first true match sits behind 150 other entries of 60 distinct identities: the
    # deduplicated rank must be exact (61) even beyond the first examined prefix.
    g_pids = np.concatenate([np.repeat(np.arange(2, 62), 2), np.arange(2, 32), [1]])
    distmat = np.arange(g_pids.size, dtype=np.float32)[None]
    out = evaluate(distmat, np.array([1]), g_pids, np.array([1]), np.ones(g_pids.size), "sysu", max_rank=70)
    loop = evaluate_loop(distmat, np.array([1]), g_pids, np.array([1]), np.ones(g_pids.size), "sysu", max_rank=70)
    np.testing.assert_array_equal(out["cmc"], loop["cmc"])
    assert out["cmc"][59] == 0 and out["cmc"][60] == 1


def test_accepts_tensors():
    rng = np.random.default_rng(0)
    distmat = rng.random((6, 8))
    q_pids, g_pids = rng.integers(0, 3, 6), rng.integers(0, 3, 8)
    cams_q, cams_g = np.ones(6, int), np.ones(8, int)
    a = evaluate(distmat, q_pids, g_pids, cams_q, cams_g, "regdb")
    b = evaluate(torch.from_numpy(distmat), torch.from_numpy(q_pids), torch.from_numpy(g_pids),
                 torch.from_numpy(cams_q), torch.from_numpy(cams_g), "regdb")
    np.testing.assert_array_equal(a["cmc"], b["cmc"])
    assert a["mAP"] == b["mAP"]


# --------------------------------------------------------------------------- bad input


def test_bad_input_errors_name_the_problem():
    distmat = np.zeros((2, 3))
    ok = dict(q_pids=np.zeros(2), g_pids=np.zeros(3), q_camids=np.ones(2), g_camids=np.ones(3))
    with pytest.raises(ValueError, match="unknown protocol 'market'"):
        evaluate(distmat, protocol="market", **ok)
    with pytest.raises(ValueError, match=r"g_pids has shape \(2,\) but distmat has 3 gallery columns"):
        evaluate(distmat, protocol="regdb", **{**ok, "g_pids": np.zeros(2)})
    with pytest.raises(ValueError, match="distmat must be a non-empty 2-D"):
        evaluate(np.zeros(3), protocol="regdb", **ok)
    with pytest.raises(ValueError, match="NaN"):
        evaluate(np.full((2, 3), np.nan), protocol="regdb", **ok)


# --------------------------------------------------------------------------- distances


def test_distmat_hand_computed():
    q = np.array([[2.0, 0.0]])
    g = np.array([[1.0, 0.0], [0.0, 3.0], [-1.0, 0.0]])
    np.testing.assert_allclose(compute_distmat(q, g, "cosine"), [[0.0, 1.0, 2.0]], atol=1e-7)
    np.testing.assert_allclose(compute_distmat(q, g, "euclidean"), [[1.0, np.sqrt(13), 3.0]], rtol=1e-6)
    assert compute_distmat(q, g).dtype == np.float32


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_distmat_chunked_equals_unchunked_and_accepts_tensors(metric):
    rng = np.random.default_rng(3)
    q, g = rng.standard_normal((37, 16)), rng.standard_normal((23, 16))
    full = compute_distmat(q, g, metric)
    np.testing.assert_array_equal(compute_distmat(q, g, metric, chunk_size=5), full)
    np.testing.assert_array_equal(compute_distmat(torch.from_numpy(q), torch.from_numpy(g), metric), full)
    # The float32 result agrees with a float64 loop over pairs.
    for i, j in [(0, 0), (5, 17), (36, 22)]:
        if metric == "cosine":
            expected = 1 - q[i] @ g[j] / np.linalg.norm(q[i]) / np.linalg.norm(g[j])
        else:
            expected = np.linalg.norm(q[i] - g[j])
        assert full[i, j] == pytest.approx(expected, rel=1e-6, abs=1e-6)


def test_distmat_bad_input():
    with pytest.raises(ValueError, match="q_feats has feature size 3 but g_feats has 4"):
        compute_distmat(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError, match="unknown metric 'manhattan'"):
        compute_distmat(np.zeros((2, 3)), np.zeros((2, 3)), "manhattan")
    with pytest.raises(ValueError, match="g_feats contains NaN"):
        compute_distmat(np.zeros((2, 3)), np.full((2, 3), np.nan))
    with pytest.raises(ValueError, match="chunk_size must be a positive int"):
        compute_distmat(np.zeros((2, 3)), np.zeros((2, 3)), chunk_size=0)
