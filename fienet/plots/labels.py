"""Checks on the per-sample labels (identities, modalities) that figures take; features: :mod:`fienet.arrays`."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from fienet.modalities import MODALITIES


def as_labels(
    pids: Sequence[int] | np.ndarray, modalities: Sequence[str] | np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Check identity and modality labels of ``n`` samples.

    Args:
        pids: identities, shape (N,).
        modalities: ``"visible"`` or ``"infrared"`` per sample, shape (N,).
        n: expected number of samples N.

    Returns:
        (pids, modalities) as arrays of shape (N,), modalities as str.

    Raises:
        ValueError: a length differs from N or a modality name is unknown.
    """
    pids = np.asarray(pids)
    modalities = np.asarray(modalities, dtype=str)
    if pids.shape != (n,):
        raise ValueError(f"pids has shape {pids.shape}; expected ({n},), one per feature row")
    if modalities.shape != (n,):
        raise ValueError(
            f"modalities has shape {modalities.shape}; expected ({n},), one per feature row"
        )
    unknown = sorted(set(modalities.tolist()) - set(MODALITIES))
    if unknown:
        raise ValueError(f"unknown modalities {unknown}; expected only {list(MODALITIES)}")
    return pids, modalities
