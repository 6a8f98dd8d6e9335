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

import pandas as pd
import torch
from torch import nn

from fienet.data.reader import Reader
from fienet.evaluation.features import extract_features
from fienet.evaluation.runner import evaluate_split, metrics_row
from fienet.modalities import VISIBLE
from fienet.protocols import LLCM, SYSU, sysu_settings
from fienet.runtime import Runtime

GAP_SEARCHES = ("visible-to-visible", "infrared-to-visible")
GALLERY = sysu_settings(shots=(1,))[0]  # all-search single-shot: the gallery both searches share


@torch.no_grad()
def modality_gap(
    model: nn.Module,
    reader: Reader,
    height: int,
    width: int,
    device: Runtime | torch.device | str = "cpu",
    trials: Iterable[int] = range(10),
) -> pd.DataFrame:
    """Visible-to-visible and infrared-to-visible retrieval on the same galleries.

    Args:
        model: a trained model with ``embed(images, modality)``.
        reader: a dataset with the SYSU-MM01 protocol (SYSU-MM01, the synthetic data).
        height, width: the model's input size.
        device: where the model runs (a :class:`~fienet.runtime.Runtime`, or a device).
        trials: gallery draws to average.

    Returns:
        One row per search (``GAP_SEARCHES``): Rank-1/5/10/20, mAP and mINP in percent, mean
        over the trials, and ``trials``.

    Raises:
        ValueError: the reader's protocol is not SYSU-MM01's (its galleries are what both searches share).
    """
    if reader.protocol != SYSU:
        raise ValueError(
            f"modality_gap: {reader.root} has the {reader.protocol!r} protocol; expected a dataset with the "
            f"{SYSU!r} protocol (SYSU-MM01 layout), whose all-search galleries both searches share"
        )
    trials = list(trials)
    splits = {t: reader.split(GALLERY, t) for t in trials}
    visible_queries = [r for r in reader.test_records() if r.modality == VISIBLE]
    records = {r.path: r for r in visible_queries}
    for query, gallery in splits.values():
        records.update({r.path: r for r in (*query, *gallery)})
    unique = list(records.values())
    feats = extract_features(model, unique, height, width, device)
    index = {r.path: i for i, r in enumerate(unique)}
    rows = []
    # The LLCM filter drops the query's identity in the query's camera: the cross-camera rule.
    for search, queries, protocol in (("visible-to-visible", visible_queries, LLCM), ("infrared-to-visible", None, SYSU)):
        per_trial = [
            metrics_row(evaluate_split(feats, index, queries if queries is not None else query, gallery, protocol))
            for query, gallery in splits.values()
        ]
        rows.append({"search": search, **pd.DataFrame(per_trial).mean().to_dict(), "trials": len(trials)})
    return pd.DataFrame(rows).set_index("search")


__all__ = ["GAP_SEARCHES", "modality_gap"]
