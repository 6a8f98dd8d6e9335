"""The shared array checks and identity codes, against hand-made cases and a plain loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from fienet.arrays import as_features, as_vector
from fienet.evaluation.metrics import identity_codes


def test_as_features_accepts_tensors_and_lists_as_float64() -> None:
    out = as_features(torch.ones(2, 3, dtype=torch.float16), "q_feats")
    assert out.dtype == np.float64 and out.shape == (2, 3)
    assert as_features([[1, 2]], "x").dtype == np.float64


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (np.ones(3), r"q_feats has shape \(3,\); expected an \(N, D\) feature matrix"),
        (np.ones((2, 2), dtype=complex), "must hold real numbers"),
        (np.array([[np.nan, 1.0]]), "NaN or infinite"),
        (np.array([["a", "b"]]), "must hold real numbers"),
    ],
)
def test_as_features_names_what_is_wrong(bad: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        as_features(bad, "q_feats")


def test_as_features_min_rows() -> None:
    assert as_features(np.ones((0, 4)), "x").shape == (0, 4)
    with pytest.raises(ValueError, match=r"x has shape \(0, 4\); expected .* N >= 1"):
        as_features(np.ones((0, 4)), "x", min_rows=1)


def test_as_vector_checks_length_and_says_against_what() -> None:
    assert as_vector(torch.tensor([1, 2]), "pids", 2).tolist() == [1, 2]
    with pytest.raises(ValueError, match=r"pids has shape \(3,\) but distmat has 2 rows; expected \(2,\)"):
        as_vector([1, 2, 3], "pids", 2, " but distmat has 2 rows")
    with pytest.raises(ValueError, match=r"pids has shape \(1, 2\); expected \(2,\)"):
        as_vector([[1, 2]], "pids", 2)


def test_identity_codes_match_a_plain_loop() -> None:
    rng = np.random.default_rng(0)
    g_pids = rng.integers(0, 20, size=50)
    q_pids = rng.integers(0, 30, size=40)  # some identities absent from the gallery
    q_codes, g_codes = identity_codes(q_pids, g_pids)
    assert q_codes.dtype == g_codes.dtype == np.int32
    for i, q in enumerate(q_pids):
        for j, g in enumerate(g_pids):
            assert (q_codes[i] == g_codes[j]) == (q == g)
        assert (q_codes[i] == -1) == (q not in set(g_pids.tolist()))
