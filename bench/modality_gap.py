"""The modality gap, measured: trivial floors per preset, and short trainings of a two-stream
and a visible-only model on the default and on the thermal preset.

    python bench/modality_gap.py --out runs/gap            # everything (about 4 short trainings)
    python bench/modality_gap.py --out runs/gap --floors-only

Each training is configs/demo.yaml cut to ``--epochs`` epochs of 80 steps of 32 images, without
validation (the last epoch is the model, so the visible-only model never sees an infrared image,
not even for selection). Every model is scored on the same test data: all-search single-shot
infrared-to-visible (the SYSU-MM01 protocol) and visible-to-visible (fienet.evaluation.gap),
10 gallery trials each. Results go to ``<out>/gap.json`` and a markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from fienet.config import load_config
from fienet.data.datasets import dataset_from_config
from fienet.data.synthetic import generate_synthetic
from fienet.checkpoint import load_trained_model
from fienet.engine import fit
from fienet.evaluation.gap import modality_gap
from fienet.evaluation.trivial import trivial_floor

REPO = Path(__file__).resolve().parents[1]
FLOOR_PRESETS = ("default", "thermal", "moderate", "medium", "hard")
TRAIN_PRESETS = ("default", "thermal")
MODELS = {"two-stream": "both", "visible-only": "visible"}


def dataset_root(data: Path, preset: str) -> Path:
    return generate_synthetic(data / preset, preset=preset, seed=0, workers=2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/gap")
    parser.add_argument("--data", default="data/gap", help="one synthetic dataset per preset goes here")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--floors-only", action="store_true")
    parser.add_argument("--presets", nargs="+", default=list(TRAIN_PRESETS), help="presets to train on")
    parser.add_argument("--models", nargs="+", default=list(MODELS), help="models to train")
    parser.add_argument("--json", default="gap.json", help="results file inside --out (one per parallel run)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out, data = Path(args.out), Path(args.data)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / args.json
    results = json.loads(results_path.read_text()) if results_path.is_file() else {}

    floors = results.setdefault("floors", {})
    for preset in FLOOR_PRESETS:
        if preset not in floors:
            root = dataset_root(data, preset)
            floors[preset] = trivial_floor(root).round(2).reset_index().to_dict(orient="records")
            results_path.write_text(json.dumps(results, indent=1))
        for row in floors[preset]:
            print(f"floor | {preset} | {row['matcher']} | {row['rank1']:.1f} | {row['rank10']:.1f} | {row['mAP']:.1f}")
    if args.floors_only:
        return

    runs = results.setdefault("models", {})
    for preset in args.presets:
        root = dataset_root(data, preset)
        for name in args.models:
            modalities = MODELS[name]
            key = f"{name} @ {preset}"
            if key in runs:
                continue
            cfg = load_config(REPO / "configs/demo.yaml", [
                f"data.root={root}", f"data.synth_preset={preset}", "data.val_ids=0",
                f"data.train_modalities={modalities}", f"train.epochs={args.epochs}",
                f"train.milestones=[{max(1, args.epochs - 2)}]", "train.progress=false",
                f"train.out_dir={out / preset / name}",
            ])
            start = time.perf_counter()
            history = fit(cfg, overwrite=True)  # a run not in the results is redone from scratch
            train_s = time.perf_counter() - start
            model, _ = load_trained_model(out / preset / name / "best.pt")
            table = modality_gap(model, dataset_from_config(cfg.data), cfg.data.height, cfg.data.width)
            runs[key] = {
                "train_s": round(train_s, 1),
                "images_per_s": float(history["images_per_s"].median()),
                "steps": args.epochs * cfg.train.iters_per_epoch,
                "batch": 2 * cfg.data.p * cfg.data.k,
                "gap": table.round(2).reset_index().to_dict(orient="records"),
            }
            results_path.write_text(json.dumps(results, indent=1))
    for key, run in runs.items():
        for row in run["gap"]:
            print(f"model | {key} | {row['search']} | {row['rank1']:.1f} | {row['rank10']:.1f} | {row['mAP']:.1f} "
                  f"| {run['train_s']:.0f} s")
    if runs:
        gap_figure(runs).savefig(out / "gap.png", dpi=120, bbox_inches="tight")
        print(f"figure: {out / 'gap.png'}")


def gap_figure(runs: dict, metric: str = "rank1"):
    """One panel per preset: each model's visible-to-visible and infrared-to-visible ``metric``."""
    import matplotlib.pyplot as plt
    import numpy as np

    presets = sorted({key.split(" @ ")[1] for key in runs}, key=list(TRAIN_PRESETS).index)
    fig, axes = plt.subplots(1, len(presets), figsize=(4.2 * len(presets), 3.4), sharey=True, squeeze=False)
    for ax, preset in zip(axes[0], presets):
        names = [name for name in MODELS if f"{name} @ {preset}" in runs]
        for j, search in enumerate(("visible-to-visible", "infrared-to-visible")):
            values = [next(r[metric] for r in runs[f"{n} @ {preset}"]["gap"] if r["search"] == search) for n in names]
            x = np.arange(len(names)) + (j - 0.5) * 0.38
            bars = ax.bar(x, values, width=0.36, label=search)
            ax.bar_label(bars, fmt="%.1f", fontsize=8)
        ax.set_xticks(np.arange(len(names)), names)
        ax.set_title(f"preset: {preset}")
    axes[0][0].set_ylabel(f"{metric} (%)")
    axes[0][-1].legend(loc="upper left", fontsize=8, frameon=False)
    fig.suptitle("the modality gap, all-search single-shot: same network, trained on both modalities or visible only")
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    main()
