"""PFAM, the Progressive Feature Aggregation Module: mid-level detail into the final map.

Stage-2 and stage-3 maps still hold fine spatial detail (texture of clothes, bag straps, shoe
shapes) that the deepest stage tends to wash out. PFAM carries it forward in two steps, each
one an :class:`AggregationStep`::

    a3 = f3 + g23 * P23(f2)     stage 2 (stride 8)  -> stage 3 (stride 16)
    a4 = f4 + g34 * P34(a3)     aggregated stage 3  -> stage 4 (stride 16, or 32 with last stride 2)

``P`` aligns the source map to the target (depthwise 3x3 at the target's stride, then a 1x1
projection to the target's channels, then BatchNorm) and ``g`` is a per-channel sigmoid gate
computed from both maps, so the network decides which mid-level channels are worth adding given
the high-level context. Because ``a3`` already contains stage 2, stage 2 reaches stage 4 through
stage 3: the aggregation is progressive, 2 -> 3 -> 4.

PFAM is a side path: layer4 still receives the plain stage-3 map, so the backbone is untouched
and switching PFAM off gives exactly the baseline network. The last BatchNorm of each projection
starts with gamma = 0, so at step 0 ``P(.) = 0`` and PFAM returns ``f4`` exactly.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class AggregationStep(nn.Module):
    """Add a gated projection of a finer ``source`` map to a coarser ``target`` map.

    Args:
        source_channels: channels of the source map.
        target_channels: channels of the target map (and of the output).
        stride: spatial ratio source/target (1 or 2); the depthwise conv uses it so that a
            stride-2 alignment gives ``ceil(H/2)``, the same size as ResNet's own downsampling.
        gate_reduction: hidden width of the gate MLP is ``target_channels // gate_reduction``.

    Shapes:
        source: (B, Cs, H, W); target: (B, Ct, H/stride, W/stride) -> output (B, Ct, H/stride, W/stride).
    """

    def __init__(self, source_channels: int, target_channels: int, stride: int, gate_reduction: int = 16) -> None:
        super().__init__()
        # Depthwise then pointwise: aligning a 1024-channel map to 2048 channels with a dense 3x3
        # would cost ~19M parameters; this costs ~2M and keeps the spatial mixing.
        self.align = nn.Sequential(
            nn.Conv2d(
                source_channels, source_channels, 3, stride=stride, padding=1, groups=source_channels, bias=False
            ),
            nn.BatchNorm2d(source_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(source_channels, target_channels, 1, bias=False),
            nn.BatchNorm2d(target_channels),
        )
        nn.init.zeros_(self.align[-1].weight)  # P(.) = 0 at init: the step starts as the identity
        hidden = max(target_channels // gate_reduction, 8)
        self.gate = nn.Sequential(
            nn.Linear(2 * target_channels, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, target_channels),
            nn.Sigmoid(),
        )

    def forward(self, source: Tensor, target: Tensor) -> Tensor:
        projected = self.align(source)  # (B, Ct, h, w)
        if projected.shape[-2:] != target.shape[-2:]:
            raise ValueError(
                f"PFAM cannot align a {tuple(source.shape)} map to a {tuple(target.shape)} map; "
                f"check that model.last_stride matches the backbone"
            )
        context = torch.cat([target.mean(dim=(2, 3)), projected.mean(dim=(2, 3))], dim=1)  # (B, 2Ct)
        gate = self.gate(context)[:, :, None, None]  # (B, Ct, 1, 1)
        return target + gate * projected


class PFAM(nn.Module):
    """Progressive Feature Aggregation Module.

    Args:
        channels: output channels of stages 2, 3 and 4 (e.g. ``(512, 1024, 2048)`` for resnet50).
        last_stride: stride of layer4 (1 or 2), i.e. the spatial ratio stage 3 / stage 4.
        gate_reduction: hidden-width divisor of the gate MLPs.

    Shapes:
        f2: (B, C2, H/8, W/8), f3: (B, C3, H/16, W/16), f4: (B, C4, h, w) -> (B, C4, h, w), the
        aggregated stage-4 map. Grad-CAM targets this module to see the map after aggregation.
    """

    def __init__(self, channels: tuple[int, int, int], last_stride: int = 1, gate_reduction: int = 16) -> None:
        super().__init__()
        c2, c3, c4 = channels
        self.step23 = AggregationStep(c2, c3, stride=2, gate_reduction=gate_reduction)
        self.step34 = AggregationStep(c3, c4, stride=last_stride, gate_reduction=gate_reduction)

    def forward(self, f2: Tensor, f3: Tensor, f4: Tensor) -> Tensor:
        a3 = self.step23(f2, f3)  # (B, C3, H/16, W/16): stage 3 enriched with stage 2
        return self.step34(a3, f4)  # (B, C4, h, w): stage 4 enriched with both


__all__ = ["AggregationStep", "PFAM"]
