"""The models notebooks pass on: notebook 02 trains them, 03 and 04 find them (or train a stand-in)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn

from fienet.checkpoint import load_checkpoint, load_trained_model
from fienet.config import Config
from fienet.engine import fit
from fienet.notebook.context import DEFAULT_CONFIGS, NotebookContext
from fienet.notebook.repo import resolve_path
from fienet.variants import BY_SLUG

# Measured: configs/demo.yaml trains at about 190 images/s on 2 CPU cores (docs/results.md).
DEMO_CPU_IMAGES_PER_S = 190.0


def _same_data(saved: Config, ctx: NotebookContext) -> str | None:
    """Why a saved run does not fit this notebook's data, or None when it does."""
    want = (ctx.dataset, str(ctx.root), ctx.cfg.data.height, ctx.cfg.data.width)
    got = (saved.data.dataset, str(resolve_path(saved.data.root, ctx.repo)), saved.data.height, saved.data.width)
    if want != got:
        return f"it was trained on {got[0]} at {got[1]} with {got[2]}x{got[3]} inputs, not {want[0]} at {want[1]} with {want[2]}x{want[3]}"
    return None


def find_checkpoint(ctx: NotebookContext, variant: str = "fienet", quick: bool = False) -> Path | None:
    """The best checkpoint of ``variant`` trained on this notebook's data, or None (with a reason printed).

    Args:
        ctx: the notebook's context.
        variant: ``"fienet"`` or ``"baseline"``.
        quick: look for the short stand-in (``<run_dir>/<variant>-quick/best.pt``, trained by
            :func:`load_or_train`) instead of the full model (``<run_dir>/<variant>/best.pt``,
            written by notebook 02 or ``fienet train`` with that ``out_dir``).
    """
    path = Path(ctx.variant_config(variant, quick).train.out_dir) / "best.pt"
    if not path.is_file():
        print(f"no checkpoint at {path}")
        return None
    mismatch = _same_data(Config.from_dict(load_checkpoint(path)["config"]), ctx)
    if mismatch:
        print(f"ignoring {path}: {mismatch}")
        return None
    return path


class TrainedModel(NamedTuple):
    """A trained model read back from its run folder.

    Attributes:
        model: the network in eval mode on the notebook's device.
        cfg: the config it was trained with.
        path: its checkpoint.
        quick: True for a short stand-in trained by :func:`load_or_train`.
    """

    model: nn.Module
    cfg: Config
    path: Path
    quick: bool


class MissingModelError(FileNotFoundError):
    """A real dataset's model is missing and the notebook was not asked to train it."""


def train_command(ctx: NotebookContext, variant: str = "fienet") -> str:
    """The command line that trains ``variant`` into the run folder the notebooks read."""
    cfg = ctx.variant_config(variant)
    config = ctx.config_path or DEFAULT_CONFIGS[ctx.dataset]
    try:
        config = Path(config).relative_to(ctx.repo)
    except ValueError:
        pass
    parts = ["fienet train", f"--config {config}", f"data.root={ctx.root}", *BY_SLUG[variant].overrides(),
             f"train.out_dir={cfg.train.out_dir}"]
    return " ".join(parts)


def training_plan(cfg: Config, device: torch.device | str) -> str:
    """What a training run will cost, said before it starts, and how to make it shorter.

    On a CPU with the demo's network and input size the estimate comes from the measured
    throughput of configs/demo.yaml (``DEMO_CPU_IMAGES_PER_S``, 2 quiet cores); anything else
    on a CPU is only said to be long, since it was not measured.
    """
    t, d, m = cfg.train, cfg.data, cfg.model
    steps = t.epochs * t.iters_per_epoch if t.iters_per_epoch else None
    images = steps * 2 * d.p * d.k if steps else None
    size = f"{t.epochs} epochs x {t.iters_per_epoch} steps of {2 * d.p * d.k} images" if steps else f"{t.epochs} epochs"
    if torch.device(device).type != "cpu":
        return f"training {size} on {device}."
    demo_like = (m.arch, d.height, d.width, m.last_stride) == ("resnet18", 96, 48, 2)
    if demo_like and images:
        minutes = images / DEMO_CPU_IMAGES_PER_S / 60
        return (f"training {size} ({images:,} images) on the CPU: about {minutes:.0f} min on 2 quiet cores "
                f"(measured {DEMO_CPU_IMAGES_PER_S:.0f} images/s), longer on a busy or slower machine. "
                f"Shorter: lower train.epochs (time scales with it; e.g. 5 epochs take a third), or "
                f"FIENET_SMOKE=1 for a tiny run that only checks the code.")
    return (f"training {size} with {m.arch} at {d.height}x{d.width} on the CPU: not measured, expect hours; "
            "use a GPU, or configs/demo.yaml on the synthetic data for a CPU run of minutes.")


def load_or_train(
    ctx: NotebookContext, variant: str = "fienet", quick: bool | None = None, train_if_missing: bool = False
) -> TrainedModel:
    """The trained ``variant`` model; trains it when its checkpoint is missing (and says so).

    On the synthetic data a missing model is trained at once (minutes on a CPU). On a real
    dataset training takes hours, so a missing model stops the notebook with the command that
    trains it, unless ``train_if_missing`` asks for the training here.

    Args:
        ctx: the notebook's context.
        variant: ``"fienet"`` or ``"baseline"``.
        quick: None takes the full model when there is one, else a short stand-in (trained now
            if needed); False and True ask for the full recipe or the short one, training it if
            missing. Comparing two variants is only fair with the same schedule: pass the first
            one's ``quick`` when loading the second.
        train_if_missing: on a real dataset, train the missing model now instead of stopping.

    Returns:
        :class:`TrainedModel`.

    Raises:
        MissingModelError: a real dataset's model is missing and ``train_if_missing`` is False.
    """
    path = None
    if ctx.smoke:
        quick = False  # smoke training is tiny already: one recipe, one folder
    if ctx.dataset != "synthetic" and not ctx.smoke:
        path = find_checkpoint(ctx, variant, quick=False)
        if path is None and not train_if_missing:
            raise MissingModelError(
                f"{ctx.run_dir / variant / 'best.pt'}: no trained {variant} model for {ctx.dataset}; training it "
                f"takes hours, so this notebook does not start it unasked. Train it with notebook 02 or\n"
                f"    {train_command(ctx, variant)}\n"
                "then rerun this notebook (or set TRAIN_IF_MISSING = True to train it here)"
            )
        quick = False
    if quick is None:
        path = find_checkpoint(ctx, variant, quick=False)
        quick = path is None
    if path is None:
        path = find_checkpoint(ctx, variant, quick)
    if path is None:
        cfg = ctx.variant_config(variant, quick)
        recipe = "smoke-sized" if ctx.smoke else ("a short stand-in" if quick else "the full recipe")
        print(f"training {variant} now, {recipe}, into {cfg.train.out_dir}")
        print(training_plan(cfg, ctx.device))
        fit(cfg, overwrite=True)  # the notebook's own run folder: a run there for other data is replaced
        path = Path(cfg.train.out_dir) / "best.pt"
    model, cfg = load_trained_model(path, ctx.runtime)
    print(f"{variant}: loaded {path}")
    return TrainedModel(model, cfg, path, quick)
