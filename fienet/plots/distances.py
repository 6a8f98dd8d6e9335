"""Distance distributions: same vs different identity, within vs across modalities."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from fienet.arrays import as_features
from fienet.plots.labels import as_labels

SAME_WITHIN = "same identity, within modality"
DIFF_WITHIN = "different identity, within modality"
SAME_ACROSS = "same identity, across modalities"
DIFF_ACROSS = "different identity, across modalities"
GROUPS: tuple[str, ...] = (SAME_WITHIN, DIFF_WITHIN, SAME_ACROSS, DIFF_ACROSS)


def pairwise_distance_groups(
    features: np.ndarray,
    pids: Sequence[int] | np.ndarray,
    modalities: Sequence[str] | np.ndarray,
) -> dict[str, np.ndarray]:
    """Cosine distances of every unordered pair of samples, split into four groups.

    Args:
        features: array of shape (N, D) with no all-zero row.
        pids: identity per row, shape (N,).
        modalities: ``"visible"`` or ``"infrared"`` per row, shape (N,).

    Returns:
        ``GROUPS`` name -> float array of the ``1 - cos(f_i, f_j)`` distances of its pairs
        i < j, in row-major order of (i, j); a group without pairs maps to an empty array.

    Raises:
        ValueError: a zero row (cosine undefined) or labels that do not match the features.
    """
    x = as_features(features, min_rows=1)
    pids, modalities = as_labels(pids, modalities, x.shape[0])
    norms = np.linalg.norm(x, axis=1)
    if np.any(norms == 0):
        raise ValueError(f"features rows {np.flatnonzero(norms == 0).tolist()} are all zero; "
                         "expected non-zero rows (cosine distance is undefined)")
    unit = x / norms[:, None]  # (N, D)
    i, j = np.triu_indices(x.shape[0], k=1)  # (P,) each, every pair once
    dist = 1.0 - np.einsum("pd,pd->p", unit[i], unit[j])  # (P,)
    same_id = pids[i] == pids[j]
    same_mod = modalities[i] == modalities[j]
    return {
        SAME_WITHIN: dist[same_id & same_mod],
        DIFF_WITHIN: dist[~same_id & same_mod],
        SAME_ACROSS: dist[same_id & ~same_mod],
        DIFF_ACROSS: dist[~same_id & ~same_mod],
    }


def _hist(ax: Axes, values: np.ndarray, label: str, color: str, binrange: tuple[float, float],
          bins: int) -> None:
    """One density histogram with a KDE when the values allow one, or a legend-only entry."""
    if values.size == 0:
        ax.plot([], [], color=color, label=f"{label}: no pairs")
        return
    sns.histplot(x=values, ax=ax, stat="density", bins=bins, binrange=binrange, element="step",
                 alpha=0.3, color=color, kde=values.size > 1 and values.std() > 0,
                 label=f"{label} (n={values.size})")


def distance_histograms(
    features: np.ndarray,
    pids: Sequence[int] | np.ndarray,
    modalities: Sequence[str] | np.ndarray,
    bins: int = 30,
    title: str | None = None,
) -> Figure:
    """Histograms of cosine distances in two panels: within one modality, across modalities.

    Each panel shows same-identity (green) against different-identity (red) pairs; the less
    the two overlap, the easier retrieval is. The cross-modality panel is the one that matters
    for VI-ReID. All four histograms share their bins so they can be compared.

    Args:
        features: array of shape (N, D).
        pids: identity per row, shape (N,).
        modalities: ``"visible"`` or ``"infrared"`` per row, shape (N,).
        bins: number of histogram bins.
        title: figure title.

    Returns:
        A Figure with two axes sharing the x axis.

    Raises:
        ValueError: see :func:`pairwise_distance_groups`; also fewer than two samples.
    """
    groups = pairwise_distance_groups(features, pids, modalities)
    every = np.concatenate(list(groups.values()))
    if every.size == 0:
        raise ValueError("features has a single row; expected at least two samples to pair")
    low, high = float(every.min()), float(every.max())
    binrange = (low, high) if high > low else (low - 0.05, high + 0.05)

    fig = Figure(figsize=(9.0, 3.4), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True)
    panels = (("within modality", SAME_WITHIN, DIFF_WITHIN),
              ("across modalities", SAME_ACROSS, DIFF_ACROSS))
    for ax, (name, same, diff) in zip(axes, panels):
        _hist(ax, groups[same], "same identity", "tab:green", binrange, bins)
        _hist(ax, groups[diff], "different identity", "tab:red", binrange, bins)
        ax.set_title(name)
        ax.set_xlabel("cosine distance")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    return fig
