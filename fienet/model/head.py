"""The re-identification head: GeM pooling, BNNeck and a bias-free identity classifier.

``pooled`` (before the BNNeck) feeds the metric losses (triplet, IGCL), ``bn`` (after it) feeds
the identity classifier, as in BoT (Luo et al., CVPRW 2019) and AGW (Ye et al., TPAMI 2021):
the BatchNorm lets the cross-entropy work on a normalised, nearly spherical distribution
without fighting the Euclidean metric losses on the pooled feature.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor, nn

TEST_FEATURES: tuple[str, ...] = ("pooled", "bn")


class FIENetOutput(NamedTuple):
    """What the network returns, in training and in evaluation alike.

    Attributes:
        pooled: (B, C) GeM-pooled feature before the BNNeck; input of the triplet loss and IGCL.
        bn: (B, C) the same feature after the BNNeck.
        logits: (B, num_classes) identity logits computed from ``bn``.
    """

    pooled: Tensor
    bn: Tensor
    logits: Tensor


class GeM(nn.Module):
    """Generalised-mean pooling (Radenović et al., TPAMI 2018) with a learnable exponent.

    ``(mean(clamp(x, eps) ** p)) ** (1 / p)`` over the spatial positions: p = 1 is average
    pooling and p -> inf tends to max pooling, so a learnt p lets the network choose how much
    to focus on the strongest activations.

    Args:
        p: initial exponent (3 is the usual choice for retrieval).
        eps: lower clamp that keeps ``x ** p`` and its gradient finite at 0.

    Shapes:
        x: (B, C, h, w) -> (B, C), always float32.
    """

    def __init__(self, p: float = 3.0, eps: float = 1e-6) -> None:
        super().__init__()
        if p <= 0:
            raise ValueError(f"model.gem_p must be > 0, got {p}")
        self.p = nn.Parameter(torch.tensor(float(p)))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        # In bf16/fp16, x**3 of activations of a few tens overflows fp16 or loses most digits
        # in bf16, so this runs in float32 whatever autocast says.
        with torch.autocast(device_type=x.device.type, enabled=False):
            p = self.p.float()
            x = x.float().clamp(min=self.eps).pow(p)
            return x.mean(dim=(2, 3)).pow(1.0 / p)  # (B, C)

    def extra_repr(self) -> str:
        return f"p={self.p.item():.3f}, eps={self.eps}"


class ReIDHead(nn.Module):
    """GeM pooling, BNNeck (bias frozen at 0) and a bias-free linear identity classifier.

    Args:
        channels: channels C of the final feature map (= feature dimension).
        num_classes: number of training identities.
        gem_p: initial GeM exponent.

    Shapes:
        fmap: (B, C, h, w) -> FIENetOutput with pooled (B, C), bn (B, C), logits (B, num_classes).
    """

    def __init__(self, channels: int, num_classes: int, gem_p: float = 3.0) -> None:
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.pool = GeM(gem_p)
        self.bnneck = nn.BatchNorm1d(channels)
        # BoT: a shift after the BNNeck would move the features off the origin the classifier
        # hyperplanes pass through, so the bias stays at 0.
        self.bnneck.bias.requires_grad_(False)
        self.classifier = nn.Linear(channels, num_classes, bias=False)
        nn.init.normal_(self.classifier.weight, std=0.001)

    def forward(self, fmap: Tensor) -> FIENetOutput:
        pooled = self.pool(fmap)  # (B, C)
        bn = self.bnneck(pooled)  # (B, C)
        return FIENetOutput(pooled=pooled, bn=bn, logits=self.classifier(bn))


__all__ = ["FIENetOutput", "GeM", "ReIDHead", "TEST_FEATURES"]
