"""Attribution by perturbation: change the image, watch the similarity.

Gradient CAMs read the network's internals at one layer; perturbation asks the model itself:
fill a region with the image's mean colour and measure how much the explained similarity drops.
Slower (one forward pass per region), but it measures what the model uses, so it is the
reference the CAMs are checked against. Occlusion is captum's (``captum.attr.Occlusion``); the
forward it perturbs, the baseline and the deletion curve are ours.
"""

from __future__ import annotations

import numpy as np
import torch
from captum.attr import Occlusion
from torch import Tensor, nn

from fienet.modalities import Modality
from fienet.explain.wrapper import ModalityWrapper, eval_mode
from fienet.model.fienet import FIENet


class SimilarityScore(nn.Module):
    """One modality's images -> the similarity being explained, one scalar per image.

    ``cos(embed(x), a)``, or with ``b`` the contrastive ``cos(embed(x), a) - cos(embed(x), b)``:
    the same scores as :class:`~fienet.explain.targets.SimilarityTarget` and
    :class:`~fienet.explain.targets.ContrastiveTarget`, in the form captum calls (references as
    per-row arguments, so that captum can repeat them for its batches of perturbed copies).

    Shapes:
        x: (B, 3, H, W); a, b: (B, D) -> (B,).
    """

    def __init__(self, model: FIENet, modality: Modality) -> None:
        super().__init__()
        self.embed = ModalityWrapper(model, modality, "embedding")

    def forward(self, x: Tensor, a: Tensor, b: Tensor | None = None) -> Tensor:
        e = self.embed(x)  # (B, D) unit norm
        score = (e * nn.functional.normalize(a.float(), dim=1)).sum(dim=1)  # (B,)
        if b is not None:
            score = score - (e * nn.functional.normalize(b.float(), dim=1)).sum(dim=1)
        return score


def mean_baseline(images: Tensor) -> Tensor:
    """Each image filled with its own mean colour: what a removed region is replaced by.

    The mean keeps the image's overall brightness (an infrared image stays grey, a visible one
    keeps its tint), so removing a region does not also shift the whole image's statistics.

    Shapes:
        images: (B, 3, H, W) -> (B, 3, H, W).
    """
    return images.mean(dim=(2, 3), keepdim=True).expand_as(images)  # (B, 3, H, W)


def occlusion_window(
    height: int, width: int, fraction: int = 8, overlap: bool = True
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Window, stride and resulting grid of an occlusion map.

    Args:
        height, width: image size.
        fraction: the window is 1/``fraction`` of each side.
        overlap: stride of half a window (a finer map, four times the forward passes) or of a
            whole window.

    Returns:
        ((window h, w), (stride h, w), (positions along h, along w)).
    """
    window = (max(1, height // fraction), max(1, width // fraction))
    stride = (max(1, window[0] // 2), max(1, window[1] // 2)) if overlap else window
    grid = ((height - window[0]) // stride[0] + 1, (width - window[1]) // stride[1] + 1)
    return window, stride, grid


@torch.no_grad()
def occlusion_maps(
    model: FIENet,
    modality: Modality,
    images: Tensor,
    reference: Tensor,
    contrast: Tensor | None = None,
    fraction: int = 8,
    overlap: bool = True,
    batch_size: int = 64,
) -> np.ndarray:
    """Occlusion attribution of the similarity, with captum.

    A window of 1/``fraction`` of the image's height and width slides with half-window steps
    (whole-window steps without ``overlap``); each position is filled with the image's mean colour and the drop of the score is credited to
    its pixels (averaged where windows overlap). Positive values: the region supports the score.

    Args:
        model: FIENet, on the images' device.
        modality: the images' modality.
        images: (B, 3, H, W) normalised images.
        reference: (B, D) embedding each image is compared with (e.g. its match).
        contrast: (B, D) look-alike embeddings for the contrastive score, or None.
        fraction: window size as a fraction of each side.
        overlap: half-window steps ((2 * fraction - 1)^2 positions) or whole-window steps (fraction^2).
        batch_size: perturbed copies per forward pass.

    Returns:
        (B, H, W) float32 signed attributions (similarity drop per pixel).
    """
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"images have shape {tuple(images.shape)}; expected (B, 3, H, W)")
    if reference.shape[0] != images.shape[0] or (contrast is not None and contrast.shape != reference.shape):
        raise ValueError(
            f"reference {tuple(reference.shape)} / contrast {None if contrast is None else tuple(contrast.shape)}: "
            f"expected one (D,) row per image ({images.shape[0]})"
        )
    score = SimilarityScore(model, modality)
    window, stride, _ = occlusion_window(images.shape[2], images.shape[3], fraction, overlap)
    extra = (reference,) if contrast is None else (reference, contrast)
    with eval_mode(score):
        attributions = Occlusion(score).attribute(
            images,
            sliding_window_shapes=(3, *window),
            strides=(3, *stride),
            baselines=mean_baseline(images),
            additional_forward_args=extra,
            perturbations_per_eval=max(1, batch_size // images.shape[0]),
        )  # (B, 3, H, W), the same value in each channel
    return attributions[:, 0].float().cpu().numpy()


@torch.no_grad()
def deletion_curves(
    model: FIENet,
    modality: Modality,
    images: Tensor,
    reference: Tensor,
    attributions: np.ndarray,
    steps: int = 10,
    contrast: Tensor | None = None,
    batch_size: int = 64,
) -> np.ndarray:
    """Score as the most-attributed pixels are removed first (filled with the image's mean).

    A map that knows what the model uses makes the score fall fast; a random order makes it
    fall slowly. Ties (e.g. the flat zero area of a CAM) are broken at random, with a seed fixed
    by the image's position, so an empty map deletes in a random order.

    Args:
        model, modality, images, reference, contrast: as for :func:`occlusion_maps`.
        attributions: (B, H, W) maps; higher = removed earlier.
        steps: the curve has ``steps + 1`` points, 0 to 100 % of the pixels removed.
        batch_size: images per forward pass.

    Returns:
        (B, steps + 1) scores, column k after removing ``k / steps`` of the pixels.
    """
    b, _, h, w = images.shape
    if attributions.shape != (b, h, w):
        raise ValueError(f"attributions have shape {attributions.shape}; expected {(b, h, w)}")
    if steps < 1:
        raise ValueError(f"steps={steps}; expected >= 1")
    score = SimilarityScore(model, modality)
    baseline = mean_baseline(images)
    rank = np.empty((b, h * w), dtype=np.int64)  # rank[i, pixel] = deletion position
    for i in range(b):
        jitter = np.random.default_rng(i).random(h * w)
        order = np.lexsort((jitter, -attributions[i].ravel()))  # by attribution, ties at random
        rank[i, order] = np.arange(h * w)
    rank_t = torch.as_tensor(rank, device=images.device).view(b, 1, h, w)  # (B, 1, H, W)
    cut = [round(k * h * w / steps) for k in range(steps + 1)]
    curves = torch.empty(b, steps + 1)
    with eval_mode(score):
        for k, n in enumerate(cut):
            for start in range(0, b, batch_size):
                sl = slice(start, start + batch_size)
                removed = rank_t[sl] < n  # (b', 1, H, W)
                x = torch.where(removed, baseline[sl], images[sl])  # (b', 3, H, W)
                curves[sl, k] = score(x, reference[sl], None if contrast is None else contrast[sl]).float().cpu()
    return curves.numpy()


def deletion_auc(curves: np.ndarray) -> float:
    """Area under the mean deletion curve, scaled so that the curve runs from 1 to 0.

    The mean curve is shifted and scaled by its own end points (score with nothing removed = 1,
    with everything removed = 0), so two orders on the same images, which share both end points,
    compare by how fast they make the score fall: lower is faster. A random order gives about
    0.5; a perfect order gives about 0 when the score depends on few pixels.

    A curve can fall below its own end: the flat image left when everything is removed is not
    the least similar input (a cosine similarity keeps a floor that every image shares), and an
    image with its most-attributed pixels removed can score lower. Below the end counts as the
    end (the scaled curve is clipped at 0): otherwise the area, and a ratio of two areas, could
    be negative and would grow more negative the closer the two end points lie.

    Args:
        curves: (B, steps + 1) from :func:`deletion_curves`.
    """
    return float(mean_curve_auc(np.asarray(curves, dtype=np.float64).mean(axis=0)))


def mean_curve_auc(mean: np.ndarray) -> np.ndarray:
    """:func:`deletion_auc` of already averaged curves, for any number of them at once.

    Args:
        mean: (..., steps + 1) mean deletion curves (e.g. one per bootstrap draw of the images).

    Returns:
        (...) areas in [0, ...); NaN where removing everything did not lower the score (nothing
        to rank).
    """
    mean = np.asarray(mean, dtype=np.float64)
    span = mean[..., :1] - mean[..., -1:]  # (..., 1)
    ok = span > 0
    y = (mean - mean[..., -1:]) / np.where(ok, span, 1.0)  # (..., steps + 1), from 1 to 0
    y = np.maximum(y, 0.0)  # below the end counts as the end
    area = ((y[..., 1:] + y[..., :-1]) / 2).mean(axis=-1)  # trapezoid on [0, 1] with equal steps
    return np.where(ok[..., 0], area, np.nan)


__all__ = ["SimilarityScore", "deletion_auc", "deletion_curves", "mean_baseline", "mean_curve_auc", "occlusion_maps",
           "occlusion_window"]
