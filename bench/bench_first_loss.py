"""Why the first losses are large without ImageNet weights, and whether that harms early training.

A random ResNet-50 (``weights=None``) with FIENet's head, CPU, small inputs, the SGD recipe of
``configs/sysu.yaml`` at its first warm-up epoch's learning rate. Each run starts from the same
weights and draws the same batches; they differ only in the triplet loss (WRT, batch-hard, none).
Per step it records every loss part, the mean norm of the pooled features, the weighted
positive/negative distance gap WRT sees, and at step 1 the gradient each loss sends to the
pooled features.

    python bench/bench_first_loss.py [--steps 30] [--size 128 64] [--arch resnet50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from fienet.config import Config, apply_overrides
from fienet.data import make_train_loader, set_epoch
from fienet.data.synthetic import generate_synthetic
from fienet.engine import training_records
from fienet.losses import FIENetCriterion
from fienet.model import build_model
from fienet.optim import build_optimizer, build_scheduler
from fienet.runtime import seed_everything


def wrt_gap(pooled: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean over anchors of softmax-weighted positive minus softmin-weighted negative distance."""
    dist = torch.cdist(pooled, pooled)  # (N, N)
    same = labels[:, None] == labels[None, :]
    positive = same & ~torch.eye(len(labels), dtype=torch.bool)
    w_pos = dist.masked_fill(~positive, float("-inf")).softmax(1)
    w_neg = (-dist).masked_fill(same, float("-inf")).softmax(1)
    return float(((w_pos * dist).sum(1) - (w_neg * dist).sum(1)).mean())


def run(cfg: Config, steps: int) -> list[dict[str, float]]:
    seed_everything(cfg.train.seed, deterministic=False)
    loader = make_train_loader(training_records(cfg), cfg.data, seed=cfg.train.seed, num_batches=steps)
    set_epoch(loader, 0)
    model = build_model(cfg.model, loader.dataset.num_classes)
    model.train()
    criterion = FIENetCriterion(cfg.loss)
    optimizer = build_optimizer(model, cfg.train)
    build_scheduler(optimizer, cfg.train)  # sets the first (warm-up) epoch's learning rate
    rows = []
    for step, batch in enumerate(loader):
        n_vis = int((~batch.is_infrared).sum())
        out = model(visible=batch.images[:n_vis], infrared=batch.images[n_vis:])
        loss, parts = criterion(out, batch.labels, batch.is_infrared)
        row = {"step": step + 1, "loss": float(loss.detach()), **parts,
               "feat_norm": float(out.pooled.detach().norm(dim=1).mean()),
               "wrt_gap": wrt_gap(out.pooled.detach().float(), batch.labels)}
        if step == 0:
            # The gradient each part sends to the pooled features, one part at a time.
            for name in ("id", "triplet", "igcl"):
                if name in parts:
                    part_cfg = apply_overrides(cfg, [f"loss.{k}=0" for k in ("id_weight", "triplet_weight", "igcl_weight")
                                                     if not k.startswith(name)])
                    part_loss, _ = FIENetCriterion(part_cfg.loss)(out, batch.labels, batch.is_infrared)
                    grad, = torch.autograd.grad(part_loss, out.pooled, retain_graph=True)
                    row[f"grad_{name}"] = float(grad.norm(dim=1).mean())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        rows.append(row)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--size", type=int, nargs=2, default=(128, 64), metavar=("H", "W"))
    parser.add_argument("--arch", default="resnet50")
    parser.add_argument("--ids", type=int, default=32, help="training identities of the synthetic data")
    args = parser.parse_args()

    root = Path(tempfile.gettempdir()) / f"fienet_first_loss_{args.ids}ids_{args.size[0]}x{args.size[1]}"
    generate_synthetic(root, preset="default", seed=0, n_train=args.ids, n_val=0, n_test=2, images_per_camera=2,
                       height=args.size[0], width=args.size[1])
    base = apply_overrides(Config(), [
        "data.dataset=synthetic", f"data.root={root}", f"data.height={args.size[0]}", f"data.width={args.size[1]}",
        "data.p=4", "data.k=2", "data.workers=0", "data.in_memory=true", f"model.arch={args.arch}",
        "model.weights=null", "train.device=cpu", "train.amp=fp32",
        # configs/sysu.yaml's optimiser; the first warm-up epoch's learning rate (1/10 of lr)
        "train.optimizer=sgd", "train.lr=0.1", "train.backbone_lr_mult=0.1", "train.warmup_epochs=10",
    ])
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, {args.arch} weights=None at {args.size[0]}x{args.size[1]}, "
          f"P=4 x K=2 x 2 modalities, {args.steps} steps, load average {os.getloadavg()[0]:.1f}")
    results = {}
    for name, overrides in (("wrt", []), ("hard", ["loss.triplet=hard"]), ("none", ["loss.triplet=none"])):
        start = time.perf_counter()
        results[name] = run(apply_overrides(base, overrides), args.steps)
        print(f"{name}: {time.perf_counter() - start:.0f} s", flush=True)

    first = results["wrt"][0]
    print(f"\nstep 1 (WRT run): total {first['loss']:.2f} = id {first['id']:.2f} + triplet {first['triplet']:.2f} "
          f"+ 0.5 x igcl {first['igcl']:.2f}; pooled norm {first['feat_norm']:.1f}, WRT gap {first['wrt_gap']:.2f}")
    print("gradient norm per image at the pooled features, step 1: "
          + ", ".join(f"{k[5:]} {v:.3g}" for k, v in first.items() if k.startswith("grad_")))
    third = max(1, args.steps // 3)
    print(f"\nmeans over steps: first {third} | last {third}")
    print("| triplet | id loss | triplet loss | pooled norm | WRT gap |")
    print("|---|---|---|---|---|")
    for name, rows in results.items():
        def mean(key, part):
            values = [r[key] for r in part if key in r]
            return f"{statistics.mean(values):.3g}" if values else "-"
        head, tail = rows[:third], rows[-third:]
        print(f"| {name} | {mean('id', head)} -> {mean('id', tail)} | {mean('triplet', head)} -> {mean('triplet', tail)} | "
              f"{mean('feat_norm', head)} -> {mean('feat_norm', tail)} | {mean('wrt_gap', head)} -> {mean('wrt_gap', tail)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
