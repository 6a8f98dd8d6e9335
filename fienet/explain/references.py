"""What an explained image is compared with: images and embeddings of the other images of its
identity, prepared once and shared by every explanation method."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import Tensor

from fienet.data.io import load_image
from fienet.data.records import Record
from fienet.modalities import MODALITIES
from fienet.data.transforms import test_transform
from fienet.explain.wrapper import eval_mode
from fienet.model.fienet import FIENet

REFERENCES: tuple[str, ...] = ("cross-modal", "same-modality")


def load_images(records: Sequence[Record], height: int, width: int) -> Tensor:
    """(N, 3, H, W) normalised images, as the network sees them at test time (``test_transform``)."""
    if not records:
        raise ValueError("records is empty; expected images to load")
    transform = test_transform(height, width)
    return torch.stack([transform(load_image(r.path)) for r in records])  # (N, 3, H, W)


@torch.no_grad()
def embed_images(model: FIENet, images: Tensor, records: Sequence[Record], batch_size: int = 64) -> Tensor:
    """(N, D) unit-norm test embeddings, each image through its own modality's stem.

    Args:
        images: (N, 3, H, W) on the model's device, row i of modality ``records[i].modality``.
    """
    if len(records) != images.shape[0]:
        raise ValueError(f"{len(records)} records for {images.shape[0]} images; expected one record per image")
    strange = next((r for r in records if r.modality not in MODALITIES), None)
    if strange is not None:
        raise ValueError(f"{strange.path}: modality {strange.modality!r}; expected one of {MODALITIES}")
    out = torch.empty(images.shape[0], model.feature_dim, device=images.device)  # (N, D)
    with eval_mode(model):
        for modality in MODALITIES:
            rows = np.flatnonzero([r.modality == modality for r in records])
            for start in range(0, len(rows), batch_size):
                index = torch.as_tensor(rows[start:start + batch_size], device=images.device)
                out[index] = model.embed(images[index], modality)
    return out


def identity_references(embeddings: Tensor, records: Sequence[Record], reference: str = "cross-modal") -> Tensor:
    """Reference embedding of every record: the mean embedding of other images of its identity.

    - ``"cross-modal"``: the identity's images in the other modality (what cross-modal
      retrieval asks: what makes this infrared image match this person's visible images);
    - ``"same-modality"``: the identity's other images of the same modality.

    The image's own embedding is never used: the cosine to itself is at its maximum, where its
    gradient is zero, so every gradient-based map would be empty.

    Args:
        embeddings: (N, D), row i for ``records[i]``.
        records: the images; every identity needs images of what ``reference`` asks for.
        reference: one of ``REFERENCES``.

    Returns:
        (N, D) references (means of unit vectors; the similarity scores normalise them).
    """
    if reference not in REFERENCES:
        raise ValueError(f"unknown reference '{reference}'; expected one of {REFERENCES}")
    pids, pid_index = np.unique([r.pid for r in records], return_inverse=True)
    # (identity, modality) groups; the modality's position in MODALITIES is only an array index
    side = torch.as_tensor([MODALITIES.index(r.modality) for r in records], device=embeddings.device)  # (N,)
    group = torch.as_tensor(pid_index, device=embeddings.device) * len(MODALITIES) + side  # (N,)
    n_groups = len(pids) * len(MODALITIES)
    sums = torch.zeros(n_groups, embeddings.shape[1], device=embeddings.device).index_add_(0, group, embeddings)
    counts = torch.bincount(group, minlength=n_groups).float()  # (G,)
    if reference == "cross-modal":
        source = group - side + (1 - side)  # the same identity's other-modality group
        lacking = counts[source] == 0
        if lacking.any():
            i = int(lacking.nonzero()[0])
            other = MODALITIES[1 - int(side[i])]
            raise ValueError(
                f"no {other} image of identity {records[i].pid} among the records; the cross-modal reference "
                "needs both modalities of every identity (pass query and gallery together)"
            )
        return sums[source] / counts[source, None]
    lacking = counts[group] < 2
    if lacking.any():
        i = int(lacking.nonzero()[0])
        raise ValueError(
            f"{records[i].path}: the only {records[i].modality} image of identity {records[i].pid} among the records; "
            "the same-modality reference needs at least two images per identity and modality"
        )
    return (sums[group] - embeddings) / (counts[group, None] - 1)  # leave the image itself out


__all__ = ["REFERENCES", "embed_images", "identity_references", "load_images"]
