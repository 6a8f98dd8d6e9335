"""Embedding maps: t-SNE of features, coloured by identity, marker by modality."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from fienet.modalities import MODALITIES
from fienet.arrays import as_features
from fienet.plots.labels import as_labels
from fienet.plots.images import MODALITY_MARKERS


def tsne_points(features: np.ndarray, seed: int = 0, perplexity: float = 30.0) -> np.ndarray:
    """Project features to 2-D with t-SNE, deterministically for a seed.

    Rows are L2-normalised first so that the map reflects the cosine geometry used for
    retrieval. The perplexity is clipped to ``(N - 1) / 3`` because t-SNE needs it well below
    the number of points, which matters for the small sets shown in teaching notebooks.

    Args:
        features: array of shape (N, D), N >= 2.
        seed: seed of the t-SNE initialisation and optimisation.
        perplexity: requested perplexity before clipping.

    Returns:
        float array of shape (N, 2).

    Raises:
        ValueError: fewer than two rows, non-finite values or a non-positive perplexity.
    """
    x = as_features(features, min_rows=1)
    if x.shape[0] < 2:
        raise ValueError(f"features has {x.shape[0]} row; expected at least 2 for t-SNE")
    if perplexity <= 0:
        raise ValueError(f"perplexity={perplexity}; expected > 0")
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)  # (N, D) unit rows
    from sklearn.manifold import TSNE  # the [notebooks] extra: imported only when a map is drawn

    tsne = TSNE(
        n_components=2,
        perplexity=min(perplexity, (x.shape[0] - 1) / 3),
        init="pca" if x.shape[1] >= 2 else "random",
        learning_rate="auto",
        random_state=seed,
    )
    return tsne.fit_transform(x)


def plot_embedding(
    points: np.ndarray,
    pids: Sequence[int] | np.ndarray,
    modalities: Sequence[str] | np.ndarray,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Scatter precomputed 2-D points: colour = identity, marker = modality (o visible, ^ IR).

    A good cross-modality embedding shows one cluster per colour holding both markers; a
    modality gap shows as circles and triangles in separate clouds.

    Args:
        points: array of shape (N, 2), e.g. from :func:`tsne_points`.
        pids: identity per point, shape (N,).
        modalities: ``"visible"`` or ``"infrared"`` per point, shape (N,).
        title: axes title.
        ax: axes to draw into; a new Figure by default.

    Returns:
        The Figure; its legend explains the two markers.

    Raises:
        ValueError: ``points`` is not (N, 2) or the labels do not match it.
    """
    xy = as_features(points, "points", min_rows=1)
    if xy.shape[1] != 2:
        raise ValueError(f"points has shape {xy.shape}; expected (N, 2)")
    pids, modalities = as_labels(pids, modalities, xy.shape[0])
    ids, index = np.unique(pids, return_inverse=True)
    # tab10 keeps the few-identity figures of the notebooks crisp; husl scales to many ids.
    palette = np.asarray(sns.color_palette("tab10" if len(ids) <= 10 else "husl", len(ids)))
    colors = palette[index]  # (N, 3)

    fig = ax.figure if ax is not None else Figure(figsize=(4.6, 4.2), layout="constrained")
    ax = ax if ax is not None else fig.subplots()
    for modality in MODALITIES:
        keep = modalities == modality
        ax.scatter(xy[keep, 0], xy[keep, 1], c=colors[keep], marker=MODALITY_MARKERS[modality],
                   s=30, edgecolors="white", linewidths=0.4)
    handles = [Line2D([], [], linestyle="", marker=MODALITY_MARKERS[m], color="#555555", label=m)
               for m in MODALITIES]
    ax.legend(handles=handles, title=f"colour: {len(ids)} identities", fontsize=8,
              title_fontsize=8, loc="best")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return fig


def embedding_tsne(
    features: np.ndarray,
    pids: Sequence[int] | np.ndarray,
    modalities: Sequence[str] | np.ndarray,
    title: str | None = None,
    seed: int = 0,
    perplexity: float = 30.0,
    ax: Axes | None = None,
) -> Figure:
    """t-SNE map of features (see :func:`tsne_points` and :func:`plot_embedding`).

    Args:
        features: array of shape (N, D).
        pids: identity per row, shape (N,).
        modalities: ``"visible"`` or ``"infrared"`` per row, shape (N,).
        title: axes title.
        seed: t-SNE seed.
        perplexity: requested perplexity (clipped for small N).
        ax: axes to draw into; a new Figure by default.

    Returns:
        The Figure with one scatter axes.
    """
    x = as_features(features, min_rows=1)
    as_labels(pids, modalities, x.shape[0])  # fail before the slow projection
    return plot_embedding(tsne_points(x, seed, perplexity), pids, modalities, title, ax)


def tsne_pair(
    feats_before: np.ndarray,
    feats_after: np.ndarray,
    pids: Sequence[int] | np.ndarray,
    modalities: Sequence[str] | np.ndarray,
    titles: tuple[str, str] = ("before training", "after training"),
    seed: int = 0,
    perplexity: float = 30.0,
) -> Figure:
    """Two t-SNE maps side by side of the same images, e.g. before and after training.

    Args:
        feats_before: array of shape (N, D1).
        feats_after: array of shape (N, D2), same images in the same order.
        pids: identity per row, shape (N,).
        modalities: ``"visible"`` or ``"infrared"`` per row, shape (N,).
        titles: the two axes titles.
        seed: t-SNE seed, shared by both maps.
        perplexity: requested perplexity (clipped for small N).

    Returns:
        A Figure with two axes.

    Raises:
        ValueError: the two feature sets have different numbers of rows.
    """
    before = as_features(feats_before, "feats_before", min_rows=1)
    after = as_features(feats_after, "feats_after", min_rows=1)
    if before.shape[0] != after.shape[0]:
        raise ValueError(f"feats_before has {before.shape[0]} rows and feats_after "
                         f"{after.shape[0]}; expected the same images in both")
    as_labels(pids, modalities, before.shape[0])
    fig = Figure(figsize=(9.2, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, feats, title in zip(axes, (before, after), titles):
        plot_embedding(tsne_points(feats, seed, perplexity), pids, modalities, title, ax)
    return fig
