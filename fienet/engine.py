"""Training: ``fit(config)`` and the pieces it is made of.

One epoch = ``iters_per_epoch`` modality-balanced batches. After every epoch the run folder gets
``last.pt`` (atomically; everything an exact resume needs), ``history.csv``/``history.json`` and,
when a validation split exists and it is a validation epoch, ``best.pt`` chosen on validation
mAP: never on the test set. ``best.pt`` holds only what evaluation needs (weights, config,
history), not the optimiser state. Without validation there is nothing to select on: ``best.pt``
is written once, after the last epoch. ``train.test_every`` adds a periodic test-set evaluation
(columns ``test_*``), the field's habit of watching the test curve; it never selects anything.
The run says at its start what it will and will not measure.

Launched by ``torchrun --nproc_per_node N`` the same ``fit`` trains data-parallel (see
:mod:`fienet.distributed`): each rank draws its share of every global batch, DDP averages the
gradients, and only rank 0 validates and writes files.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from fienet import distributed
from fienet.checkpoint import load_weights, save_checkpoint
from fienet.config import Config, save_config
from fienet.data import dataset_from_config, make_train_loader, select_train_modalities, set_epoch, split_validation
from fienet.data.records import Record
from fienet.evaluation import compute_distmat, evaluate
from fienet.evaluation.features import extract_features
from fienet.evaluation.runner import evaluate_model, metrics_row
from fienet.files import write_csv, write_text
from fienet.losses import FIENetCriterion
from fienet.modalities import INFRARED, VISIBLE
from fienet.model import build_model
from fienet.optim import build_optimizer, build_scheduler, unreached_milestones
from fienet.run_folder import prepare_run_folder
from fienet.progress import progress as progress_bar
from fienet.protocols import UNFILTERED, Setting
from fienet.runtime import Runtime, rng_state, seed_everything, select_device, set_rng_state


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite."""


def training_records(cfg: Config) -> list[Record]:
    """The training images of the configured dataset (RegDB: of the configured trial)."""
    return dataset_from_config(cfg.data).train_records()


def train_one_epoch(
    model: nn.Module,
    criterion: FIENetCriterion,
    loader: Any,
    optimizer: torch.optim.Optimizer,
    runtime: Runtime,
    epoch: int,
    checkpoint_path: Path,
    progress: bool = True,
) -> dict[str, float]:
    """One pass over ``loader``; returns the mean of every loss part and the throughput."""
    model.train()
    device = runtime.device
    sums: dict[str, float] = {}
    n_batches, n_images, start = 0, 0, time.perf_counter()
    bar = progress_bar(loader, desc=f"epoch {epoch + 1}", leave=False, disable=not progress)
    for it, batch in enumerate(bar):
        images = runtime.inputs(batch.images)  # (2PK, 3, H, W), [visible; infrared]
        labels = batch.labels.to(device, non_blocking=True)  # (2PK,)
        is_ir = batch.is_infrared.to(device, non_blocking=True)  # (2PK,) bool
        n_vis = int((~is_ir).sum())
        with runtime.autocast():
            out = model(visible=images[:n_vis], infrared=images[n_vis:])
            loss, parts = criterion(out, labels, is_ir)
        if not torch.isfinite(loss):
            kept = (f"the last good checkpoint is kept at {checkpoint_path}" if checkpoint_path.is_file()
                    else "no checkpoint was written yet")
            parts_text = ", ".join(f"{k}={float(v):.4g}" for k, v in parts.items())
            raise NonFiniteLossError(
                f"{checkpoint_path.parent}: training loss became {loss.item()} at epoch {epoch + 1}, iteration "
                f"{it + 1} ({parts_text}); stopped; {kept}; lower train.lr or check the data"
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        parts = {"loss": float(loss.detach()), **{k: float(v) for k, v in parts.items()}}
        for k, v in parts.items():
            sums[k] = sums.get(k, 0.0) + v
        n_batches += 1
        n_images += images.shape[0]
        bar.set_postfix(loss=f"{parts['loss']:.3f}")
    seconds = time.perf_counter() - start
    stats = {k: v / max(n_batches, 1) for k, v in sums.items()}
    stats.update(seconds=seconds, images_per_s=n_images / max(seconds, 1e-9))
    return stats


def validate(model: nn.Module, records: Sequence[Record], cfg: Config, runtime: Runtime) -> dict[str, float]:
    """Infrared-to-visible retrieval on the held-out training identities (no filtering).

    Runs in the training runtime: selection is part of training, and its numbers are never reported.
    """
    query = [r for r in records if r.modality == INFRARED]
    gallery = [r for r in records if r.modality == VISIBLE]
    feats = extract_features(model, query + gallery, cfg.data.height, cfg.data.width, runtime)
    distmat = compute_distmat(feats[: len(query)], feats[len(query):])
    result = evaluate(
        distmat,
        np.array([r.pid for r in query]), np.array([r.pid for r in gallery]),
        np.array([r.camid for r in query]), np.array([r.camid for r in gallery]),
        protocol=UNFILTERED,  # held-out training identities are no benchmark: nothing to filter
    )
    return {"val_rank1": float(result["cmc"][0]), "val_mAP": float(result["mAP"]), "val_mINP": float(result["mINP"])}


def test_setting(cfg: Config) -> Setting:
    """What the periodic test-set evaluation runs: the first setting of the protocol, first trial.

    SYSU-MM01 and the synthetic data: all-search single-shot, trial 0; RegDB: visible-to-thermal
    on the trained trial; LLCM: infrared-to-visible, trial 0.
    """
    first = dataset_from_config(cfg.data).settings()[0]
    return Setting(first.name, first.split_kwargs, first.trials[:1])


def test_during_training(model: nn.Module, cfg: Config, runtime: Runtime) -> dict[str, float]:
    """Rank-1, mAP and mINP (fractions) of :func:`test_setting`, keyed ``test_*``; never used for selection.

    In the evaluation runtime (fp32) on the training device, so the numbers are those
    ``fienet evaluate`` would give for that trial.
    """
    run = evaluate_model(
        model, dataset_from_config(cfg.data), cfg.data.height, cfg.data.width,
        Runtime.for_evaluation(runtime.device), settings=[test_setting(cfg)], workers=cfg.data.workers,
    )
    row = metrics_row(next(iter(run.results.values())))
    return {"test_rank1": row["rank1"] / 100, "test_mAP": row["mAP"] / 100, "test_mINP": row["mINP"] / 100}


def is_measured_epoch(epoch: int, every: int, epochs: int) -> bool:
    """Whether 0-based ``epoch`` ends with a measurement done every ``every`` epochs and after the last."""
    return every > 0 and ((epoch + 1) % every == 0 or epoch + 1 == epochs)


def measurement_plan(cfg: Config, n_val_ids: int) -> str:
    """What a run will and will not measure, and which checkpoint it will select; said at its start."""
    t = cfg.train
    if n_val_ids:
        every = max(t.eval_every, 1)
        lines = [
            f"validation: {n_val_ids} held-out training identities (data.val_ids), infrared-to-visible, every "
            f"{every} epoch(s) and after the last; best.pt is the epoch with the best validation mAP"
        ]
    else:
        lines = [
            "validation: none (data.val_ids: 0), so no metric is measured to select a model and train.eval_every "
            "has no effect; best.pt is the last epoch's model, written once at the end"
        ]
    if t.test_every > 0:
        setting = test_setting(cfg)
        lines.append(
            f"test set: {setting.name}, trial {setting.trials[0]}, every {t.test_every} epoch(s) and after the "
            "last (train.test_every), reported as test_rank1/test_mAP/test_mINP; never used for selection"
        )
    else:
        lines.append("test set: not evaluated during training (train.test_every: 0); run `fienet evaluate` after")
    lines.append("last.pt: written after every epoch, for --resume")
    return "\n".join(lines)


def fit(cfg: Config, resume: bool = False, overwrite: bool = False) -> pd.DataFrame:
    """Train FIENet as ``cfg`` says; returns the per-epoch history.

    Under torchrun every rank calls this; the process group is joined here and left at the end.

    Args:
        cfg: the resolved config; it is saved as ``config.yaml`` in ``cfg.train.out_dir``.
        resume: continue from ``<out_dir>/last.pt`` exactly where it stopped (same schedule,
            RNG states and history); an error if that checkpoint is missing, or if ``cfg``
            differs from the stored run beyond ``run_folder.RESUME_MAY_CHANGE``.
        overwrite: start over in a folder that holds a run (its run files are deleted first);
            without it (or ``resume``) such a folder is refused before anything is written.

    Returns:
        One row per epoch: loss parts, learning rate, throughput, validation metrics and, with
        ``train.test_every``, test metrics (NaN on epochs without them). Distributed: losses
        averaged over ranks, throughput summed.
    """
    env = distributed.setup(select_device(cfg.train.device).type)
    try:
        return _fit(cfg, resume, overwrite, env)
    finally:
        distributed.teardown(env)


def _fit(cfg: Config, resume: bool, overwrite: bool, env: distributed.DistEnv) -> pd.DataFrame:
    out_dir = Path(cfg.train.out_dir)
    resumed = prepare_run_folder(cfg, resume, overwrite, is_main=env.is_main)
    out_dir.mkdir(parents=True, exist_ok=True)
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    # Ranks draw different augmentations; DDP copies rank 0's initial weights to every rank.
    seed_everything(cfg.train.seed + env.rank)
    runtime = Runtime.from_config(cfg)
    runtime = runtime.on(distributed.local_device(runtime.device, env))

    train_recs, val_recs = split_validation(training_records(cfg), cfg.data.val_ids, cfg.train.seed)
    # Validation keeps its real infrared queries: with a visible-only model, set data.val_ids=0
    # for a model that has not seen a single infrared image, not even to be selected.
    train_recs = select_train_modalities(train_recs, cfg.data.train_modalities)
    loader = make_train_loader(
        train_recs, cfg.data, seed=cfg.train.seed, num_batches=cfg.train.iters_per_epoch or None,
        rank=env.rank, world_size=env.world_size,
    )
    net = runtime.place(build_model(cfg.model, loader.dataset.num_classes))
    criterion = FIENetCriterion(cfg.loss)
    # Without the identity loss the classifier gets no gradient, which DDP must be told about.
    model = distributed.wrap_model(net, env, runtime.device, cfg.train.sync_bn, find_unused=not criterion.use_id)
    net = distributed.unwrap(model)  # SyncBatchNorm conversion swaps modules, not parameters
    optimizer = build_optimizer(net, cfg.train)
    scheduler = build_scheduler(optimizer, cfg.train)

    history: list[dict[str, Any]] = []
    start_epoch, best_map = 0, -math.inf
    if resumed is not None:
        state = resumed
        load_weights(net, state["model"], last_path)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        _restore_rng(state, env)
        start_epoch, history, best_map = state["epoch"], list(state["history"]), state["best_map"]
    if env.is_main:
        if not resume:
            # A new run: a best.pt left by an earlier one must not stand beside this run's last.pt.
            best_path.unlink(missing_ok=True)
        save_config(cfg, out_dir / "config.yaml")
        _warn_unreached_milestones(cfg)
        print(measurement_plan(cfg, len({r.pid for r in val_recs})), flush=True)

    for epoch in range(start_epoch, cfg.train.epochs):
        set_epoch(loader, epoch)
        lr = optimizer.param_groups[-1]["lr"]
        stats = train_one_epoch(
            model, criterion, loader, optimizer, runtime, epoch, last_path, cfg.train.progress and env.is_main
        )
        stats = distributed.reduce_stats(stats, env, runtime.device, summed=("images_per_s",))
        scheduler.step()
        row: dict[str, Any] = {"epoch": epoch + 1, "lr": lr, **stats}
        if val_recs and is_measured_epoch(epoch, max(cfg.train.eval_every, 1), cfg.train.epochs):
            # Rank 0 validates the unwrapped network; the others wait for its numbers.
            metrics = validate(net, val_recs, cfg, runtime) if env.is_main else None
            row.update(distributed.broadcast_object(metrics, env))
        if is_measured_epoch(epoch, cfg.train.test_every, cfg.train.epochs):
            metrics = test_during_training(net, cfg, runtime) if env.is_main else None
            row.update(distributed.broadcast_object(metrics, env))
        history.append(row)
        # Without a validation split there is nothing to select on: the last epoch is the model.
        is_best = ("val_mAP" in row and row["val_mAP"] > best_map) or (not val_recs and epoch + 1 == cfg.train.epochs)
        if is_best and "val_mAP" in row:
            best_map = row["val_mAP"]
        # What evaluation needs; best.pt holds only this.
        model_state = {
            "model": net.state_dict(), "epoch": epoch + 1, "history": history, "config": cfg.to_dict(),
            "num_classes": loader.dataset.num_classes, "best_map": best_map,
        }
        rngs = distributed.gather_objects(rng_state(), env)  # every rank's, for an exact resume
        # ... and what an exact resume needs besides, in last.pt.
        state = {**model_state, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": rngs[0]}
        if env.is_distributed:
            state["rng_per_rank"] = rngs
        if env.is_main:
            if is_best:
                save_checkpoint(model_state, best_path)
            save_checkpoint(state, last_path)
            _write_history(history, out_dir)
    return pd.DataFrame(history)


def _warn_unreached_milestones(cfg: Config) -> None:
    """Say once, at the start, that milestones at or beyond the last epoch will not decay anything.

    A warning, not an error: shortening a shipped recipe (``train.epochs=5`` on a config with
    ``milestones: [12]``) is an ordinary trial run, and its checkpoints must stay loadable.
    """
    late = unreached_milestones(cfg.train)
    if late:
        warnings.warn(
            f"train.milestones={list(cfg.train.milestones)}: {', '.join(map(str, late))} not below "
            f"train.epochs={cfg.train.epochs}, so the learning rate never decays there; expected milestones "
            f"below train.epochs (or train.milestones=[] for no decay)",
            stacklevel=4,
        )


def _restore_rng(state: dict[str, Any], env: distributed.DistEnv) -> None:
    """This rank's RNG state from a checkpoint (rank 0's is ``state["rng"]``)."""
    per_rank = state.get("rng_per_rank", [state["rng"]])
    if len(per_rank) == env.world_size:
        set_rng_state(per_rank[env.rank])
    elif env.is_main:
        set_rng_state(state["rng"])
        warnings.warn(
            f"checkpoint written by {len(per_rank)} process(es), resumed on {env.world_size}: the batches "
            "continue exactly, the augmentation streams of ranks > 0 restart from train.seed + rank",
            stacklevel=3,
        )


def _write_history(history: list[dict[str, Any]], out_dir: Path) -> None:
    write_csv(out_dir / "history.csv", pd.DataFrame(history))
    write_text(out_dir / "history.json", json.dumps(history, indent=1))
