"""FIENet seen as a one-input network of one modality: the form CAM libraries call.

FIENet takes ``visible=`` and ``infrared=`` keywords (each stream has its own stem) and returns a
NamedTuple; pytorch-grad-cam calls ``model(x)`` and scores one tensor. :class:`ModalityWrapper`
bridges the two without touching the network: the same weights, the stem fixed by the modality.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from torch import Tensor, nn

from fienet.modalities import MODALITIES, Modality
from fienet.model.fienet import FIENet

OUTPUTS: tuple[str, ...] = ("embedding", "logits")


class ModalityWrapper(nn.Module):
    """One-input view of FIENet for images of a single modality.

    Args:
        model: the network; shared, not copied, so hooks on its layers see the wrapper's calls.
        modality: ``"visible"`` or ``"infrared"``; chooses the stem the images go through.
        output: ``"embedding"`` (the L2-normalised test feature, what retrieval compares) or
            ``"logits"`` (the identity classifier, over the training identities).

    Shapes:
        x: (B, 3, H, W) -> (B, D) unit-norm embeddings, or (B, num_classes) logits.
    """

    def __init__(self, model: FIENet, modality: Modality, output: str = "embedding") -> None:
        super().__init__()
        if modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        self.model = model
        self.modality: Modality = modality
        self.output = output

    def forward(self, x: Tensor) -> Tensor:
        if self.output == "embedding":
            return self.model.embed(x, self.modality)  # (B, D)
        return self.model(**{self.modality: x}).logits  # (B, num_classes)

    def extra_repr(self) -> str:
        return f"modality={self.modality!r}, output={self.output!r}"


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Run ``model`` in evaluation mode, then give every submodule back the mode it had.

    Explanations need evaluation mode (in training mode the BNNeck normalises with batch
    statistics, so one image's score would depend on the others), but explaining a model in the
    middle of training must not leave it switched to evaluation. Modes are restored per
    submodule because a model may hold some layers (e.g. frozen BatchNorms) in eval on purpose.
    """
    modes = {module: module.training for module in model.modules()}
    model.eval()
    try:
        yield model
    finally:
        for module, training in modes.items():
            module.training = training


__all__ = ["OUTPUTS", "ModalityWrapper", "eval_mode"]
