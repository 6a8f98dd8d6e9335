"""A (method, layer) setting -> the explainer that draws its maps.

Two kinds share one interface (a ``with`` block, then ``explainer(images, targets)`` -> (B, H, W)
maps in [0, 1]): the class-activation maps of pytorch-grad-cam at a layer of the network
(:class:`~fienet.explain.cam.CamExplainer`, methods ``CAM_METHODS``), and gradient x input at
the pixels (:class:`~fienet.explain.gradients.GradientExplainer`, the setting
``("gradient", "input")``). Audits, part scores and notebooks go through :func:`make_explainer`.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

from fienet.explain.cam import CAM_METHODS, CamExplainer, check_cam_setting
from fienet.explain.gradients import GRADIENT, INPUT, GradientExplainer, check_gradient_layer
from fienet.modalities import MODALITIES, Modality
from fienet.model.fienet import TARGET_LAYERS, FIENet

METHODS: tuple[str, ...] = (*CAM_METHODS, GRADIENT)
Explainer = CamExplainer | GradientExplainer


def make_explainer(
    model: FIENet,
    modality: Modality,
    layer: str,
    method: str,
    *,
    signed: bool = False,
    output: str = "embedding",
) -> Explainer:
    """The explainer of ``method`` at ``layer`` for one modality's images (open it with ``with``).

    Args:
        model, modality, layer, method: the setting and what it explains.
        signed: gradient x input returns its signed attributions instead of their positive part
            scaled to [0, 1]: what an audit ranks regions by, as it ranks occlusion's signed
            drops. A CAM has no sign left to give (its ReLU removed it) and ignores this.
        output: ``"embedding"`` or ``"logits"``: what the targets score (see :class:`CamExplainer`).

    Raises:
        ValueError: an unknown method or layer, a layer the model lacks, gradient x input away
            from the input or a CAM at it.
    """
    check_setting(method, layer)
    if method == GRADIENT:
        return GradientExplainer(model, modality, layer, signed=signed, output=output)
    return CamExplainer(model, modality, layer, method, output)


def check_setting(method: str, layer: str) -> None:
    """Refuse a (method, layer) that no model can draw, whatever layers it has.

    Raises:
        ValueError: unknown method; a layer that is neither one of ``TARGET_LAYERS`` nor
            ``"input"``; gradient x input away from the input, or a CAM at it.
    """
    if method not in METHODS:
        raise ValueError(f"unknown explanation method '{method}'; expected one of {METHODS}")
    if layer != INPUT and layer not in TARGET_LAYERS:
        raise ValueError(f"unknown layer '{layer}' in setting ('{method}', '{layer}'); expected one of "
                         f"{TARGET_LAYERS} (the network's) or '{INPUT}' (the pixels, for '{GRADIENT}')")  # fmt: skip
    if method == GRADIENT:
        check_gradient_layer(layer)
    else:
        check_cam_setting(method, layer)


def check_settings(model: FIENet, settings: Sequence[tuple[str, str]]) -> None:
    """Refuse, before any slow work, a (method, layer) no explainer can draw.

    A known layer the model lacks (``pfam3`` of the baseline) is allowed: audits skip it. The
    setting itself is checked whether or not the model has the layer, so a wrong setting fails
    on every model, not only on those that have its layer.

    Args:
        model: the model the settings will explain.
        settings: (method, layer) pairs.

    Raises:
        ValueError: as :func:`check_setting`, or an explainer the model cannot build.
    """
    for method, layer in settings:
        check_setting(method, layer)
        if has_layer(model, layer):
            make_explainer(model, MODALITIES[0], layer, method)  # builds it only: no hooks, no pass


def has_layer(model: FIENet, layer: str) -> bool:
    """Whether ``model`` has ``layer`` (the baseline has no ``pfam3``); the input always exists."""
    if layer == INPUT:
        return True
    try:
        model.target_layer(layer)
    except ValueError:
        return False
    return True


def layer_cells(model: FIENet, layer: str, image: Tensor, modality: Modality) -> str:
    """Size of ``layer``'s map for one (3, H, W) image, as "h x w" (what a map there can resolve)."""
    if layer == INPUT:
        return f"{image.shape[-2]}x{image.shape[-1]}"
    seen: list[tuple[int, ...]] = []
    handle = model.target_layer(layer).register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape[-2:])))
    try:
        with torch.no_grad():
            model.embed(image[None], modality)
    finally:
        handle.remove()
    return f"{seen[0][0]}x{seen[0][1]}"


__all__ = ["METHODS", "Explainer", "check_setting", "check_settings", "has_layer", "layer_cells", "make_explainer"]
