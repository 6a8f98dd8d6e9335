"""What the numbered notebooks share: their parameters, their data and the models they pass on.

Every notebook starts with the same parameters cell (DATASET, DATA_ROOT, CONFIG, DEVICE, SMOKE,
RUN_DIR) and hands it to :func:`setup`, which resolves it into a :class:`NotebookContext`: the
config to train with, the device, absolute paths and, on the synthetic data, a dataset generated
on first use. Notebooks run with the ``notebooks`` folder as working directory, so every
repo-relative path is resolved from the repository root, never from the working directory.

Smoke mode (``FIENET_SMOKE=1``, what ``make test`` sets) swaps in a tiny synthetic dataset and a
tiny model and training so that each notebook runs top to bottom in a minute or two on a CPU.

Notebook 02 trains the model that 03 and 04 read; :func:`load_or_train` finds it and, when it
is missing, says so and trains a short one instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np
import torch
from torch import nn
from torchvision.transforms.v2 import functional as F

from fienet.checkpoint import load_checkpoint, load_trained_model
from fienet.config import Config, load_config
from fienet.data.datasets import READERS, dataset_from_config
from fienet.data.reader import Reader
from fienet.data.io import load_image
from fienet.data.records import Record
from fienet.data.synthetic import ensure_synthetic
from fienet.engine import fit
from fienet.plots.alt_text import register_alt_text
from fienet.runtime import Runtime, select_device
from fienet.variants import BY_SLUG

SMOKE_ENV = "FIENET_SMOKE"
# What DATASET = "..." picks when CONFIG is left at None: the config whose data.dataset it is.
# DATA_ROOT left at None is that config's data.root.
DEFAULT_CONFIGS = {
    "synthetic": "configs/demo.yaml",
    "sysu": "configs/sysu.yaml",
    "regdb": "configs/regdb.yaml",
    "llcm": "configs/llcm.yaml",
}
# Measured: configs/demo.yaml trains at about 190 images/s on 2 CPU cores (docs/results.md).
DEMO_CPU_IMAGES_PER_S = 190.0
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
QUICK_EPOCHS = 4  # epochs of the stand-in model trained when notebook 02's checkpoint is missing


def smoke_requested() -> bool:
    """True when the environment asks for smoke mode (``FIENET_SMOKE=1``)."""
    return os.environ.get(SMOKE_ENV) == "1"


def find_repo_root(start: str | Path | None = None) -> Path:
    """The repository root: the nearest folder holding ``pyproject.toml`` and the ``fienet`` package.

    Searches upwards from ``start`` (default: the working directory), then from this package's
    own location, so a notebook finds the root whether it runs from ``notebooks/``, the root or
    elsewhere with an editable install.

    Raises:
        FileNotFoundError: neither place lies inside a fienet checkout.
    """
    starts = [Path(start) if start is not None else Path.cwd(), Path(__file__).resolve().parent]
    for origin in starts:
        for folder in (origin.resolve(), *origin.resolve().parents):
            if (folder / "pyproject.toml").is_file() and (folder / "fienet" / "__init__.py").is_file():
                return folder
    raise FileNotFoundError(
        f"{starts[0]}: no fienet repository above it; expected a folder holding pyproject.toml and "
        "fienet/__init__.py (run the notebooks from a clone of the repository)"
    )


def resolve_path(path: str | Path, repo: Path) -> Path:
    """``path`` as an absolute path; relative paths are taken from the repository root."""
    path = Path(path).expanduser()
    return path if path.is_absolute() else repo / path


@dataclass
class NotebookContext:
    """The resolved parameters of a notebook.

    Attributes:
        repo: repository root.
        dataset: ``"synthetic"``, ``"sysu"``, ``"regdb"`` or ``"llcm"``.
        root: absolute dataset folder.
        cfg: the training config (dataset, root, device and run folder filled in; the run folder
            is that of the ``"fienet"`` variant).
        device: where models run.
        smoke: smoke mode (tiny data, tiny model).
        run_dir: folder holding one run folder per variant (``fienet``, ``baseline``).
        config_path: the YAML config the notebook started from.
    """

    repo: Path
    dataset: str
    root: Path
    cfg: Config
    device: torch.device
    smoke: bool
    run_dir: Path
    config_path: Path | None = None

    @cached_property
    def reader(self) -> Reader:
        """The dataset's reader (RegDB: at the configured trial)."""
        return dataset_from_config(self.cfg.data)

    @property
    def runtime(self) -> Runtime:
        """How models are evaluated here: the same fp32 runtime as ``fienet evaluate``."""
        return Runtime.for_evaluation(self.device)

    def describe(self) -> str:
        """A few lines saying what this notebook runs on."""
        m, t, d = self.cfg.model, self.cfg.train, self.cfg.data
        return "\n".join([
            f"mode      : {'SMOKE (tiny data, tiny model)' if self.smoke else 'full'}",
            f"dataset   : {self.dataset} at {self.root}",
            f"device    : {self.device}",
            f"model     : {m.arch} (weights={m.weights}), PFAM={m.pfam}, MPIM={m.mpim}, input {d.height}x{d.width}",
            f"training  : {t.epochs} epochs x {t.iters_per_epoch or 'one pass of'} batches of "
            f"{d.p} ids x {d.k} images x 2 modalities, {t.optimizer} lr={t.lr}",
            f"run folder: {self.run_dir}",
        ])

    def variant_config(self, variant: str = "fienet", quick: bool = False) -> Config:
        """The config of one model variant, with its own run folder under ``run_dir``.

        Args:
            variant: a variant's folder name, e.g. ``"fienet"`` or ``"baseline"`` (see
                :data:`fienet.variants.VARIANTS`).
            quick: a shortened schedule (at most ``QUICK_EPOCHS`` epochs) written to
                ``<run_dir>/<variant>-quick``, for when notebook 02's model is missing.
        """
        if variant not in BY_SLUG:
            raise ValueError(f"unknown model variant '{variant}'; expected one of {list(BY_SLUG)}")
        cfg = BY_SLUG[variant].apply(self.cfg)
        folder = variant
        if quick and not self.smoke:
            # Smoke training is already tiny; otherwise keep the recipe and cut its length.
            epochs = min(cfg.train.epochs, QUICK_EPOCHS)
            cfg.train.epochs = epochs
            cfg.train.warmup_epochs = min(cfg.train.warmup_epochs, 1)
            cfg.train.milestones = tuple(m for m in cfg.train.milestones if m < epochs)
            cfg.train.eval_every = min(cfg.train.eval_every, epochs)
            folder = f"{variant}-quick"
        cfg.train.out_dir = str(self.run_dir / folder)
        return cfg


def smoke_config(config: str | Path | None, repo: Path) -> Config:
    """The tiny smoke-mode config: ``config`` (or the defaults) with ``SMOKE_OVERRIDES`` applied."""
    cfg = load_config(config, SMOKE_OVERRIDES)
    cfg.data.root = str(repo / SMOKE_DATA)
    return cfg


def setup(
    dataset: str = "synthetic",
    data_root: str | Path | None = None,
    config: str | Path | None = None,
    device: str = "auto",
    smoke: bool = False,
    run_dir: str | Path = "runs/notebooks",
) -> NotebookContext:
    """Resolve a notebook's parameters cell; generates the synthetic data when it is missing.

    Args:
        dataset: ``"synthetic"``, ``"sysu"``, ``"regdb"`` or ``"llcm"``: the one switch between
            datasets; it picks the config and the data folder unless they are given.
        data_root: dataset folder (relative paths from the repository root); None: the config's
            ``data.root``.
        config: YAML config (relative paths from the repository root); None: the dataset's own
            (``DEFAULT_CONFIGS``). Its ``data.dataset`` must be ``dataset``.
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        smoke: tiny synthetic data and tiny training, whatever ``dataset`` and ``config`` say.
        run_dir: where trained models go; smoke runs use ``<run_dir>-smoke`` so that they never
            stand in for real ones.

    Returns:
        The :class:`NotebookContext`.

    Raises:
        ValueError: unknown dataset, or a config written for another dataset.
        FileNotFoundError: missing config file, or a real dataset folder that does not exist.
    """
    if dataset not in READERS:
        raise ValueError(f"DATASET='{dataset}': expected one of {', '.join(READERS)}")
    register_alt_text()  # every figure shown from here on carries alt text (nothing outside Jupyter)
    repo = find_repo_root()
    config_path = resolve_path(config if config is not None else DEFAULT_CONFIGS[dataset], repo)
    if not config_path.is_file():
        raise FileNotFoundError(
            f"{config_path}: missing; expected a YAML config such as configs/demo.yaml (synthetic data, "
            "CPU) or configs/sysu.yaml, configs/regdb.yaml, configs/llcm.yaml (real data, GPU)"
        )
    run_path = resolve_path(run_dir, repo)
    if smoke:
        if dataset != "synthetic":
            print(f"smoke mode: using the tiny synthetic dataset instead of DATASET='{dataset}'")
        cfg = smoke_config(config_path, repo)
        run_path = run_path.with_name(run_path.name + "-smoke")
    else:
        cfg = load_config(config_path)
        if cfg.data.dataset != dataset:
            raise ValueError(
                f"{config_path}: data.dataset is '{cfg.data.dataset}' but DATASET='{dataset}'; expected a config "
                f"for {dataset} (leave CONFIG = None for {DEFAULT_CONFIGS[dataset]})"
            )
        cfg.data.root = str(resolve_path(data_root if data_root is not None else cfg.data.root, repo))
    cfg.train.device = device
    root = Path(cfg.data.root)
    if cfg.data.dataset == "synthetic":
        ensure_synthetic(root, cfg.data.synth_preset, cfg.data.synth_seed, workers=max(1, min(4, os.cpu_count() or 1)))
    dataset_from_config(cfg.data)  # one clear error now if the folder is missing
    ctx = NotebookContext(repo, cfg.data.dataset, root, cfg, select_device(device), smoke, run_path, config_path)
    ctx.cfg = ctx.variant_config("fienet")
    return ctx


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


def load_images(records: Sequence[Record], height: int, width: int) -> np.ndarray:
    """Decode images at one size, for statistics and figures.

    Args:
        records: N images.
        height, width: size after (antialiased) resizing.

    Returns:
        (N, height, width, 3) uint8 array, row i for ``records[i]``.
    """
    out = np.empty((len(records), height, width, 3), dtype=np.uint8)
    for i, r in enumerate(records):
        image = F.resize(load_image(r.path), [height, width], antialias=True)  # (3, H, W) uint8
        out[i] = image.permute(1, 2, 0).numpy()  # (H, W, 3)
    return out


def folder_tree(root: str | Path, depth: int = 2, max_entries: int = 3, top_entries: int | None = None) -> str:
    """A dataset's folder tree as text, each folder cut to its first entries with a count of the rest.

    Args:
        root: folder to describe.
        depth: levels below ``root`` to list.
        max_entries: entries listed per folder below the top level (sorted by name).
        top_entries: entries listed directly under ``root``; None lists them all, since the top
            level is where dataset layouts differ.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: missing; expected a dataset folder")
    lines = [f"{root}/"]

    def walk(folder: Path, prefix: str, level: int) -> None:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
        shown = max_entries if level > 1 else (len(entries) if top_entries is None else top_entries)
        for entry in entries[:shown]:
            is_dir = entry.is_dir()
            size = f"  ({sum(1 for _ in entry.iterdir())} entries)" if is_dir else ""
            lines.append(f"{prefix}{entry.name}{'/' if is_dir else ''}{size}")
            if is_dir and level < depth:
                walk(entry, prefix + "    ", level + 1)
        if len(entries) > shown:
            lines.append(f"{prefix}... {len(entries) - shown} more")

    walk(root, "    ", 1)
    return "\n".join(lines)
