"""From a checkpoint to result files: protocol tables (CSV/JSON) and feature dumps (.npz)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from fienet.config import save_config
from fienet.data import dataset_from_config
from fienet.checkpoint import load_trained_model
from fienet.evaluation.features import extract_features
from fienet.evaluation.runner import evaluate_model, plan_protocol, summarize
from fienet.files import atomic_write, write_csv, write_text
from fienet.runtime import Runtime


def save_tables(per_trial: pd.DataFrame, summary: pd.DataFrame, out_dir: Path, stem: str) -> None:
    """``<stem>_trials.csv`` (every trial), ``<stem>.csv`` and ``<stem>.json`` (the means)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(out_dir / f"{stem}_trials.csv", per_trial)
    write_csv(out_dir / f"{stem}.csv", summary)
    write_text(out_dir / f"{stem}.json", json.dumps(summary.to_dict(orient="records"), indent=1))


def _load(checkpoint: str | Path, dataset: str | None, root: str | None, device: str, workers: int | None) -> tuple:
    """The checkpoint's model and config, pointed at ``dataset``/``root``/``workers`` when given, and the evaluation runtime."""
    runtime = Runtime.for_evaluation(device)
    model, cfg = load_trained_model(checkpoint, runtime)
    cfg.data.dataset = dataset or cfg.data.dataset
    cfg.data.root = root or cfg.data.root
    if workers is not None:
        if workers < 0:
            raise ValueError(f"workers={workers}: expected 0 (decode in this process) or more worker processes")
        cfg.data.workers = workers
    cfg.train.device = device
    return model, cfg, runtime


def evaluate_checkpoint(
    checkpoint: str | Path,
    dataset: str | None = None,
    root: str | None = None,
    out_dir: str | Path | None = None,
    rerank: bool = False,
    flip: bool = False,
    device: str = "auto",
    workers: int | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Full protocol of ``checkpoint`` on its dataset (or another); tables saved beside it.

    Test images are decoded by ``workers`` processes (default: the checkpoint's ``data.workers``).
    With ``progress`` the cost is printed before any image is decoded (images to embed, splits),
    then a progress bar shows the measured rate.
    """
    model, cfg, runtime = _load(checkpoint, dataset, root, device, workers)
    reader = dataset_from_config(cfg.data)
    plan = plan_protocol(reader)
    if progress:
        print(f"{plan.describe()}; {cfg.model.arch} at {cfg.data.height}x{cfg.data.width} on {runtime.device}"
              + (", twice each (flip)" if flip else ""))
    run = evaluate_model(
        model, reader, cfg.data.height, cfg.data.width, runtime,
        rerank=rerank, flip=flip, workers=cfg.data.workers, plan=plan, progress=progress,
    )
    per_trial, summary = run.table, summarize(run.table)
    out = Path(out_dir) if out_dir else Path(checkpoint).parent
    stem = f"eval_{cfg.data.dataset}" + ("_rerank" if rerank else "") + ("_flip" if flip else "")
    save_tables(per_trial, summary, out, stem)
    save_config(cfg, out / f"{stem}_config.yaml")
    return summary


def extract_to_npz(
    checkpoint: str | Path,
    out: str | Path,
    dataset: str | None = None,
    root: str | None = None,
    split: str = "test",
    device: str = "auto",
    workers: int | None = None,
    progress: bool = False,
) -> Path:
    """Embed every test (or training) image of a dataset and save features with their labels.

    Test images are all images of the test identities in both modalities (RegDB: of the trial
    the checkpoint was trained on), visible first; the evaluation protocols draw their query and
    gallery sets from these rows.

    Args:
        checkpoint: a checkpoint written by ``fit``.
        out: the ``.npz`` file to write (its folder is created; ``.npz`` is appended to a name
            without it), or an existing folder to write ``features_<dataset>_<split>.npz`` into.
        dataset, root: dataset and folder to embed (default: the checkpoint's).
        split: ``"test"`` or ``"train"``.
        device: where the model runs (``"auto"``: CUDA when available).
        workers: image-decoding processes (default: the checkpoint's ``data.workers``).
        progress: print how many images will be embedded, then show a progress bar.

    Returns:
        The path written. The ``.npz`` holds ``features`` (N, D) float32 L2-normalised, ``pids``
        (N,) int, ``camids`` (N,) int, ``modalities`` (N,) str, ``paths`` (N,) str relative to
        the dataset folder and ``root`` (a single str, that folder as an absolute path); row i of
        every array is the same image, ``root / paths[i]`` its file. Moved data needs only a new
        root. It loads without pickle (``np.load(path)``; ``data["root"].item()``).
    """
    if split not in ("test", "train"):
        raise ValueError(f"split '{split}': expected 'test' or 'train'")
    model, cfg, runtime = _load(checkpoint, dataset, root, device, workers)
    reader = dataset_from_config(cfg.data)
    records = reader.test_records() if split == "test" else reader.train_records()
    if progress:
        print(f"embedding {len(records):,} {split} images of {cfg.data.dataset}; {cfg.model.arch} at "
              f"{cfg.data.height}x{cfg.data.width} on {runtime.device}")
    feats = extract_features(
        model, records, cfg.data.height, cfg.data.width, runtime, workers=cfg.data.workers, progress=progress
    )
    if not np.isfinite(feats).all():
        raise ValueError(f"{checkpoint}: the model gives NaN or infinite features; expected finite features")
    out = Path(out)
    if out.is_dir():
        out = out / f"features_{cfg.data.dataset}_{split}.npz"
    elif out.suffix != ".npz":
        out = out.with_name(out.name + ".npz")  # what np.savez would write; the caller is told the real name
    data_root = Path(cfg.data.root)
    with atomic_write(out) as fh:
        np.savez(
            fh, features=feats,
            pids=np.array([r.pid for r in records]), camids=np.array([r.camid for r in records]),
            modalities=np.array([r.modality for r in records]),
            paths=np.array([Path(os.path.relpath(r.path, data_root)).as_posix() for r in records]),
            root=np.array(str(data_root.resolve())),
        )
    return out
