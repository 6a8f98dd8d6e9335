"""Two-stream ResNet: one stem per modality, shared stages 1-4.

Visible (3-channel colour) and infrared (a grey image repeated on 3 channels) pixels have very
different low-level statistics, so each modality gets its own stem (conv1, bn1, relu, maxpool),
while every later stage is shared and learns a modality-invariant representation. This is the
two-stream design of AGW (Ye et al., TPAMI 2021) with the split after the stem.
"""

from __future__ import annotations

import copy

import torchvision
from torch import Tensor, nn

from fienet.modalities import INFRARED, MODALITIES, VISIBLE, Modality
from fienet.model.weights import load_pretrained

ARCHS: tuple[str, ...] = ("resnet18", "resnet34", "resnet50")


class TwoStreamResNet(nn.Module):
    """Modality-specific stems and shared ResNet stages, built from one torchvision ResNet.

    Args:
        arch: ``"resnet18"``, ``"resnet34"`` or ``"resnet50"``.
        weights: ``"imagenet"``, a local torchvision state dict file, or ``None`` (random init);
            see :mod:`fienet.model.weights`.
        last_stride: stride of ``layer4`` (1 or 2). With 1 the final map has stride 16 instead of
            32, i.e. twice the resolution in each direction, at the same parameter count.

    Attributes:
        stems: ``{"visible": Sequential, "infrared": Sequential}``, each conv1, bn1, relu, maxpool.
        layer1, layer2, layer3, layer4: the shared stages.
        channels: output channels of layer1..layer4, e.g. ``(256, 512, 1024, 2048)`` for resnet50.
    """

    def __init__(self, arch: str = "resnet50", weights: str | None = None, last_stride: int = 1) -> None:
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"model.arch must be one of {ARCHS}, got '{arch}'")
        if last_stride not in (1, 2):
            raise ValueError(f"model.last_stride must be 1 or 2, got {last_stride}")
        net = getattr(torchvision.models, arch)(weights=None)
        load_pretrained(net, arch, weights)
        stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        # Both stems start from the same (pretrained) weights but are independent copies.
        self.stems = nn.ModuleDict({VISIBLE: stem, INFRARED: copy.deepcopy(stem)})
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4
        # torchvision's avgpool and fc are deliberately not kept: the head replaces them.
        _set_first_block_stride(self.layer4, last_stride)
        self.channels: tuple[int, int, int, int] = tuple(  # type: ignore[assignment]
            _out_channels(layer) for layer in (self.layer1, self.layer2, self.layer3, self.layer4)
        )

    def stem(self, images: Tensor, modality: Modality) -> Tensor:
        """Run the stem of ``modality``.

        Args:
            images: (B, 3, H, W) images of one modality.
            modality: ``"visible"`` or ``"infrared"``.

        Returns:
            (B, C1, H/4, W/4) stem output, C1 = 64.
        """
        if modality not in MODALITIES:
            raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")
        return self.stems[modality](images)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Run the shared stages on stem outputs.

        Args:
            x: (B, 64, H/4, W/4) output of the stems (any mix of modalities).

        Returns:
            The four stage outputs: (B, C1, H/4, W/4), (B, C2, H/8, W/8), (B, C3, H/16, W/16) and
            (B, C4, H/16, W/16) with last stride 1 (H/32, W/32 with last stride 2).
        """
        f1 = self.layer1(x)
        f2 = self.layer2(f1)
        f3 = self.layer3(f2)
        f4 = self.layer4(f3)
        return f1, f2, f3, f4


def _set_first_block_stride(layer: nn.Sequential, stride: int) -> None:
    """Set the stride of the downsampling convolutions of ``layer``'s first block.

    The stride sits on conv1 in BasicBlock and on conv2 in torchvision's Bottleneck (plus the
    shortcut in both), so every stride-2 convolution of the block is changed, whichever it is.
    """
    for module in layer[0].modules():
        if isinstance(module, nn.Conv2d) and module.stride == (2, 2):
            module.stride = (stride, stride)


def _out_channels(layer: nn.Sequential) -> int:
    """Output channels of a ResNet stage (the last BatchNorm of its last block)."""
    bns = [m for m in layer[-1].modules() if isinstance(m, nn.BatchNorm2d)]
    return bns[-1].num_features


__all__ = ["ARCHS", "TwoStreamResNet"]
