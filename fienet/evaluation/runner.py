"""A dataset's full test protocol for a trained model, as the field reports it.

The settings, trials and filtering rule come from the dataset's reader (defined in
:mod:`fienet.protocols`); nothing here asks which dataset it is. Every image is embedded once;
each trial then only selects rows of the feature matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from fienet.data.reader import Reader
from fienet.data.records import Record
from fienet.evaluation.distance import compute_distmat
from fienet.evaluation.features import extract_features
from fienet.evaluation.metrics import evaluate
from fienet.evaluation.rerank import rerank as k_reciprocal_rerank
from fienet.protocols import Setting
from fienet.runtime import Runtime

RANKS = (1, 5, 10, 20)


def metrics_row(result: dict[str, Any]) -> dict[str, float]:
    """Percentages for a table row from an ``evaluate`` result."""
    row = {f"rank{r}": 100.0 * float(result["cmc"][r - 1]) for r in RANKS}
    row.update(mAP=100.0 * float(result["mAP"]), mINP=100.0 * float(result["mINP"]))
    return row


def evaluate_split(
    feats: np.ndarray, index: dict[str, int], query: Sequence[Record], gallery: Sequence[Record],
    protocol: str, rerank: bool = False,
) -> dict[str, Any]:
    """Metrics of one (query, gallery) split from precomputed features keyed by path."""
    qf = feats[[index[r.path] for r in query]]
    gf = feats[[index[r.path] for r in gallery]]
    distmat = k_reciprocal_rerank(qf, gf) if rerank else compute_distmat(qf, gf)
    return evaluate(
        distmat,
        np.array([r.pid for r in query]), np.array([r.pid for r in gallery]),
        np.array([r.camid for r in query]), np.array([r.camid for r in gallery]),
        protocol=protocol,
    )


@dataclass
class ProtocolRun:
    """Everything one protocol run computed, for tables, curves and ranked lists."""

    table: pd.DataFrame  # one row per (setting, trial), metrics in percent
    results: dict[tuple[str, int], dict[str, Any]]  # raw ``evaluate`` output per (setting, trial)
    splits: dict[tuple[str, int], tuple[list[Record], list[Record]]]  # (query, gallery) records
    feats: np.ndarray  # (N, D) features of every image used by any split
    index: dict[str, int]  # image path -> row of ``feats``

    def mean_cmc(self, setting: str) -> np.ndarray:
        """(20,) CMC of ``setting`` averaged over its trials."""
        return np.mean([r["cmc"] for (name, _), r in self.results.items() if name == setting], axis=0)

    def distmat(self, setting: str, trial: int) -> np.ndarray:
        """(Q, G) distances of one split, in the order of its query and gallery records."""
        query, gallery = self.splits[(setting, trial)]
        return compute_distmat(self.feats[[self.index[r.path] for r in query]],
                               self.feats[[self.index[r.path] for r in gallery]])


@dataclass
class ProtocolPlan:
    """What a protocol run will compute, known before any image is decoded.

    Attributes:
        settings: the settings run.
        splits: (query, gallery) records per (setting, trial).
        records: every image any split uses, once, in first-use order: what gets embedded.
    """

    settings: list[Setting]
    splits: dict[tuple[str, int], tuple[list[Record], list[Record]]]
    records: list[Record]

    def describe(self) -> str:
        """One line stating the cost: images to embed per modality, settings and splits."""
        per_modality: dict[str, int] = {}
        for r in self.records:
            per_modality[r.modality] = per_modality.get(r.modality, 0) + 1
        counts = ", ".join(f"{n:,} {m}" for m, n in per_modality.items())
        return (
            f"embedding {len(self.records):,} test images ({counts}) once, then ranking "
            f"{len(self.splits)} splits ({len(self.settings)} settings)"
        )


def plan_protocol(dataset: Reader, settings: Iterable[Setting] | None = None) -> ProtocolPlan:
    """Draw every split of the dataset's protocol (or of ``settings``) and list the images they use."""
    settings = list(settings) if settings is not None else dataset.settings()
    splits = {(s.name, t): dataset.split(s, t) for s in settings for t in s.trials}
    records: dict[str, Record] = {}
    for query, gallery in splits.values():
        records.update({r.path: r for r in (*query, *gallery)})
    return ProtocolPlan(settings, splits, list(records.values()))


@torch.no_grad()
def evaluate_model(
    model: nn.Module,
    dataset: Reader,
    height: int,
    width: int,
    runtime: Runtime | torch.device | str = "cpu",
    settings: Iterable[Setting] | None = None,
    rerank: bool = False,
    flip: bool = False,
    workers: int = 0,
    plan: ProtocolPlan | None = None,
    progress: bool = False,
) -> ProtocolRun:
    """Run the dataset's protocol; ``.table`` has one row per (setting, trial), in percent.

    Args:
        model: the trained network.
        dataset: the reader (e.g. ``dataset_from_config(cfg.data)``: RegDB at the trained trial).
        height, width: test input size.
        runtime: where and how the model runs; a bare device means
            :meth:`Runtime.for_evaluation` on it, the fp32 evaluation every path shares.
        settings: a subset of ``dataset.settings()`` (default: all of them).
        rerank: k-reciprocal re-ranking of every split.
        flip: average each image's features with its mirror image's.
        workers: image-decoding processes of the test loader (``data.workers``).
        plan: the splits drawn by :func:`plan_protocol` beforehand (e.g. to state the cost
            first); drawn here from ``dataset`` and ``settings`` when None.
        progress: a progress bar while embedding.
    """
    if plan is None:
        plan = plan_protocol(dataset, settings)
    feats = extract_features(
        model, plan.records, height, width, runtime, workers=workers, flip=flip, progress=progress
    )
    index = {r.path: i for i, r in enumerate(plan.records)}
    results = {
        key: evaluate_split(feats, index, query, gallery, dataset.protocol, rerank)
        for key, (query, gallery) in plan.splits.items()
    }
    table = pd.DataFrame(
        [{"setting": name, "trial": trial, **metrics_row(r)} for (name, trial), r in results.items()]
    )
    return ProtocolRun(table, results, plan.splits, feats, index)


def summarize(per_trial: pd.DataFrame) -> pd.DataFrame:
    """Mean over trials per setting (the number a paper reports), with the spread of Rank-1/mAP."""
    metrics = [c for c in per_trial.columns if c not in ("setting", "trial")]
    grouped = per_trial.groupby("setting", sort=False)
    table = grouped[metrics].mean()
    table["rank1_std"] = grouped["rank1"].std(ddof=0)
    table["mAP_std"] = grouped["mAP"].std(ddof=0)
    table["trials"] = grouped.size()
    return table.reset_index()
