"""Image cells shared by the figure functions: loading, framing and the figure grid itself."""

from __future__ import annotations

import os

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from fienet.data.io import read_rgb

ImageLike = str | os.PathLike | np.ndarray
RGB = tuple[int, int, int]

# One colour per role, reused by every figure so that a reader learns them once.
MATCH_RGB: RGB = (40, 167, 69)  # green frame: gallery image of the query's identity
MISMATCH_RGB: RGB = (214, 39, 40)  # red frame: gallery image of another identity
QUERY_RGB: RGB = (31, 119, 180)  # blue frame: the query itself
MODALITY_COLORS: dict[str, str] = {"visible": "#d62728", "infrared": "#1f77b4"}
MODALITY_MARKERS: dict[str, str] = {"visible": "o", "infrared": "^"}


def to_rgb(image: ImageLike) -> np.ndarray:
    """Load or check an image and return it as RGB uint8.

    Args:
        image: a file path (decoded by :func:`fienet.data.io.read_rgb`), or a uint8 array of shape (H, W),
            (H, W, 1), (H, W, 3) or (H, W, 4); grey images are repeated on three channels and an
            alpha channel is dropped.

    Returns:
        uint8 array of shape (H, W, 3).

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the file is not an image, or the array has another dtype or shape.
    """
    if isinstance(image, (str, os.PathLike)):
        return read_rgb(image)  # the one decoder of the package: every mode converted or refused
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ValueError(
            f"image array has dtype {array.dtype}; expected uint8 (H, W) or (H, W, 3) in 0..255"
        )
    if array.ndim == 2:
        return np.repeat(array[:, :, None], 3, axis=2)  # (H, W) -> (H, W, 3)
    if array.ndim == 3 and array.shape[2] in (1, 3, 4):
        if array.shape[2] == 1:
            return np.repeat(array, 3, axis=2)  # (H, W, 1) -> (H, W, 3)
        return array[:, :, :3]
    raise ValueError(
        f"image array has shape {array.shape}; expected (H, W), (H, W, 1), (H, W, 3) or (H, W, 4)"
    )


def framed(image: np.ndarray, color: RGB, width: int | None = None) -> np.ndarray:
    """Surround an RGB image with a solid border drawn in its own pixels.

    The frame is part of the image rather than an axes decoration, so it survives any later
    resizing or saving and can be read back from the array.

    Args:
        image: uint8 array of shape (H, W, 3).
        color: RGB colour of the frame.
        width: border width in pixels; by default 6% of the shorter side, at least 2.

    Returns:
        uint8 array of shape (H + 2 * width, W + 2 * width, 3).
    """
    if width is None:
        width = max(2, round(0.06 * min(image.shape[:2])))
    out = np.empty((image.shape[0] + 2 * width, image.shape[1] + 2 * width, 3), dtype=np.uint8)
    out[...] = np.asarray(color, dtype=np.uint8)
    out[width:-width, width:-width] = image
    return out


def image_figure(nrows: int, ncols: int, cell: tuple[float, float] = (1.4, 2.6)) -> Figure:
    """An empty figure sized for a grid of person crops (tall, narrow cells).

    Args:
        nrows: rows of the grid.
        ncols: columns of the grid.
        cell: (width, height) of one cell in inches.

    Returns:
        A Figure with constrained layout and no axes yet.
    """
    return Figure(figsize=(cell[0] * ncols, cell[1] * nrows), layout="constrained")


def bare(ax: Axes) -> None:
    """Hide ticks and spines but keep the title and axis labels (used as row headers)."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def blank(ax: Axes, text: str = "no image") -> None:
    """Draw an empty grid cell: a light grey box that says why it is empty."""
    bare(ax)
    ax.set_facecolor("#f0f0f0")
    ax.text(0.5, 0.5, text, ha="center", va="center", color="#888888", fontsize=8,
            transform=ax.transAxes)
