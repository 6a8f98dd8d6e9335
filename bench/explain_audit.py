"""The explanation audit of docs/results.md: every CAM setting of the notebooks' baseline and
FIENet scored on the same test images of the default synthetic data.

    PYTHONPATH=. python bench/explain_audit.py --run-dir runs/notebooks --out runs/explain_audit

Reads ``<run-dir>/{fienet,baseline}[-quick]/best.pt`` (what notebook 02/04 train) and writes
``audit.csv``, ``contrastive.csv`` and the per-image tables to ``--out``.
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
from fienet.explain import audit_explanations, audit_summary, contrastive_audit

SETTINGS = [("gradcam", "layer4"), ("gradcam", "mpim"), ("hirescam", "mpim"), ("gradcam", "layer3"),
            ("hirescam", "layer3"), ("layercam", "layer3"), ("hirescam", "pfam3")]
CONTRASTIVE = [("hirescam", "layer3"), ("gradcam", "layer4"), ("gradcam", "mpim")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", default="runs/notebooks")
    parser.add_argument("--out", default="runs/explain_audit")
    parser.add_argument("--models", nargs="+", default=["baseline", "FIENet"], choices=["baseline", "FIENet"])
    parser.add_argument("--identities", type=int, default=24, help="first test identities")
    parser.add_argument("--per-identity", type=int, default=4, help="infrared queries per identity")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--overlap", action="store_true", help="half-window occlusion steps (4x the passes)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    run_dir = Path(args.run_dir)
    summaries, contrastive = {}, {}
    for name in args.models:
        folder = name.lower()
        path = run_dir / folder / "best.pt"
        if not path.is_file():
            path = run_dir / f"{folder}-quick" / "best.pt"
        model, cfg = load_trained_model(path, "cpu")
        root = Path(cfg.data.root)
        dataset = build_dataset(cfg.data.dataset, root)
        query, gallery = dataset.test_split(trial=0, shots=10)
        ids = sorted({r.pid for r in query})[: args.identities]
        records = []
        for pid in ids:
            own = [r for r in query if r.pid == pid]
            step = max(1, len(own) // args.per_identity)
            records += own[::step][: args.per_identity]
        notes = PartAnnotations(root)
        # references: the visible images of the explained identities and of their look-alikes
        wanted = set(ids) | {m for pid in ids for m in notes.lookalikes(pid)}
        pool = [r for r in gallery if r.pid in wanted]
        start = time.perf_counter()
        audit = audit_explanations(model, notes, records, cfg.data.height, cfg.data.width, SETTINGS, pool=pool,
                                   overlap=args.overlap, progress=True)
        audit.per_image.to_csv(out / f"{folder}_per_image.csv", index=False)
        summaries[name] = audit_summary(audit)
        summaries[name].to_csv(out / f"{folder}_summary.csv")
        print(f"{name} ({path}): audit of {len(records)} images in {time.perf_counter() - start:.0f} s")
        start = time.perf_counter()
        contrast = contrastive_audit(model, notes, records, cfg.data.height, cfg.data.width,
                                     CONTRASTIVE, pool=pool, overlap=args.overlap, progress=True)
        contrast.per_image.to_csv(out / f"{folder}_contrastive_per_image.csv", index=False)
        contrastive[name] = audit_summary(contrast)
        contrastive[name].to_csv(out / f"{folder}_contrastive_summary.csv")
        print(f"{name}: contrastive audit in {time.perf_counter() - start:.0f} s")
    table = pd.concat(summaries, names=["model"])
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(table.round(3))
        print(pd.concat(contrastive, names=["model"]).round(3))


if __name__ == "__main__":
    main()
