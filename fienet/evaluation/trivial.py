"""Trivial matchers: the floor a dataset must keep well above chance but far below a real model.

If raw pixels or a grey-level histogram could match an infrared query to its visible gallery
image, a benchmark would measure nothing about cross-modality learning. These two matchers use
no training at all; on the synthetic data they must stay at a low Rank-1 (see
docs/synthetic_data.md for the measured numbers).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from PIL import Image

from fienet.data.io import read_rgb
from fienet.data.sysu import SYSUMM01
from fienet.evaluation.metrics import evaluate

MATCHERS = ("pixel_cosine", "gray_histogram")


def load_gray(paths: Sequence[str | Path], size: tuple[int, int]) -> np.ndarray:
    """Read images as grey levels resized to ``size``.

    Args:
        paths: N image files.
        size: (height, width) after resizing.

    Returns:
        (N, height, width) float32 in [0, 1].
    """
    h, w = size
    out = np.empty((len(paths), h, w), dtype=np.float32)
    for i, path in enumerate(paths):
        out[i] = np.asarray(_grey(path).resize((w, h), Image.BILINEAR), dtype=np.float32) / 255.0
    return out


def _grey(path: str | Path) -> Image.Image:
    """One image as 8-bit grey (ITU-R 601 luma), decoded by the package's one decoder."""
    return Image.fromarray(read_rgb(path)).convert("L")


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """Mean-centre and L2-normalise each row of (N, D); constant rows stay zero."""
    x = x - x.mean(axis=1, keepdims=True)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def pixel_cosine_distmat(
    query_paths: Sequence[str | Path], gallery_paths: Sequence[str | Path], size: tuple[int, int] = (32, 16)
) -> np.ndarray:
    """Cosine distance between small grey images, each mean-centred and L2-normalised.

    Args:
        query_paths: Q image files.
        gallery_paths: G image files.
        size: (height, width) the images are shrunk to.

    Returns:
        (Q, G) float32 distances ``1 - cos`` in [0, 2].
    """
    q = _unit_rows(load_gray(query_paths, size).reshape(len(query_paths), -1))  # (Q, h*w)
    g = _unit_rows(load_gray(gallery_paths, size).reshape(len(gallery_paths), -1))  # (G, h*w)
    return 1.0 - q @ g.T


def gray_histograms(paths: Sequence[str | Path], bins: int = 32) -> np.ndarray:
    """(N, bins) grey-level histograms of full-size images, each summing to 1."""
    hists = []
    for path in paths:
        counts = np.asarray(_grey(path).histogram(), dtype=np.float64)  # (256,)
        hists.append(counts.reshape(bins, 256 // bins).sum(axis=1))
    h = np.stack(hists)
    return h / h.sum(axis=1, keepdims=True)


def histogram_distmat(
    query_paths: Sequence[str | Path], gallery_paths: Sequence[str | Path], bins: int = 32
) -> np.ndarray:
    """Chi-square distance between normalised grey-level histograms.

    ``d(a, b) = 1/2 * sum_k (a_k - b_k)^2 / (a_k + b_k)``, over bins where either is non-zero.

    Args:
        query_paths: Q image files.
        gallery_paths: G image files.
        bins: histogram bins over 0..255 (a divisor of 256).

    Returns:
        (Q, G) float64 distances in [0, 1].
    """
    if 256 % bins:
        raise ValueError(f"bins={bins}: expected a divisor of 256")
    q, g = gray_histograms(query_paths, bins), gray_histograms(gallery_paths, bins)
    out = np.empty((len(q), len(g)))
    for start in range(0, len(q), 256):  # rows in chunks keep the (rows, G, bins) block small
        a = q[start:start + 256, None, :]  # (r, 1, bins)
        total = a + g[None]  # (r, G, bins)
        out[start:start + 256] = 0.5 * np.sum((a - g[None]) ** 2 / np.where(total > 0, total, 1.0), axis=2)
    return out


def trivial_floor(
    root: str | Path, mode: str = "all", shots: int = 1, trials: Iterable[int] = range(10)
) -> pd.DataFrame:
    """Both trivial matchers under the SYSU-MM01 protocol, averaged over gallery trials.

    Args:
        root: a dataset in the SYSU-MM01 layout (e.g. the synthetic data).
        mode: ``"all"`` or ``"indoor"`` search.
        shots: gallery images per identity and camera (1 or 10).
        trials: gallery draws to average.

    Returns:
        One row per matcher (index ``matcher``), columns rank1, rank10, rank20, mAP, mINP in percent.
    """
    dataset = SYSUMM01(root)
    splits = [dataset.test_split(mode, trial, shots) for trial in trials]
    if not splits:
        raise ValueError("trials is empty; expected at least one gallery trial, e.g. range(10)")
    query = splits[0][0]
    # Each image is read once, however many trials draw it.
    gallery_paths = sorted({r.path for _, gallery in splits for r in gallery})
    column = {p: i for i, p in enumerate(gallery_paths)}
    q_paths = [r.path for r in query]
    full = {
        "pixel_cosine": pixel_cosine_distmat(q_paths, gallery_paths),
        "gray_histogram": histogram_distmat(q_paths, gallery_paths),
    }
    q_pids = np.array([r.pid for r in query])
    q_cams = np.array([r.camid for r in query])
    rows = []
    for matcher in MATCHERS:
        runs = []
        for _, gallery in splits:
            cols = [column[r.path] for r in gallery]
            res = evaluate(full[matcher][:, cols], q_pids, np.array([r.pid for r in gallery]), q_cams,
                           np.array([r.camid for r in gallery]), protocol="sysu")
            runs.append([res["cmc"][0], res["cmc"][9], res["cmc"][19], res["mAP"], res["mINP"]])
        rows.append([matcher, *(100.0 * np.mean(runs, axis=0))])
    return pd.DataFrame(rows, columns=["matcher", "rank1", "rank10", "rank20", "mAP", "mINP"]).set_index("matcher")
