"""The main job (`make demo`): synthetic data, FIENet trained on the CPU, SYSU-MM01 protocol, report.

Writes into ``cfg.train.out_dir``: ``metrics.json``, ``report.md`` (the metrics beside the
trivial matchers' floor), ``training_curves.png``, ``cmc.png`` and ``ranked_lists.png``, next to
the checkpoints and history that training leaves there.
"""

from __future__ import annotations

import json
import resource
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from fienet import plots
from fienet.checkpoint import load_trained_model
from fienet.config import Config
from fienet.data.datasets import dataset_from_config
from fienet.data.synthetic import ensure_synthetic
from fienet.engine import fit
from fienet.evaluation.runner import ProtocolRun, evaluate_model, summarize
from fienet.evaluation.trivial import trivial_floor
from fienet.files import atomic_write, write_text
from fienet.runtime import Runtime

RANKED_SETTING = "all-search single-shot"


def run_demo(cfg: Config) -> Path:
    """Run the whole demo; returns the path of the markdown report."""
    if cfg.data.dataset != "synthetic":
        raise ValueError(f"the demo runs on the synthetic data; got data.dataset='{cfg.data.dataset}'")
    out = Path(cfg.train.out_dir)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    root = ensure_synthetic(cfg.data.root, cfg.data.synth_preset, cfg.data.synth_seed)
    timings["data_s"] = time.perf_counter() - start

    t = time.perf_counter()
    history = fit(cfg, overwrite=True)  # the demo's run folder is its own: each demo replaces it
    timings["train_s"] = time.perf_counter() - t

    t = time.perf_counter()
    runtime = Runtime.for_evaluation(cfg.train.device)
    model, _ = load_trained_model(out / "best.pt", runtime)
    reader = dataset_from_config(cfg.data)
    run = evaluate_model(model, reader, cfg.data.height, cfg.data.width, runtime)
    summary = summarize(run.table)
    floor = trivial_floor(root, mode="all", shots=1)
    timings["evaluate_s"] = time.perf_counter() - t
    timings["total_s"] = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    write_figures(history, run, reader.protocol, out)
    metrics = {
        "fienet": summary.to_dict(orient="records"),
        "trivial_matchers": floor.reset_index().to_dict(orient="records"),
        "timings": timings,
        "peak_memory_mb": peak_mb,
        "train_images_per_s": float(history["images_per_s"].iloc[1:].median() if len(history) > 1 else history["images_per_s"].iloc[0]),
        "config": cfg.to_dict(),
    }
    write_text(out / "metrics.json", json.dumps(metrics, indent=1, default=str))
    return write_text(out / "report.md", render_report(summary, floor, timings, peak_mb, metrics["train_images_per_s"]))


def write_figures(history: pd.DataFrame, run: ProtocolRun, protocol: str, out: Path, n_queries: int = 4) -> None:
    """Training curves, CMC curves of every setting, and a few ranked lists (trial 0) under ``protocol``."""
    metrics = [c for c in ("val_rank1", "val_mAP", "val_mINP") if c in history]
    fig = plots.training_curves(history, metrics=metrics or None)
    _save(fig, out / "training_curves.png", dpi=120)
    settings = list(dict.fromkeys(name for name, _ in run.results))
    fig = plots.cmc_curves({name: run.mean_cmc(name) for name in settings})
    _save(fig, out / "cmc.png", dpi=120)
    query, gallery = run.splits[(RANKED_SETTING, 0)]
    distmat = run.distmat(RANKED_SETTING, 0)
    rng = np.random.default_rng(0)
    picks = sorted(rng.choice(len(query), size=min(n_queries, len(query)), replace=False).tolist())
    fig = plots.protocol_ranked_lists(distmat, query, gallery, picks, protocol, k=10)
    _save(fig, out / "ranked_lists.png", dpi=100)


def _save(fig: Figure, path: Path, dpi: int) -> None:
    with atomic_write(path) as fh:
        fig.savefig(fh, format="png", dpi=dpi, bbox_inches="tight")


def _table_md(frame: pd.DataFrame, columns: list[str], index: str) -> str:
    lines = [f"| {index} | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for _, row in frame.iterrows():
        lines.append(f"| {row[index]} | " + " | ".join(f"{row[c]:.1f}" for c in columns) + " |")
    return "\n".join(lines)


def render_report(summary: pd.DataFrame, floor: pd.DataFrame, timings: dict[str, Any], peak_mb: float, ips: float) -> str:
    cols = ["rank1", "rank10", "rank20", "mAP", "mINP"]
    floor = floor.reset_index()
    floor_index = floor.columns[0]
    return "\n".join([
        "# fienet demo",
        "",
        "FIENet (two-stream ResNet-18 + PFAM + MPIM, ID + WRT triplet + IGCL) trained from scratch on the",
        "CPU on the synthetic VI-ReID data, tested with the SYSU-MM01 protocol (infrared queries,",
        "visible gallery, 10 trials each). Numbers in percent.",
        "",
        "## FIENet",
        _table_md(summary, cols, "setting"),
        "",
        "## Floor: trivial matchers (all-search single-shot, 10 trials)",
        _table_md(floor, cols, floor_index),
        "",
        "## Run",
        f"- data {timings['data_s']:.0f} s, training {timings['train_s']:.0f} s "
        f"({ips:.0f} images/s), evaluation {timings['evaluate_s']:.0f} s, total {timings['total_s']:.0f} s",
        f"- peak resident memory {peak_mb:.0f} MB",
        "",
        "![training curves](training_curves.png)",
        "![CMC](cmc.png)",
        "![ranked lists](ranked_lists.png)",
        "",
    ])
