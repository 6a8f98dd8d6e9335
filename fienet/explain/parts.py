"""Where a CAM looks, measured on the synthetic data's part masks.

Synthetic look-alikes share every colour and body shape and differ only in one or two
*distinguishing parts* (hair style, sleeves, top pattern, trousers/skirt, shoes, accessory), so a
network that tells them apart must use those parts. The share of CAM energy (the sum of map
values) that falls inside the person and inside those parts says whether it does; the area the
same regions cover is the share a uniform map would get, the chance level to compare against.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import torch

from fienet.data.records import Record
from fienet.data.synthetic import PartAnnotations
from fienet.explain.methods import make_explainer
from fienet.explain.references import REFERENCES, embed_images, identity_references, load_images
from fienet.explain.targets import SimilarityTarget
from fienet.modalities import MODALITIES
from fienet.model.fienet import FIENet
from fienet.progress import progress as progress_bar

PART_NAMES = PartAnnotations.part_names
FINE_PARTS = PartAnnotations.fine_parts
SHARE_COLUMNS: tuple[str, ...] = ("similarity", "person", "person_area", "parts", "parts_area")


def cam_energy_shares(cam: np.ndarray, mask: np.ndarray, distinguishing_labels: Iterable[int]) -> dict[str, Any]:
    """Share of a CAM's energy inside the person and inside given part labels.

    A uniform map gives the area fractions: ``cam_energy_shares(np.ones(mask.shape), mask, labels)``
    is the chance level.

    Args:
        cam: (H, W) non-negative map.
        mask: (H, W) integer part labels (``PART_LABELS``: 0 background, 1 head .. 7 pattern).
        distinguishing_labels: part labels to measure (not 0), e.g. an identity's distinguishing
            parts mapped through ``PART_LABELS``.

    Returns:
        ``{"person": share where mask > 0, "parts": share in the labels' union, "per_part":
        {part name: share}}``, shares in [0, 1]. ``parts`` is NaN without labels (nothing to
        look for); every share is NaN when the map is all zero (nowhere to look).
    """
    cam = np.asarray(cam, dtype=np.float64)
    mask = np.asarray(mask)
    labels = sorted(set(int(label) for label in distinguishing_labels))
    if cam.ndim != 2 or cam.shape != mask.shape:
        raise ValueError(f"cam {cam.shape} and mask {mask.shape} must be (H, W) maps of the same size")
    if not np.isfinite(cam).all() or cam.min() < 0:
        raise ValueError("cam must be finite and non-negative (a CAM in [0, 1])")
    if not np.issubdtype(mask.dtype, np.integer) or mask.min() < 0 or mask.max() >= len(PART_NAMES):
        raise ValueError(f"mask must hold integer part labels 0..{len(PART_NAMES) - 1} (PART_LABELS)")
    if any(not 0 < label < len(PART_NAMES) for label in labels):
        raise ValueError(f"distinguishing_labels {labels}: expected part labels 1..{len(PART_NAMES) - 1}")
    energy = np.bincount(mask.ravel(), weights=cam.ravel(), minlength=len(PART_NAMES))  # (num labels,)
    total = energy.sum()
    if total == 0:
        return {"person": math.nan, "parts": math.nan, "per_part": {PART_NAMES[i]: math.nan for i in labels}}
    return {
        "person": float(energy[1:].sum() / total),
        "parts": float(energy[labels].sum() / total) if labels else math.nan,
        "per_part": {PART_NAMES[i]: float(energy[i] / total) for i in labels},
    }


def attention_on_parts(
    model: FIENet,
    root: str | Path,
    records: Sequence[Record],
    height: int,
    width: int,
    device: torch.device | str = "cpu",
    layer: str = "mpim",
    method: str = "gradcam",
    reference: str = "cross-modal",
    batch_size: int = 16,
    progress: bool = False,
) -> pd.DataFrame:
    """CAM energy on the person and on the distinguishing parts, per image of a synthetic set.

    Each image is explained by the cosine similarity of its embedding to a reference taken from
    *other* images of its identity among ``records``:

    - ``"cross-modal"`` (default): the mean embedding of the identity in the other modality. This
      is the question cross-modal retrieval asks (what makes this infrared image match this
      person's visible images), so it needs both modalities of every identity in ``records``.
    - ``"same-modality"``: the mean embedding of the identity's other images of the same modality.

    The image's own embedding is not offered: the cosine to itself is at its maximum and has a
    zero gradient, so every gradient-based map would be empty. Masks are resized (nearest) to
    the CAM size, ``height`` x ``width``, as the images are. Run the same call on FIENet and on
    the baseline to compare them on the same images; :func:`attention_summary` averages.

    Args:
        model: FIENet (or the baseline), on ``device``.
        root: root of a dataset written by ``generate_synthetic`` (masks and identities.csv).
        records: images to explain, e.g. query + gallery of the test split.
        height, width: network input size.
        device: device of the model and of the images.
        layer, method: a setting of :func:`~fienet.explain.methods.make_explainer`.
        reference: one of ``REFERENCES``.
        batch_size: images per forward/backward pass.
        progress: show a progress bar.

    Returns:
        One row per record, in order: ``path``, ``pid``, ``camid``, ``modality``,
        ``distinguishing_parts`` (";"-joined names), ``similarity`` (the explained score),
        ``person``, ``parts`` (energy shares), ``person_area``, ``parts_area`` (chance levels)
        ``part_<name>`` for each fine part (NaN where it does not distinguish the identity) and
        ``area_<name>``, that part's share of the image (its chance level).
    """
    if reference not in REFERENCES:
        raise ValueError(f"unknown reference '{reference}'; expected one of {REFERENCES}")
    if not records:
        raise ValueError("records is empty; expected the synthetic images to explain")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    strange = next((r for r in records if r.modality not in MODALITIES), None)
    if strange is not None:
        raise ValueError(f"{strange.path}: modality {strange.modality!r}; expected one of {MODALITIES}")
    device = torch.device(device)
    _check_device(model, device)
    by_modality = {m: np.flatnonzero([r.modality == m for r in records]) for m in MODALITIES}
    # Everything that can be wrong on disk or in the arguments fails here, before any CAM is computed.
    explainers = {m: make_explainer(model, m, layer, method) for m, indices in by_modality.items() if len(indices)}
    annotations = PartAnnotations(root)
    annotations.check_pids({r.pid for r in records})
    labels = {pid: {part: annotations.part_labels[part] for part in annotations.distinguishing_parts(pid)}
              for pid in {r.pid for r in records}}
    masks = np.stack([annotations.mask(r.path, height, width) for r in records])  # (N, H, W)
    images = load_images(records, height, width).to(device)  # (N, 3, H, W)
    embeddings = embed_images(model, images, records, batch_size)  # (N, D)
    references = identity_references(embeddings, records, reference)  # (N, D)

    cams = np.empty((len(records), height, width), dtype=np.float32)  # (N, H, W)
    bar = progress_bar(total=len(records), desc=f"CAMs ({method} at {layer})", disable=not progress)
    for modality, explainer in explainers.items():
        with explainer:
            indices = by_modality[modality]
            for start in range(0, len(indices), batch_size):
                chunk = indices[start:start + batch_size]
                cams[chunk] = explainer(images[chunk], [SimilarityTarget(references[i]) for i in chunk])
                bar.update(len(chunk))
    bar.close()

    similarity = torch.nn.functional.cosine_similarity(embeddings, references, dim=1).cpu().numpy()  # (N,)
    rows = []
    for i, record in enumerate(records):
        shares = cam_energy_shares(cams[i], masks[i], labels[record.pid].values())
        chance = cam_energy_shares(np.ones(masks[i].shape), masks[i], labels[record.pid].values())
        rows.append({
            "path": record.path, "pid": record.pid, "camid": record.camid, "modality": record.modality,
            "distinguishing_parts": ";".join(labels[record.pid]), "similarity": float(similarity[i]),
            "person": shares["person"], "parts": shares["parts"],
            "person_area": chance["person"], "parts_area": chance["parts"],
            **{f"part_{name}": shares["per_part"].get(name, math.nan) for name in FINE_PARTS},
            **{f"area_{name}": chance["per_part"].get(name, math.nan) for name in FINE_PARTS},
        })  # fmt: skip
    return pd.DataFrame(rows)


def attention_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Mean shares and chance levels of an :func:`attention_on_parts` table.

    Means run over the images whose map is not empty (``person`` defined); ``parts`` and
    ``parts_area`` over those whose identity has distinguishing parts. ``*_lift`` = mean share /
    mean area: 1 is uniform attention, above 1 the map favours the region.

    Returns:
        One row per modality present, then ``"all"``; columns ``images``, ``empty_maps``,
        ``images_with_parts``, the means of ``similarity``, ``person``, ``person_area``,
        ``parts``, ``parts_area``, and ``person_lift``, ``parts_lift``.
    """
    missing = {"modality", *SHARE_COLUMNS} - set(table.columns)
    if missing:
        raise ValueError(f"table lacks column(s) {sorted(missing)}; expected an attention_on_parts table")
    groups = [(m, table[table["modality"] == m]) for m in MODALITIES if (table["modality"] == m).any()]
    rows = {}
    for name, part in [*groups, ("all", table)]:
        valid = part[part["person"].notna()]
        row = {"images": len(part), "empty_maps": len(part) - len(valid),
               "images_with_parts": int(valid["parts"].notna().sum()), **valid[list(SHARE_COLUMNS)].mean()}
        row["person_lift"] = row["person"] / row["person_area"]
        row["parts_lift"] = row["parts"] / row["parts_area"]
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def part_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per fine part, over the images whose identity it distinguishes: where the maps look.

    A part can distinguish an identity by its absence (the look-alike wears a backpack, this
    identity none): such an image has no pixel of the part to look at, so it is counted in
    ``absent`` and left out of the means.

    Args:
        table: from :func:`attention_on_parts`.

    Returns:
        One row per fine part that distinguishes at least one image with a non-empty map:
        ``images`` (those images), ``absent`` (of them, the ones without the part), and over the
        others ``share`` (mean share of the map on the part), ``area`` (mean share of the image
        it covers: the chance level) and ``lift`` = share / area; the three are NaN when the
        part is absent from every image.
    """
    rows = {}
    for name in FINE_PARTS:
        if f"part_{name}" not in table or f"area_{name}" not in table:
            raise ValueError(f"table lacks part_{name} / area_{name}; expected an attention_on_parts table")
        valid = table[table[f"part_{name}"].notna()]
        present = valid[valid[f"area_{name}"] > 0]
        if len(valid):
            share, area = present[f"part_{name}"].mean(), present[f"area_{name}"].mean()  # NaN if none
            rows[name] = {"images": len(valid), "absent": len(valid) - len(present), "share": share,
                          "area": area, "lift": share / area if len(present) else np.nan}  # fmt: skip
    return pd.DataFrame.from_dict(rows, orient="index", columns=["images", "absent", "share", "area", "lift"])


def _check_device(model: FIENet, device: torch.device) -> None:
    model_device = next(model.parameters()).device
    if model_device.type != device.type or (device.index is not None and device.index != model_device.index):
        raise ValueError(f"model is on {model_device} but device={device}; move it with model.to(device) first")


__all__ = ["REFERENCES", "attention_on_parts", "attention_summary", "cam_energy_shares", "part_summary"]
