"""The training objective: weighted sum of the identity, triplet and IGCL losses."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from fienet.config import LossConfig
from fienet.losses.identity import identity_loss
from fienet.losses.igcl import igcl_terms
from fienet.losses.triplet import triplet_hard_loss, triplet_wrt_loss
from fienet.model.head import FIENetOutput

TRIPLETS: tuple[str, ...] = ("wrt", "hard", "none")


class FIENetCriterion(nn.Module):
    """``id_weight * ID + triplet_weight * triplet + igcl_weight * IGCL`` on a FIENet output.

    The identity loss uses the logits; triplet and IGCL use the pooled features (before the
    BNNeck). A loss whose weight is 0 (or triplet ``"none"``) is not computed at all. Every loss
    runs in float32 with autocast off: distance matrices computed in bf16/fp16 lose the small
    differences the metric losses live on.

    Args:
        cfg: weights and hyper-parameters (see :class:`~fienet.config.LossConfig`).
    """

    def __init__(self, cfg: LossConfig) -> None:
        super().__init__()
        if cfg.triplet not in TRIPLETS:
            raise ValueError(f"loss.triplet must be one of {TRIPLETS}, got '{cfg.triplet}'")
        for name in ("id_weight", "triplet_weight", "igcl_weight", "igcl_inter_weight"):
            if getattr(cfg, name) < 0:
                raise ValueError(f"loss.{name} must be >= 0, got {getattr(cfg, name)}")
        if not 0 <= cfg.label_smoothing < 1:
            raise ValueError(f"loss.label_smoothing must be in [0, 1), got {cfg.label_smoothing}")
        self.cfg = cfg
        self.use_id = cfg.id_weight > 0
        self.use_triplet = cfg.triplet != "none" and cfg.triplet_weight > 0
        self.use_igcl = cfg.igcl_weight > 0
        if not (self.use_id or self.use_triplet or self.use_igcl):
            raise ValueError("every loss is switched off (loss.id_weight, loss.triplet_weight, loss.igcl_weight are 0)")

    def forward(self, out: FIENetOutput, labels: Tensor, is_infrared: Tensor) -> tuple[Tensor, dict[str, float]]:
        """Total loss and the value of each part.

        Args:
            out: network output for N images.
            labels: (N,) training labels.
            is_infrared: (N,) bool, True for infrared images.

        Returns:
            ``(total, parts)``: the weighted scalar to back-propagate, and the unweighted value of
            every computed loss, e.g. ``{"id": .., "triplet": .., "igcl": .., "igcl_intra": ..,
            "igcl_inter": ..}``.
        """
        n = out.pooled.shape[0]
        if labels.shape != (n,) or is_infrared.shape != (n,):
            raise ValueError(
                f"labels {tuple(labels.shape)} and is_infrared {tuple(is_infrared.shape)} must both have shape ({n},), "
                f"one entry per image of the output"
            )
        cfg = self.cfg
        weighted: list[Tensor] = []
        parts: dict[str, Tensor] = {}
        with torch.autocast(device_type=out.pooled.device.type, enabled=False):
            pooled = out.pooled.float()  # (N, C)
            if self.use_id:
                parts["id"] = identity_loss(out.logits.float(), labels, cfg.label_smoothing)
                weighted.append(cfg.id_weight * parts["id"])
            if self.use_triplet:
                if cfg.triplet == "hard":
                    parts["triplet"] = triplet_hard_loss(pooled, labels, cfg.triplet_margin)
                else:
                    parts["triplet"] = triplet_wrt_loss(pooled, labels)
                weighted.append(cfg.triplet_weight * parts["triplet"])
            if self.use_igcl:
                intra, inter = igcl_terms(pooled, labels, is_infrared, cfg.igcl_margin, cfg.igcl_inter_weight > 0)
                parts["igcl_intra"] = intra
                parts["igcl"] = intra
                if inter is not None:
                    parts["igcl_inter"] = inter
                    parts["igcl"] = intra + cfg.igcl_inter_weight * inter
                weighted.append(cfg.igcl_weight * parts["igcl"])
        total = torch.stack(weighted).sum()
        return total, {k: float(v.detach()) for k, v in parts.items()}
