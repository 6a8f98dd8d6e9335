"""Class-activation maps of FIENet with pytorch-grad-cam: the algorithms are theirs, the
one-input wrapper, the targets and the hook lifetime are ours.

Usage::

    with CamExplainer(model, "infrared", layer="mpim", method="gradcam") as ex:
        maps = ex(images, [SimilarityTarget(r) for r in references])  # (B, H, W) in [0, 1]

Hooks exist only inside the ``with`` block. Every map is min-max scaled per image by
pytorch-grad-cam, so values compare *within* a map (where it looks), not across maps.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Sequence

import numpy as np
import torch
from pytorch_grad_cam import EigenCAM, GradCAM, GradCAMPlusPlus, HiResCAM, LayerCAM
from pytorch_grad_cam.base_cam import BaseCAM
from torch import Tensor

from fienet.explain.gradients import GRADIENT, INPUT, check_gradients_allowed
from fienet.explain.targets import SimilarityTarget, Target
from fienet.explain.wrapper import ModalityWrapper, eval_mode
from fienet.modalities import Modality
from fienet.model.fienet import TARGET_LAYERS, FIENet

CAM_METHODS: dict[str, type[BaseCAM]] = {
    "gradcam": GradCAM,  # channel weights = spatial mean of the gradients (Selvaraju et al., 2017)
    "gradcam++": GradCAMPlusPlus,  # higher-order gradient weights, better with several instances
    "layercam": LayerCAM,  # per-position positive gradients: finer maps on early layers
    # gradient x activation per position, summed over channels: no spatial averaging of the
    # gradients, so the map is faithful to the score's first-order expansion (Draelos & Carin, 2020)
    "hirescam": HiResCAM,
    # First principal component of the activations: ignores the target. pytorch-grad-cam takes
    # a full SVD per image (a C x C factor), seconds per image at C = 2048 on a CPU.
    "eigencam": EigenCAM,
}


class CamExplainer:
    """CAMs of one modality's images at one layer of FIENet, by one method.

    Entering the context registers pytorch-grad-cam's hooks on the target layer and puts the
    model in evaluation mode; leaving it removes the hooks and restores every module's mode,
    even when the block raises (exceptions always propagate). Like any backward pass, a call
    clears the model's parameter gradients: do not explain in the middle of a training step.

    Args:
        model: FIENet, on the device where the CAMs should be computed.
        modality: ``"visible"`` or ``"infrared"``: the stem the images go through.
        layer: ``"layer1"`` .. ``"layer4"``, ``"pfam3"``, ``"pfam"`` or ``"mpim"`` (see
            ``FIENet.target_layer``).
        method: one of ``CAM_METHODS``.
        output: ``"embedding"`` (use :class:`SimilarityTarget`) or ``"logits"`` (use
            :class:`IdentityTarget`; no targets = the predicted identity).

    Raises:
        ValueError: unknown method, unknown or switched-off layer (``"input"`` is gradient x
            input's), unknown modality or output.
    """

    def __init__(
        self, model: FIENet, modality: Modality, layer: str = "mpim", method: str = "gradcam", output: str = "embedding"
    ) -> None:
        check_cam_setting(method, layer)
        self.wrapper = ModalityWrapper(model, modality, output)
        self.target_layer = model.target_layer(layer)
        self.layer = layer
        self.method = method
        self._cam: BaseCAM | None = None
        self._open = ExitStack()

    def __enter__(self) -> CamExplainer:
        if self._cam is not None:
            raise RuntimeError("this CamExplainer is already open; enter it once")
        with ExitStack() as stack:
            stack.enter_context(eval_mode(self.wrapper))
            cam = CAM_METHODS[self.method](model=self.wrapper, target_layers=[self.target_layer])
            stack.callback(cam.activations_and_grads.release)
            self._open = stack.pop_all()  # nothing failed: keep hooks and modes until close()
        self._cam = cam
        return self

    def __exit__(self, *exc_info: object) -> None:
        # pytorch-grad-cam's own __exit__ prints and swallows IndexError; ours only cleans up,
        # so a wrong index inside the block surfaces as an error.
        self.close()

    def close(self) -> None:
        """Remove the hooks and restore the model's modes (what leaving the context does)."""
        self._cam = None
        self._open.close()

    def __call__(self, images: Tensor, targets: Sequence[Target] | None = None) -> np.ndarray:
        """CAMs of a batch.

        Args:
            images: (B, 3, H, W) normalised images of this explainer's modality (as
                ``test_transform`` makes them); moved to the model's device.
            targets: B scores, one per image (:class:`SimilarityTarget`, :class:`IdentityTarget`
                or any callable on the output row). Ignored by ``"eigencam"``; may be None for
                ``"eigencam"`` and, with ``output="logits"``, to explain the predicted identity.

        Returns:
            (B, H, W) float32 maps in [0, 1] at the input size.
        """
        if self._cam is None:
            raise RuntimeError(
                "CamExplainer must be called inside `with CamExplainer(...) as ex:`; its hooks exist only there"
            )
        if self._cam.uses_gradients:
            check_gradients_allowed(f"{self.method} (a CAM)")
        if images.dim() != 4 or images.shape[1] != 3 or images.shape[0] == 0:
            raise ValueError(f"images have shape {tuple(images.shape)}; expected a non-empty (B, 3, H, W) batch")
        needs_target = self._cam.uses_gradients and self.wrapper.output == "embedding"
        if targets is None and needs_target:
            raise ValueError(
                f"method '{self.method}' on embeddings needs one target per image, e.g. SimilarityTarget(reference); "
                "an embedding has no predicted class to fall back on"
            )
        if targets is not None and len(targets) != images.shape[0]:
            raise ValueError(f"got {len(targets)} targets for {images.shape[0]} images; expected one per image")
        # Requiring the input's gradient keeps a graph through the target layer even when the
        # layers before it are frozen; detach() leaves the caller's tensor untouched. A tensor
        # made under inference mode can never take a gradient: a normal copy of it can.
        if images.is_inference():
            images = images.clone()
        x = images.detach().to(self._cam.device).requires_grad_(True)
        with torch.enable_grad():
            maps = self._cam(x, targets=None if targets is None else list(targets))
        self._cam.activations_and_grads.clear()
        self.wrapper.zero_grad(set_to_none=True)
        maps = np.asarray(maps, dtype=np.float32)  # (B, H, W)
        if not np.isfinite(maps).all():
            raise FloatingPointError(
                f"{self.method} at '{self.layer}' gave non-finite CAM values; expected finite activations "
                "and gradients (check the images and the model's weights for NaN/inf)"
            )
        return maps


def check_cam_setting(method: str, layer: str) -> None:
    """Refuse an unknown CAM method, and a CAM at the pixels (gradient x input's place).

    Raises:
        ValueError: ``method`` is not in ``CAM_METHODS``, or ``layer`` is ``"input"``.
    """
    if method not in CAM_METHODS:
        raise ValueError(f"unknown CAM method '{method}'; expected one of {tuple(CAM_METHODS)}")
    if layer == INPUT:
        raise ValueError(
            f"a CAM ('{method}') reads a layer of the network; '{INPUT}' is the layer of method '{GRADIENT}' "
            f"(gradient x input): use ('{GRADIENT}', '{INPUT}'), or give '{method}' one of {TARGET_LAYERS}"
        )


def final_layer(model: FIENet) -> str:
    """Name of the map the head pools: ``"mpim"``, else ``"pfam"``, else ``"layer4"`` (the baseline)."""
    return model.final_layer  # one rule, in fienet.model.fienet.final_layer


__all__ = ["CAM_METHODS", "CamExplainer", "check_cam_setting", "final_layer"]
