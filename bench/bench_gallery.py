"""Large galleries: chunked evaluation against the whole-matrix path, time and peak memory.

SYSU-MM01's 3,803 infrared queries against visible galleries of growing size (identity-structured
random features, every extra image a distractor identity). For each size it times
``evaluate(compute_distmat(q, g))`` (the whole (Q, G) matrix) and
``fienet.evaluation.chunked.evaluate_chunked`` (one chunk of queries at a time), checks that
both give the same numbers, and records the peak of numpy's allocations (``tracemalloc``, which
numpy reports to). The whole-matrix path is skipped above ``--max-whole`` gallery images, where
its memory is printed as the estimate ``Q * G * 20`` bytes (float32 result + float64 products).

    python bench/bench_gallery.py [--galleries 10000 30000 100000] [--dim 512] [--chunk 256]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tracemalloc
from typing import Callable

import numpy as np
import pandas as pd

from fienet.evaluation import compute_distmat, evaluate
from fienet.evaluation.chunked import evaluate_chunked

NUM_QUERIES = 3803  # SYSU-MM01 test queries
NUM_IDS = 96  # SYSU-MM01 test identities, each with gallery images


def traced(fn: Callable[[], dict]) -> tuple[dict, float, float]:
    """``fn()``, its wall seconds and the peak bytes numpy allocated meanwhile."""
    tracemalloc.start()
    start = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, seconds, peak


def make_split(num_gallery: int, dim: int, rng: np.random.Generator) -> dict:
    """Queries of the 96 test identities; gallery: 3 images per test identity, the rest distractors."""
    centres = rng.standard_normal((NUM_IDS, dim), dtype=np.float32)
    q_pids = rng.integers(0, NUM_IDS, NUM_QUERIES)
    g_pids = np.concatenate([np.repeat(np.arange(NUM_IDS), 3), NUM_IDS + np.arange(num_gallery - 3 * NUM_IDS)])
    g_centres = np.concatenate([centres[g_pids[: 3 * NUM_IDS]],
                                rng.standard_normal((num_gallery - 3 * NUM_IDS, dim), dtype=np.float32)])
    return {
        "q_feats": centres[q_pids] + 2.0 * rng.standard_normal((NUM_QUERIES, dim), dtype=np.float32),
        "g_feats": g_centres + 2.0 * rng.standard_normal((num_gallery, dim), dtype=np.float32),
        "q_pids": q_pids, "g_pids": g_pids,
        "q_camids": rng.choice([3, 6], NUM_QUERIES), "g_camids": rng.choice([1, 2, 4, 5], num_gallery),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--galleries", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--dim", type=int, default=512, help="feature size (FIENet-ResNet-18: 512)")
    parser.add_argument("--chunk", type=int, default=256, help="queries per chunk")
    parser.add_argument("--max-whole", type=int, default=30_000, help="largest gallery for the whole-matrix path")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{NUM_QUERIES} queries, feature size {args.dim}, {args.chunk} queries per chunk, "
          f"load average {os.getloadavg()[0]:.2f}")
    rows, failed = [], False
    for num_gallery in args.galleries:
        s = make_split(num_gallery, args.dim, rng)
        labels = (s["q_pids"], s["g_pids"], s["q_camids"], s["g_camids"])
        inputs_mb = (s["q_feats"].nbytes + s["g_feats"].nbytes) / 2**20
        chunked, t_chunk, m_chunk = traced(
            lambda: evaluate_chunked(s["q_feats"], s["g_feats"], *labels, "sysu", chunk_size=args.chunk)
        )
        row = {"gallery": num_gallery, "features MB": inputs_mb, "chunked s": t_chunk,
               "chunked peak MB": m_chunk / 2**20}
        if num_gallery <= args.max_whole:
            whole, t_whole, m_whole = traced(
                lambda: evaluate(compute_distmat(s["q_feats"], s["g_feats"]), *labels, "sysu")
            )
            same = np.array_equal(whole["cmc"], chunked["cmc"]) and whole["mAP"] == chunked["mAP"] \
                and whole["mINP"] == chunked["mINP"]
            failed |= not same
            row.update({"whole s": t_whole, "whole peak MB": m_whole / 2**20, "identical": same})
        else:
            row.update({"whole s": float("nan"), "whole peak MB": NUM_QUERIES * num_gallery * 20 / 2**20,
                        "identical": "not run (estimate)"})
        row.update({"rank-1": 100 * chunked["cmc"][0], "mAP": 100 * chunked["mAP"]})
        rows.append(row)
        print(f"  gallery {num_gallery}: chunked {t_chunk:.1f} s, peak {m_chunk / 2**20:.0f} MB", flush=True)
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    if failed:
        print("MISMATCH: chunked and whole-matrix evaluation disagree", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
