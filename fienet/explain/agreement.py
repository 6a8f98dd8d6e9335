"""Do two attribution maps agree on where the evidence is? Rank correlation on a coarse grid."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F


def is_empty(cam: np.ndarray) -> bool:
    """True for a map that is zero everywhere: it points nowhere and has no ranking to compare."""
    return not np.any(np.asarray(cam) > 0)


def rank_correlation(a: np.ndarray, b: np.ndarray, grid: tuple[int, int]) -> float:
    """Spearman correlation of two maps after average-pooling both onto a ``grid``.

    Pooling to the perturbation's resolution (its stride grid) compares the maps at the detail
    both can show: finer pixels of a CAM would only add ties in the occlusion map.

    Args:
        a, b: (H, W) maps (signed allowed).
        grid: (h, w) cells to pool onto.

    Returns:
        rho in [-1, 1]; NaN when either pooled map is constant (e.g. an empty CAM).
    """
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(f"maps have shapes {a.shape} and {b.shape}; expected two (H, W) maps of one size")
    pooled = F.adaptive_avg_pool2d(torch.from_numpy(np.stack([a, b]))[:, None], grid)[:, 0]  # (2, h, w)
    x, y = pooled.flatten(1).numpy()
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(pd.Series(x).corr(pd.Series(y), method="spearman"))  # Pearson of average ranks


__all__ = ["is_empty", "rank_correlation"]
