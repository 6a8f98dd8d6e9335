"""MPIM, the Multi-Perception Interaction Module: several receptive fields that talk to each other.

A person seen at stride 16 still mixes small cues (a logo, a collar) and large ones (body shape,
coat length). MPIM looks at the final map through parallel branches of different receptive
field, dilated 3x3 convolutions after a shared 1x1 reduction, and lets the branches interact
before they are fused: a descriptor pooled from the sum of all branches produces, for every
channel, a softmax over the branches (the selective-kernel attention of SKNet, Li et al.,
CVPR 2019). Each branch is re-weighted by its share, so the weight a branch gets depends on what
all the others see. The re-weighted branches are concatenated, fused by a 1x1 convolution and
added to the input as a residual.

The last BatchNorm of the fusion starts with gamma = 0, so MPIM is exactly the identity at step 0.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn


class MPIM(nn.Module):
    """Multi-Perception Interaction Module.

    Args:
        channels: channels C of the input and output map.
        dilations: one dilated 3x3 branch per entry, e.g. ``(1, 2, 3)``.
        reduction: each branch works on ``C // reduction`` channels.
        groups: groups of the dilated 3x3 convolutions; grouping keeps the three branches cheap
            (dense, they would cost ~7M parameters on resnet50) as in SKNet.
        attention_reduction: hidden width of the branch attention is
            ``max(C // reduction // attention_reduction, 32)``, as in SKNet.

    Shapes:
        x: (B, C, h, w) -> (B, C, h, w).
    """

    def __init__(
        self,
        channels: int,
        dilations: Sequence[int] = (1, 2, 3),
        reduction: int = 4,
        groups: int = 32,
        attention_reduction: int = 16,
    ) -> None:
        super().__init__()
        dilations = tuple(dilations)
        if not dilations or any(int(d) != d or d < 1 for d in dilations):
            raise ValueError(f"model.mpim_dilations must be a non-empty list of positive integers, got {dilations}")
        if reduction < 1 or channels // reduction < 1:
            raise ValueError(f"model.mpim_reduction must be in 1..{channels}, got {reduction}")
        width = channels // reduction
        if groups < 1 or width % groups:
            raise ValueError(
                f"model.mpim_groups must divide the MPIM branch width {width} (= {channels} channels // "
                f"model.mpim_reduction {reduction}), got {groups}"
            )
        self.dilations = dilations
        self.reduce = nn.Sequential(
            nn.Conv2d(channels, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True)
        )
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(width, width, 3, padding=d, dilation=d, groups=groups, bias=False),
                nn.BatchNorm2d(width),
                nn.ReLU(inplace=True),
            )
            for d in dilations
        )
        hidden = max(width // attention_reduction, 32)
        # No BatchNorm here (SKNet has one): it would forbid single-image batches in training mode.
        self.squeeze = nn.Sequential(nn.Linear(width, hidden), nn.ReLU(inplace=True))
        self.attention = nn.Linear(hidden, width * len(dilations))
        self.fuse = nn.Sequential(nn.Conv2d(width * len(dilations), channels, 1, bias=False), nn.BatchNorm2d(channels))
        nn.init.zeros_(self.fuse[-1].weight)  # residual branch is 0 at init: MPIM starts as the identity

    def forward(self, x: Tensor) -> Tensor:
        reduced = self.reduce(x)  # (B, W, h, w)
        views = torch.stack([branch(reduced) for branch in self.branches], dim=1)  # (B, K, W, h, w)
        b, k, w = views.shape[:3]
        descriptor = self.squeeze(views.sum(dim=1).mean(dim=(2, 3)))  # (B, hidden)
        weights = self.attention(descriptor).reshape(b, k, w).softmax(dim=1)  # (B, K, W), sums to 1 over K
        mixed = views * weights[..., None, None]  # (B, K, W, h, w)
        fused = self.fuse(mixed.flatten(1, 2))  # (B, K*W, h, w) -> (B, C, h, w)
        return x + fused


__all__ = ["MPIM"]
