"""Euclidean distances between rows of feature matrices, safe to differentiate."""

from __future__ import annotations

from torch import Tensor


def euclidean_distances(x: Tensor, y: Tensor, eps: float = 1e-12) -> Tensor:
    """All pairwise Euclidean distances between the rows of ``x`` and ``y``.

    Uses ``|x|^2 + |y|^2 - 2 x.y`` (one matrix product instead of an (N, M, D) difference
    tensor). Rounding can make the squared distance of identical rows slightly negative, and
    the gradient of ``sqrt`` is infinite at 0, hence the clamp at ``eps``.

    Args:
        x: (N, D) features.
        y: (M, D) features.

    Returns:
        (N, M) distances.
    """
    sq = x.pow(2).sum(1, keepdim=True) + y.pow(2).sum(1)[None, :] - 2.0 * x @ y.T  # (N, M)
    return sq.clamp(min=eps).sqrt()


def row_distances(x: Tensor, y: Tensor, eps: float = 1e-12) -> Tensor:
    """Euclidean distance between matching rows of ``x`` and ``y``: (N, D), (N, D) -> (N,).

    The ``eps`` under the root keeps the gradient finite (and zero) when two rows coincide.
    """
    return ((x - y).pow(2).sum(1) + eps).sqrt()
