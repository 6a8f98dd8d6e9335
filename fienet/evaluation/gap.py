"""The modality gap of a model: the same gallery searched with visible and with infrared queries.

On SYSU-MM01-layout data (SYSU-MM01 and the synthetic data) both searches use the all-search
single-shot gallery of each trial (one visible image per identity and visible camera):

- **infrared-to-visible**: the dataset's own protocol (infrared queries, the camera-3 rule);
- **visible-to-visible**: every visible test image queries the same gallery; the query's own
  identity seen by the query's own camera is removed (the LLCM rule, i.e. the usual
  cross-camera ReID rule), which also removes the query image itself when it was drawn.

The difference between the two rows is what the infrared modality costs the model: a
visible-only model is good at the first and poor at the second, a VI-ReID model should
close the distance.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
import torch
from torch import nn

from fienet.data import build_dataset
from fienet.modalities import VISIBLE
from fienet.evaluation.features import extract_features
from fienet.evaluation.runner import evaluate_split, metrics_row

GAP_SEARCHES = ("visible-to-visible", "infrared-to-visible")


@torch.no_grad()
def modality_gap(
    model: nn.Module,
    dataset: str,
    root: str,
    height: int,
    width: int,
    device: torch.device | str = "cpu",
    trials: Iterable[int] = range(10),
) -> pd.DataFrame:
    """Visible-to-visible and infrared-to-visible retrieval on the same galleries.

    Args:
        model: a trained model with ``embed(images, modality)``.
        dataset: ``"synthetic"`` or ``"sysu"`` (the SYSU-MM01 layout).
        root: dataset folder.
        height, width: the model's input size.
        device: where the model runs.
        trials: gallery draws to average.

    Returns:
        One row per search (``GAP_SEARCHES``): Rank-1/5/10/20, mAP and mINP in percent, mean
        over the trials, and ``trials``.
    """
    if dataset not in ("synthetic", "sysu"):
        raise ValueError(f"modality_gap: dataset {dataset!r}; expected 'synthetic' or 'sysu' (SYSU-MM01 layout)")
    reader = build_dataset(dataset, root)
    trials = list(trials)
    splits = {t: reader.test_split(mode="all", trial=t, shots=1) for t in trials}
    visible_queries = [r for r in reader.test_records() if r.modality == VISIBLE]
    records = {r.path: r for r in visible_queries}
    for query, gallery in splits.values():
        records.update({r.path: r for r in (*query, *gallery)})
    unique = list(records.values())
    feats = extract_features(model, unique, height, width, device)
    index = {r.path: i for i, r in enumerate(unique)}
    rows = []
    for search, queries, protocol in (("visible-to-visible", visible_queries, "llcm"), ("infrared-to-visible", None, "sysu")):
        per_trial = [
            metrics_row(evaluate_split(feats, index, queries if queries is not None else query, gallery, protocol))
            for query, gallery in splits.values()
        ]
        rows.append({"search": search, **pd.DataFrame(per_trial).mean().to_dict(), "trials": len(trials)})
    return pd.DataFrame(rows).set_index("search")


__all__ = ["GAP_SEARCHES", "modality_gap"]
