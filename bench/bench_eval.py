"""Speed of the vectorised evaluation against the plain per-query loop, and of re-ranking.

Builds identity-structured random features at the sizes of the SYSU-MM01 test protocol
(3,803 infrared queries; a 301-image single-shot or 3,010-image multi-shot visible gallery),
checks that ``fienet.evaluation.evaluate`` and the loop in ``fienet.evaluation.reference``
return the same numbers, and prints median timings side by side.

    python bench/bench_eval.py [--repeats 7] [--protocols sysu regdb llcm]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import pandas as pd

from fienet.evaluation import compute_distmat, evaluate, rerank
from fienet.evaluation.metrics import PROTOCOLS
from fienet.evaluation.reference import evaluate_loop
from timing import median_seconds  # this script's folder is on sys.path

NUM_QUERIES = 3803  # SYSU-MM01 test queries (infrared, cameras 3 and 6)
NUM_IDS = 96  # SYSU-MM01 test identities
GALLERY_SIZES = {"single-shot": 301, "multi-shot": 3010}


def make_split(num_gallery: int, dim: int, noise: float, rng: np.random.Generator) -> dict:
    """Random features around one centre per identity, with SYSU-like cameras.

    Returns:
        dict of q_feats (Q, dim), g_feats (G, dim) float32, and pids / camids arrays.
    """
    centres = rng.standard_normal((NUM_IDS, dim)).astype(np.float32)
    q_pids = rng.integers(0, NUM_IDS, NUM_QUERIES)
    g_pids = np.arange(num_gallery) % NUM_IDS  # every identity in the gallery
    def noisy(pids: np.ndarray) -> np.ndarray:
        return centres[pids] + noise * rng.standard_normal((pids.size, dim), dtype=np.float32)

    return {
        "q_feats": noisy(q_pids),
        "g_feats": noisy(g_pids),
        "q_pids": q_pids,
        "g_pids": g_pids,
        "q_camids": rng.choice([3, 6], NUM_QUERIES),
        "g_camids": rng.choice([1, 2, 4, 5], num_gallery),
    }


def same_numbers(a: dict, b: dict) -> float:
    """Largest difference between two evaluation results (inf if the CMC or counts differ)."""
    if a["num_valid"] != b["num_valid"] or not np.array_equal(a["cmc"], b["cmc"]):
        return float("inf")
    return max(abs(a["mAP"] - b["mAP"]), abs(a["mINP"] - b["mINP"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed calls of `evaluate`")
    parser.add_argument("--loop-repeats", type=int, default=3, help="timed calls of the plain loop")
    parser.add_argument("--protocols", nargs="+", default=["sysu"], choices=PROTOCOLS)
    parser.add_argument("--dim", type=int, default=2048, help="feature size (ResNet-50: 2048)")
    parser.add_argument("--noise", type=float, default=4.2, help="noise around identity centres")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    print(f"numpy {np.__version__}, {os.cpu_count()} CPU cores, {NUM_QUERIES} queries, "
          f"feature size {args.dim}")
    rows, splits, failed = [], {}, False
    for setting, num_gallery in GALLERY_SIZES.items():
        split = make_split(num_gallery, args.dim, args.noise, rng)
        splits[setting] = split
        t_dist, _, distmat = median_seconds(
            lambda: compute_distmat(split["q_feats"], split["g_feats"]), 1
        )
        labels = (split["q_pids"], split["g_pids"], split["q_camids"], split["g_camids"])
        for protocol in args.protocols:
            t_vec, cpu_vec, fast = median_seconds(
                lambda: evaluate(distmat, *labels, protocol), args.repeats
            )
            t_loop, cpu_loop, slow = median_seconds(
                lambda: evaluate_loop(distmat, *labels, protocol), args.loop_repeats
            )
            diff = same_numbers(fast, slow)
            failed |= diff > 1e-12
            rows.append({
                "gallery": f"{setting} ({num_gallery})",
                "protocol": protocol,
                "distmat s": t_dist,
                "loop s": t_loop,
                "vectorised s": t_vec,
                "speed-up": t_loop / t_vec,
                "loop cpu s": cpu_loop,
                "vectorised cpu s": cpu_vec,
                "rank-1": fast["cmc"][0],
                "mAP": fast["mAP"],
                "max |diff|": diff,
            })
    table = pd.DataFrame(rows)
    print("\nevaluate (vectorised) vs reference.evaluate_loop: median wall (s) and CPU (cpu s)")
    print(f"load average now {os.getloadavg()[0]:.2f}: wall times stretch with it, CPU times less")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))

    # Re-ranking replaces the distance matrix; compare it with the whole plain evaluation.
    split = splits["single-shot"]
    labels = (split["q_pids"], split["g_pids"], split["q_camids"], split["g_camids"])
    t_plain, cpu_plain, plain = median_seconds(
        lambda: evaluate(compute_distmat(split["q_feats"], split["g_feats"]), *labels, "sysu"), 3
    )
    t_rerank, cpu_rerank, reranked = median_seconds(
        lambda: evaluate(rerank(split["q_feats"], split["g_feats"]), *labels, "sysu"), 3
    )
    print(
        f"\nsingle-shot, sysu, median of 3:\n"
        f"  distmat + evaluate  {t_plain:.3f} s wall, {cpu_plain:.3f} s CPU, mAP {plain['mAP']:.3f}\n"
        f"  rerank + evaluate   {t_rerank:.3f} s wall, {cpu_rerank:.3f} s CPU, "
        f"mAP {reranked['mAP']:.3f}\n"
        f"  re-ranking costs {t_rerank / t_plain:.1f}x (wall) / {cpu_rerank / cpu_plain:.1f}x (CPU) "
        f"the plain evaluation"
    )
    if failed:
        print("MISMATCH: the vectorised evaluation and the loop disagree", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
