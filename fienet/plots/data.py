"""Figures that show the data itself: a sample grid of identities by camera, part masks, pixel statistics."""

from __future__ import annotations

from collections import defaultdict
from typing import Mapping, Sequence

import numpy as np
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from fienet.data.records import Record
from fienet.modalities import MODALITIES
from fienet.plots.images import (
    MODALITY_COLORS,
    RGB,
    ImageLike,
    bare,
    blank,
    image_figure,
    to_rgb,
)


def sample_grid(
    records: Sequence[Record],
    n_ids: int = 6,
    per_cell: int = 1,
    seed: int = 0,
    pids: Sequence[int] | None = None,
) -> Figure:
    """Show a few identities as seen by every camera, visible cameras first.

    Rows are identities, columns are cameras ordered visible then infrared (by camera id within
    a modality), with ``per_cell`` adjacent columns per camera. A camera that never saw an
    identity (or saw it fewer than ``per_cell`` times) leaves a grey "no image" cell, which is
    itself informative: SYSU-MM01 identities are not seen by all six cameras.

    Args:
        records: the images to draw from, e.g. a training split.
        n_ids: number of identities to show, drawn at random (fewer if fewer exist).
        per_cell: images per identity and camera.
        seed: seed of the choice of identities and of images within a cell.
        pids: identities to show instead of a random choice, in this order.

    Returns:
        A Figure with ``n_rows * n_cameras * per_cell`` axes.

    Raises:
        ValueError: no records, an unknown modality, ``n_ids``/``per_cell`` below 1, or a
            requested identity absent from ``records``.
    """
    if not records:
        raise ValueError("records is empty; expected at least one Record to show")
    if n_ids < 1 or per_cell < 1:
        raise ValueError(f"n_ids={n_ids}, per_cell={per_cell}; expected both >= 1")
    unknown = sorted({r.modality for r in records} - set(MODALITIES))
    if unknown:
        raise ValueError(f"records have unknown modalities {unknown}; expected {list(MODALITIES)}")
    rng = np.random.default_rng(seed)
    available = sorted({r.pid for r in records})
    if pids is None:
        picked = rng.choice(len(available), size=min(n_ids, len(available)), replace=False)
        chosen = [available[i] for i in sorted(picked)]
    else:
        missing = sorted(set(pids) - set(available))
        if missing:
            raise ValueError(f"pids {missing} are not in records; records hold {len(available)} "
                             f"identities from {available[0]} to {available[-1]}")
        chosen = list(pids)

    cameras = sorted({(r.modality, r.camid) for r in records},
                     key=lambda mc: (MODALITIES.index(mc[0]), mc[1]))
    cells: dict[tuple[int, str, int], list[str]] = defaultdict(list)
    for r in records:
        cells[(r.pid, r.modality, r.camid)].append(str(r.path))

    fig = image_figure(len(chosen), len(cameras) * per_cell)
    axes = fig.subplots(len(chosen), len(cameras) * per_cell, squeeze=False)
    for row, pid in enumerate(chosen):
        for col, (modality, camid) in enumerate(cameras):
            paths = sorted(cells.get((pid, modality, camid), []))
            take = np.sort(rng.choice(len(paths), size=min(per_cell, len(paths)), replace=False))
            for j in range(per_cell):
                ax = axes[row, col * per_cell + j]
                if j < len(take):
                    ax.imshow(to_rgb(paths[take[j]]))
                    bare(ax)
                else:
                    blank(ax)
                if row == 0 and j == 0:
                    ax.set_title(f"cam {camid}\n{modality}", color=MODALITY_COLORS[modality],
                                 fontsize=9)
        axes[row, 0].set_ylabel(f"pid {pid}")
    return fig


def blend_mask(
    image: np.ndarray, mask: np.ndarray, colors: Mapping[int, RGB], alpha: float = 0.45
) -> np.ndarray:
    """Tint the pixels of each labelled part with its colour.

    Args:
        image: uint8 array of shape (H, W, 3).
        mask: integer label map of shape (H, W); values absent from ``colors`` stay untinted.
        colors: RGB colour per label value.
        alpha: weight of the colour in a tinted pixel, in [0, 1].

    Returns:
        uint8 array of shape (H, W, 3): ``(1 - alpha) * image + alpha * colour`` on parts.
    """
    size = max([int(mask.max()), *colors]) + 1
    lut = np.zeros((size, 3), dtype=np.float64)  # (L, 3) colour per label value
    weight = np.zeros(size, dtype=np.float64)  # (L,) alpha per label value, 0 = untinted
    for value, rgb in colors.items():
        lut[value] = rgb
        weight[value] = alpha
    w = weight[mask][:, :, None]  # (H, W, 1)
    out = (1.0 - w) * image.astype(np.float64) + w * lut[mask]  # (H, W, 3)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def part_mask_overlay(
    image: ImageLike,
    mask: np.ndarray,
    labels: Mapping[int, str],
    alpha: float = 0.45,
    background: int = 0,
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Show a part mask (e.g. head / torso / legs of a synthetic person) over its image.

    Args:
        image: path or uint8 array of shape (H, W, 3) or (H, W).
        mask: integer label map of shape (H, W).
        labels: name of each part value to colour, e.g. ``{1: "head", 2: "torso"}``.
        alpha: weight of the part colour, in [0, 1].
        background: mask value left untinted and absent from the legend.
        title: axes title.
        ax: axes to draw into; a new single-axes Figure by default.

    Returns:
        The Figure holding the overlay and a legend with one entry per label.

    Raises:
        ValueError: shapes differ, ``alpha`` is outside [0, 1], or the mask holds a value that
            is neither ``background`` nor in ``labels``.
    """
    rgb = to_rgb(image)
    mask = np.asarray(mask)
    if mask.shape != rgb.shape[:2] or not np.issubdtype(mask.dtype, np.integer):
        raise ValueError(f"mask has shape {mask.shape} and dtype {mask.dtype}; expected integer "
                         f"labels of the image's shape {rgb.shape[:2]}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha={alpha}; expected a value in [0, 1]")
    if mask.min() < 0 or min(labels, default=0) < 0:
        raise ValueError("mask or labels hold negative values; expected label values >= 0")
    unnamed = sorted(set(np.unique(mask).tolist()) - set(labels) - {background})
    if unnamed:
        raise ValueError(f"mask values {unnamed} have no name in labels {dict(labels)}; "
                         f"expected every value except background={background} to be named")

    names = {v: n for v, n in labels.items() if v != background}
    palette = sns.color_palette("tab10", max(len(names), 1))
    colors = {v: tuple(int(round(255 * c)) for c in palette[i]) for i, v in enumerate(names)}
    fig = ax.figure if ax is not None else image_figure(1, 1, cell=(3.2, 3.2))
    ax = ax if ax is not None else fig.subplots()
    ax.imshow(blend_mask(rgb, mask, colors, alpha))
    bare(ax)
    handles = [Patch(color=np.asarray(colors[v]) / 255, label=n) for v, n in names.items()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False,
              fontsize=8)
    if title:
        ax.set_title(title)
    return fig


def modality_statistics(pixels: Mapping[str, np.ndarray], bins: int = 64) -> Figure:
    """The modality gap in pixels: grey-level histogram per modality, and each modality's mean image.

    Args:
        pixels: modality name -> uint8 images of shape (N, H, W, 3), all of one size.
        bins: histogram bins over the grey levels 0..255.

    Returns:
        A Figure with the overlaid densities on the left and one mean image per modality.
    """
    images = {m: np.asarray(x, dtype=np.float32) for m, x in pixels.items()}  # (N, H, W, 3) in 0..255
    if not images or any(x.ndim != 4 for x in images.values()):
        raise ValueError("pixels must map modality names to (N, H, W, 3) image arrays; got "
                         f"{ {m: x.shape for m, x in images.items()} }")
    fig = Figure(figsize=(4 + 1.8 * len(images), 3.4), layout="constrained")
    axes = fig.subplots(1, 1 + len(images), gridspec_kw={"width_ratios": [2.2] + [1] * len(images)})
    for modality, x in images.items():
        axes[0].hist(x.mean(axis=-1).ravel(), bins=bins, range=(0, 255), density=True, histtype="step", lw=1.5,
                     color=MODALITY_COLORS.get(modality), label=modality)
    axes[0].set(xlabel="grey level", ylabel="density", title="pixel intensities")
    axes[0].legend()
    for ax, (modality, x) in zip(axes[1:], images.items()):
        ax.imshow(x.mean(axis=0).astype(np.uint8))  # (H, W, 3)
        ax.set(title=f"mean {modality} image", xticks=[], yticks=[])
    return fig


def infrared_mix_grid(rows: Sequence[Sequence[np.ndarray]], mixes: Sequence[float], pids: Sequence[int]) -> Figure:
    """The same people in visible light and in infrared at several luminance mixes.

    Args:
        rows: per identity ``[visible, infrared at mixes[0], ...]`` (H, W, 3) uint8 images,
            as :func:`fienet.data.synthetic.infrared_mix_views` returns them.
        mixes: the ``ir_luminance_mix`` of each infrared column (1: luminance, 0: thermal).
        pids: the identity of each row.
    """
    if len(rows) != len(pids) or any(len(r) != len(mixes) + 1 for r in rows):
        raise ValueError(f"{len(rows)} rows for {len(pids)} pids, each expected to hold 1 + {len(mixes)} images")
    fig = image_figure(len(rows), len(mixes) + 1, cell=(1.5, 2.7))
    axes = fig.subplots(len(rows), len(mixes) + 1, squeeze=False)
    titles = ["visible", *(f"infrared, mix {m:g}" for m in mixes)]
    for r, (images, pid) in enumerate(zip(rows, pids)):
        for c, image in enumerate(images):
            axes[r, c].imshow(to_rgb(image))
            bare(axes[r, c])
            if r == 0:
                axes[r, c].set_title(titles[c], fontsize=9)
        axes[r, 0].set_ylabel(f"id {pid}", fontsize=9)
    return fig
