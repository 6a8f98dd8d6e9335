"""Trivial matchers: the floor a dataset must keep well above chance but far below a real model.

If raw pixels or a grey-level histogram could match an infrared query to its visible gallery
image, a benchmark would measure nothing about cross-modality learning. These two matchers use
no training at all; on the synthetic data they must stay at a low Rank-1 (see
docs/synthetic_data.md for the measured numbers). :func:`trivial_floor` scores them on any
dataset through its reader, with the dataset's own protocol.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from PIL import Image

from fienet.data.io import read_rgb
from fienet.data.reader import Reader
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
    dataset: str | Path | Reader, *, trials: Iterable[int] | None = None, **split_kwargs: Any
) -> pd.DataFrame:
    """Both trivial matchers under a dataset's own protocol, averaged over trials.

    Args:
        dataset: any dataset's reader, or the folder of a dataset in the SYSU-MM01 layout (the
            synthetic data), read with :class:`~fienet.data.sysu.SYSUMM01`.
        trials: the trials to average (default: those of the setting).
        **split_kwargs: the setting, as the reader's ``test_split`` takes it (SYSU-MM01:
            ``mode="all"``, ``shots=1``; LLCM: ``direction="i2v"``); default: the reader's first
            setting (SYSU-MM01: all-search single-shot, trials 0..9).

    Returns:
        One row per matcher (index ``matcher``), columns rank1, rank10, rank20, mAP, mINP in percent.
    """
    reader = dataset if isinstance(dataset, Reader) else SYSUMM01(dataset)
    settings = reader.settings()
    setting = next((s for s in settings if s.split_kwargs == split_kwargs), settings[0])
    split_kwargs = split_kwargs or setting.split_kwargs
    splits = [reader.test_split(trial=t, **split_kwargs) for t in (setting.trials if trials is None else trials)]
    if not splits:
        raise ValueError("trials is empty; expected at least one trial, e.g. range(10)")
    # Each image is read once, however many trials draw it.
    query_paths = list(dict.fromkeys(r.path for query, _ in splits for r in query))
    gallery_paths = sorted({r.path for _, gallery in splits for r in gallery})
    row = {p: i for i, p in enumerate(query_paths)}
    column = {p: i for i, p in enumerate(gallery_paths)}
    full = {
        "pixel_cosine": pixel_cosine_distmat(query_paths, gallery_paths),
        "gray_histogram": histogram_distmat(query_paths, gallery_paths),
    }
    rows = []
    for matcher in MATCHERS:
        runs = []
        for query, gallery in splits:
            distmat = full[matcher][np.ix_([row[r.path] for r in query], [column[r.path] for r in gallery])]
            res = evaluate(distmat, np.array([r.pid for r in query]), np.array([r.pid for r in gallery]),
                           np.array([r.camid for r in query]), np.array([r.camid for r in gallery]),
                           protocol=reader.protocol)
            runs.append([res["cmc"][0], res["cmc"][9], res["cmc"][19], res["mAP"], res["mINP"]])
        rows.append([matcher, *(100.0 * np.mean(runs, axis=0))])
    return pd.DataFrame(rows, columns=["matcher", "rank1", "rank10", "rank20", "mAP", "mINP"]).set_index("matcher")
