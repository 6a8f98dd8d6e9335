"""Triplet losses on a batch: batch-hard (Hermans et al. 2017) and weighted regularised (AGW).

Both treat every image of the batch as an anchor, with the other images of its identity as
positives and all images of other identities as negatives, whatever their modality; with the
cross-modality P x K batches of VI-ReID most hard pairs are cross-modality ones. An anchor with
no other image of its identity in the batch has no positive and is left out of the mean; a
batch in which no anchor has both a positive and a negative raises an error, since it means
the sampler is misconfigured (fewer than 2 identities, or 1 image each).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from fienet.losses.distances import euclidean_distances


def _masks(labels: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Positive mask (same identity, not self), negative mask, and anchors having both: (N, N), (N, N), (N,)."""
    same = labels[:, None] == labels[None, :]  # (N, N)
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    positive, negative = same & ~eye, ~same
    valid = positive.any(1) & negative.any(1)  # (N,)
    if not bool(valid.any()):
        raise ValueError(
            f"triplet loss: no anchor of the batch has both a positive and a negative "
            f"({len(labels)} images of {len(labels.unique())} identities); the batch needs at least two "
            f"identities and two images of one of them"
        )
    return positive, negative, valid


def triplet_hard_loss(feats: Tensor, labels: Tensor, margin: float = 0.3) -> Tensor:
    """Batch-hard triplet loss: hardest positive vs hardest negative of every anchor.

    ``mean_a relu(max_p d(a, p) - min_n d(a, n) + margin)``, Euclidean distances.

    Args:
        feats: (N, D) features (the pooled features, before the BNNeck).
        labels: (N,) identity labels.
        margin: required gap between the hardest negative and the hardest positive distance.

    Returns:
        Scalar loss, mean over the anchors that have a positive and a negative.
    """
    positive, negative, valid = _masks(labels)
    dist = euclidean_distances(feats.float(), feats.float())  # (N, N)
    hardest_pos = dist.masked_fill(~positive, float("-inf")).amax(1)  # (N,)
    hardest_neg = dist.masked_fill(~negative, float("inf")).amin(1)  # (N,)
    return F.relu(hardest_pos[valid] - hardest_neg[valid] + margin).mean()


def triplet_wrt_loss(feats: Tensor, labels: Tensor) -> Tensor:
    """Weighted regularised triplet loss of AGW (Ye et al., TPAMI 2021); no margin to tune.

    For every anchor, the positive distances are averaged with softmax weights (far positives
    weigh more) and the negative distances with softmin weights (near negatives weigh more);
    the loss is ``softplus(weighted_pos - weighted_neg)``. Unlike AGW's reference code the
    anchor itself (distance 0) is not counted among its positives, where it would only dilute
    the positive side.

    Args:
        feats: (N, D) features (the pooled features, before the BNNeck).
        labels: (N,) identity labels.

    Returns:
        Scalar loss, mean over the anchors that have a positive and a negative.
    """
    positive, negative, valid = _masks(labels)
    dist = euclidean_distances(feats.float(), feats.float())[valid]  # (A, N), A anchors kept
    positive, negative = positive[valid], negative[valid]
    w_pos = dist.masked_fill(~positive, float("-inf")).softmax(1)  # (A, N), 0 off the positives
    w_neg = (-dist).masked_fill(~negative, float("-inf")).softmax(1)  # (A, N), 0 off the negatives
    weighted_pos = (w_pos * dist).sum(1)  # (A,)
    weighted_neg = (w_neg * dist).sum(1)  # (A,)
    return F.softplus(weighted_pos - weighted_neg).mean()
