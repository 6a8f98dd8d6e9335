"""Does a heat map tell the truth? Every explanation setting scored on the same images, five ways.

A setting is a (method, layer): a CAM at a layer of the network, or gradient x input at the
pixels (``("gradient", "input")``); see :mod:`fienet.explain.methods`.

For each (method, layer) of a model, on synthetic images whose part masks are known:

- **person lift** and **distinguishing-parts lift**: share of the map's energy on the person /
  on the parts that tell the identity from its look-alikes, divided by their share of the image
  (1 = no preference);
- **empty maps**: maps that are zero everywhere (Grad-CAM's ReLU can remove everything); they
  are counted and left out of every mean, never averaged in as if they were data;
- **Spearman vs occlusion**: per-image rank correlation with captum's occlusion map, which
  measures what the model uses by removing it;
- **after randomising the weights** (Adebayo et al., 2018): the same map of a copy of the
  network with fresh random weights. Its **rank correlation with the trained model's map** is
  the test (a map that survives randomisation explains the image, not the model: near 0
  passes), of the maps as ranked (signed where they have a sign) and of their magnitudes (a
  signed map can decorrelate by flipping signs alone); its lifts and empty maps are shown too,
  beside those of occlusion of the randomised copy, because a random network's similarity also
  depends on the person (the image's only structure), so even the reference keeps a lift above
  1 there;
- **deletion AUC / random**: how fast the similarity falls when the most-attributed pixels are
  removed first, relative to a random order (< 1 = the map ranks what matters first).

The score explained everywhere is the cross-modal similarity: an image against the mean
embedding of its identity's images in the other modality.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from fienet.data.records import Record
from fienet.modalities import MODALITIES
from fienet.data.synthetic import PartAnnotations
from fienet.explain.agreement import is_empty, rank_correlation
from fienet.explain.methods import check_settings, has_layer, layer_cells, make_explainer
from fienet.explain.parts import cam_energy_shares
from fienet.explain.perturbation import deletion_curves, mean_curve_auc, occlusion_maps, occlusion_window
from fienet.explain.randomization import randomized_copy
from fienet.explain.references import embed_images, identity_references, load_images
from fienet.explain.targets import SimilarityTarget, Target
from fienet.model.fienet import FIENet

Setting = tuple[str, str]  # (method, layer): a CAM at a layer, or ("gradient", "input")
OCCLUSION: Setting = ("occlusion", "input")  # the perturbation reference, as a row of the tables
RANDOM_ORDER: Setting = ("random", "order")  # the deletion curves' random-order control


@dataclass
class Audit:
    """Per-image scores of an audit and the deletion curves behind its AUCs.

    Attributes:
        per_image: one row per (setting, image): ``method``, ``layer``, ``cells`` (the layer's
            map size, "h x w"), ``path``, ``pid``, ``modality``, ``empty``, ``person``, ``parts``,
            ``person_area``, ``parts_area``, ``spearman`` (vs occlusion), and the same scores
            after weight randomisation prefixed ``random_`` (``random_spearman``: rank correlation
            of the trained model's map with the randomised copy's; ``random_spearman_abs``: the
            same of their magnitudes).
        curves: setting -> (N, steps + 1) deletion curves; ``("random", "order")`` is the
            random-order control on the same images.
    """

    per_image: pd.DataFrame
    curves: dict[Setting, np.ndarray] = field(default_factory=dict)


def by_modality(records: Sequence[Record]) -> dict[str, np.ndarray]:
    """Row indices of each modality present, in ``MODALITIES`` order."""
    groups = {m: np.flatnonzero([r.modality == m for r in records]) for m in MODALITIES}
    return {m: rows for m, rows in groups.items() if len(rows)}


def cam_maps(
    model: FIENet,
    setting: Setting,
    images: Tensor,
    records: Sequence[Record],
    targets: Sequence[Target],
    batch_size: int = 16,
    signed: bool = False,
) -> np.ndarray:
    """(N, H, W) maps of ``setting`` = (method, layer), each image through its modality's stem.

    An audit ranks and deletes by the signed attributions of a setting that has them (gradient
    x input, as occlusion's signed drops) and scores lifts on their positive part; CAMs are
    non-negative either way (``signed``: see :func:`~fienet.explain.methods.make_explainer`).
    """
    method, layer = setting
    maps = np.empty((images.shape[0], *images.shape[2:]), dtype=np.float32)  # (N, H, W)
    for modality, rows in by_modality(records).items():
        with make_explainer(model, modality, layer, method, signed=signed) as explainer:
            for start in range(0, len(rows), batch_size):
                chunk = rows[start:start + batch_size]
                maps[chunk] = explainer(images[chunk], [targets[i] for i in chunk])
    return maps


def per_modality(
    fn: Callable[..., np.ndarray], model: FIENet, records: Sequence[Record], images: Tensor, *per_row: Tensor | np.ndarray | None, **kwargs
) -> np.ndarray:
    """Apply ``fn(model, modality, images, *per_row, **kwargs)`` to each modality's rows, in order."""
    out: np.ndarray | None = None
    for modality, rows in by_modality(records).items():
        index = torch.as_tensor(rows, device=images.device)
        args = [None if a is None else a[rows] if isinstance(a, np.ndarray) else a[index] for a in per_row]
        part = fn(model, modality, images[index], *args, **kwargs)
        if out is None:
            out = np.empty((images.shape[0], *part.shape[1:]), dtype=part.dtype)
        out[rows] = part
    assert out is not None
    return out


def score_maps(maps: np.ndarray, masks: np.ndarray, labels: Sequence[Sequence[int]]) -> pd.DataFrame:
    """Energy shares of each map's positive part on the person and on its image's ``labels``.

    A signed map (occlusion's drops, gradient x input) is scored on what supports the score, as
    it is drawn; a map with nothing positive is empty (NaN shares).

    Args:
        maps: (N, H, W) maps, signed or not.
        masks: (N, H, W) part labels.
        labels: N sequences of part labels to score against.

    Returns:
        N rows: ``empty``, ``person``, ``parts``, ``person_area``, ``parts_area``.
    """
    rows = []
    for cam, mask, lab in zip(np.clip(maps, 0, None), masks, labels):
        shares = cam_energy_shares(cam, mask, lab)
        area = cam_energy_shares(np.ones(mask.shape), mask, lab)
        rows.append({"empty": is_empty(cam), "person": shares["person"], "parts": shares["parts"],
                     "person_area": area["person"], "parts_area": area["parts"]})  # fmt: skip
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class AuditInputs:
    """What an audit explains and how it checks it: the same for every model and both audits.

    Attributes:
        annotations: the synthetic dataset's masks and identity table.
        records: images to explain; with ``pool`` they hold both modalities of every identity.
        height, width: network input size.
        pool: more images that only serve as references (e.g. the gallery when explaining
            queries, with the explained identities' look-alikes for the contrastive audit).
        fraction: occlusion window = 1/fraction of each side.
        overlap: occlusion stride of half a window, or of a whole one (a quarter of the passes).
        deletion_steps: points of each deletion curve, minus one.
        seed: seed of the randomised weights and of the random deletion order.
        batch_size: images per CAM pass.
        progress: print a line per stage (on stdout: in a notebook, stderr reads like a warning).
    """

    annotations: PartAnnotations
    records: tuple[Record, ...]
    height: int
    width: int
    pool: tuple[Record, ...] = ()
    fraction: int = 8
    overlap: bool = True
    deletion_steps: int = 10
    seed: int = 0
    batch_size: int = 16
    progress: bool = False

    def __post_init__(self) -> None:
        if not self.records:
            raise ValueError("records is empty; expected synthetic images to explain")
        object.__setattr__(self, "records", tuple(self.records))
        object.__setattr__(self, "pool", tuple(self.pool))

    @classmethod
    def from_split(
        cls,
        annotations: PartAnnotations,
        query: Sequence[Record],
        gallery: Sequence[Record],
        height: int,
        width: int,
        identities: int,
        per_identity: int,
        **checks: Any,
    ) -> AuditInputs:
        """Queries of the first test identities, referenced by their gallery images.

        A fixed rule, the same for every model: the ``identities`` smallest query pids,
        ``per_identity`` of each one's queries spread evenly over its list; the pool holds the
        gallery images of those identities and of their look-alikes.

        Args:
            annotations, height, width: as the attributes.
            query, gallery: one split of the dataset's protocol.
            identities: how many query identities to explain.
            per_identity: queries per identity.
            **checks: the other attributes (``fraction``, ``overlap``, ...).
        """
        ids = sorted({r.pid for r in query})[:identities]
        records = []
        for pid in ids:
            own = [r for r in query if r.pid == pid]
            records += own[:: max(1, len(own) // per_identity)][:per_identity]
        wanted = set(ids) | {m for pid in ids for m in annotations.lookalikes(pid)}
        pool = [r for r in gallery if r.pid in wanted]
        return cls(annotations, tuple(records), height, width, tuple(pool), **checks)

    @property
    def everything(self) -> list[Record]:
        """The explained records first, then the pool's images that are not among them."""
        known = {r.path for r in self.records}
        return [*self.records, *(r for r in self.pool if r.path not in known)]

    def load(self, device: torch.device | str) -> Tensor:
        """(M, 3, H, W) images of :attr:`everything` on ``device``, after checking the identity table."""
        everything = self.everything
        self.annotations.check_pids({r.pid for r in everything})
        return load_images(everything, self.height, self.width).to(device)

    def masks(self, records: Sequence[Record]) -> np.ndarray:
        """(N, H, W) part masks of ``records`` at the network's input size."""
        return np.stack([self.annotations.mask(r.path, self.height, self.width) for r in records])

    def grid(self) -> tuple[int, int]:
        """The occlusion's resolution: window positions along the height and the width."""
        return occlusion_window(self.height, self.width, self.fraction, self.overlap)[2]

    def say(self, message: str) -> None:
        if self.progress:
            print(message, file=sys.stdout, flush=True)


def occlusion_rows(base: pd.DataFrame, occlusion: np.ndarray, masks: np.ndarray, labels: Sequence[Sequence[int]],
                   grid: tuple[int, int]) -> pd.DataFrame:
    """The occlusion reference as rows of an audit: its positive part scored like a CAM."""
    table = pd.concat([base, score_maps(occlusion, masks, labels)], axis=1)
    return table.assign(method=OCCLUSION[0], layer=OCCLUSION[1], cells=f"{grid[0]}x{grid[1]}", spearman=np.nan)


def as_audit(tables: Sequence[pd.DataFrame], curves: dict[Setting, np.ndarray]) -> Audit:
    """One :class:`Audit` from per-setting tables, setting columns first."""
    per_image = pd.concat(tables, ignore_index=True)
    front = ["method", "layer", "cells"]
    return Audit(per_image[front + [c for c in per_image.columns if c not in front]], curves)


def audit_explanations(model: FIENet, inputs: AuditInputs, settings: Sequence[Setting]) -> Audit:
    """Score explanation settings of one model against the masks, occlusion, randomisation and deletion.

    Args:
        model: FIENet or the baseline, in its device.
        inputs: the images and the checks' parameters (:class:`AuditInputs`).
        settings: (method, layer) pairs; a layer the model lacks (``pfam3`` of the baseline) is
            skipped.

    Returns:
        :class:`Audit`; summarise it with :func:`audit_summary`. The occlusion reference itself
        is a setting (``OCCLUSION``) in both.
    """
    check_settings(model, settings)
    device = next(model.parameters()).device
    records, everything = inputs.records, inputs.everything
    n, height, width = len(records), inputs.height, inputs.width
    images_all = inputs.load(device)  # (M, 3, H, W)
    images = images_all[:n]  # (N, 3, H, W)
    masks = inputs.masks(records)  # (N, H, W)
    notes = inputs.annotations
    labels = [notes.labels(notes.distinguishing_parts(r.pid)) for r in records]
    random_model = randomized_copy(model, inputs.seed)
    # references come from the explained identities' images only (the pool may hold look-alikes
    # with one modality); the explained records are the first n of these rows
    own = [i for i, r in enumerate(everything) if r.pid in {x.pid for x in records}]
    own_records = [everything[i] for i in own]
    references = identity_references(embed_images(model, images_all[own], own_records), own_records)[:n]  # (N, D)
    random_refs = identity_references(embed_images(random_model, images_all[own], own_records), own_records)[:n]
    base = pd.DataFrame({"path": [r.path for r in records], "pid": [r.pid for r in records],
                         "modality": [r.modality for r in records]})  # fmt: skip

    inputs.say(f"occlusion maps of {n} images, by the model and by its randomised copy ...")
    occlusion = per_modality(occlusion_maps, model, records, images, references, fraction=inputs.fraction,
                             overlap=inputs.overlap)  # (N, H, W)
    random_occlusion = per_modality(occlusion_maps, random_model, records, images, random_refs,
                                    fraction=inputs.fraction, overlap=inputs.overlap)  # (N, H, W)
    grid = inputs.grid()

    def randomised(maps: np.ndarray, random_maps: np.ndarray) -> pd.DataFrame:
        """The randomised model's maps scored, and their rank correlation with the trained model's."""
        table = score_maps(random_maps, masks, labels).add_prefix("random_")
        table["random_spearman"] = [rank_correlation(a, b, grid) for a, b in zip(maps, random_maps)]
        # Of the magnitudes: a signed map can decorrelate by flipping signs alone while still
        # pointing at the same places (Adebayo et al. report both)
        table["random_spearman_abs"] = [rank_correlation(np.abs(a), np.abs(b), grid)
                                        for a, b in zip(maps, random_maps)]  # fmt: skip
        return table

    def deletion(maps: np.ndarray) -> np.ndarray:
        return per_modality(deletion_curves, model, records, images, references, maps, steps=inputs.deletion_steps)

    rng = np.random.default_rng(inputs.seed)
    curves: dict[Setting, np.ndarray] = {RANDOM_ORDER: deletion(rng.random((n, height, width))),
                                         OCCLUSION: deletion(occlusion)}  # fmt: skip
    tables = [pd.concat([occlusion_rows(base, occlusion, masks, labels, grid),
                         randomised(occlusion, random_occlusion)], axis=1)]  # fmt: skip
    for setting in settings:
        method, layer = setting
        if not has_layer(model, layer):
            continue  # e.g. pfam3 of the baseline
        inputs.say(f"{method} at {layer}: maps, maps of the randomised model, deletion ...")
        cams = cam_maps(model, setting, images, records, [SimilarityTarget(r) for r in references],
                        inputs.batch_size, signed=True)  # fmt: skip
        random_cams = cam_maps(random_model, setting, images, records, [SimilarityTarget(r) for r in random_refs],
                               inputs.batch_size, signed=True)  # fmt: skip
        curves[setting] = deletion(cams)
        table = pd.concat([base, score_maps(cams, masks, labels)], axis=1)
        table["spearman"] = [rank_correlation(c, o, grid) for c, o in zip(cams, occlusion)]
        cells = layer_cells(model, layer, images[0], records[0].modality)
        tables.append(pd.concat([table, randomised(cams, random_cams)], axis=1).assign(method=method, layer=layer,
                                                                                     cells=cells))
    return as_audit(tables, curves)


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean of the defined values, image ``i`` counted ``weights[..., i]`` times: (N,), (..., N) -> (...)."""
    defined = np.isfinite(values)
    counts = (weights * defined).sum(axis=-1)  # (...)
    total = (weights * np.where(defined, values, 0.0)).sum(axis=-1)  # (...)
    return np.where(counts > 0, total / np.where(counts > 0, counts, 1.0), np.nan)


def _lift(part: pd.DataFrame, share: str, area: str, weights: np.ndarray) -> np.ndarray:
    """Mean share / mean area over the images whose share is defined (non-empty maps): (...)."""
    shares = part[share].to_numpy(np.float64)
    areas = np.where(np.isfinite(shares), part[area].to_numpy(np.float64), np.nan)  # the same images
    return _weighted_mean(shares, weights) / _weighted_mean(areas, weights)


def _deletion_ratio(
    curves: dict[Setting, np.ndarray], setting: Setting, keep: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Deletion AUC of ``setting`` / that of the random order, on the images ``keep`` marks: (...).

    An empty map ranks nothing (its deletion order would be arbitrary), so its image is left
    out of both curves' means, as it is left out of every other mean; NaN when nothing is left.
    """
    if setting not in curves or RANDOM_ORDER not in curves:
        return np.full(weights.shape[:-1], np.nan)
    ours, random = curves[setting], curves[RANDOM_ORDER]
    if len(ours) != len(keep) or len(random) != len(keep):
        raise ValueError(f"deletion curves of {setting}: {len(ours)} images (random order: {len(random)}), "
                         f"but the per-image table has {len(keep)}")
    for name, curve in ((setting, ours), (RANDOM_ORDER, random)):
        bad = np.flatnonzero(keep & ~np.isfinite(curve).all(axis=-1))
        if len(bad):
            raise ValueError(f"deletion curves of {name}: non-finite scores for image(s) {bad.tolist()}; "
                             "expected finite similarities")  # fmt: skip
    # left-out rows weigh 0; their curves are zeroed so that one behind an empty map cannot leak in
    ours, random = np.where(keep[:, None], ours, 0.0), np.where(keep[:, None], random, 0.0)  # (N, S+1)
    kept = weights * keep  # (..., N)
    counts = kept.sum(axis=-1, keepdims=True)  # (..., 1)
    safe = np.where(counts > 0, counts, 1.0)
    ratio = mean_curve_auc(kept @ ours / safe) / mean_curve_auc(kept @ random / safe)  # (...)
    return np.where(counts[..., 0] > 0, ratio, np.nan)


def summary_values(
    part: pd.DataFrame, curves: dict[Setting, np.ndarray], setting: Setting, weights: np.ndarray
) -> dict[str, np.ndarray]:
    """The numbers of one setting's summary row, with image ``i`` counted ``weights[..., i]`` times.

    The one definition of the summary's formulas: :func:`summary_row` counts every image once,
    :func:`~fienet.explain.intervals.audit_intervals` passes one row of weights per bootstrap
    draw. ``part`` holds the setting's rows of :attr:`Audit.per_image` in the curves' image
    order (row ``i`` is row ``i`` of ``curves[setting]`` and of the random order's).

    Shapes:
        weights: (..., N) for the N rows of ``part`` -> each value (...).
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape[-1:] != (len(part),):
        raise ValueError(f"weights of shape {weights.shape}; expected (..., {len(part)}), a count per row of the "
                         "setting's table")  # fmt: skip

    def nan() -> np.ndarray:  # a column the audit did not measure (randomisation, in a contrastive audit)
        return np.full(weights.shape[:-1], np.nan)

    def mean(column: str) -> np.ndarray:
        return _weighted_mean(part[column].to_numpy(np.float64), weights) if column in part else nan()

    def lift(name: str) -> np.ndarray:  # "person", "parts", "random_person", ...
        return _lift(part, name, f"{name}_area", weights) if name in part else nan()

    empty = part["empty"].to_numpy(bool)
    return {
        "empty maps (%)": 100.0 * mean("empty"),
        "person lift": lift("person"),
        "parts lift": lift("parts"),
        "Spearman vs occlusion": mean("spearman"),
        "person lift, random weights": lift("random_person"),
        "parts lift, random weights": lift("random_parts"),
        "empty maps, random weights (%)": 100.0 * mean("random_empty"),
        "Spearman, trained vs random weights": mean("random_spearman"),
        "Spearman of |map|, trained vs random weights": mean("random_spearman_abs"),
        "deletion AUC / random": _deletion_ratio(curves, setting, ~empty, weights),
    }


def summary_row(part: pd.DataFrame, curves: dict[Setting, np.ndarray], setting: Setting) -> dict[str, Any]:
    """One setting's row of :func:`audit_summary`: :func:`summary_values` with every image once."""
    values = summary_values(part, curves, setting, np.ones(len(part)))
    return {"map": part["cells"].iloc[0], "images": len(part), **{k: float(v) for k, v in values.items()}}


def audit_summary(audit: Audit) -> pd.DataFrame:
    """One row per setting of an :class:`Audit`, the table of the explanations section.

    Lifts are mean share / mean area over the non-empty maps (the same images for share and
    area); ``Spearman vs occlusion`` is the mean over images whose two maps both vary; the
    deletion AUCs (the setting's and the random order's) are over the images with a non-empty map. Columns
    the audit did not measure (randomisation and deletion of a contrastive audit) are NaN.

    Returns:
        Index (method, layer); columns ``map``, ``images``, ``empty maps (%)``, ``person lift``,
        ``parts lift``, ``Spearman vs occlusion``, ``person lift, random weights``, ``parts
        lift, random weights``, ``empty maps, random weights (%)``, ``Spearman, trained vs
        random weights`` (of the maps as ranked: signed where they have a sign), ``Spearman of
        |map|, trained vs random weights`` and ``deletion AUC / random``.
    """
    rows = {(method, layer): summary_row(part, audit.curves, (method, layer))
            for (method, layer), part in audit.per_image.groupby(["method", "layer"], sort=False)}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index = pd.MultiIndex.from_tuples(table.index, names=["method", "layer"])
    return table


__all__ = ["OCCLUSION", "Audit", "AuditInputs", "Setting", "as_audit", "audit_explanations", "audit_summary",
           "RANDOM_ORDER", "by_modality", "cam_maps", "occlusion_rows", "per_modality", "score_maps", "summary_row",
           "summary_values"]
