"""Gradient x input at the pixels: the first-order estimate of occluding each pixel.

Occlusion fills a region with the image's mean colour and measures the drop of the score ``s``.
To first order that drop is, pixel by pixel,

    s(x) - s(x with pixel p set to the mean colour m)  ~  sum_c (x[c, p] - m[c]) * ds/dx[c, p],

gradient x input (Shrikumar et al., 2016) with the occlusion's own baseline. It is the same
kind of first-order expansion a CAM makes (HiResCAM is gradient x activation), read at the
pixels instead of at a deep layer: one backward pass, the input's full resolution, and no
mapping of a deep cell back onto the image (a deep cell of this network sees far more of the
image than the patch a CAM paints it on; docs/results.md measures that).

:class:`GradientExplainer` has :class:`~fienet.explain.cam.CamExplainer`'s interface, so audits,
part scores and notebooks treat it as one more (method, layer) setting: ``("gradient", "input")``.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from fienet.explain.perturbation import mean_baseline
from fienet.explain.targets import Target
from fienet.explain.wrapper import ModalityWrapper, eval_mode
from fienet.modalities import Modality
from fienet.model.fienet import FIENet

GRADIENT = "gradient"  # the method's name in a (method, layer) setting
INPUT = "input"  # its layer: the image itself


def check_gradient_layer(layer: str) -> None:
    """Refuse gradient x input anywhere but at the pixels.

    Raises:
        ValueError: ``layer`` is not ``"input"``.
    """
    if layer != INPUT:
        raise ValueError(f"method '{GRADIENT}' (gradient x input) reads the pixels; expected layer '{INPUT}', "
                         f"got '{layer}'")  # fmt: skip


def check_gradients_allowed(name: str) -> None:
    """Refuse a backward pass inside ``torch.inference_mode()``, saying how to call it instead.

    ``torch.no_grad()`` is fine (the explainers turn gradients back on for their pass), but no
    tensor made under inference mode can ever carry a gradient, so autograd would only fail
    later with "element 0 of tensors does not require grad".

    Raises:
        RuntimeError: inference mode is on.
    """
    if torch.is_inference_mode_enabled():
        raise RuntimeError(f"{name} needs gradients, and torch.inference_mode() forbids them; call it outside "
                           "inference_mode (inside torch.no_grad() is fine)")  # fmt: skip


def gradient_x_input(wrapper: ModalityWrapper, images: Tensor, targets: Sequence[Target]) -> Tensor:
    """Signed first-order occlusion estimate per pixel: sum over colours of (x - mean colour) * ds/dx.

    Runs the network in evaluation mode (restoring its modes after) and leaves the parameters'
    ``.grad`` untouched.

    Args:
        wrapper: the model seen as one modality's network.
        images: (B, 3, H, W) normalised images.
        targets: B callables, each turning its image's output row into the score to explain.

    Returns:
        (B, H, W) attributions; positive = the pixel supports the score.

    Raises:
        RuntimeError: called inside ``torch.inference_mode()`` (``torch.no_grad()`` is fine).
    """
    check_gradients_allowed("gradient x input")
    if images.is_inference():  # made under inference mode earlier: a normal copy can take a gradient
        images = images.clone()
    x = images.detach().requires_grad_(True)  # (B, 3, H, W)
    with eval_mode(wrapper), torch.enable_grad():
        out = wrapper(x)  # (B, D)
        score = torch.stack([target(row) for target, row in zip(targets, out)]).sum()
        (grad,) = torch.autograd.grad(score, x)  # (B, 3, H, W)
    return ((images - mean_baseline(images)) * grad).sum(dim=1).detach()  # (B, H, W)


class GradientExplainer:
    """Gradient x input maps of one modality's images, with :class:`CamExplainer`'s interface.

    The map is the positive part of :func:`gradient_x_input` (what supports the score, as a
    CAM's ReLU keeps), scaled to [0, 1] per image; a map with no positive pixel is all zero
    (empty), as an empty CAM is.

    Args:
        model: FIENet, on the device where the maps should be computed.
        modality: ``"visible"`` or ``"infrared"``: the stem the images go through.
        layer: must be ``"input"`` (kept for the common (method, layer) interface).
        signed: keyword only (a 4th positional argument is :class:`CamExplainer`'s ``method``):
            return the signed attributions (not clipped, not scaled) instead.
        output: ``"embedding"`` (use :class:`SimilarityTarget` or :class:`ContrastiveTarget`) or
            ``"logits"`` (use :class:`IdentityTarget`), as for :class:`CamExplainer`; keyword only.

    Raises:
        ValueError: a layer other than ``"input"``, unknown modality or output.
    """

    def __init__(
        self, model: FIENet, modality: Modality, layer: str = INPUT, *, signed: bool = False, output: str = "embedding"
    ) -> None:
        check_gradient_layer(layer)
        self.wrapper = ModalityWrapper(model, modality, output)
        self.layer, self.method, self.signed = layer, GRADIENT, signed
        self._open: ExitStack | None = None

    def __enter__(self) -> GradientExplainer:
        if self._open is not None:
            raise RuntimeError("this GradientExplainer is already open; enter it once")
        with ExitStack() as stack:
            stack.enter_context(eval_mode(self.wrapper))
            self._open = stack.pop_all()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Restore the model's modes (what leaving the context does)."""
        if self._open is not None:
            self._open.close()
        self._open = None

    def __call__(self, images: Tensor, targets: Sequence[Target] | None = None) -> np.ndarray:
        """Maps of a batch.

        Args:
            images: (B, 3, H, W) normalised images of this explainer's modality.
            targets: B scores, one per image (:class:`SimilarityTarget`, :class:`ContrastiveTarget`,
                or :class:`IdentityTarget` with ``output="logits"``).

        Returns:
            (B, H, W) float32 maps in [0, 1] (signed attributions with ``signed=True``).
        """
        if self._open is None:
            raise RuntimeError("GradientExplainer must be called inside `with GradientExplainer(...) as ex:`")
        if images.dim() != 4 or images.shape[1] != 3 or images.shape[0] == 0:
            raise ValueError(f"images have shape {tuple(images.shape)}; expected a non-empty (B, 3, H, W) batch")
        if targets is None or len(targets) != images.shape[0]:
            got = "no targets" if targets is None else f"{len(targets)} targets"
            raise ValueError(f"got {got} for {images.shape[0]} images; expected one score per image, "
                             "e.g. SimilarityTarget(reference)")  # fmt: skip
        device = next(self.wrapper.parameters()).device
        attributions = gradient_x_input(self.wrapper, images.to(device), targets)  # (B, H, W)
        if not torch.isfinite(attributions).all():
            raise FloatingPointError(
                "gradient x input gave non-finite values; expected finite images and weights (check both for NaN/inf)"
            )
        if self.signed:
            return attributions.float().cpu().numpy()
        positive = attributions.clamp(min=0)  # (B, H, W)
        peak = positive.flatten(1).amax(dim=1).clamp(min=1e-12)[:, None, None]  # (B, 1, 1)
        return (positive / peak).float().cpu().numpy()


__all__ = ["GRADIENT", "INPUT", "GradientExplainer", "check_gradient_layer", "check_gradients_allowed",
           "gradient_x_input"]
