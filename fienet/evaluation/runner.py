"""A dataset's full test protocol for a trained model, as the field reports it.

- SYSU-MM01 (and the synthetic data): all-search and indoor-search, single-shot and multi-shot,
  trials 0..9, infrared queries against a visible gallery.
- RegDB: visible-to-thermal and thermal-to-visible on the trial the model was trained on (every
  RegDB trial has its own train/test identity split, so a paper trains one model per trial and
  averages the ten results).
- LLCM: infrared-to-visible and visible-to-infrared, trials 0..9.

Every image is embedded once; each trial then only selects rows of the feature matrix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from fienet.data import build_dataset
from fienet.data.records import Record
from fienet.evaluation.distance import compute_distmat
from fienet.evaluation.features import extract_features
from fienet.evaluation.metrics import evaluate
from fienet.evaluation.rerank import rerank as k_reciprocal_rerank
from fienet.runtime import Runtime

RANKS = (1, 5, 10, 20)


@dataclass(frozen=True)
class Setting:
    """One protocol setting: its name in tables and the ``test_split`` keyword arguments."""

    name: str
    split_kwargs: dict[str, Any]
    trials: tuple[int, ...]


def protocol_settings(dataset: str, regdb_trial: int = 1, shots: Sequence[int] = (1, 10)) -> list[Setting]:
    """The settings a paper table reports for ``dataset``."""
    if dataset in ("sysu", "synthetic"):
        return [
            Setting(f"{mode}-search {'single' if s == 1 else 'multi'}-shot", {"mode": mode, "shots": s}, tuple(range(10)))
            for s in shots
            for mode in ("all", "indoor")
        ]
    if dataset == "regdb":
        return [
            Setting(name, {"direction": d}, (regdb_trial,))
            for name, d in (("visible-to-thermal", "v2t"), ("thermal-to-visible", "t2v"))
        ]
    if dataset == "llcm":
        return [
            Setting(name, {"direction": d}, tuple(range(10)))
            for name, d in (("infrared-to-visible", "i2v"), ("visible-to-infrared", "v2i"))
        ]
    raise ValueError(f"unknown dataset '{dataset}': expected synthetic, sysu, regdb or llcm")


def protocol_name(dataset: str) -> str:
    """The filtering rule ``evaluate`` applies for ``dataset``."""
    return {"synthetic": "sysu", "sysu": "sysu", "regdb": "regdb", "llcm": "llcm"}[dataset]


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


def plan_protocol(
    dataset: str, root: str, settings: Iterable[Setting] | None = None, regdb_trial: int = 1
) -> ProtocolPlan:
    """Draw every split of the dataset's protocol (or of ``settings``) and list the images they use."""
    reader = build_dataset(dataset, root)
    settings = list(settings) if settings is not None else protocol_settings(dataset, regdb_trial)
    splits = {(s.name, t): reader.test_split(trial=t, **s.split_kwargs) for s in settings for t in s.trials}
    records: dict[str, Record] = {}
    for query, gallery in splits.values():
        records.update({r.path: r for r in (*query, *gallery)})
    return ProtocolPlan(settings, splits, list(records.values()))


@torch.no_grad()
def evaluate_model(
    model: nn.Module,
    dataset: str,
    root: str,
    height: int,
    width: int,
    runtime: Runtime | torch.device | str = "cpu",
    settings: Iterable[Setting] | None = None,
    rerank: bool = False,
    flip: bool = False,
    regdb_trial: int = 1,
    workers: int = 0,
    plan: ProtocolPlan | None = None,
    progress: bool = False,
) -> ProtocolRun:
    """Run the dataset's protocol; ``.table`` has one row per (setting, trial), in percent.

    ``runtime`` says where and how the model runs; a bare device means
    :meth:`Runtime.for_evaluation` on it, the fp32 evaluation every path shares.

    Args:
        workers: image-decoding processes of the test loader (``data.workers``).
        plan: the splits drawn by :func:`plan_protocol` beforehand (e.g. to state the cost
            first); drawn here from ``dataset``, ``root``, ``settings`` when None.
        progress: a progress bar while embedding.
    """
    if plan is None:
        plan = plan_protocol(dataset, root, settings, regdb_trial)
    feats = extract_features(
        model, plan.records, height, width, runtime, workers=workers, flip=flip, progress=progress
    )
    index = {r.path: i for i, r in enumerate(plan.records)}
    results = {
        key: evaluate_split(feats, index, query, gallery, protocol_name(dataset), rerank)
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
