"""A notebook's parameters cell resolved: :func:`setup` and the :class:`NotebookContext` it returns."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import torch

from fienet.config import Config, load_config
from fienet.data.datasets import READERS, dataset_from_config
from fienet.data.reader import Reader
from fienet.data.synthetic import ensure_synthetic
from fienet.notebook.repo import find_repo_root, resolve_path
from fienet.notebook.smoke import smoke_config
from fienet.plots.alt_text import register_alt_text
from fienet.runtime import Runtime, select_device
from fienet.variants import BY_SLUG

# What DATASET = "..." picks when CONFIG is left at None: the config whose data.dataset it is.
# DATA_ROOT left at None is that config's data.root.
DEFAULT_CONFIGS = {
    "synthetic": "configs/demo.yaml",
    "sysu": "configs/sysu.yaml",
    "regdb": "configs/regdb.yaml",
    "llcm": "configs/llcm.yaml",
}
# The notebooks' short schedule on the synthetic data: the config's recipe cut to this many epochs,
# so that all four notebooks, two trainings included, run on a 2-core CPU in about 10 minutes.
QUICK_EPOCHS = 4


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
            *([f"short run : the notebooks train this recipe cut to {QUICK_EPOCHS} epochs, unless notebook 02 "
                f"ran with FULL_SCHEDULE = True (all {t.epochs})"] if self.quick_by_default else []),
            f"run folder: {self.run_dir}",
        ])

    @property
    def quick_by_default(self) -> bool:
        """Whether the notebooks train the short schedule (``QUICK_EPOCHS``) unless asked otherwise.

        True on the synthetic data: the demo's whole recipe takes about 3 to 12 minutes of training
        per model on 2 CPU cores, and notebooks 02 and 04 each train one. False on a real dataset, whose
        config's recipe is the experiment, and in smoke mode, whose training is tiny already.
        """
        return self.dataset == "synthetic" and not self.smoke

    def variant_config(self, variant: str = "fienet", quick: bool = False) -> Config:
        """The config of one model variant, with its own run folder under ``run_dir``.

        Args:
            variant: a variant's folder name, e.g. ``"fienet"`` or ``"baseline"`` (see
                :data:`fienet.variants.VARIANTS`).
            quick: the notebooks' short schedule (the recipe cut to ``QUICK_EPOCHS`` epochs),
                written to ``<run_dir>/<variant>-quick``; False: the config's whole schedule,
                written to ``<run_dir>/<variant>``. Smoke mode has one schedule and one folder.
        """
        if variant not in BY_SLUG:
            raise ValueError(f"unknown model variant '{variant}'; expected one of {list(BY_SLUG)}")
        return self._scheduled(BY_SLUG[variant].apply(self.cfg), variant, quick)

    def training_config(self, full_schedule: bool = False) -> Config:
        """What notebook 02 trains: ``cfg`` as it stands, on the schedule the notebooks default to.

        That is the short schedule on the synthetic data unless ``full_schedule``, and always
        the config's whole schedule on a real dataset; the run folder is the one
        :meth:`variant_config` gives ``"fienet"`` on that schedule, where notebooks 03 and 04
        look for it. Changes made to ``cfg`` (an exercise's overrides) are kept.
        """
        quick = self.quick_by_default and not full_schedule
        return self._scheduled(Config.from_dict(self.cfg.to_dict()), "fienet", quick)

    def run_folder(self, variant: str, quick: bool) -> Path:
        """Where ``variant``'s run on a schedule lives: ``<run_dir>/<variant>[-quick]``.

        The short schedule's folder ends in ``-quick``; smoke mode has one schedule and one
        folder. A name only: it does not check that a config can be this variant (a run with an
        exercise's overrides lives in the same folder).
        """
        return self.run_dir / (f"{variant}-quick" if quick and not self.smoke else variant)

    def _scheduled(self, cfg: Config, folder: str, quick: bool) -> Config:
        """``cfg`` (changed in place) on the short schedule when ``quick``, in :meth:`run_folder`."""
        if quick and not self.smoke:
            # Keep the recipe and cut its length: warm-up, decay milestones and validation inside.
            epochs = min(cfg.train.epochs, QUICK_EPOCHS)
            cfg.train.epochs = epochs
            cfg.train.warmup_epochs = min(cfg.train.warmup_epochs, 1)
            cfg.train.milestones = tuple(m for m in cfg.train.milestones if m < epochs)
            cfg.train.eval_every = min(cfg.train.eval_every, epochs)
        cfg.train.out_dir = str(self.run_folder(folder, quick))
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
    if config is None and dataset not in DEFAULT_CONFIGS:
        raise ValueError(f"CONFIG=None: DATASET='{dataset}' has no default config; expected CONFIG = a YAML config for it")
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
            default = f" (leave CONFIG = None for {DEFAULT_CONFIGS[dataset]})" if dataset in DEFAULT_CONFIGS else ""
            raise ValueError(
                f"{config_path}: data.dataset is '{cfg.data.dataset}' but DATASET='{dataset}'; expected a config "
                f"for {dataset}{default}"
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
