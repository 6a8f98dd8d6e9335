"""Why this person and not the look-alike? Contrastive explanations, scored against the truth.

A plain similarity map answers "what makes this image resemble person A", and most of that
answer (colours, body shape) is shared with A's look-alike B. Explaining the *difference*
``cos(q, A) - cos(q, B)`` cancels what the two share, so the map can only point at what tells
them apart. On the synthetic data that answer is known: the parts in which A and B differ
(:meth:`~fienet.data.synthetic.PartAnnotations.differing_parts`).
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from fienet.data.records import Record
from fienet.modalities import MODALITIES
from fienet.data.synthetic import PartAnnotations
from fienet.explain.agreement import rank_correlation
from fienet.explain.audit import (Audit, AuditInputs, Setting, as_audit, cam_maps, occlusion_rows, per_modality,
                                  score_maps)
from fienet.explain.methods import check_settings, has_layer, layer_cells
from fienet.explain.perturbation import occlusion_maps
from fienet.explain.references import embed_images
from fienet.explain.targets import ContrastiveTarget
from fienet.model.fienet import FIENet


class LookalikePairs(NamedTuple):
    """For each explained image: its identity's reference, its look-alike's, and who that is.

    Attributes:
        rows: (P,) indices into the explained records that have a look-alike to contrast with.
        lookalike: (P,) pid of each row's hardest look-alike.
        reference_a: (P, D) mean embedding of the image's identity in the other modality.
        reference_b: (P, D) the same for the look-alike.
    """

    rows: np.ndarray
    lookalike: np.ndarray
    reference_a: Tensor
    reference_b: Tensor


def lookalike_pairs(
    annotations: PartAnnotations, records: Sequence[Record], embeddings: Tensor, everything: Sequence[Record]
) -> LookalikePairs:
    """Pair each record with its hardest look-alike among ``everything``.

    The look-alike is the member of the identity's look-alike group, with images in the other
    modality, whose mean embedding there is the most similar to the record's embedding: the
    confusion the network most needs to resolve. Records without such a look-alike are left out.

    Args:
        annotations: the identity table (groups).
        records: the explained images, the first ``len(records)`` rows of ``everything``.
        embeddings: (M, D) embeddings of ``everything``.
        everything: explained images and reference images.
    """
    means: dict[tuple[int, str], Tensor] = {}
    for modality in MODALITIES:
        for pid in {r.pid for r in everything if r.modality == modality}:
            rows = [i for i, r in enumerate(everything) if r.pid == pid and r.modality == modality]
            means[(pid, modality)] = embeddings[rows].mean(dim=0)  # (D,)
    keep, others, ref_a, ref_b = [], [], [], []
    for i, record in enumerate(records):
        other = MODALITIES[1 - MODALITIES.index(record.modality)]
        candidates = [p for p in annotations.lookalikes(record.pid) if (p, other) in means]
        if (record.pid, other) not in means or not candidates:
            continue
        sims = torch.stack([torch.nn.functional.cosine_similarity(embeddings[i], means[(p, other)], dim=0)
                            for p in candidates])  # fmt: skip
        hardest = candidates[int(sims.argmax())]
        keep.append(i)
        others.append(hardest)
        ref_a.append(means[(record.pid, other)])
        ref_b.append(means[(hardest, other)])
    if not keep:
        raise ValueError("no explained image has a look-alike with images in the other modality; expected records "
                         "(and pool) that hold whole look-alike groups")  # fmt: skip
    return LookalikePairs(np.asarray(keep), np.asarray(others), torch.stack(ref_a), torch.stack(ref_b))


def contrastive_audit(model: FIENet, inputs: AuditInputs, settings: Sequence[Setting]) -> Audit:
    """Contrastive maps (match A against hardest look-alike B), scored on the parts A and B differ in.

    Args:
        model: FIENet or the baseline, in its device.
        inputs: the images and the checks' parameters, as for
            :func:`~fienet.explain.audit.audit_explanations`; the pool should hold the
            look-alikes' images in the other modality.
        settings: (method, layer) pairs; layers the model lacks are skipped.

    Returns:
        :class:`~fienet.explain.audit.Audit` whose ``parts`` columns are shares on the pair's
        differing parts, with ``lookalike`` and ``differing_parts`` columns; the occlusion row
        perturbs the same contrastive score. No randomisation or deletion here (NaN in
        :func:`~fienet.explain.audit.audit_summary`).
    """
    check_settings(model, settings)
    device = next(model.parameters()).device
    everything = inputs.everything
    images_all = inputs.load(device)  # (M, 3, H, W)
    pairs = lookalike_pairs(inputs.annotations, inputs.records, embed_images(model, images_all, everything), everything)
    chosen = [inputs.records[i] for i in pairs.rows]
    images = images_all[torch.as_tensor(pairs.rows, device=device)]  # (P, 3, H, W)
    masks = inputs.masks(chosen)  # (P, H, W)
    differing = [inputs.annotations.differing_parts(r.pid, b) for r, b in zip(chosen, pairs.lookalike)]
    labels = [inputs.annotations.labels(parts) for parts in differing]
    base = pd.DataFrame({"path": [r.path for r in chosen], "pid": [r.pid for r in chosen],
                         "modality": [r.modality for r in chosen], "lookalike": pairs.lookalike,
                         "differing_parts": [";".join(p) for p in differing]})  # fmt: skip

    inputs.say(f"contrastive occlusion maps of {len(chosen)} images ...")
    occlusion = per_modality(occlusion_maps, model, chosen, images, pairs.reference_a, pairs.reference_b,
                             fraction=inputs.fraction, overlap=inputs.overlap)  # (P, H, W)  # fmt: skip
    grid = inputs.grid()
    tables = [occlusion_rows(base, occlusion, masks, labels, grid)]
    targets = [ContrastiveTarget(a, b) for a, b in zip(pairs.reference_a, pairs.reference_b)]
    for method, layer in settings:
        if not has_layer(model, layer):
            continue
        inputs.say(f"contrastive {method} at {layer} ...")
        cams = cam_maps(model, (method, layer), images, chosen, targets, inputs.batch_size, signed=True)
        table = pd.concat([base, score_maps(cams, masks, labels)], axis=1)
        table["spearman"] = [rank_correlation(c, o, grid) for c, o in zip(cams, occlusion)]
        cells = layer_cells(model, layer, images[0], chosen[0].modality)
        tables.append(table.assign(method=method, layer=layer, cells=cells))
    return as_audit(tables, {})


__all__ = ["LookalikePairs", "contrastive_audit", "lookalike_pairs"]
