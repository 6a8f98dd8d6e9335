"""Optimiser and learning-rate schedule of the AGW/CAJ recipe.

SGD (or Adam) with two parameter groups: the pretrained backbone at ``backbone_lr_mult`` times
the rate of the new layers (head, PFAM, MPIM). The schedule is per epoch: a linear warm-up to
the base rate over ``warmup_epochs``, then either a step decay by ``gamma`` at every milestone
(``schedule="step"``, the AGW/CAJ recipe) or a cosine decay towards 0 over the remaining epochs
(``schedule="cosine"``, kinder to short schedules that have no time for a late low-rate phase).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from fienet.config import TrainConfig


def lr_factor(
    epoch: int, warmup_epochs: int, milestones: tuple[int, ...], gamma: float,
    schedule: str = "step", epochs: int = 0,
) -> float:
    """Multiplier of the base learning rate during ``epoch`` (0-based) of ``epochs``."""
    if schedule not in ("step", "cosine"):
        raise ValueError(f"train.schedule must be 'step' or 'cosine', got '{schedule}'")
    if epoch < warmup_epochs:
        return (epoch + 1) / warmup_epochs
    if schedule == "step":
        return gamma ** sum(epoch >= m for m in milestones)
    progress = (epoch - warmup_epochs) / max(epochs - warmup_epochs, 1)  # 0 at the first decayed epoch
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def unreached_milestones(cfg: TrainConfig) -> tuple[int, ...]:
    """The milestones a step schedule never reaches: the first decayed epoch of milestone m is the
    0-based epoch m, so m >= ``epochs`` never comes (the cosine schedule reads no milestones)."""
    if cfg.schedule != "step":
        return ()
    return tuple(m for m in cfg.milestones if m >= cfg.epochs)


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
    """Per-epoch warm-up + step or cosine decay; call ``step()`` once after each epoch."""
    # LambdaLR evaluates epoch 0 at once, so an unknown schedule name fails here
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda e: lr_factor(e, cfg.warmup_epochs, tuple(cfg.milestones), cfg.gamma, cfg.schedule, cfg.epochs),
    )
