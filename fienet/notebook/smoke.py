"""Smoke mode (``FIENET_SMOKE=1``, what ``make test`` sets): tiny data, a tiny model, a few steps."""

from __future__ import annotations

import os
from pathlib import Path

from fienet.config import Config, load_config

SMOKE_ENV = "FIENET_SMOKE"
SMOKE_DATA = "runs/smoke/synthetic"  # where smoke mode generates the "tiny" synthetic preset
# Smoke mode: the tiny preset has 8 training identities (2 held out for validation) of 2 images
# per camera, so P=4 x K=2 is what a batch can hold; resnet18 from scratch at 64x32 trains a few
# iterations in seconds on a CPU.
SMOKE_OVERRIDES: tuple[str, ...] = (
    "data.dataset=synthetic",
    "data.synth_preset=tiny",
    "data.synth_seed=0",
    "data.height=64",
    "data.width=32",
    "data.p=4",
    "data.k=2",
    "data.pad=4",
    "data.val_ids=2",
    "data.in_memory=true",
    "data.workers=0",
    "model.arch=resnet18",
    "model.weights=null",
    "train.epochs=2",
    "train.iters_per_epoch=3",
    "train.warmup_epochs=0",
    "train.milestones=[]",
    "train.eval_every=1",
    "train.progress=false",
)


def smoke_requested() -> bool:
    """True when the environment asks for smoke mode (``FIENET_SMOKE=1``)."""
    return os.environ.get(SMOKE_ENV) == "1"


def smoke_config(config: str | Path | None, repo: Path) -> Config:
    """The tiny smoke-mode config: ``config`` (or the defaults) with ``SMOKE_OVERRIDES`` applied."""
    cfg = load_config(config, SMOKE_OVERRIDES)
    cfg.data.root = str(repo / SMOKE_DATA)
    return cfg
