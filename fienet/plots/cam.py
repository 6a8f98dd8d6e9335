"""Class-activation maps drawn over their images, alone or as a grid of methods x images."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from fienet.plots.images import ImageLike, bare, image_figure, to_rgb


def cam_overlay(image: ImageLike, cam: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """Blend a CAM, as a jet heat map, over its image.

    The image is resized (bilinear) to the CAM's size when they differ: a CAM lives at the
    network's input size, so this shows the image as the network saw it.

    Args:
        image: path or uint8 array of shape (H0, W0, 3) or (H0, W0) (grey infrared).
        cam: float array of shape (H, W) with values in [0, 1].
        alpha: weight of the heat map, in [0, 1] (0 = image only).

    Returns:
        uint8 array of shape (H, W, 3).

    Raises:
        ValueError: ``cam`` is not a finite 2-D map in [0, 1], or ``alpha`` is outside [0, 1].
    """
    cam = np.asarray(cam, dtype=np.float32)
    if cam.ndim != 2 or not np.isfinite(cam).all():
        raise ValueError(f"cam has shape {cam.shape}; expected a finite (H, W) map")
    if cam.min() < -1e-6 or cam.max() > 1 + 1e-6:
        raise ValueError(f"cam spans [{cam.min():g}, {cam.max():g}]; expected values in [0, 1]")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha={alpha}; expected a value in [0, 1]")
    # Imported here: pytorch_grad_cam loads torch and OpenCV, seconds that the other figures
    # of this package should not pay.
    from pytorch_grad_cam.utils.image import show_cam_on_image

    rgb = to_rgb(image)
    if rgb.shape[:2] != cam.shape:
        rgb = np.asarray(Image.fromarray(rgb).resize(cam.shape[::-1], Image.BILINEAR))
    return show_cam_on_image(rgb.astype(np.float32) / 255.0, np.clip(cam, 0.0, 1.0),
                             use_rgb=True, image_weight=1.0 - alpha)


def cam_grid(
    images: Sequence[ImageLike],
    cams: Mapping[str, Sequence[np.ndarray]],
    row_titles: Sequence[str] | None = None,
    col_titles: Sequence[str] | None = None,
    alpha: float = 0.5,
    show_input: bool = True,
    outlines: Sequence[np.ndarray | None] | None = None,
    by_image: bool = False,
) -> Figure:
    """Compare CAMs side by side: one column per image, one row per method.

    E.g. columns = a visible and an infrared image of one person, rows = baseline and FIENet,
    to see whether both methods look at the same body parts in both modalities. A map that is
    zero everywhere is labelled "empty map" (Grad-CAM's ReLU can remove all evidence): a plain
    image there would read as "looks nowhere in particular".

    Args:
        images: C images (paths or uint8 arrays).
        cams: method name -> C CAMs of shape (H, W) in [0, 1], one per image in order.
        row_titles: one title per row (default: "input" then the method names).
        col_titles: one title per column (default: none).
        alpha: weight of the heat maps.
        show_input: first row shows the images without CAM.
        outlines: per image, an (H, W) bool region (e.g. the distinguishing parts from the part
            mask, at the CAM's size) drawn as a white contour on every map of that image; None
            entries draw nothing.
        by_image: transpose: one row per image and one column per method (a wide grid for
            many methods, e.g. the layers of a network). Titles follow the layout.

    Returns:
        A Figure with ``(len(cams) + show_input) * C`` axes.

    Raises:
        ValueError: no images or methods, a method with the wrong number of CAMs, or titles
            or outlines of the wrong length.
    """
    if not images or not cams:
        raise ValueError(f"got {len(images)} images and {len(cams)} methods; expected >= 1 each")
    wrong = {name: len(maps) for name, maps in cams.items() if len(maps) != len(images)}
    if wrong:
        raise ValueError(f"CAM counts {wrong} differ from the {len(images)} images; expected "
                         "one CAM per image for every method")
    if outlines is not None and len(outlines) != len(images):
        raise ValueError(f"got {len(outlines)} outlines; expected one (or None) per image ({len(images)})")
    rows: list[tuple[str, list[np.ndarray], list[bool]]] = []
    if show_input:
        rows.append(("input", [to_rgb(im) for im in images], [False] * len(images)))
    rows += [(name, [cam_overlay(im, cam, alpha) for im, cam in zip(images, maps)],
              [not np.any(np.asarray(cam) > 0) for cam in maps])
             for name, maps in cams.items()]
    if row_titles is not None and len(row_titles) != (len(images) if by_image else len(rows)):
        raise ValueError(f"got {len(row_titles)} row_titles; expected {len(images) if by_image else len(rows)}")
    if col_titles is not None and len(col_titles) != (len(rows) if by_image else len(images)):
        raise ValueError(f"got {len(col_titles)} col_titles; expected {len(rows) if by_image else len(images)}")

    n_rows, n_cols = (len(images), len(rows)) if by_image else (len(rows), len(images))
    fig = image_figure(n_rows, n_cols, cell=(1.8, 3.0) if not by_image else (1.5, 2.7))
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for r, (name, pictures, empty) in enumerate(rows):
        for c, picture in enumerate(pictures):
            ax = axes[c, r] if by_image else axes[r, c]
            ax.imshow(picture)
            bare(ax)
            if empty[c]:
                ax.text(0.5, 0.04, "empty map", transform=ax.transAxes, ha="center", va="bottom", fontsize=8,
                        color="white", bbox={"facecolor": "black", "alpha": 0.6, "pad": 1.5, "linewidth": 0})
            if outlines is not None and outlines[c] is not None and name != "input":
                ax.contour(np.asarray(outlines[c], dtype=float), levels=[0.5], colors="white", linewidths=1.0)
        if by_image:
            axes[0, r].set_title(name if col_titles is None else col_titles[r], fontsize=9)
        else:
            axes[r, 0].set_ylabel(name if row_titles is None else row_titles[r])
    for c in range(len(images)):
        if by_image and row_titles is not None:
            axes[c, 0].set_ylabel(row_titles[c])
        if not by_image and col_titles is not None:
            axes[0, c].set_title(col_titles[c], fontsize=9)
    return fig
