"""The models notebooks pass on: notebook 02 trains them, 03 and 04 find them (or train them)."""

from __future__ import annotations

import json
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

# Measured training throughput of configs/demo.yaml on 2 CPU cores (docs/results.md), images/s:
# an AMD EPYC with AVX512-BF16 (bf16 autocast; 182 in fp32) and an older one without bf16 (fp32).
DEMO_CPU_IMAGES_PER_S = {"EPYC with bf16": 190.0, "EPYC without bf16": 52.0}


def _same_data(saved: Config, ctx: NotebookContext) -> str | None:
    """Why a saved run does not fit this notebook's data, or None when it does."""
    want = (ctx.dataset, str(ctx.root), ctx.cfg.data.height, ctx.cfg.data.width)
    got = (saved.data.dataset, str(resolve_path(saved.data.root, ctx.repo)), saved.data.height, saved.data.width)
    if want != got:
        return f"it was trained on {got[0]} at {got[1]} with {got[2]}x{got[3]} inputs, not {want[0]} at {want[1]} with {want[2]}x{want[3]}"
    return None


def _same_variant(saved: Config, variant: str) -> str | None:
    """Why a saved run is not ``variant`` (its modules or IGCL differ), or None when it is."""
    want = BY_SLUG[variant]
    got = (saved.model.pfam, saved.model.mpim, saved.loss.igcl_weight > 0)
    if got != (want.pfam, want.mpim, want.igcl):
        return (f"it was trained with PFAM={got[0]}, MPIM={got[1]}, loss.igcl_weight={saved.loss.igcl_weight}, "
                f"not as {want.name} (PFAM={want.pfam}, MPIM={want.mpim}, IGCL {'on' if want.igcl else 'off'})")
    return None


def _finished(saved: Config, folder: Path) -> str | None:
    """Why the run in ``folder`` is unfinished (its history stops before ``train.epochs``), or None.

    A run without ``history.json`` (a checkpoint copied in by hand) is taken as it is.
    """
    history = folder / "history.json"
    if not history.is_file():
        return None
    try:
        epochs = json.loads(history.read_text())
        last = int(epochs[-1]["epoch"]) if epochs else 0
    except (ValueError, KeyError, TypeError, IndexError) as err:
        return f"its {history} is unreadable ({err}); expected the epochs fit writes"
    if last < saved.train.epochs:
        return (f"its run stopped after epoch {last} of {saved.train.epochs}; continue it with "
                f"`fienet train --config {folder / 'config.yaml'} --resume`, or remove {folder}")
    return None


def find_checkpoint(ctx: NotebookContext, variant: str = "fienet", quick: bool | None = False) -> Path | None:
    """The best checkpoint of ``variant`` trained on this notebook's data, or None (with a reason printed).

    Args:
        ctx: the notebook's context.
        variant: ``"fienet"`` or ``"baseline"``.
        quick: True looks for the model of the notebooks' short schedule
            (``<run_dir>/<variant>-quick/best.pt``), False for the config's whole schedule
            (``<run_dir>/<variant>/best.pt``); notebook 02, :func:`load_or_train` or
            ``fienet train`` with that ``out_dir`` write them. None: the one notebooks 03 and
            04 read, the whole schedule's when there is one, else the short one's (the whole
            schedule's only, where the notebooks do not default to the short one).
    """
    if quick is None:
        if not ctx.quick_by_default:
            return find_checkpoint(ctx, variant, quick=False)
        # The whole schedule's run first; its absence is the usual case, so nothing is said then.
        if _checkpoint_path(ctx, variant, quick=False).is_file():
            full = find_checkpoint(ctx, variant, quick=False)
            if full is not None:
                return full
        return find_checkpoint(ctx, variant, quick=True)
    path = _checkpoint_path(ctx, variant, quick)
    if not path.is_file():
        print(f"no checkpoint at {path}")
        return None
    saved = Config.from_dict(load_checkpoint(path)["config"])
    mismatch = _same_data(saved, ctx) or _same_variant(saved, variant) or _finished(saved, path.parent)
    if mismatch:
        print(f"ignoring {path}: {mismatch}")
        return None
    return path


def _checkpoint_path(ctx: NotebookContext, variant: str, quick: bool) -> Path:
    if variant not in BY_SLUG:
        raise ValueError(f"unknown model variant '{variant}'; expected one of {list(BY_SLUG)}")
    return ctx.run_folder(variant, quick) / "best.pt"


class TrainedModel(NamedTuple):
    """A trained model read back from its run folder.

    Attributes:
        model: the network in eval mode on the notebook's device.
        cfg: the config it was trained with.
        path: its checkpoint.
        quick: True when trained on the notebooks' short schedule (``QUICK_EPOCHS``).
    """

    model: nn.Module
    cfg: Config
    path: Path
    quick: bool


SCHEDULE_FIELDS = ("epochs", "iters_per_epoch", "optimizer", "lr", "warmup_epochs", "milestones", "seed")


def schedule_differences(a: Config, b: Config) -> list[str]:
    """The training-schedule fields in which two runs differ, as ``"field: a vs b"`` (none: a fair pair).

    A comparison of two variants (notebook 04's FIENet and baseline) is only fair when both were
    trained on the same schedule; the folder a model was read from does not prove that.
    """
    return [f"train.{name}: {getattr(a.train, name)} vs {getattr(b.train, name)}" for name in SCHEDULE_FIELDS
            if getattr(a.train, name) != getattr(b.train, name)]


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
    throughput of configs/demo.yaml on two machines (``DEMO_CPU_IMAGES_PER_S``, 2 cores each);
    anything else on a CPU is only said to be long, since it was not measured.
    """
    t, d, m = cfg.train, cfg.data, cfg.model
    steps = t.epochs * t.iters_per_epoch if t.iters_per_epoch else None
    images = steps * 2 * d.p * d.k if steps else None
    size = f"{t.epochs} epochs x {t.iters_per_epoch} steps of {2 * d.p * d.k} images" if steps else f"{t.epochs} epochs"
    if torch.device(device).type != "cpu":
        return f"training {size} on {device}."
    demo_like = (m.arch, d.height, d.width, m.last_stride) == ("resnet18", 96, 48, 2)
    if demo_like and images:
        rates = sorted(DEMO_CPU_IMAGES_PER_S.items(), key=lambda item: -item[1])
        measured = " and ".join(f"{rate:.0f} images/s on an {name}" for name, rate in rates)
        fast, slow = (images / rate / 60 for _, rate in (rates[0], rates[-1]))
        return (f"training {size} ({images:,} images) on the CPU: about {fast:.0f} to {slow:.0f} min on 2 cores "
                f"(measured {measured}), longer on a busy machine. Shorter: lower train.epochs (time scales "
                f"with it), or FIENET_SMOKE=1 for a tiny run that only checks the code.")
    return (f"training {size} with {m.arch} at {d.height}x{d.width} on the CPU: not measured, expect hours; "
            "use a GPU, or configs/demo.yaml on the synthetic data for a CPU run of minutes.")


def load_or_train(
    ctx: NotebookContext, variant: str = "fienet", quick: bool | None = None, train_if_missing: bool = False
) -> TrainedModel:
    """The trained ``variant`` model; trains it when its checkpoint is missing (and says so).

    On the synthetic data a missing model is trained at once, on the notebooks' short schedule
    (minutes on a CPU). On a real dataset training takes hours, so a missing model stops the
    notebook with the command that trains it, unless ``train_if_missing`` asks for the training
    here; there the config's schedule is the only one.

    Args:
        ctx: the notebook's context.
        variant: ``"fienet"`` or ``"baseline"``.
        quick: synthetic data only. None takes the model of the config's whole schedule when
            there is one (notebook 02 with ``FULL_SCHEDULE = True``), else the short schedule's,
            trained now if needed; True and False ask for the short or the whole schedule,
            training it if missing. Comparing two variants is only fair with the same schedule:
            pass the first one's ``quick`` when loading the second.
        train_if_missing: on a real dataset, train the missing model now instead of stopping.

    Returns:
        :class:`TrainedModel`.

    Raises:
        MissingModelError: a real dataset's model is missing and ``train_if_missing`` is False.
    """
    if not ctx.quick_by_default:
        quick = False  # a real dataset's config recipe, or smoke mode's tiny one: one schedule, one folder
    path = find_checkpoint(ctx, variant, quick)
    if quick is None:
        quick = path is None or path == _checkpoint_path(ctx, variant, quick=True)
    schedule = "smoke-sized" if ctx.smoke else ("the notebooks' short schedule" if quick else "the config's schedule")
    if path is None:
        if ctx.dataset != "synthetic" and not ctx.smoke and not train_if_missing:
            raise MissingModelError(
                f"{ctx.run_dir / variant / 'best.pt'}: no trained {variant} model for {ctx.dataset}; training it "
                f"takes hours, so this notebook does not start it unasked. Train it with notebook 02 or\n"
                f"    {train_command(ctx, variant)}\n"
                "then rerun this notebook (or set TRAIN_IF_MISSING = True to train it here)"
            )
        cfg = ctx.variant_config(variant, quick)
        print(f"training {variant} now, {schedule} ({cfg.train.epochs} epochs), into {cfg.train.out_dir}")
        print(training_plan(cfg, ctx.device))
        fit(cfg, overwrite=True)  # the notebook's own run folder: a run there for other data is replaced
        path = Path(cfg.train.out_dir) / "best.pt"
    model, cfg = load_trained_model(path, ctx.runtime)
    print(f"{variant}: loaded {path} ({cfg.train.epochs} epochs, {schedule})")
    return TrainedModel(model, cfg, path, quick)
