"""The explanation audit of docs/results.md: every explanation setting of the notebooks' baseline and
FIENet scored on the same test images of the default synthetic data.

    PYTHONPATH=. python bench/explain_audit.py --run-dir runs/notebooks --out runs/explain_audit

Reads ``<run-dir>/{fienet,baseline}[-quick]/best.pt`` (what notebook 02/04 train) and writes
``<model>_summary.csv``, ``<model>_contrastive_summary.csv``, their 95 % bootstrap intervals over
the images (``<model>_intervals.csv``, ``<model>_contrastive_intervals.csv``) and the per-image tables
(``<model>_per_image.csv``, ``<model>_contrastive_per_image.csv``) to ``--out``. The explained
images follow ``AuditInputs.from_split``: the first ``--identities`` test identities,
``--per-identity`` infrared queries each.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch

from fienet.checkpoint import load_trained_model
from fienet.data import build_dataset
from fienet.data.synthetic import PartAnnotations
from fienet.explain import AuditInputs, audit_intervals, audit_models, audit_summary

SETTINGS = [("gradient", "input"), ("gradcam", "layer4"), ("gradcam", "mpim"), ("hirescam", "mpim"), ("gradcam", "layer3"),
            ("hirescam", "layer3"), ("layercam", "layer3"), ("hirescam", "pfam3")]
CONTRASTIVE = [("gradient", "input"), ("hirescam", "layer3"), ("gradcam", "layer4"), ("gradcam", "mpim")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", default="runs/notebooks")
    parser.add_argument("--out", default="runs/explain_audit")
    parser.add_argument("--models", nargs="+", default=["baseline", "FIENet"], choices=["baseline", "FIENet"])
    parser.add_argument("--identities", type=int, default=8, help="first test identities (8: the table's)")
    parser.add_argument("--per-identity", type=int, default=3, help="infrared queries per identity")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--overlap", action="store_true", help="half-window occlusion steps (4x the passes)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    run_dir = Path(args.run_dir)
    summaries, contrastive, intervals = {}, {}, {}
    for name in args.models:
        folder = name.lower()
        path = run_dir / folder / "best.pt"
        if not path.is_file():
            path = run_dir / f"{folder}-quick" / "best.pt"
        model, cfg = load_trained_model(path, "cpu")
        root = Path(cfg.data.root)
        query, gallery = build_dataset(cfg.data.dataset, root).test_split(trial=0, shots=10)
        inputs = AuditInputs.from_split(PartAnnotations(root), query, gallery, cfg.data.height, cfg.data.width,
                                        args.identities, args.per_identity, overlap=args.overlap, progress=True)
        for kind, settings, tables in (("", SETTINGS, summaries), ("contrastive_", CONTRASTIVE, contrastive)):
            start = time.perf_counter()
            audits = audit_models({name: model}, inputs, settings, contrastive=bool(kind))
            audits[name].per_image.to_csv(out / f"{folder}_{kind}per_image.csv", index=False)
            tables[name] = audit_summary(audits[name])
            tables[name].to_csv(out / f"{folder}_{kind}summary.csv")
            intervals[name + (" contrastive" if kind else "")] = audit_intervals(audits[name])
            intervals[name + (" contrastive" if kind else "")].to_csv(out / f"{folder}_{kind}intervals.csv")
            print(f"{name} ({path}): {kind or 'plain '}audit of {len(inputs.records)} images in "
                  f"{time.perf_counter() - start:.0f} s")
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(pd.concat(summaries, names=["model"]).round(3))
        print(pd.concat(contrastive, names=["model"]).round(3))
        print("95 % bootstrap intervals over the images:")
        print(pd.concat(intervals, names=["model"]).round(2))


if __name__ == "__main__":
    main()
