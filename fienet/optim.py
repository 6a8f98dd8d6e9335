"""Optimiser and learning-rate schedule of the AGW/CAJ recipe.

SGD (or Adam) with two parameter groups: the pretrained backbone at ``backbone_lr_mult`` times
the rate of the new layers (head, PFAM, MPIM). The schedule is per epoch: a linear warm-up to
the base rate over ``warmup_epochs``, then a step decay by ``gamma`` at every milestone.
"""

from __future__ import annotations

import torch
from torch import nn

from fienet.config import TrainConfig


def lr_factor(epoch: int, warmup_epochs: int, milestones: tuple[int, ...], gamma: float) -> float:
    """Multiplier of the base learning rate during ``epoch`` (0-based)."""
    if epoch < warmup_epochs:
        return (epoch + 1) / warmup_epochs
    return gamma ** sum(epoch >= m for m in milestones)


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.Optimizer:
    """Two groups: ``backbone`` at ``lr * backbone_lr_mult``, ``new`` at ``lr`` (listed last)."""
    groups = model.param_groups()
    params = [
        {"params": groups["backbone"], "lr": cfg.lr * cfg.backbone_lr_mult, "name": "backbone"},
        {"params": groups["new"], "lr": cfg.lr, "name": "new"},
    ]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, nesterov=True)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise ValueError(f"train.optimizer must be 'sgd' or 'adam', got '{cfg.optimizer}'")


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    """Per-epoch warm-up + step decay; call ``step()`` once after each epoch."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda e: lr_factor(e, cfg.warmup_epochs, tuple(cfg.milestones), cfg.gamma)
    )
