"""Checks on the arrays every layer takes from callers: feature matrices and per-sample vectors.

One validator per kind of array, so that a malformed input gets the same message whether it
reaches the metrics, re-ranking, chunked evaluation or a figure. Imports nothing of fienet.
"""

from __future__ import annotations

import numpy as np
import torch


def _to_numpy(x: np.ndarray | torch.Tensor | list) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def as_features(x: np.ndarray | torch.Tensor, name: str = "features", min_rows: int = 0) -> np.ndarray:
    """``x`` as a finite float64 (N, D) numpy array, N >= ``min_rows``, or an error naming it.

    Raises:
        ValueError: not two-dimensional, too few rows, not real numbers, or not finite.
    """
    x = _to_numpy(x)
    if x.ndim != 2 or x.shape[0] < min_rows:
        raise ValueError(f"{name} has shape {x.shape}; expected an (N, D) feature matrix with N >= {min_rows}")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise ValueError(f"{name} must hold real numbers, got dtype {x.dtype}")
    x = x.astype(np.float64, copy=False)
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values; expected finite features")
    return x


def as_vector(x: np.ndarray | torch.Tensor | list, name: str, length: int, against: str = "") -> np.ndarray:
    """``x`` as a (length,) numpy vector (identities, cameras), or an error naming it.

    Args:
        x: the vector.
        name: its argument name, for the message.
        length: the expected length.
        against: what fixes the length, said in the message (e.g. ``" but distmat has 3 gallery columns"``).
    """
    x = _to_numpy(x)
    if x.ndim != 1 or x.shape[0] != length:
        raise ValueError(f"{name} has shape {x.shape}{against}; expected ({length},)")
    return x
