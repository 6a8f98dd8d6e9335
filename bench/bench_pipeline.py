"""Input pipeline against the model: can decoding + augmentation keep up with a training step?

Renders a small synthetic dataset into a temporary folder, then measures images per second of
the training pipeline (``TrainDataset`` items in sampler order: JPEG decode + resize + pad/crop,
flip, channel augmentation, normalise, random erasing, and the collate) in one process, from
disk and ``in_memory`` (decoded once, augmentation only), with one torch thread (what every
DataLoader worker runs with) and with torch's default thread count (``data.workers=0``: the
augmentation runs in the training process). The model's appetite is the images/s of a FIENet
training step measured in the same run (``bench_train.make_step``); the ratio says how many
loader workers keep the model fed: ``ceil(model rate / pipeline rate of one worker)``.

    python bench/bench_pipeline.py [--repeats 3] [--sizes demo r50]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

from bench_train import SIZES, make_step  # this script's folder is on sys.path
from fienet.config import DataConfig
from fienet.data import SYSUMM01, generate_synthetic
from fienet.data.loader import TrainDataset, collate_train
from fienet.data.sampler import ModalityBalancedSampler
from timing import timed


def pipeline_rate(dataset: TrainDataset, sampler: ModalityBalancedSampler, repeats: int, threads: int) -> float:
    """Median images/s of building whole batches (items + collate) in this process with ``threads`` torch threads."""
    default = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _rate(dataset, sampler, repeats)
    finally:
        torch.set_num_threads(default)


def _rate(dataset: TrainDataset, sampler: ModalityBalancedSampler, repeats: int) -> float:
    rates = []
    for epoch in range(repeats):
        sampler.set_epoch(epoch)
        n, start = 0, time.perf_counter()
        for indices in sampler:
            collate_train([dataset[i] for i in indices])
            n += len(indices)
        rates.append(n / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="passes per measurement (median)")
    parser.add_argument("--sizes", nargs="+", default=["demo", "r50"], choices=list(SIZES))
    parser.add_argument("--batches", type=int, default=6, help="batches per pass")
    parser.add_argument("--dir", type=Path, default=Path(__file__).resolve().parents[1] / "runs",
                        help="scratch space on the disk the data will live on; a temporary folder inside "
                             "it is removed afterwards")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}; one process, no loader workers; "
          f"default torch threads {torch.get_num_threads()}")
    args.dir.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        # The default preset's look (128x64 JPEGs), fewer identities: enough for P=8 x K=4 batches.
        root = generate_synthetic(Path(tmp) / "synthetic", preset="default", seed=0, n_train=24, n_val=1, n_test=2)
        records = SYSUMM01(root).train_records()
        for name in args.sizes:
            size = SIZES[name]
            step = make_step(size, True, True, None, False)
            step()  # warm-up
            model_rate = size.batch / statistics.median(timed(step)[0] for _ in range(args.repeats))
            data = DataConfig(height=size.height, width=size.width, p=size.p, k=size.k)
            sampler = ModalityBalancedSampler(records, size.p, size.k, seed=0, num_batches=args.batches)
            for in_memory in (False, True):
                dataset = TrainDataset(records, data.height, data.width, data.pad, data.flip,
                                       data.random_erasing, data.channel_aug, in_memory)
                for threads in (1, torch.get_num_threads()):
                    rate = pipeline_rate(dataset, sampler, args.repeats, threads)
                    rows.append({
                        "size": f"{size.arch} {size.height}x{size.width} B={size.batch}",
                        "source": "in_memory" if in_memory else "disk (JPEG)", "threads": threads,
                        "pipeline images/s": rate, "FIENet step images/s": model_rate,
                        "pipeline / model": rate / model_rate,
                        "workers to keep up": math.ceil(model_rate / rate),
                    })
                    print(f"  {rows[-1]['size']} {rows[-1]['source']} {threads} thread(s): {rate:.0f} images/s",
                          flush=True)
    table = pd.DataFrame(rows)
    print(f"\nmedian of {args.repeats} passes of {args.batches} batches; FIENet fp32 training step in the same run")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
